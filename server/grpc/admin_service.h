// The ferry.v1.Admin gRPC service: topic administration over broker::Broker.
#ifndef FERRY_SERVER_GRPC_ADMIN_SERVICE_H_
#define FERRY_SERVER_GRPC_ADMIN_SERVICE_H_

#include "ferry/v1/ferry.grpc.pb.h"
#include "server/broker/broker.h"

namespace ferry::grpc_server {

class AdminService final : public v1::Admin::CallbackService {
 public:
  explicit AdminService(broker::Broker* broker) : broker_(broker) {}

  grpc::ServerUnaryReactor* CreateTopic(grpc::CallbackServerContext* context,
                                        const v1::CreateTopicRequest* request,
                                        v1::CreateTopicResponse* response) override;
  grpc::ServerUnaryReactor* DeleteTopic(grpc::CallbackServerContext* context,
                                        const v1::DeleteTopicRequest* request,
                                        v1::DeleteTopicResponse* response) override;
  grpc::ServerUnaryReactor* ListTopics(grpc::CallbackServerContext* context,
                                       const v1::ListTopicsRequest* request,
                                       v1::ListTopicsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeTopic(grpc::CallbackServerContext* context,
                                          const v1::DescribeTopicRequest* request,
                                          v1::DescribeTopicResponse* response) override;
  grpc::ServerUnaryReactor* CreatePartitions(grpc::CallbackServerContext* context,
                                             const v1::CreatePartitionsRequest* request,
                                             v1::CreatePartitionsResponse* response) override;

 private:
  broker::Broker* const broker_;
};

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_ADMIN_SERVICE_H_
