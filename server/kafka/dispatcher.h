// Dispatcher: serves one Kafka request frame. Parses the header once, finds the API in the
// table (Apis()), checks the version against its row, and calls its handler with Ferry's
// engine (Broker) and consumer groups (ConsumerGroups), which Kafka and gRPC clients share.
// Thread-safe: each connection calls Handle from its own thread, one request at a time.
#ifndef FERRY_SERVER_KAFKA_DISPATCHER_H_
#define FERRY_SERVER_KAFKA_DISPATCHER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/kafka/api.h"

namespace ferry::kafka {

class Dispatcher {
 public:
  Dispatcher(broker::Broker* broker, group::ConsumerGroups* groups);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // The address Metadata and FindCoordinator give clients. Set before serving.
  void SetAdvertisedAddress(std::string host, int32_t port);

  // Handles one request frame (the bytes after the size prefix). Reply: the response frame
  // (size prefix included); NoReply: none is due (Produce with acks=0); Close: the connection
  // must be closed (a malformed request, an API key not served, an acks=0 Produce that
  // failed), with the reason to log. A version outside the API's range is answered with
  // UNSUPPORTED_VERSION. Blocks while a Produce waits for durability or a Fetch long-polls.
  // `peer_host` is the client's address, reported by DescribeGroups.
  // `peer_gone` tells whether the client has closed its connection (a JoinGroup waiting at the
  // barrier gives up then).
  Result Handle(std::string_view frame, std::string_view peer_host = "",
                std::function<bool()> peer_gone = {});

  // Ends long polls and group waits now, and makes later ones return at once (shutdown).
  void BeginShutdown();

 private:
  broker::Broker* const broker_;
  group::ConsumerGroups* const groups_;
  ServingState serving_;
};

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_DISPATCHER_H_
