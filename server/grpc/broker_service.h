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
#include "server/grpc/strict_unary.h"

namespace ferry::grpc_server {

class PublishStreamReactor;

// Every method is a callback method; Publish, PublishStream and Subscribe are raw ones (bytes
// in, bytes out: see wire_messages.h).
using BrokerServiceBase = v1::Broker::WithRawCallbackMethod_Publish<
    v1::Broker::WithRawCallbackMethod_PublishStream<v1::Broker::WithRawCallbackMethod_Subscribe<
        v1::Broker::WithCallbackMethod_JoinGroup<v1::Broker::WithCallbackMethod_Heartbeat<
            v1::Broker::WithCallbackMethod_LeaveGroup<v1::Broker::WithCallbackMethod_CommitOffset<
                v1::Broker::WithCallbackMethod_FetchOffsets<v1::Broker::Service>>>>>>>>;

class BrokerService final : public StrictUnaryMethods<BrokerServiceBase> {
 public:
  explicit BrokerService(const Engine* engine);

  // Shutdown: open PublishStreams stop reading and end (UNAVAILABLE) once their answers in
  // flight are written, instead of holding the server's shutdown until its deadline.
  void StopStreams();

  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* PublishStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request) override;

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
