// Handlers: serves each Kafka API over Ferry's engine (Broker) and consumer groups
// (ConsumerGroups), so Kafka and gRPC clients share topics, offsets and groups.
// Thread-safe: each connection calls Handle from its own thread, one request at a time.
#ifndef FERRY_SERVER_KAFKA_HANDLERS_H_
#define FERRY_SERVER_KAFKA_HANDLERS_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/kafka/requests.h"

namespace ferry::kafka {

class Handlers {
 public:
  Handlers(broker::Broker* broker, group::ConsumerGroups* groups);
  Handlers(const Handlers&) = delete;
  Handlers& operator=(const Handlers&) = delete;

  // The address Metadata and FindCoordinator give clients. Set before serving.
  void SetAdvertisedAddress(std::string host, int32_t port);

  // Handles one request frame (the bytes after the size prefix) and returns the response frame
  // (size prefix included), or an empty string when none is due (Produce with acks=0). Blocks
  // while a Produce waits for durability or a Fetch long-polls. Errors mean the connection must
  // be closed: INVALID_ARGUMENT malformed, UNIMPLEMENTED an API key not served, ABORTED an acks=0
  // Produce that failed (no response can carry its error).
  // `peer_host` is the client's address, reported by DescribeGroups.
  absl::StatusOr<std::string> Handle(std::string_view frame, std::string_view peer_host = "");

  // Ends long polls and group waits now, and makes later ones return at once (shutdown).
  void BeginShutdown();

 private:
  struct PollState;

  std::string Handle(const RequestHeader& h, const ApiVersionsRequest& r);
  std::string Handle(const RequestHeader& h, const MetadataRequest& r);
  std::string Handle(const RequestHeader& h, ProduceRequest& r);
  std::string Handle(const RequestHeader& h, const FetchRequest& r);
  std::string Handle(const RequestHeader& h, const ListOffsetsRequest& r);
  std::string Handle(const RequestHeader& h, const FindCoordinatorRequest& r);
  std::string Handle(const RequestHeader& h, const JoinGroupRequest& r, std::string_view peer_host);
  std::string Handle(const RequestHeader& h, const SyncGroupRequest& r);
  std::string Handle(const RequestHeader& h, const HeartbeatRequest& r);
  std::string Handle(const RequestHeader& h, const LeaveGroupRequest& r);
  std::string Handle(const RequestHeader& h, const OffsetCommitRequest& r);
  std::string Handle(const RequestHeader& h, const OffsetFetchRequest& r);
  std::string Handle(const RequestHeader& h, const SaslHandshakeRequest& r);
  std::string Handle(const RequestHeader& h, const ListGroupsRequest& r);
  std::string Handle(const RequestHeader& h, const DescribeGroupsRequest& r);
  std::string Handle(const RequestHeader& h, const CreateTopicsRequest& r);
  std::string Handle(const RequestHeader& h, const DeleteTopicsRequest& r);

  // One pass over a Fetch's partitions; returns the record bytes gathered.
  int64_t ReadFetch(const RequestHeader& h, const FetchRequest& r, FetchResponse* out) const;

  broker::Broker* const broker_;
  group::ConsumerGroups* const groups_;

  mutable absl::Mutex mu_;
  std::string advertised_host_ ABSL_GUARDED_BY(mu_);
  int32_t advertised_port_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::shared_ptr<PollState>> polls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_HANDLERS_H_
