// The ferry.v1.Broker gRPC service: callback reactors over broker::Broker. No thread per
// stream: a stream is driven by gRPC's completion callbacks and the log's append wake-ups.
#ifndef FERRY_SERVER_GRPC_BROKER_SERVICE_H_
#define FERRY_SERVER_GRPC_BROKER_SERVICE_H_

#include "ferry/v1/ferry.grpc.pb.h"
#include "server/broker/broker.h"

namespace ferry::grpc_server {

class BrokerService final : public v1::Broker::CallbackService {
 public:
  explicit BrokerService(broker::Broker* broker) : broker_(broker) {}

  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* context,
                                    const v1::PublishRequest* request,
                                    v1::PublishResponse* response) override;
  grpc::ServerBidiReactor<v1::PublishRequest, v1::PublishStreamResponse>* PublishStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) override;

 private:
  broker::Broker* const broker_;
};

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_BROKER_SERVICE_H_
