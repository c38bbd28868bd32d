// The ferry.v1.Broker gRPC service: callback reactors over broker::Broker. No thread per
// stream: a stream is driven by gRPC's completion callbacks and the log's append wake-ups.
#ifndef FERRY_SERVER_GRPC_BROKER_SERVICE_H_
#define FERRY_SERVER_GRPC_BROKER_SERVICE_H_

#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/grpc/engine.h"

namespace ferry::grpc_server {

class PublishStreamReactor;

class BrokerService final : public v1::Broker::CallbackService {
 public:
  explicit BrokerService(const Engine* engine) : engine_(engine) {}

  // Shutdown: open PublishStreams stop reading and end (UNAVAILABLE) once their answers in
  // flight are written, instead of holding the server's shutdown until its deadline.
  void StopStreams();

  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* context,
                                    const v1::PublishRequest* request,
                                    v1::PublishResponse* response) override;
  grpc::ServerBidiReactor<v1::PublishRequest, v1::PublishStreamResponse>* PublishStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) override;

  grpc::ServerUnaryReactor* JoinGroup(grpc::CallbackServerContext* context,
                                      const v1::JoinGroupRequest* request,
                                      v1::JoinGroupResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* context,
                                      const v1::HeartbeatRequest* request,
                                      v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* LeaveGroup(grpc::CallbackServerContext* context,
                                       const v1::LeaveGroupRequest* request,
                                       v1::LeaveGroupResponse* response) override;
  grpc::ServerUnaryReactor* CommitOffset(grpc::CallbackServerContext* context,
                                         const v1::CommitOffsetRequest* request,
                                         v1::CommitOffsetResponse* response) override;
  grpc::ServerUnaryReactor* FetchOffsets(grpc::CallbackServerContext* context,
                                         const v1::FetchOffsetsRequest* request,
                                         v1::FetchOffsetsResponse* response) override;

 private:
  const Engine* const engine_;
  absl::Mutex streams_mu_;
  bool stopping_ ABSL_GUARDED_BY(streams_mu_) = false;
  std::vector<std::weak_ptr<PublishStreamReactor>> publish_streams_ ABSL_GUARDED_BY(streams_mu_);
};

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_BROKER_SERVICE_H_
