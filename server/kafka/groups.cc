// The group APIs over Ferry's coordinator (ConsumerGroups): Kafka members join the same
// groups as gRPC members, as followers of a leader no member is (kCoordinatorLeaderId), and
// take the assignment the coordinator computed. Thread-safe: JoinGroup blocks only its own
// connection's thread.
#include "server/kafka/groups.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/broker/validation.h"
#include "server/group/consumer_groups.h"
#include "server/log.h"
#include "storage/rocks_status.h"

namespace ferry::kafka {
namespace {

std::optional<group::AssignorKind> AssignorFor(std::string_view protocol) {
  if (protocol == "range" || protocol == "RangeAssignor") return group::AssignorKind::kRange;
  if (protocol == "roundrobin" || protocol == "RoundRobinAssigner") {
    return group::AssignorKind::kRoundRobin;
  }
  if (protocol == "sticky" || protocol == "cooperative-sticky") return group::AssignorKind::kSticky;
  return std::nullopt;
}

}  // namespace

int16_t GroupErrorCode(const absl::Status& s) {
  if (s.ok()) return error::kNone;
  switch (group::GroupErrorOf(s)) {
    case group::GroupError::kUnknownMember:
      return error::kUnknownMemberId;
    case group::GroupError::kStaleGeneration:
    case group::GroupError::kFutureGeneration:
      return error::kIllegalGeneration;
    case group::GroupError::kNotOwner:
    case group::GroupError::kRebalancing:
      return error::kRebalanceInProgress;
    case group::GroupError::kNone:
      break;
  }
  // The committed offsets could not be written (full disk): Kafka clients retry this one.
  if (storage::IsStorageWriteFailure(s)) return error::kCoordinatorNotAvailable;
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      return error::kUnknownTopicOrPartition;
    case absl::StatusCode::kOutOfRange:
      return error::kOffsetOutOfRange;
    case absl::StatusCode::kResourceExhausted:
      return error::kGroupMaxSizeReached;
    case absl::StatusCode::kInvalidArgument:
      return error::kInvalidRequest;
    case absl::StatusCode::kUnavailable:
      return error::kCoordinatorNotAvailable;
    default:
      return error::kUnknownServerError;
  }
}

Result HandleFindCoordinator(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const FindCoordinatorRequest r = DecodeFindCoordinatorRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  FindCoordinatorResponse resp;
  const ServingState::Address advertised = ctx.serving->advertised(ctx.listener);
  for (const auto& key : r.keys) {
    FindCoordinatorResponse::Coordinator& c = resp.coordinators.emplace_back();
    c.key = key;
    if (r.key_type != 0) {
      // As InitProducerId answers a transactional id: librdkafka and the Java client take
      // this code as fatal and report it, where COORDINATOR_NOT_AVAILABLE has them retry
      // until their timeout.
      c.error_code = error::kTransactionalIdAuthorizationFailed;
      c.error_message = "Ferry does not support transactions; unset transactional.id";
      continue;
    }
    absl::Status valid = broker::ValidateGroupName(key);
    if (!valid.ok()) {
      c.error_code = error::kInvalidGroupId;
      c.error_message = std::string(valid.message());
      continue;
    }
    if (!Authorized(ctx, kFindCoordinator, security::Operation::kDescribe,
                    security::ResourceType::kGroup, key)) {
      c.error_code = error::kGroupAuthorizationFailed;
      c.error_message =
          DeniedMessage(ctx, security::Operation::kDescribe, security::ResourceType::kGroup, key);
      continue;
    }
    c.node_id = kNodeId;
    c.host = advertised.host;
    c.port = advertised.port;
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleJoinGroup(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const JoinGroupRequest r = DecodeJoinGroupRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  JoinGroupResponse resp;
  resp.member_id = r.member_id;
  const auto fail = [&](int16_t code) {
    resp.error_code = code;
    return Result::Reply(EncodeResponse(h, resp));
  };
  if (!broker::ValidateGroupName(r.group_id).ok()) return fail(error::kInvalidGroupId);
  if (!Authorized(ctx, kJoinGroup, security::Operation::kRead, security::ResourceType::kGroup,
                  r.group_id)) {
    return fail(error::kGroupAuthorizationFailed);
  }
  if (r.protocol_type != "consumer" || r.protocols.empty()) {
    return fail(error::kInconsistentGroupProtocol);
  }
  const auto& options = ctx.groups->options();
  const absl::Duration session = absl::Milliseconds(r.session_timeout_ms);
  if (session < options.min_session_timeout || session > options.max_session_timeout) {
    return fail(error::kInvalidSessionTimeout);
  }
  // The client's preferred assignor Ferry has. An eager protocol wins over cooperative-sticky
  // (both work; eager needs one round less): the member is cooperative only when that is all
  // it offers.
  std::optional<group::AssignorKind> preferred;
  const JoinGroupRequest::Protocol* chosen = nullptr;
  for (int pass = 0; pass < 2 && !preferred; ++pass) {
    for (const auto& p : r.protocols) {
      if ((p.name == "cooperative-sticky") != (pass == 1)) continue;
      preferred = AssignorFor(p.name);
      if (preferred) {
        chosen = &p;
        break;
      }
    }
  }
  const bool cooperative = chosen != nullptr && chosen->name == "cooperative-sticky";
  std::optional<Subscription> subscription;
  for (const auto& p : r.protocols) {
    if (chosen != nullptr && &p != chosen) continue;
    auto parsed = ParseSubscription(p.metadata);
    if (parsed.ok() && !parsed->topics.empty()) {
      subscription = *std::move(parsed);
      break;
    }
  }
  if (!subscription.has_value()) return fail(error::kInconsistentGroupProtocol);
  const std::string instance_id = r.group_instance_id.value_or("");
  if (h.api_version >= 4 && r.member_id.empty() && instance_id.empty()) {
    // As Kafka does from v4: a new member first gets its id, and joins again with it, so a
    // client that retries a join it lost the answer to does not leave a phantom member behind
    // to hold up the barrier.
    auto id = ctx.groups->ReserveMemberId(r.group_id, session);
    if (!id.ok()) return fail(GroupErrorCode(id.status()));
    resp.member_id = *std::move(id);
    return fail(error::kMemberIdRequired);
  }

  group::JoinRequest join;
  join.group = r.group_id;
  join.topics = subscription->topics;
  join.session_timeout = session;
  join.member_id = r.member_id;
  join.instance_id = instance_id;
  join.assignor = preferred.value_or(group::AssignorKind::kSticky);
  join.classic = true;
  join.cooperative = cooperative;
  if (subscription->owned.has_value()) join.owned = *subscription->owned;
  // A client that closes its connection while its join waits at the barrier is gone: drop it
  // now rather than at its session timeout.
  join.abandoned = ctx.peer_gone;
  join.client_id = h.client_id.value_or("");
  join.client_host = absl::StrCat("/", std::string(ctx.peer_host));
  const absl::Duration rebalance_timeout =
      r.rebalance_timeout_ms > 0 ? absl::Milliseconds(r.rebalance_timeout_ms) : session;
  join.revoke_grace = rebalance_timeout;
  // Blocks at the classic barrier: until every Kafka member of the group has rejoined (or was
  // removed at its rebalance timeout), then briefly for partitions moving to this member.
  auto joined = ctx.groups->Join(join);
  if (!joined.ok()) {
    log::Event(log::Level::kDebug, "kafka_join_refused",
               {{"group", r.group_id}, {"error", std::string(joined.status().message())}});
    if (absl::IsInvalidArgument(joined.status())) return fail(error::kInvalidRequest);
    if (absl::IsCancelled(joined.status())) return Result::Close("the client went away");
    return fail(GroupErrorCode(joined.status()));
  }
  resp.generation_id = static_cast<int32_t>(joined->generation);
  resp.member_id = joined->member_id;
  resp.leader = kCoordinatorLeaderId;
  if (h.api_version >= 7) resp.protocol_type = r.protocol_type;
  // The protocol tells the client how to behave: a cooperative one keeps its partitions
  // across rebalances. Name the group's assignor in the member's terms where it has it.
  resp.protocol_name = chosen != nullptr ? chosen->name : r.protocols.front().name;
  if (!cooperative) {
    for (const auto& p : r.protocols) {
      if (AssignorFor(p.name) == joined->assignor && p.name != "cooperative-sticky") {
        resp.protocol_name = p.name;
        break;
      }
    }
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleSyncGroup(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const SyncGroupRequest r = DecodeSyncGroupRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  SyncGroupResponse resp;
  if (!Authorized(ctx, kSyncGroup, security::Operation::kRead, security::ResourceType::kGroup,
                  r.group_id)) {
    resp.error_code = error::kGroupAuthorizationFailed;
    return Result::Reply(EncodeResponse(h, resp));
  }
  auto view = ctx.groups->Sync(r.group_id, r.member_id, r.generation_id);
  if (!view.ok()) {
    resp.error_code = GroupErrorCode(view.status());
    if (resp.error_code == error::kInvalidRequest) resp.error_code = error::kInvalidGroupId;
    return Result::Reply(EncodeResponse(h, resp));
  }
  // v5: the protocol the member names must be one JoinGroup gives, checked as Kafka checks it
  // (after the member and its generation). JoinGroup names the group's assignor in each
  // member's own terms, or the member's choice when it offers none of the group's (the
  // coordinator assigns for it anyway), so any name of an assignor Ferry has is consistent.
  if ((r.protocol_type.has_value() && *r.protocol_type != "consumer") ||
      (r.protocol_name.has_value() && !AssignorFor(*r.protocol_name).has_value())) {
    resp.error_code = error::kInconsistentGroupProtocol;
    return Result::Reply(EncodeResponse(h, resp));
  }
  resp.protocol_type = "consumer";
  resp.protocol_name = r.protocol_name.value_or(group::AssignorName(view->assignor));
  resp.assignment = EncodeAssignment(view->assignment);
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleHeartbeat(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const HeartbeatRequest r = DecodeHeartbeatRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  if (!Authorized(ctx, kHeartbeat, security::Operation::kRead, security::ResourceType::kGroup,
                  r.group_id)) {
    return Result::Reply(EncodeResponse(h, HeartbeatResponse{error::kGroupAuthorizationFailed}));
  }
  auto view = ctx.groups->Heartbeat(r.group_id, r.member_id, r.generation_id);
  int16_t code = error::kNone;
  if (!view.ok()) {
    code = GroupErrorCode(view.status());
    if (code == error::kInvalidRequest) code = error::kInvalidGroupId;
  } else if (view->generation != r.generation_id || view->resync) {
    // The group moved on, or the member's partitions changed since its SyncGroup: it rejoins
    // (keeping its member id) and takes its new assignment.
    code = error::kRebalanceInProgress;
  }
  return Result::Reply(EncodeResponse(h, HeartbeatResponse{code}));
}

Result HandleLeaveGroup(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const LeaveGroupRequest r = DecodeLeaveGroupRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  LeaveGroupResponse resp;
  if (absl::Status valid = broker::ValidateGroupName(r.group_id); !valid.ok()) {
    resp.error_code = error::kInvalidGroupId;
    return Result::Reply(EncodeResponse(h, resp));
  }
  if (!Authorized(ctx, kLeaveGroup, security::Operation::kRead, security::ResourceType::kGroup,
                  r.group_id)) {
    resp.error_code = error::kGroupAuthorizationFailed;
    for (const auto& m : r.members) {
      resp.members.push_back({m.member_id, m.group_instance_id, error::kGroupAuthorizationFailed});
    }
    return Result::Reply(EncodeResponse(h, resp));
  }
  // v3+ may name a static member by its instance id alone (an admin removing it); the
  // members' instance ids come from the coordinator.
  std::optional<group::GroupInfo> info;
  for (const auto& m : r.members) {
    if (m.group_instance_id.has_value() && !info.has_value()) {
      auto d = ctx.groups->Describe(r.group_id);
      info = d.ok() ? d->info : group::GroupInfo{};
    }
  }
  for (const auto& m : r.members) {
    LeaveGroupResponse::Member& out = resp.members.emplace_back();
    out.member_id = m.member_id;
    out.group_instance_id = m.group_instance_id;
    std::string member_id = m.member_id;
    if (m.group_instance_id.has_value()) {
      const group::MemberInfo* found = nullptr;
      for (const auto& mi : info->members) {
        if (mi.instance_id == *m.group_instance_id) found = &mi;
      }
      if (found == nullptr) {
        out.error_code = error::kUnknownMemberId;
        continue;
      }
      if (!member_id.empty() && member_id != found->member_id) {
        out.error_code = error::kFencedInstanceId;
        continue;
      }
      member_id = found->member_id;
    }
    out.error_code = GroupErrorCode(ctx.groups->Leave(r.group_id, member_id));
  }
  // v0-2 have one member and its error is the response's; v3+ carry each member's.
  if (h.api_version <= 2 && !resp.members.empty()) resp.error_code = resp.members[0].error_code;
  return Result::Reply(EncodeResponse(h, resp));
}

namespace {

// Kafka's name of a group's state.
std::string KafkaGroupState(const group::GroupInfo& info) {
  if (info.members.empty()) return "Empty";
  return info.state == group::GroupState::kStable ? "Stable" : "PreparingRebalance";
}

}  // namespace

Result HandleListGroups(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const ListGroupsRequest r = DecodeListGroupsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  ListGroupsResponse resp;
  auto groups = ctx.groups->List();
  if (!groups.ok()) {
    resp.error_code = error::kCoordinatorNotAvailable;
    return Result::Reply(EncodeResponse(h, resp));
  }
  // Every group with Describe on the cluster; else those the principal may describe.
  const bool all = Authorized(ctx, kListGroups, security::Operation::kDescribe,
                              security::ResourceType::kCluster, security::kClusterName);
  for (const auto& g : *groups) {
    if (!all && !Authorized(ctx, kListGroups, security::Operation::kDescribe,
                            security::ResourceType::kGroup, g.group)) {
      continue;
    }
    std::string state = KafkaGroupState(g);
    if (!r.states_filter.empty() &&
        std::none_of(r.states_filter.begin(), r.states_filter.end(),
                     [&](const std::string& s) { return absl::EqualsIgnoreCase(s, state); })) {
      continue;
    }
    // Every Ferry group is a consumer group, whichever front door its members use.
    resp.groups.push_back({g.group, "consumer", std::move(state)});
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleDescribeGroups(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const DescribeGroupsRequest r = DecodeDescribeGroupsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  DescribeGroupsResponse resp;
  for (const auto& name : r.groups) {
    DescribeGroupsResponse::Group g;
    g.group_id = name;
    g.protocol_type = "consumer";
    if (r.include_authorized_operations) g.authorized_operations = kGroupAuthorizedOperations;
    if (!Authorized(ctx, kDescribeGroups, security::Operation::kDescribe,
                    security::ResourceType::kGroup, name)) {
      g.error_code = error::kGroupAuthorizationFailed;
      g.protocol_type.clear();
      resp.groups.push_back(std::move(g));
      continue;
    }
    auto d = ctx.groups->Describe(name);
    if (absl::IsInvalidArgument(d.status())) {
      g.error_code = error::kInvalidGroupId;
    } else if (!d.ok()) {
      g.state = "Dead";  // as Kafka describes a group it does not know
      g.protocol_type.clear();
    } else {
      const group::GroupInfo& info = d->info;
      g.state = KafkaGroupState(info);
      if (!info.members.empty()) g.protocol = info.assignor;
      for (const auto& m : info.members) {
        g.members.push_back(
            {m.member_id, m.instance_id.empty() ? std::nullopt : std::make_optional(m.instance_id),
             m.client_id, m.client_host, EncodeSubscription(m.topics),
             EncodeAssignment(m.assignment)});
      }
    }
    resp.groups.push_back(std::move(g));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

std::string FindCoordinatorErrorResponse(const RequestHeader& h, int16_t error_code) {
  FindCoordinatorResponse r;
  r.coordinators.emplace_back().error_code = error_code;
  return EncodeResponse(h, r);
}

std::string JoinGroupErrorResponse(const RequestHeader& h, int16_t error_code) {
  JoinGroupResponse r;
  r.error_code = error_code;
  return EncodeResponse(h, r);
}

std::string SyncGroupErrorResponse(const RequestHeader& h, int16_t error_code) {
  SyncGroupResponse r;
  r.error_code = error_code;
  return EncodeResponse(h, r);
}

std::string HeartbeatErrorResponse(const RequestHeader& h, int16_t error_code) {
  return EncodeResponse(h, HeartbeatResponse{error_code});
}

std::string LeaveGroupErrorResponse(const RequestHeader& h, int16_t error_code) {
  LeaveGroupResponse r;
  r.error_code = error_code;
  return EncodeResponse(h, r);
}

std::string ListGroupsErrorResponse(const RequestHeader& h, int16_t error_code) {
  ListGroupsResponse r;
  r.error_code = error_code;
  return EncodeResponse(h, r);
}

std::string DescribeGroupsErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, DescribeGroupsResponse{});  // no groups, so nowhere for the error
}

}  // namespace ferry::kafka
