// Dispatcher: serves one Kafka request frame. Parses the header once, finds the API in the
// table (Apis()), checks the version against its row, and calls its handler with Ferry's
// engine (Broker) and consumer groups (ConsumerGroups), which Kafka and gRPC clients share.
// Every request passes here, so it is also where requests are reported to the KafkaObserver.
// Thread-safe: Handle runs on any number of threads at once (one request per connection).
#ifndef FERRY_SERVER_KAFKA_DISPATCHER_H_
#define FERRY_SERVER_KAFKA_DISPATCHER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/kafka/api.h"
#include "server/kafka/observer.h"
#include "server/kafka/sasl.h"

namespace ferry::kafka {

class Dispatcher {
 public:
  Dispatcher(broker::Broker* broker, group::ConsumerGroups* groups);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // The address Metadata and FindCoordinator give clients, per listener. Set before serving.
  void SetAdvertisedAddresses(std::vector<ServingState::Address> addresses);
  // Where every request handled is reported (api, version, error code, latency); null for
  // none. Set before serving; must outlive the dispatcher and the engine's answers to the
  // Produces it handled (they report when they complete).
  void SetObserver(KafkaObserver* observer) { observer_ = observer; }
  // The authorizer and user store every handler checks with, and what SASL listeners accept;
  // null: everything allowed, SASL refused. Set before serving; must outlive the dispatcher.
  void SetSecurity(security::Security* security, SaslOptions sasl) {
    security_ = security;
    sasl_ = std::move(sasl);
  }

  // Handles one request frame (the bytes after the size prefix). Reply: the response frame
  // (size prefix included); NoReply: none is due (Produce with acks=0); Close: the connection
  // must be closed (a malformed request, an API key not served, an acks=0 Produce that
  // failed), with the reason to log; Later: a Produce whose appends are queued, answered by
  // its LaterResult once durable (the next request may be started meanwhile: its effects
  // come after this one's). A version outside the API's range is answered with
  // UNSUPPORTED_VERSION. Blocks while a Fetch long-polls or a group waits at its barrier.
  // `peer_host` is the client's address, reported by DescribeGroups; `listener` the index of
  // the listener it connected to (whose advertised address Metadata gives).
  // `peer_gone` tells whether the client has closed its connection (a JoinGroup waiting at the
  // barrier gives up then). `received`: when the frame arrived, the start of the latency
  // reported (InfinitePast: now). `session`: the connection's (who the client is); null for
  // an anonymous plaintext client.
  Result Handle(std::string_view frame, std::string_view peer_host = "", int listener = 0,
                std::function<bool()> peer_gone = {}, absl::Time received = absl::InfinitePast(),
                Session* session = nullptr);

  // Ends long polls and group waits now, and makes later ones return at once (shutdown).
  void BeginShutdown();

 private:
  Result Serve(std::string_view frame, std::string_view peer_host, int listener,
               std::function<bool()> peer_gone, Session* session);
  static void Observe(KafkaObserver* observer, std::string_view frame, const Result& result,
                      absl::Time received);

  broker::Broker* const broker_;
  group::ConsumerGroups* const groups_;
  ServingState serving_;
  KafkaObserver* observer_ = nullptr;
  security::Security* security_ = nullptr;
  SaslOptions sasl_;
};

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_DISPATCHER_H_
