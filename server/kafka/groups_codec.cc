// The group APIs on the wire (FindCoordinator v0-1, JoinGroup v0-2, SyncGroup, Heartbeat,
// LeaveGroup, DescribeGroups and ListGroups v0-1; v1+ add throttle time) and the consumer
// protocol's subscription and assignment (v0 written, any version read).
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/kafka/groups.h"

namespace ferry::kafka {

// --- requests ------------------------------------------------------------------------------

FindCoordinatorRequest DecodeFindCoordinatorRequest(int16_t v, Reader& r) {
  FindCoordinatorRequest f;
  f.key = Str(r.String());
  if (v >= 1) f.key_type = r.Int8();
  return f;
}

JoinGroupRequest DecodeJoinGroupRequest(int16_t v, Reader& r) {
  JoinGroupRequest j;
  j.group_id = Str(r.String());
  j.session_timeout_ms = r.Int32();
  if (v >= 1) j.rebalance_timeout_ms = r.Int32();
  j.member_id = Str(r.String());
  j.protocol_type = Str(r.String());
  const int32_t n = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    JoinGroupRequest::Protocol p;
    p.name = Str(r.String());
    p.metadata = Str(r.BytesField());
    j.protocols.push_back(std::move(p));
  }
  return j;
}

SyncGroupRequest DecodeSyncGroupRequest(int16_t, Reader& r) {
  SyncGroupRequest s;
  s.group_id = Str(r.String());
  s.generation_id = r.Int32();
  s.member_id = Str(r.String());
  const int32_t n = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    std::string member = Str(r.String());
    std::string assignment = Str(r.BytesField());
    s.assignments.emplace_back(std::move(member), std::move(assignment));
  }
  return s;
}

HeartbeatRequest DecodeHeartbeatRequest(int16_t, Reader& r) {
  HeartbeatRequest h;
  h.group_id = Str(r.String());
  h.generation_id = r.Int32();
  h.member_id = Str(r.String());
  return h;
}

LeaveGroupRequest DecodeLeaveGroupRequest(int16_t, Reader& r) {
  LeaveGroupRequest l;
  l.group_id = Str(r.String());
  l.member_id = Str(r.String());
  return l;
}

ListGroupsRequest DecodeListGroupsRequest(int16_t, Reader&) { return ListGroupsRequest{}; }

DescribeGroupsRequest DecodeDescribeGroupsRequest(int16_t, Reader& r) {
  DescribeGroupsRequest d;
  const int32_t n = r.ArrayCount(kMinString);
  for (int32_t i = 0; i < n && r.ok(); ++i) d.groups.push_back(Str(r.String()));
  return d;
}

// --- responses -------------------------------------------------------------------------------

std::string EncodeResponse(const RequestHeader& h, const FindCoordinatorResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 1) w.Int32(0);
  w.Int16(r.error_code);
  if (v >= 1) w.NullableString(r.error_message);
  w.Int32(r.node_id);
  w.String(r.host);
  w.Int32(r.port);
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const JoinGroupResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  if (h.api_version >= 2) w.Int32(0);
  w.Int16(r.error_code);
  w.Int32(r.generation_id);
  w.String(r.protocol_name);
  w.String(r.leader);
  w.String(r.member_id);
  w.ArrayCount(static_cast<int32_t>(r.members.size()));
  for (const auto& [id, metadata] : r.members) {
    w.String(id);
    w.BytesField(metadata);
  }
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const SyncGroupResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  if (h.api_version >= 1) w.Int32(0);
  w.Int16(r.error_code);
  w.BytesField(r.assignment);
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const HeartbeatResponse& r) {
  ResponseFrame f(h);
  if (h.api_version >= 1) f.w().Int32(0);
  f.w().Int16(r.error_code);
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const LeaveGroupResponse& r) {
  ResponseFrame f(h);
  if (h.api_version >= 1) f.w().Int32(0);
  f.w().Int16(r.error_code);
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const ListGroupsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  if (h.api_version >= 1) w.Int32(0);
  w.Int16(r.error_code);
  w.ArrayCount(static_cast<int32_t>(r.groups.size()));
  for (const auto& [id, type] : r.groups) {
    w.String(id);
    w.String(type);
  }
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const DescribeGroupsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  if (h.api_version >= 1) w.Int32(0);
  w.ArrayCount(static_cast<int32_t>(r.groups.size()));
  for (const auto& g : r.groups) {
    w.Int16(g.error_code);
    w.String(g.group_id);
    w.String(g.state);
    w.String(g.protocol_type);
    w.String(g.protocol);
    w.ArrayCount(static_cast<int32_t>(g.members.size()));
    for (const auto& m : g.members) {
      w.String(m.member_id);
      w.String(m.client_id);
      w.String(m.client_host);
      w.BytesField(m.metadata);
      w.BytesField(m.assignment);
    }
  }
  return f.Finish();
}

// --- the consumer protocol -------------------------------------------------------------------

absl::StatusOr<Subscription> ParseSubscription(std::string_view metadata) {
  Reader r(metadata);
  const int16_t version = r.Int16();
  if (r.ok() && version < 0) r.Fail("negative version");
  Subscription sub;
  const int32_t n = r.ArrayCount(kMinString);
  for (int32_t i = 0; i < n && r.ok(); ++i) sub.topics.push_back(Str(r.String()));
  // User data; a v0 subscription may end before it.
  if (r.ok() && (version >= 1 || r.remaining() > 0)) r.NullableBytes();
  if (r.ok() && version >= 1) {
    auto& owned = sub.owned.emplace();
    const int32_t topics = r.ArrayCount(kMinString + 4);
    for (int32_t i = 0; i < topics && r.ok(); ++i) {
      const std::string topic = Str(r.String());
      const int32_t partitions = r.ArrayCount(4);
      for (int32_t j = 0; j < partitions && r.ok(); ++j) owned.emplace_back(topic, r.Int32());
    }
  }
  if (!r.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed consumer protocol subscription: ", r.error()));
  }
  return sub;
}

std::string EncodeSubscription(const std::vector<std::string>& topics) {
  std::string out;
  Writer w(&out);
  w.Int16(0);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) w.String(t);
  w.BytesField("");
  return out;
}

std::string EncodeAssignment(const std::vector<std::pair<std::string, int32_t>>& partitions) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const auto& [topic, partition] : partitions) by_topic[topic].push_back(partition);
  std::string out;
  Writer w(&out);
  w.Int16(0);
  w.ArrayCount(static_cast<int32_t>(by_topic.size()));
  for (const auto& [topic, ps] : by_topic) {
    w.String(topic);
    WriteInt32Array(w, ps);
  }
  w.BytesField("");  // user data
  return out;
}

}  // namespace ferry::kafka
