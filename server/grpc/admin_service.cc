#include "server/grpc/admin_service.h"

#include "server/grpc/convert.h"
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

}  // namespace

AdminService::AdminService(const Engine* engine)
    : StrictUnaryMethods("ferry.v1.Admin"), engine_(engine) {
  Strict("CreateTopic", &AdminService::CreateTopic);
  Strict("DeleteTopic", &AdminService::DeleteTopic);
  Strict("ListTopics", &AdminService::ListTopics);
  Strict("DescribeTopic", &AdminService::DescribeTopic);
  Strict("CreatePartitions", &AdminService::CreatePartitions);
  Strict("AlterTopicConfig", &AdminService::AlterTopicConfig);
  Strict("DeleteRecords", &AdminService::DeleteRecords);
  Strict("ListGroups", &AdminService::ListGroups);
  Strict("DescribeGroup", &AdminService::DescribeGroup);
  Strict("DeleteGroup", &AdminService::DeleteGroup);
  Strict("ResetOffsets", &AdminService::ResetOffsets);
}

grpc::ServerUnaryReactor* AdminService::CreateTopic(grpc::CallbackServerContext* context,
                                                    const v1::CreateTopicRequest* request,
                                                    v1::CreateTopicResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e) {
    auto topic = e.broker->CreateTopic(request->topic(), request->partitions(),
                                       FromProto(request->config()));
    if (topic.ok()) ToProto(e.broker->Describe(**topic), response->mutable_topic());
    return topic.status();
  });
}

grpc::ServerUnaryReactor* AdminService::DeleteTopic(grpc::CallbackServerContext* context,
                                                    const v1::DeleteTopicRequest* request,
                                                    v1::DeleteTopicResponse* /*response*/) {
  return ServeUnary(engine_, context,
                    [&](const Ready& e) { return e.broker->DeleteTopic(request->topic()); });
}

grpc::ServerUnaryReactor* AdminService::ListTopics(grpc::CallbackServerContext* context,
                                                   const v1::ListTopicsRequest* /*request*/,
                                                   v1::ListTopicsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e) {
    for (const auto& topic : e.broker->ListTopics()) {
      ToProto(e.broker->Describe(*topic), response->add_topics());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::DescribeTopic(grpc::CallbackServerContext* context,
                                                      const v1::DescribeTopicRequest* request,
                                                      v1::DescribeTopicResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e) {
    auto topic = e.broker->GetTopic(request->topic());
    if (!topic.ok()) return topic.status();
    ToProto(e.broker->Describe(**topic), response->mutable_topic());
    for (const auto& log : (*topic)->partitions) {
      v1::PartitionInfo* p = response->add_partitions();
      p->set_partition(log->partition());
      p->set_log_start_offset(log->log_start_offset());
      p->set_end_offset(log->end_offset());
      p->set_size_bytes(log->size_bytes());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::CreatePartitions(grpc::CallbackServerContext* context,
                                                         const v1::CreatePartitionsRequest* request,
                                                         v1::CreatePartitionsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e) {
    auto topic = e.broker->CreatePartitions(request->topic(), request->partitions());
    if (topic.ok()) ToProto(e.broker->Describe(**topic), response->mutable_topic());
    return topic.status();
  });
}

grpc::ServerUnaryReactor* AdminService::AlterTopicConfig(grpc::CallbackServerContext* context,
                                                         const v1::AlterTopicConfigRequest* request,
                                                         v1::AlterTopicConfigResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e) {
    broker::TopicConfigChange change;
    if (request->has_retention_ms()) change.retention_ms = request->retention_ms();
    if (request->has_retention_bytes()) change.retention_bytes = request->retention_bytes();
    if (request->has_max_record_bytes()) change.max_record_bytes = request->max_record_bytes();
    auto info = e.broker->AlterTopicConfig(request->topic(), change, request->validate_only());
    if (info.ok()) ToProto(*info, response->mutable_topic());
    return info.status();
  });
}

grpc::ServerUnaryReactor* AdminService::DeleteRecords(grpc::CallbackServerContext* context,
                                                      const v1::DeleteRecordsRequest* request,
                                                      v1::DeleteRecordsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e) {
    auto start =
        e.broker->DeleteRecords(request->topic(), request->partition(), request->before_offset());
    if (start.ok()) response->set_log_start_offset(*start);
    return start.status();
  });
}

grpc::ServerUnaryReactor* AdminService::ListGroups(grpc::CallbackServerContext* context,
                                                   const v1::ListGroupsRequest* /*request*/,
                                                   v1::ListGroupsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e) {
    auto list = e.groups->List();
    if (!list.ok()) return list.status();
    for (const auto& g : *list) {
      v1::GroupSummary* out = response->add_groups();
      out->set_group(g.group);
      out->set_state(ToProto(g.state));
      out->set_members(static_cast<int32_t>(g.members.size()));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::DescribeGroup(grpc::CallbackServerContext* context,
                                                      const v1::DescribeGroupRequest* request,
                                                      v1::DescribeGroupResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e) {
    auto d = e.groups->Describe(request->group());
    if (!d.ok()) return d.status();
    response->set_group(d->info.group);
    response->set_state(ToProto(d->info.state));
    response->set_generation(d->info.generation);
    for (const auto& m : d->info.members) {
      v1::GroupMember* out = response->add_members();
      out->set_member_id(m.member_id);
      out->set_instance_id(m.instance_id);
      ToProto(m.assignment, out->mutable_assignment());
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
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::DeleteGroup(grpc::CallbackServerContext* context,
                                                    const v1::DeleteGroupRequest* request,
                                                    v1::DeleteGroupResponse* /*response*/) {
  return ServeUnary(engine_, context,
                    [&](const Ready& e) { return e.groups->Delete(request->group()); });
}

grpc::ServerUnaryReactor* AdminService::ResetOffsets(grpc::CallbackServerContext* context,
                                                     const v1::ResetOffsetsRequest* request,
                                                     v1::ResetOffsetsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e) -> absl::Status {
    for (int32_t p : request->partitions()) {
      if (p < 0) return absl::InvalidArgumentError("partitions must be >= 0");
    }
    auto to = StartFromProto(request->to(), request->offset(), request->timestamp_ms());
    if (!to.ok()) return to.status();
    auto offsets = e.groups->ResetOffsets(
        request->group(), request->topic(),
        std::vector<int32_t>(request->partitions().begin(), request->partitions().end()), *to,
        request->validate_only());
    if (!offsets.ok()) return offsets.status();
    for (const auto& o : *offsets) {
      v1::CommittedOffset* c = response->add_offsets();
      c->set_topic(o.topic);
      c->set_partition(o.partition);
      c->set_offset(o.offset);
    }
    return absl::OkStatus();
  });
}

}  // namespace ferry::grpc_server
