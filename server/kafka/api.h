// The Kafka APIs Ferry serves: the one table of {api key, versions, handler} that answers
// ApiVersions and drives the version check, the handler interface, and what a handler may use.
// Adding an API: its file (<api>.h, <api>_codec.cc, <api>.cc) and one row in Apis().
// The table is immutable; ServingState is thread-safe; handlers run on connection threads,
// any number at a time.
#ifndef FERRY_SERVER_KAFKA_API_H_
#define FERRY_SERVER_KAFKA_API_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"
#include "server/security/acl.h"
#include "server/security/principal.h"

namespace ferry::kafka {
class KafkaObserver;
}  // namespace ferry::kafka
namespace ferry::broker {
class Broker;
}  // namespace ferry::broker
namespace ferry::group {
class ConsumerGroups;
}  // namespace ferry::group
namespace ferry::security {
class SaslServer;
class Security;
}  // namespace ferry::security
namespace ferry::kafka {
struct SaslOptions;
}  // namespace ferry::kafka

namespace ferry::kafka {

// Ferry is a single Kafka node: the id Metadata and FindCoordinator give clients.
inline constexpr int32_t kNodeId = 0;
// The leader epoch of every partition (Metadata v7+ gives it): one node, never a new leader.
inline constexpr int32_t kLeaderEpoch = 0;

// Kafka's check of a request's current_leader_epoch (Fetch v9+, ListOffsets v4+): -1 is "not
// known" (no check); older than the leader's is FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH
// (the client saw a leader this broker has not heard of), so the client refreshes its metadata.
inline int16_t LeaderEpochError(int32_t current_leader_epoch) {
  if (current_leader_epoch == -1 || current_leader_epoch == kLeaderEpoch) return 0;
  return current_leader_epoch < kLeaderEpoch ? error::kFencedLeaderEpoch
                                             : error::kUnknownLeaderEpoch;
}

class LaterResult;

// What a handler asks the connection to do.
struct Result {
  enum class Kind {
    kReply,    // write `frame` (a whole response frame, size prefix included)
    kNoReply,  // write nothing (Produce with acks=0)
    kClose,    // close the connection, logging `close_reason`
    kLater,    // `later` gives one of the above once it is ready (a Produce waiting for
               // durability); what the request does is already under way, in request order, so
               // the connection may start its next request meanwhile
  };
  Kind kind = Kind::kNoReply;
  std::string frame;
  std::string close_reason;
  std::shared_ptr<LaterResult> later;
  // kReply: close the connection once `frame` is written (a failed SASL authentication is
  // answered, then the connection closed, as Kafka does), logging `close_reason`.
  bool close_after = false;

  static Result Reply(std::string frame);
  static Result ReplyThenClose(std::string frame, std::string why);
  static Result NoReply();
  static Result Close(std::string why);
  static Result Close(const absl::Status& why);  // its message
  static Result Later(std::shared_ptr<LaterResult> later);
};

// The result of a request that completes after its handler returned. Complete is called once,
// by whoever finishes the request; Then once, by whoever waits for it: `done` runs on the
// thread of the later of the two, so it must not block. Thread-safe.
class LaterResult {
 public:
  void Complete(Result result) ABSL_LOCKS_EXCLUDED(mu_);
  void Then(std::function<void(Result)> done) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  bool completed_ ABSL_GUARDED_BY(mu_) = false;
  Result result_ ABSL_GUARDED_BY(mu_);
  std::function<void(Result)> done_ ABSL_GUARDED_BY(mu_);
};

// A handler's wait that shutdown must end early (a Fetch long poll).
struct Wakeup {
  absl::Mutex mu;
  bool woken ABSL_GUARDED_BY(mu) = false;
  void Wake() {
    absl::MutexLock lock(&mu);
    woken = true;
  }
};

// What the handlers share across connections: the address clients are given, and the waits
// shutdown ends. Thread-safe.
class ServingState {
 public:
  struct Address {
    std::string host;
    int32_t port = 0;
  };

  // One address per listener, in the server's listener order.
  void SetAdvertisedAddresses(std::vector<Address> addresses) ABSL_LOCKS_EXCLUDED(mu_);
  // The address clients of `listener` are given (the first listener's when out of range).
  Address advertised(int listener) const ABSL_LOCKS_EXCLUDED(mu_);

  // Registers `wait` for BeginShutdown to wake; false, and not registered, once shutting down.
  bool AddWait(std::shared_ptr<Wakeup> wait) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveWait(const std::shared_ptr<Wakeup>& wait) ABSL_LOCKS_EXCLUDED(mu_);
  // Wakes every registered wait, and refuses new ones from now on.
  void BeginShutdown() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::vector<Address> advertised_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::shared_ptr<Wakeup>> waits_ ABSL_GUARDED_BY(mu_);
};

// What one connection knows of its client. Its requests are handled one at a time, so handlers
// use it without a lock; it lives as long as the connection.
struct Session {
  // Set by the connection when it starts (the listener's security protocol) and after the TLS
  // handshake.
  std::string listener_name;   // for logs and metrics
  bool tls = false;            // SSL or SASL_SSL: the bytes are encrypted
  bool sasl_required = false;  // SASL_PLAINTEXT or SASL_SSL: no request but ApiVersions,
                               // SaslHandshake and SaslAuthenticate before authenticating
  std::string tls_principal;   // from the verified client certificate; empty: none
  // Who the requests are authorized as: the TLS principal on SSL with a client certificate,
  // the SASL user once authenticated, else User:ANONYMOUS.
  security::Principal principal;
  bool authenticated = false;  // SASL completed
  // SaslHandshake's mechanism and the exchange SaslAuthenticate steps through.
  std::string sasl_mechanism;
  std::shared_ptr<security::SaslServer> sasl;
  // After a v0 handshake, until the exchange ends, frames are bare SASL tokens, not requests.
  bool raw_sasl_tokens = false;
};

// Everything a handler may use besides its request.
struct ApiContext {
  broker::Broker* broker;
  group::ConsumerGroups* groups;
  ServingState* serving;
  std::string_view peer_host;  // the client's address, as DescribeGroups reports it
  int listener = 0;            // which of the server's listeners the request came in on
  // True once the client has closed its connection (for handlers that wait long); may be
  // empty (no connection to watch).
  std::function<bool()> peer_gone;
  KafkaObserver* observer = nullptr;  // where handlers report what requests carried; may be null
  Session* session = nullptr;         // the connection's; null: an anonymous plaintext client
  // The authorizer and user store; null: no security (everything allowed, no SASL).
  security::Security* security = nullptr;
  const SaslOptions* sasl = nullptr;  // what SASL listeners accept (sasl.h); null: defaults
};

// Whether the connection's principal (ANONYMOUS without a session) may do `op` on resource
// (`type`, `name`) by the engine's authorizer; always true without one. A denial is logged (at
// debug: a client retrying must not flood the log) and reported to the observer under `api`.
bool Authorized(const ApiContext& ctx, int16_t api_key, security::Operation op,
                security::ResourceType type, std::string_view name);
// Kafka's message for a denial: "User:bob may not write topic 'orders'".
std::string DeniedMessage(const ApiContext& ctx, security::Operation op,
                          security::ResourceType type, std::string_view name);

// Serves one request whose version is in the API's range: decodes `body` (the bytes after the
// header) with the API's decoder, checks it with CheckRequestBody (Close when malformed), and
// acts on it. May block (a Produce waiting for durability, a Fetch long poll, a JoinGroup).
using ApiHandler = Result (*)(ApiContext& ctx, const RequestHeader& header, Reader& body);

// The answer to a version outside the API's range: the response frame of this API, in the
// format of `header.api_version` (the dispatcher sets the highest served version), with
// `error_code` in its error fields and no topics.
using ApiErrorResponse = std::string (*)(const RequestHeader& header, int16_t error_code);

struct ApiEntry {
  int16_t key;
  int16_t min_version;
  int16_t max_version;
  // The first flexible version (Kafka's "flexibleVersions": N+), kNeverFlexible for none.
  int16_t flexible_from;
  ApiHandler handle;
  ApiErrorResponse error_response;
  bool advertised = true;  // false: served, but not listed in ApiVersions
};

inline constexpr int16_t kNeverFlexible = INT16_MAX;

// Whether `api_version` of `api_key` is flexible (by its row; false for an API not served).
bool IsFlexibleVersion(int16_t api_key, int16_t api_version);
// Whether a request of `api_version` of `api_key` has request header v2 (the header parser's
// rule): a flexible version, except an ApiVersions past the served range.
bool HasRequestHeaderV2(int16_t api_key, int16_t api_version);

// Every API served, in key order.
const std::vector<ApiEntry>& Apis();
// The entry of `api_key`; nullptr when it is not served.
const ApiEntry* FindApi(int16_t api_key);
// The ranges ApiVersions lists (the advertised entries of Apis()), in key order.
const std::vector<ApiVersionRange>& SupportedApis();

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_API_H_
