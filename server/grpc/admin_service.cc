#include "server/grpc/admin_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/grpc/convert.h"
#include "server/grpc/status.h"

namespace ferry::grpc_server {
namespace {

using security::Operation;
using security::ResourceType;

constexpr std::string_view kCluster = security::kClusterName;

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

// An ACL binding from the API's strings; INVALID_ARGUMENT names the field and what it takes.
absl::StatusOr<security::AclBinding> FromProto(const v1::AclBinding& in, int index) {
  const std::string at = absl::StrCat("acls[", index, "]: ");
  security::AclBinding b;
  auto type = security::ParseResourceType(in.resource_type());
  if (!type.has_value() || *type == ResourceType::kAny || *type == ResourceType::kUnknown) {
    return absl::InvalidArgumentError(
        absl::StrCat(at, "resource_type '", in.resource_type(),
                     "' is not one of topic, group, cluster, transactional_id"));
  }
  b.resource_type = *type;
  b.resource_name = in.resource_name();
  if (b.resource_type == ResourceType::kCluster && b.resource_name.empty()) {
    b.resource_name = std::string(kCluster);
  }
  if (!in.pattern_type().empty()) {
    auto pattern = security::ParsePatternType(in.pattern_type());
    if (!pattern.has_value() || (*pattern != security::PatternType::kLiteral &&
                                 *pattern != security::PatternType::kPrefixed)) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, "pattern_type '", in.pattern_type(), "' is not literal or prefixed"));
    }
    b.pattern_type = *pattern;
  }
  auto principal = security::NormalizePrincipal(in.principal());
  if (!principal.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(at, principal.status().message()));
  }
  b.principal = *std::move(principal);
  if (!in.host().empty()) b.host = in.host();
  auto op = security::ParseOperation(in.operation());
  if (!op.has_value() || *op == Operation::kAny || *op == Operation::kUnknown) {
    return absl::InvalidArgumentError(absl::StrCat(
        at, "operation '", in.operation(),
        "' is not one of all, read, write, create, delete, alter, describe, cluster_action, "
        "describe_configs, alter_configs, idempotent_write"));
  }
  b.operation = *op;
  auto permission = security::ParsePermission(in.permission());
  if (!permission.has_value() || *permission == security::Permission::kAny ||
      *permission == security::Permission::kUnknown) {
    return absl::InvalidArgumentError(
        absl::StrCat(at, "permission '", in.permission(), "' is not allow or deny"));
  }
  b.permission = *permission;
  if (absl::Status s = security::ValidateBinding(b); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(at, s.message()));
  }
  return b;
}

absl::StatusOr<security::AclFilter> FromProto(const v1::AclFilter& in) {
  security::AclFilter f;
  const auto any = [](const std::string& s) { return s.empty() || s == "any"; };
  if (!any(in.resource_type())) {
    auto type = security::ParseResourceType(in.resource_type());
    if (!type.has_value() || *type == ResourceType::kUnknown) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter: resource_type '", in.resource_type(),
                       "' is not one of any, topic, group, cluster, transactional_id"));
    }
    f.resource_type = *type;
  }
  if (in.has_resource_name()) f.resource_name = in.resource_name();
  if (!any(in.pattern_type())) {
    auto pattern = security::ParsePatternType(in.pattern_type());
    if (!pattern.has_value() || *pattern == security::PatternType::kUnknown) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter: pattern_type '", in.pattern_type(),
                       "' is not one of any, match, literal, prefixed"));
    }
    f.pattern_type = *pattern;
  }
  if (in.has_principal()) {
    auto principal = security::NormalizePrincipal(in.principal());
    if (!principal.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("filter: ", principal.status().message()));
    }
    f.principal = *std::move(principal);
  }
  if (in.has_host()) f.host = in.host();
  if (!any(in.operation())) {
    auto op = security::ParseOperation(in.operation());
    if (!op.has_value() || *op == Operation::kUnknown) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter: operation '", in.operation(), "' is not an ACL operation"));
    }
    f.operation = *op;
  }
  if (!any(in.permission())) {
    auto permission = security::ParsePermission(in.permission());
    if (!permission.has_value() || *permission == security::Permission::kUnknown) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter: permission '", in.permission(), "' is not any, allow or deny"));
    }
    f.permission = *permission;
  }
  if (absl::Status s = security::ValidateFilter(f); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("filter: ", s.message()));
  }
  return f;
}

void ToProto(const security::AclBinding& b, v1::AclBinding* out) {
  out->set_resource_type(std::string(security::Name(b.resource_type)));
  out->set_resource_name(b.resource_name);
  out->set_pattern_type(std::string(security::Name(b.pattern_type)));
  out->set_principal(b.principal);
  out->set_host(b.host);
  out->set_operation(std::string(security::Name(b.operation)));
  out->set_permission(std::string(security::Name(b.permission)));
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
  Strict("SetPassword", &AdminService::SetPassword);
  Strict("DeleteUser", &AdminService::DeleteUser);
  Strict("ListUsers", &AdminService::ListUsers);
  Strict("CreateAcls", &AdminService::CreateAcls);
  Strict("DeleteAcls", &AdminService::DeleteAcls);
  Strict("ListAcls", &AdminService::ListAcls);
}

grpc::ServerUnaryReactor* AdminService::CreateTopic(grpc::CallbackServerContext* context,
                                                    const v1::CreateTopicRequest* request,
                                                    v1::CreateTopicResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    // As Kafka: Create on the cluster, or on the topic.
    if (!caller.Allowed(Operation::kCreate, ResourceType::kCluster, kCluster)) {
      if (absl::Status s = caller.Check(Operation::kCreate, ResourceType::kTopic, request->topic());
          !s.ok()) {
        return s;
      }
    }
    auto topic = e.broker->CreateTopic(request->topic(), request->partitions(),
                                       FromProto(request->config()));
    if (topic.ok()) ToProto(e.broker->Describe(**topic), response->mutable_topic());
    return topic.status();
  });
}

grpc::ServerUnaryReactor* AdminService::DeleteTopic(grpc::CallbackServerContext* context,
                                                    const v1::DeleteTopicRequest* request,
                                                    v1::DeleteTopicResponse* /*response*/) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) {
    absl::Status s = caller.Check(Operation::kDelete, ResourceType::kTopic, request->topic());
    return s.ok() ? e.broker->DeleteTopic(request->topic()) : s;
  });
}

grpc::ServerUnaryReactor* AdminService::ListTopics(grpc::CallbackServerContext* context,
                                                   const v1::ListTopicsRequest* /*request*/,
                                                   v1::ListTopicsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) {
    for (const auto& topic : e.broker->ListTopics()) {
      // Only the topics the caller may describe: the others are not named to it.
      if (!caller.Allowed(Operation::kDescribe, ResourceType::kTopic, topic->meta.name)) continue;
      ToProto(e.broker->Describe(*topic), response->add_topics());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::DescribeTopic(grpc::CallbackServerContext* context,
                                                      const v1::DescribeTopicRequest* request,
                                                      v1::DescribeTopicResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) {
    if (absl::Status s = caller.Check(Operation::kDescribe, ResourceType::kTopic, request->topic());
        !s.ok()) {
      return s;
    }
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
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    if (absl::Status s = caller.Check(Operation::kAlter, ResourceType::kTopic, request->topic());
        !s.ok()) {
      return s;
    }
    auto topic = e.broker->CreatePartitions(request->topic(), request->partitions());
    if (topic.ok()) ToProto(e.broker->Describe(**topic), response->mutable_topic());
    return topic.status();
  });
}

grpc::ServerUnaryReactor* AdminService::AlterTopicConfig(grpc::CallbackServerContext* context,
                                                         const v1::AlterTopicConfigRequest* request,
                                                         v1::AlterTopicConfigResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    if (absl::Status s =
            caller.Check(Operation::kAlterConfigs, ResourceType::kTopic, request->topic());
        !s.ok()) {
      return s;
    }
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
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    if (absl::Status s = caller.Check(Operation::kDelete, ResourceType::kTopic, request->topic());
        !s.ok()) {
      return s;
    }
    auto start =
        e.broker->DeleteRecords(request->topic(), request->partition(), request->before_offset());
    if (start.ok()) response->set_log_start_offset(*start);
    return start.status();
  });
}

grpc::ServerUnaryReactor* AdminService::ListGroups(grpc::CallbackServerContext* context,
                                                   const v1::ListGroupsRequest* /*request*/,
                                                   v1::ListGroupsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) {
    auto list = e.groups->List();
    if (!list.ok()) return list.status();
    // As Kafka: Describe on the cluster lists every group, else the groups the caller may
    // describe.
    const bool all = caller.Allowed(Operation::kDescribe, ResourceType::kCluster, kCluster);
    for (const auto& g : *list) {
      if (!all && !caller.Allowed(Operation::kDescribe, ResourceType::kGroup, g.group)) continue;
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
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) {
    if (absl::Status s = caller.Check(Operation::kDescribe, ResourceType::kGroup, request->group());
        !s.ok()) {
      return s;
    }
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
      // The offsets of topics the caller may not describe are left out, as Kafka's OffsetFetch.
      if (!caller.Allowed(Operation::kDescribe, ResourceType::kTopic, p.tp.first)) continue;
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
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) {
    absl::Status s = caller.Check(Operation::kDelete, ResourceType::kGroup, request->group());
    return s.ok() ? e.groups->Delete(request->group()) : s;
  });
}

grpc::ServerUnaryReactor* AdminService::ResetOffsets(grpc::CallbackServerContext* context,
                                                     const v1::ResetOffsetsRequest* request,
                                                     v1::ResetOffsetsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    for (int32_t p : request->partitions()) {
      if (p < 0) return absl::InvalidArgumentError("partitions must be >= 0");
    }
    // As Kafka's AlterConsumerGroupOffsets: Read on the group and on the topic.
    if (absl::Status s = caller.Check(Operation::kRead, ResourceType::kGroup, request->group());
        !s.ok()) {
      return s;
    }
    if (absl::Status s = caller.Check(Operation::kRead, ResourceType::kTopic, request->topic());
        !s.ok()) {
      return s;
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

// ---------------------------------------------------------------------------------------------
// Users and ACLs: Alter on the cluster to change, Describe on the cluster to list.

grpc::ServerUnaryReactor* AdminService::SetPassword(grpc::CallbackServerContext* context,
                                                    const v1::SetPasswordRequest* request,
                                                    v1::SetPasswordResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    if (absl::Status s = caller.Check(Operation::kAlter, ResourceType::kCluster, kCluster);
        !s.ok()) {
      return s;
    }
    std::vector<security::ScramMechanism> mechanisms;
    for (const std::string& name : request->mechanisms()) {
      auto m = security::ParseScramMechanism(name);
      if (!m.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("mechanism '", name, "' is not one of SCRAM-SHA-256, SCRAM-SHA-512"));
      }
      mechanisms.push_back(*m);
    }
    if (request->iterations() < 0) {
      return absl::InvalidArgumentError("iterations must be >= 0 (0: 4096)");
    }
    const int32_t iterations =
        request->iterations() == 0 ? security::kMinScramIterations : request->iterations();
    const bool existed = e.security->FindUser(request->user()).has_value();
    if (absl::Status s =
            e.security->SetPassword(request->user(), request->password(), mechanisms, iterations);
        !s.ok()) {
      return s;
    }
    response->set_created(!existed);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::DeleteUser(grpc::CallbackServerContext* context,
                                                   const v1::DeleteUserRequest* request,
                                                   v1::DeleteUserResponse* /*response*/) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) {
    absl::Status s = caller.Check(Operation::kAlter, ResourceType::kCluster, kCluster);
    return s.ok() ? e.security->DeleteUser(request->user()) : s;
  });
}

grpc::ServerUnaryReactor* AdminService::ListUsers(grpc::CallbackServerContext* context,
                                                  const v1::ListUsersRequest* /*request*/,
                                                  v1::ListUsersResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    if (absl::Status s = caller.Check(Operation::kDescribe, ResourceType::kCluster, kCluster);
        !s.ok()) {
      return s;
    }
    for (const security::UserInfo& user : e.security->Users()) {
      v1::UserInfo* out = response->add_users();
      out->set_name(user.name);
      for (const auto& [mechanism, iterations] : user.credentials) {
        v1::UserCredential* c = out->add_credentials();
        c->set_mechanism(std::string(security::MechanismName(mechanism)));
        c->set_iterations(iterations);
      }
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::CreateAcls(grpc::CallbackServerContext* context,
                                                   const v1::CreateAclsRequest* request,
                                                   v1::CreateAclsResponse* /*response*/) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    if (absl::Status s = caller.Check(Operation::kAlter, ResourceType::kCluster, kCluster);
        !s.ok()) {
      return s;
    }
    if (request->acls().empty()) return absl::InvalidArgumentError("no acls given");
    // Every binding checked before any is stored, so a mistake stores none.
    std::vector<security::AclBinding> bindings;
    for (int i = 0; i < request->acls_size(); ++i) {
      auto b = FromProto(request->acls(i), i);
      if (!b.ok()) return b.status();
      bindings.push_back(*std::move(b));
    }
    for (const security::AclBinding& b : bindings) {
      if (absl::Status s = e.security->CreateAcl(b); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::DeleteAcls(grpc::CallbackServerContext* context,
                                                   const v1::DeleteAclsRequest* request,
                                                   v1::DeleteAclsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    if (absl::Status s = caller.Check(Operation::kAlter, ResourceType::kCluster, kCluster);
        !s.ok()) {
      return s;
    }
    auto filter = FromProto(request->filter());
    if (!filter.ok()) return filter.status();
    auto deleted = e.security->DeleteAcls(*filter);
    if (!deleted.ok()) return deleted.status();
    for (const security::AclBinding& b : *deleted) ToProto(b, response->add_deleted());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::ListAcls(grpc::CallbackServerContext* context,
                                                 const v1::ListAclsRequest* request,
                                                 v1::ListAclsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    if (absl::Status s = caller.Check(Operation::kDescribe, ResourceType::kCluster, kCluster);
        !s.ok()) {
      return s;
    }
    auto filter = FromProto(request->filter());
    if (!filter.ok()) return filter.status();
    for (const security::AclBinding& b : e.security->DescribeAcls(*filter)) {
      ToProto(b, response->add_acls());
    }
    return absl::OkStatus();
  });
}

}  // namespace ferry::grpc_server
