#include "server/grpc/admin_service.h"

#include "server/grpc/status.h"

namespace ferry::grpc_server {
namespace {

v1::GroupState ToProto(group::GroupState state) {
  switch (state) {
    case group::GroupState::kEmpty:
      return v1::GROUP_STATE_EMPTY;
    case group::GroupState::kRebalancing:
      return v1::GROUP_STATE_REBALANCING;
    case group::GroupState::kStable:
      return v1::GROUP_STATE_STABLE;
  }
  return v1::GROUP_STATE_UNSPECIFIED;
}

void FillPartitions(const std::vector<group::TopicPartition>& from,
                    google::protobuf::RepeatedPtrField<v1::TopicPartition>* to) {
  for (const auto& tp : from) {
    v1::TopicPartition* out = to->Add();
    out->set_topic(tp.first);
    out->set_partition(tp.second);
  }
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context, const absl::Status& s) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::CreateTopic(grpc::CallbackServerContext* context,
                                                    const v1::CreateTopicRequest* request,
                                                    v1::CreateTopicResponse* response) {
  broker::Broker* const broker = engine_->broker();
  if (broker == nullptr) return Done(context, Engine::NotReady());
  auto topic = broker->CreateTopic(request->topic(), request->partitions(), request->config());
  if (topic.ok()) broker->FillTopicInfo(**topic, response->mutable_topic());
  return Done(context, topic.status());
}

grpc::ServerUnaryReactor* AdminService::DeleteTopic(grpc::CallbackServerContext* context,
                                                    const v1::DeleteTopicRequest* request,
                                                    v1::DeleteTopicResponse* /*response*/) {
  broker::Broker* const broker = engine_->broker();
  if (broker == nullptr) return Done(context, Engine::NotReady());
  return Done(context, broker->DeleteTopic(request->topic()));
}

grpc::ServerUnaryReactor* AdminService::ListTopics(grpc::CallbackServerContext* context,
                                                   const v1::ListTopicsRequest* /*request*/,
                                                   v1::ListTopicsResponse* response) {
  broker::Broker* const broker = engine_->broker();
  if (broker == nullptr) return Done(context, Engine::NotReady());
  for (const auto& topic : broker->ListTopics()) {
    broker->FillTopicInfo(*topic, response->add_topics());
  }
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::DescribeTopic(grpc::CallbackServerContext* context,
                                                      const v1::DescribeTopicRequest* request,
                                                      v1::DescribeTopicResponse* response) {
  broker::Broker* const broker = engine_->broker();
  if (broker == nullptr) return Done(context, Engine::NotReady());
  auto topic = broker->GetTopic(request->topic());
  if (!topic.ok()) return Done(context, topic.status());
  broker->FillTopicInfo(**topic, response->mutable_topic());
  for (const auto& log : (*topic)->partitions) {
    v1::PartitionInfo* p = response->add_partitions();
    p->set_partition(log->partition());
    p->set_log_start_offset(log->log_start_offset());
    p->set_end_offset(log->end_offset());
    p->set_size_bytes(log->size_bytes());
  }
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::CreatePartitions(grpc::CallbackServerContext* context,
                                                         const v1::CreatePartitionsRequest* request,
                                                         v1::CreatePartitionsResponse* response) {
  broker::Broker* const broker = engine_->broker();
  if (broker == nullptr) return Done(context, Engine::NotReady());
  auto topic = broker->CreatePartitions(request->topic(), request->partitions());
  if (topic.ok()) broker->FillTopicInfo(**topic, response->mutable_topic());
  return Done(context, topic.status());
}

grpc::ServerUnaryReactor* AdminService::ListGroups(grpc::CallbackServerContext* context,
                                                   const v1::ListGroupsRequest* /*request*/,
                                                   v1::ListGroupsResponse* response) {
  if (engine_->broker() == nullptr) return Done(context, Engine::NotReady());
  group::ConsumerGroups* const groups = engine_->groups();
  auto list = groups->List();
  if (list.ok()) {
    for (const auto& g : *list) {
      v1::GroupSummary* out = response->add_groups();
      out->set_group(g.group);
      out->set_state(ToProto(g.state));
      out->set_members(static_cast<int32_t>(g.members.size()));
    }
  }
  return Done(context, list.status());
}

grpc::ServerUnaryReactor* AdminService::DescribeGroup(grpc::CallbackServerContext* context,
                                                      const v1::DescribeGroupRequest* request,
                                                      v1::DescribeGroupResponse* response) {
  if (engine_->broker() == nullptr) return Done(context, Engine::NotReady());
  group::ConsumerGroups* const groups = engine_->groups();
  auto d = groups->Describe(request->group());
  if (d.ok()) {
    response->set_group(d->info.group);
    response->set_state(ToProto(d->info.state));
    response->set_generation(d->info.generation);
    for (const auto& m : d->info.members) {
      v1::GroupMember* out = response->add_members();
      out->set_member_id(m.member_id);
      out->set_instance_id(m.instance_id);
      FillPartitions(m.assignment, out->mutable_assignment());
    }
    for (const auto& p : d->partitions) {
      v1::GroupPartitionLag* out = response->add_partitions();
      out->set_topic(p.tp.first);
      out->set_partition(p.tp.second);
      out->set_member_id(p.member_id);
      out->set_committed_offset(p.committed);
      out->set_end_offset(p.end);
      out->set_lag(p.lag);
    }
  }
  return Done(context, d.status());
}

grpc::ServerUnaryReactor* AdminService::DeleteGroup(grpc::CallbackServerContext* context,
                                                    const v1::DeleteGroupRequest* request,
                                                    v1::DeleteGroupResponse* /*response*/) {
  if (engine_->broker() == nullptr) return Done(context, Engine::NotReady());
  group::ConsumerGroups* const groups = engine_->groups();
  return Done(context, groups->Delete(request->group()));
}

grpc::ServerUnaryReactor* AdminService::ResetOffsets(grpc::CallbackServerContext* context,
                                                     const v1::ResetOffsetsRequest* request,
                                                     v1::ResetOffsetsResponse* response) {
  if (engine_->broker() == nullptr) return Done(context, Engine::NotReady());
  group::ConsumerGroups* const groups = engine_->groups();
  for (int32_t p : request->partitions()) {
    if (p < 0) {
      return Done(context, absl::InvalidArgumentError("partitions must be >= 0"));
    }
  }
  auto offsets = groups->ResetOffsets(
      request->group(), request->topic(),
      std::vector<int32_t>(request->partitions().begin(), request->partitions().end()),
      request->to(), request->offset(), request->timestamp_ms());
  if (offsets.ok()) {
    for (const auto& o : *offsets) {
      v1::CommittedOffset* c = response->add_offsets();
      c->set_topic(o.topic);
      c->set_partition(o.partition);
      c->set_offset(o.offset);
    }
  }
  return Done(context, offsets.status());
}

}  // namespace ferry::grpc_server
