// The server side of the SASL mechanisms Ferry accepts: PLAIN (RFC 4616) and SCRAM-SHA-256/512
// (RFC 5802 as Kafka speaks it: no channel binding; the "tokenauth" extension refused). One
// SaslServer per authentication: feed it each client message; it answers the next server
// message, and says when the exchange is complete and who authenticated. A failed exchange
// fails for good. Not thread-safe (one connection's exchange).
#ifndef FERRY_SERVER_SECURITY_SASL_SERVER_H_
#define FERRY_SERVER_SECURITY_SASL_SERVER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/security/scram.h"

namespace ferry::security {

// The largest client message any mechanism accepts (a SCRAM message is ~200 bytes; PLAIN is
// two names and a password): bigger is refused before it is parsed.
inline constexpr size_t kMaxSaslMessageBytes = 8192;

class SaslServer {
 public:
  struct Step {
    std::string challenge;  // the server's message (may be empty)
    bool done = false;      // authenticated: user() is valid, no more messages
  };
  virtual ~SaslServer() = default;
  // UNAUTHENTICATED: wrong user or password (the message never says which); INVALID_ARGUMENT:
  // a malformed message, out of order, or a message after done or after a failure.
  virtual absl::StatusOr<Step> Evaluate(std::string_view client_message) = 0;
  // The authenticated user's name (empty before done).
  virtual const std::string& user() const = 0;
  virtual std::string_view mechanism() const = 0;
};

// What the mechanisms ask of the user store.
struct SaslCredentials {
  // The SCRAM credential of `user` for `m`; nullopt when there is none.
  std::function<std::optional<ScramCredential>(std::string_view user, ScramMechanism m)> scram;
  // Whether `password` is `user`'s (PLAIN).
  std::function<bool(std::string_view user, std::string_view password)> check_password;
};

std::unique_ptr<SaslServer> NewPlainServer(SaslCredentials credentials);
std::unique_ptr<SaslServer> NewScramServer(ScramMechanism m, SaslCredentials credentials);

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_SASL_SERVER_H_
