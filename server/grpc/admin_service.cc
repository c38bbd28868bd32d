#include "server/grpc/admin_service.h"

#include "server/grpc/status.h"

namespace ferry::grpc_server {
namespace {

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context, const absl::Status& s) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::CreateTopic(grpc::CallbackServerContext* context,
                                                    const v1::CreateTopicRequest* request,
                                                    v1::CreateTopicResponse* response) {
  auto topic = broker_->CreateTopic(request->topic(), request->partitions(), request->config());
  if (topic.ok()) broker_->FillTopicInfo(**topic, response->mutable_topic());
  return Done(context, topic.status());
}

grpc::ServerUnaryReactor* AdminService::DeleteTopic(grpc::CallbackServerContext* context,
                                                    const v1::DeleteTopicRequest* request,
                                                    v1::DeleteTopicResponse* /*response*/) {
  return Done(context, broker_->DeleteTopic(request->topic()));
}

grpc::ServerUnaryReactor* AdminService::ListTopics(grpc::CallbackServerContext* context,
                                                   const v1::ListTopicsRequest* /*request*/,
                                                   v1::ListTopicsResponse* response) {
  for (const auto& topic : broker_->ListTopics()) {
    broker_->FillTopicInfo(*topic, response->add_topics());
  }
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::DescribeTopic(grpc::CallbackServerContext* context,
                                                      const v1::DescribeTopicRequest* request,
                                                      v1::DescribeTopicResponse* response) {
  auto topic = broker_->GetTopic(request->topic());
  if (!topic.ok()) return Done(context, topic.status());
  broker_->FillTopicInfo(**topic, response->mutable_topic());
  for (const auto& log : (*topic)->partitions) {
    v1::PartitionInfo* p = response->add_partitions();
    p->set_partition(log->partition());
    p->set_log_start_offset(log->log_start_offset());
    p->set_end_offset(log->end_offset());
    p->set_size_bytes(log->size_bytes());
  }
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::CreatePartitions(
    grpc::CallbackServerContext* context, const v1::CreatePartitionsRequest* request,
    v1::CreatePartitionsResponse* response) {
  auto topic = broker_->CreatePartitions(request->topic(), request->partitions());
  if (topic.ok()) broker_->FillTopicInfo(**topic, response->mutable_topic());
  return Done(context, topic.status());
}

}  // namespace ferry::grpc_server
