// The group APIs on the wire, every field of every served version as Kafka's message schemas
// define them (a tagged-field section ends every struct of a flexible version; Writer and
// Reader make it a no-op otherwise), and the consumer protocol's subscription and assignment
// (v0 written, any version read).
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/kafka/groups.h"

namespace ferry::kafka {

// --- requests ------------------------------------------------------------------------------
namespace {

// The least bytes an array element can take: what a forged count is checked against. The
// compact forms are shorter (a one-byte length), so flexible versions use one byte.
size_t MinBytes(const Reader& r, size_t fixed) { return r.flexible() ? 1 : fixed; }

std::vector<std::string> ReadStrings(Reader& r) {
  std::vector<std::string> out;
  const int32_t n = r.ArrayCount(MinBytes(r, kMinString));
  for (int32_t i = 0; i < n && r.ok(); ++i) out.push_back(Str(r.String()));
  return out;
}

}  // namespace

FindCoordinatorRequest DecodeFindCoordinatorRequest(int16_t v, Reader& r) {
  FindCoordinatorRequest f;
  if (v <= 3) f.keys.push_back(Str(r.String()));
  if (v >= 1) f.key_type = r.Int8();
  if (v >= 4) f.keys = ReadStrings(r);
  r.TaggedFields();
  return f;
}

JoinGroupRequest DecodeJoinGroupRequest(int16_t v, Reader& r) {
  JoinGroupRequest j;
  j.group_id = Str(r.String());
  j.session_timeout_ms = r.Int32();
  if (v >= 1) j.rebalance_timeout_ms = r.Int32();
  j.member_id = Str(r.String());
  if (v >= 5) j.group_instance_id = OptStr(r.NullableString());
  j.protocol_type = Str(r.String());
  const int32_t n = r.ArrayCount(MinBytes(r, kMinString + 4));
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    JoinGroupRequest::Protocol p;
    p.name = Str(r.String());
    p.metadata = Str(r.BytesField());
    r.TaggedFields();
    j.protocols.push_back(std::move(p));
  }
  r.TaggedFields();
  return j;
}

SyncGroupRequest DecodeSyncGroupRequest(int16_t v, Reader& r) {
  SyncGroupRequest s;
  s.group_id = Str(r.String());
  s.generation_id = r.Int32();
  s.member_id = Str(r.String());
  if (v >= 3) s.group_instance_id = OptStr(r.NullableString());
  if (v >= 5) {
    s.protocol_type = OptStr(r.NullableString());
    s.protocol_name = OptStr(r.NullableString());
  }
  const int32_t n = r.ArrayCount(MinBytes(r, kMinString + 4));
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    std::string member = Str(r.String());
    std::string assignment = Str(r.BytesField());
    r.TaggedFields();
    s.assignments.emplace_back(std::move(member), std::move(assignment));
  }
  r.TaggedFields();
  return s;
}

HeartbeatRequest DecodeHeartbeatRequest(int16_t v, Reader& r) {
  HeartbeatRequest h;
  h.group_id = Str(r.String());
  h.generation_id = r.Int32();
  h.member_id = Str(r.String());
  if (v >= 3) h.group_instance_id = OptStr(r.NullableString());
  r.TaggedFields();
  return h;
}

LeaveGroupRequest DecodeLeaveGroupRequest(int16_t v, Reader& r) {
  LeaveGroupRequest l;
  l.group_id = Str(r.String());
  if (v <= 2) {
    l.members.push_back({Str(r.String()), std::nullopt});
  } else {
    const int32_t n = r.ArrayCount(MinBytes(r, kMinString + 2));
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      LeaveGroupRequest::Member m;
      m.member_id = Str(r.String());
      m.group_instance_id = OptStr(r.NullableString());
      r.TaggedFields();
      l.members.push_back(std::move(m));
    }
  }
  r.TaggedFields();
  return l;
}

ListGroupsRequest DecodeListGroupsRequest(int16_t v, Reader& r) {
  ListGroupsRequest l;
  if (v >= 4) l.states_filter = ReadStrings(r);
  r.TaggedFields();
  return l;
}

DescribeGroupsRequest DecodeDescribeGroupsRequest(int16_t v, Reader& r) {
  DescribeGroupsRequest d;
  d.groups = ReadStrings(r);
  if (v >= 3) d.include_authorized_operations = r.Bool();
  r.TaggedFields();
  return d;
}

// --- responses -------------------------------------------------------------------------------

std::string EncodeResponse(const RequestHeader& h, const FindCoordinatorResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 1) w.Int32(0);  // throttle_time_ms
  if (v <= 3) {
    const FindCoordinatorResponse::Coordinator c =
        r.coordinators.empty() ? FindCoordinatorResponse::Coordinator{} : r.coordinators.front();
    w.Int16(c.error_code);
    if (v >= 1) w.NullableString(c.error_message);
    w.Int32(c.node_id);
    w.String(c.host);
    w.Int32(c.port);
  } else {
    w.ArrayCount(static_cast<int32_t>(r.coordinators.size()));
    for (const auto& c : r.coordinators) {
      w.String(c.key);
      w.Int32(c.node_id);
      w.String(c.host);
      w.Int32(c.port);
      w.Int16(c.error_code);
      w.NullableString(c.error_message);
      w.TaggedFields();
    }
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const JoinGroupResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 2) w.Int32(0);  // throttle_time_ms
  w.Int16(r.error_code);
  w.Int32(r.generation_id);
  if (v >= 7) {
    w.NullableString(r.protocol_type);
    w.NullableString(r.protocol_name);
  } else {
    w.String(r.protocol_name.value_or(""));
  }
  w.String(r.leader);
  w.String(r.member_id);
  w.ArrayCount(static_cast<int32_t>(r.members.size()));
  for (const auto& m : r.members) {
    w.String(m.member_id);
    if (v >= 5) w.NullableString(m.group_instance_id);
    w.BytesField(m.metadata);
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const SyncGroupResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 1) w.Int32(0);  // throttle_time_ms
  w.Int16(r.error_code);
  if (v >= 5) {
    w.NullableString(r.protocol_type);
    w.NullableString(r.protocol_name);
  }
  w.BytesField(r.assignment);
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const HeartbeatResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  if (h.api_version >= 1) w.Int32(0);  // throttle_time_ms
  w.Int16(r.error_code);
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const LeaveGroupResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  if (h.api_version >= 1) w.Int32(0);  // throttle_time_ms
  w.Int16(r.error_code);
  if (h.api_version >= 3) {
    w.ArrayCount(static_cast<int32_t>(r.members.size()));
    for (const auto& m : r.members) {
      w.String(m.member_id);
      w.NullableString(m.group_instance_id);
      w.Int16(m.error_code);
      w.TaggedFields();
    }
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const ListGroupsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  if (h.api_version >= 1) w.Int32(0);  // throttle_time_ms
  w.Int16(r.error_code);
  w.ArrayCount(static_cast<int32_t>(r.groups.size()));
  for (const auto& g : r.groups) {
    w.String(g.group_id);
    w.String(g.protocol_type);
    if (h.api_version >= 4) w.String(g.state);
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const DescribeGroupsResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 1) w.Int32(0);  // throttle_time_ms
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
      if (v >= 4) w.NullableString(m.group_instance_id);
      w.String(m.client_id);
      w.String(m.client_host);
      w.BytesField(m.metadata);
      w.BytesField(m.assignment);
      w.TaggedFields();
    }
    if (v >= 3) w.Int32(g.authorized_operations);
    w.TaggedFields();
  }
  w.TaggedFields();
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
