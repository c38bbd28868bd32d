#include "server/kafka/protocol.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

// The smallest encoding of an array element, so a forged count fails before any allocation.
constexpr size_t kMinString = 2;

std::string Str(std::string_view v) { return std::string(v); }

std::optional<std::string> OptStr(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

// A response frame under construction: size prefix and correlation id written up front.
class ResponseFrame {
 public:
  explicit ResponseFrame(const RequestHeader& header) : w_(&out_) {
    size_at_ = w_.ReserveInt32();
    w_.Int32(header.correlation_id);
  }
  Writer& w() { return w_; }
  std::string Finish() {
    w_.PatchInt32(size_at_, static_cast<int32_t>(out_.size() - 4));
    return std::move(out_);
  }

 private:
  std::string out_;
  Writer w_;
  size_t size_at_ = 0;
};

template <typename Topic, typename ReadPartition>
std::vector<Topic> ReadTopics(Reader& r, size_t min_partition_bytes, ReadPartition read) {
  std::vector<Topic> topics;
  const int32_t n = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Topic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(min_partition_bytes);
    for (int32_t j = 0; j < np && r.ok(); ++j) t.partitions.push_back(read());
    topics.push_back(std::move(t));
  }
  return topics;
}

RequestBody ParseBody(int16_t key, int16_t v, Reader& r) {
  switch (key) {
    case kApiVersions:
      return ApiVersionsRequest{};
    case kMetadata: {
      MetadataRequest m;
      const int32_t n = r.Int32();
      if (n >= 0 || v == 0) {
        if (n < -1 || static_cast<size_t>(std::max(n, 0)) > r.remaining() / kMinString) {
          r.Fail("bad topic count");
        }
        std::vector<std::string> names;
        for (int32_t i = 0; i < n && r.ok(); ++i) names.push_back(Str(r.String()));
        // v0 has no null: an empty list asks for every topic.
        if (!(v == 0 && names.empty())) m.topics = std::move(names);
      } else if (n != -1) {
        r.Fail("bad topic count");
      }
      if (v >= 4) m.allow_auto_topic_creation = r.Bool();
      return m;
    }
    case kProduce: {
      ProduceRequest p;
      if (v >= 3) p.transactional_id = OptStr(r.NullableString());
      p.acks = r.Int16();
      p.timeout_ms = r.Int32();
      p.topics = ReadTopics<ProduceRequest::Topic>(r, 8, [&] {
        ProduceRequest::Partition part;
        part.index = r.Int32();
        part.records = r.NullableBytes();
        return part;
      });
      return p;
    }
    case kFetch: {
      FetchRequest f;
      f.replica_id = r.Int32();
      f.max_wait_ms = r.Int32();
      f.min_bytes = r.Int32();
      if (v >= 3) f.max_bytes = r.Int32();
      if (v >= 4) f.isolation_level = r.Int8();
      f.topics = ReadTopics<FetchRequest::Topic>(r, 16, [&] {
        FetchRequest::Partition part;
        part.index = r.Int32();
        part.fetch_offset = r.Int64();
        part.max_bytes = r.Int32();
        return part;
      });
      return f;
    }
    case kListOffsets: {
      ListOffsetsRequest l;
      l.replica_id = r.Int32();
      if (v >= 2) l.isolation_level = r.Int8();
      l.topics = ReadTopics<ListOffsetsRequest::Topic>(r, v == 0 ? 16 : 12, [&] {
        ListOffsetsRequest::Partition part;
        part.index = r.Int32();
        part.timestamp = r.Int64();
        if (v == 0) part.max_num_offsets = r.Int32();
        return part;
      });
      return l;
    }
    case kFindCoordinator: {
      FindCoordinatorRequest f;
      f.key = Str(r.String());
      if (v >= 1) f.key_type = r.Int8();
      return f;
    }
    case kJoinGroup: {
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
    case kSyncGroup: {
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
    case kHeartbeat: {
      HeartbeatRequest h;
      h.group_id = Str(r.String());
      h.generation_id = r.Int32();
      h.member_id = Str(r.String());
      return h;
    }
    case kLeaveGroup: {
      LeaveGroupRequest l;
      l.group_id = Str(r.String());
      l.member_id = Str(r.String());
      return l;
    }
    case kOffsetCommit: {
      OffsetCommitRequest c;
      c.group_id = Str(r.String());
      if (v >= 1) {
        c.generation_id = r.Int32();
        c.member_id = Str(r.String());
      }
      if (v >= 2) c.retention_time_ms = r.Int64();
      c.topics = ReadTopics<OffsetCommitRequest::Topic>(r, v == 1 ? 22 : 14, [&] {
        OffsetCommitRequest::Partition part;
        part.index = r.Int32();
        part.offset = r.Int64();
        if (v == 1) part.timestamp = r.Int64();
        part.metadata = OptStr(r.NullableString());
        return part;
      });
      return c;
    }
    case kOffsetFetch: {
      OffsetFetchRequest f;
      f.group_id = Str(r.String());
      if (v >= 2 && r.remaining() >= 4 &&
          r.rest().substr(0, 4) == std::string_view("\xff\xff\xff\xff", 4)) {
        r.Int32();
        f.all_topics = true;
        return f;
      }
      const int32_t n = r.ArrayCount(kMinString + 4);
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        OffsetFetchRequest::Topic t;
        t.name = Str(r.String());
        const int32_t np = r.ArrayCount(4);
        for (int32_t j = 0; j < np && r.ok(); ++j) t.partitions.push_back(r.Int32());
        f.topics.push_back(std::move(t));
      }
      return f;
    }
    case kListGroups:
      return ListGroupsRequest{};
    case kDescribeGroups: {
      DescribeGroupsRequest d;
      const int32_t n = r.ArrayCount(kMinString);
      for (int32_t i = 0; i < n && r.ok(); ++i) d.groups.push_back(Str(r.String()));
      return d;
    }
    case kSaslHandshake: {
      SaslHandshakeRequest s;
      s.mechanism = Str(r.String());
      return s;
    }
    case kCreateTopics: {
      CreateTopicsRequest c;
      const int32_t n = r.ArrayCount(kMinString + 14);
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        CreateTopicsRequest::Topic t;
        t.name = Str(r.String());
        t.num_partitions = r.Int32();
        t.replication_factor = r.Int16();
        const int32_t na = r.ArrayCount(8);
        for (int32_t j = 0; j < na && r.ok(); ++j) {
          const int32_t partition = r.Int32();
          std::vector<int32_t> brokers;
          const int32_t nb = r.ArrayCount(4);
          for (int32_t k = 0; k < nb && r.ok(); ++k) brokers.push_back(r.Int32());
          t.assignments.emplace_back(partition, std::move(brokers));
        }
        const int32_t nc = r.ArrayCount(kMinString + 2);
        for (int32_t j = 0; j < nc && r.ok(); ++j) {
          CreateTopicsRequest::Config config;
          config.name = Str(r.String());
          config.value = OptStr(r.NullableString());
          t.configs.push_back(std::move(config));
        }
        c.topics.push_back(std::move(t));
      }
      c.timeout_ms = r.Int32();
      if (v >= 1) c.validate_only = r.Bool();
      return c;
    }
    case kDeleteTopics: {
      DeleteTopicsRequest d;
      const int32_t n = r.ArrayCount(kMinString);
      for (int32_t i = 0; i < n && r.ok(); ++i) d.names.push_back(Str(r.String()));
      d.timeout_ms = r.Int32();
      return d;
    }
    default:
      r.Fail("unknown api key");
      return ApiVersionsRequest{};
  }
}

// Topic arrays whose partitions are written by `write`.
template <typename Topic, typename WritePartition>
void WriteTopics(Writer& w, const std::vector<Topic>& topics, WritePartition write) {
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) write(p);
  }
}

void WriteInt32Array(Writer& w, const std::vector<int32_t>& values) {
  w.ArrayCount(static_cast<int32_t>(values.size()));
  for (int32_t v : values) w.Int32(v);
}

}  // namespace

const std::vector<ApiVersionRange>& SupportedApis() {
  // Every range starts at v0: librdkafka turns group consumption off when a group API's does
  // not. Metadata v4 as the highest makes kafka-python take the broker for 0.11 (record batch
  // v2, Produce v3, Fetch v4).
  static const std::vector<ApiVersionRange> apis = {
      {kProduce, 0, 3},         {kFetch, 0, 4},        {kListOffsets, 0, 2},
      {kMetadata, 0, 4},        {kOffsetCommit, 0, 2}, {kOffsetFetch, 0, 2},
      {kFindCoordinator, 0, 1}, {kJoinGroup, 0, 2},    {kHeartbeat, 0, 1},
      {kLeaveGroup, 0, 1},      {kSyncGroup, 0, 1},    {kDescribeGroups, 0, 1},
      {kListGroups, 0, 1},      {kApiVersions, 0, 2},  {kCreateTopics, 0, 1},
      {kDeleteTopics, 0, 1},
  };
  return apis;
}

const ApiVersionRange* FindApi(int16_t api_key) {
  for (const auto& api : SupportedApis()) {
    if (api.api_key == api_key) return &api;
  }
  return nullptr;
}

const char* ApiName(int16_t api_key) {
  static const std::map<int16_t, const char*> names = {
      {0, "Produce"},
      {1, "Fetch"},
      {2, "ListOffsets"},
      {3, "Metadata"},
      {4, "LeaderAndIsr"},
      {5, "StopReplica"},
      {6, "UpdateMetadata"},
      {7, "ControlledShutdown"},
      {8, "OffsetCommit"},
      {9, "OffsetFetch"},
      {10, "FindCoordinator"},
      {11, "JoinGroup"},
      {12, "Heartbeat"},
      {13, "LeaveGroup"},
      {14, "SyncGroup"},
      {15, "DescribeGroups"},
      {16, "ListGroups"},
      {17, "SaslHandshake"},
      {18, "ApiVersions"},
      {19, "CreateTopics"},
      {20, "DeleteTopics"},
      {21, "DeleteRecords"},
      {22, "InitProducerId"},
      {23, "OffsetForLeaderEpoch"},
      {24, "AddPartitionsToTxn"},
      {25, "AddOffsetsToTxn"},
      {26, "EndTxn"},
      {32, "DescribeConfigs"},
      {33, "AlterConfigs"},
      {36, "SaslAuthenticate"},
      {37, "CreatePartitions"},
      {42, "DeleteGroups"},
  };
  auto it = names.find(api_key);
  return it == names.end() ? "Unknown" : it->second;
}

absl::StatusOr<RequestHeader> ParseRequestHeader(std::string_view frame, std::string_view* body) {
  Reader r(frame);
  RequestHeader h;
  h.api_key = r.Int16();
  h.api_version = r.Int16();
  h.correlation_id = r.Int32();
  h.client_id = OptStr(r.NullableString());
  if (!r.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("malformed request header: ", r.error()));
  }
  if (body != nullptr) *body = r.rest();
  return h;
}

absl::StatusOr<Request> ParseRequest(std::string_view frame) {
  std::string_view body;
  auto header = ParseRequestHeader(frame, &body);
  if (!header.ok()) return header.status();
  const ApiVersionRange* api = FindApi(header->api_key);
  if (api == nullptr && header->api_key != kSaslHandshake) {
    return absl::UnimplementedError(absl::StrCat("API key ", header->api_key, " (",
                                                 ApiName(header->api_key), ") is not served"));
  }
  const int16_t max_version = api != nullptr ? api->max_version : 1;
  if (header->api_version < 0 || header->api_version > max_version) {
    return absl::OutOfRangeError(absl::StrCat(ApiName(header->api_key), " v", header->api_version,
                                              " is not supported (0-", max_version, ")"));
  }
  Reader r(body);
  Request request;
  request.body = ParseBody(header->api_key, header->api_version, r);
  if (r.ok() && r.remaining() != 0) r.Fail("trailing bytes after the request body");
  if (!r.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("malformed ", ApiName(header->api_key), " v",
                                                   header->api_version, " request: ", r.error()));
  }
  request.header = *std::move(header);
  return request;
}

// --- responses -------------------------------------------------------------------------------

std::string EncodeResponse(const RequestHeader& h, const ApiVersionsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int16(r.error_code);
  w.ArrayCount(static_cast<int32_t>(r.apis.size()));
  for (const auto& api : r.apis) {
    w.Int16(api.api_key);
    w.Int16(api.min_version);
    w.Int16(api.max_version);
  }
  if (h.api_version >= 1) w.Int32(0);  // throttle_time_ms
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const MetadataResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 3) w.Int32(0);
  w.ArrayCount(static_cast<int32_t>(r.brokers.size()));
  for (const auto& b : r.brokers) {
    w.Int32(b.node_id);
    w.String(b.host);
    w.Int32(b.port);
    if (v >= 1) w.NullableString(std::nullopt);  // rack
  }
  if (v >= 2) w.NullableString(r.cluster_id);
  if (v >= 1) w.Int32(r.controller_id);
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.Int16(t.error_code);
    w.String(t.name);
    if (v >= 1) w.Bool(false);  // is_internal
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int16(p.error_code);
      w.Int32(p.index);
      w.Int32(p.leader);
      WriteInt32Array(w, p.replicas);
      WriteInt32Array(w, p.isr);
    }
  }
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const ProduceResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  WriteTopics(w, r.topics, [&](const ProduceResponse::Partition& p) {
    w.Int32(p.index);
    w.Int16(p.error_code);
    w.Int64(p.base_offset);
    if (v >= 2) w.Int64(-1);  // log_append_time: records keep the producer's timestamps
  });
  if (v >= 1) w.Int32(0);
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const FetchResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 1) w.Int32(0);
  WriteTopics(w, r.topics, [&](const FetchResponse::Partition& p) {
    w.Int32(p.index);
    w.Int16(p.error_code);
    w.Int64(p.high_watermark);
    if (v >= 4) {
      w.Int64(p.high_watermark);  // last_stable_offset: no transactions
      w.ArrayCount(-1);           // aborted_transactions
    }
    w.BytesField(p.records);
  });
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const ListOffsetsResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 2) w.Int32(0);
  WriteTopics(w, r.topics, [&](const ListOffsetsResponse::Partition& p) {
    w.Int32(p.index);
    w.Int16(p.error_code);
    if (v == 0) {
      if (p.offset >= 0) {
        w.ArrayCount(1);
        w.Int64(p.offset);
      } else {
        w.ArrayCount(0);
      }
    } else {
      w.Int64(p.timestamp);
      w.Int64(p.offset);
    }
  });
  return f.Finish();
}

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

std::string EncodeResponse(const RequestHeader& h, const OffsetCommitResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  WriteTopics(w, r.topics, [&](const OffsetCommitResponse::Partition& p) {
    w.Int32(p.index);
    w.Int16(p.error_code);
  });
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const OffsetFetchResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  WriteTopics(w, r.topics, [&](const OffsetFetchResponse::Partition& p) {
    w.Int32(p.index);
    w.Int64(p.offset);
    w.NullableString(p.metadata);
    w.Int16(p.error_code);
  });
  if (h.api_version >= 2) w.Int16(r.error_code);
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

std::string EncodeResponse(const RequestHeader& h, const SaslHandshakeResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int16(r.error_code);
  w.ArrayCount(static_cast<int32_t>(r.mechanisms.size()));
  for (const auto& m : r.mechanisms) w.String(m);
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const CreateTopicsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.Int16(t.error_code);
    if (h.api_version >= 1) w.NullableString(t.error_message);
  }
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const DeleteTopicsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  if (h.api_version >= 1) w.Int32(0);
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.Int16(t.error_code);
  }
  return f.Finish();
}

std::string EncodeVersionError(const RequestHeader& header, int16_t error_code) {
  RequestHeader h = header;
  if (h.api_key == kApiVersions) {
    h.api_version = 0;
    return EncodeResponse(h, ApiVersionsResponse{error_code, SupportedApis()});
  }
  const ApiVersionRange* api = FindApi(h.api_key);
  if (api == nullptr) {
    if (h.api_key != kSaslHandshake) return "";
    h.api_version = 1;
    return EncodeResponse(h, SaslHandshakeResponse{error_code, {}});
  }
  h.api_version = api->max_version;
  switch (h.api_key) {
    case kProduce:
      return EncodeResponse(h, ProduceResponse{});
    case kFetch:
      return EncodeResponse(h, FetchResponse{});
    case kListOffsets:
      return EncodeResponse(h, ListOffsetsResponse{});
    case kMetadata:
      return EncodeResponse(h, MetadataResponse{});
    case kOffsetCommit:
      return EncodeResponse(h, OffsetCommitResponse{});
    case kOffsetFetch:
      return EncodeResponse(h, OffsetFetchResponse{});
    case kFindCoordinator: {
      FindCoordinatorResponse r;
      r.error_code = error_code;
      return EncodeResponse(h, r);
    }
    case kJoinGroup: {
      JoinGroupResponse r;
      r.error_code = error_code;
      return EncodeResponse(h, r);
    }
    case kHeartbeat:
      return EncodeResponse(h, HeartbeatResponse{error_code});
    case kLeaveGroup:
      return EncodeResponse(h, LeaveGroupResponse{error_code});
    case kSyncGroup:
      return EncodeResponse(h, SyncGroupResponse{error_code, ""});
    case kCreateTopics:
      return EncodeResponse(h, CreateTopicsResponse{});
    case kListGroups:
      return EncodeResponse(h, ListGroupsResponse{error_code, {}});
    case kDescribeGroups:
      return EncodeResponse(h, DescribeGroupsResponse{});
    case kDeleteTopics:
      return EncodeResponse(h, DeleteTopicsResponse{});
    default:
      return "";
  }
}

// --- the consumer protocol -------------------------------------------------------------------

absl::StatusOr<std::vector<std::string>> ParseSubscriptionTopics(std::string_view metadata) {
  Reader r(metadata);
  const int16_t version = r.Int16();
  if (r.ok() && version < 0) r.Fail("negative version");
  std::vector<std::string> topics;
  const int32_t n = r.ArrayCount(kMinString);
  for (int32_t i = 0; i < n && r.ok(); ++i) topics.push_back(Str(r.String()));
  if (!r.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed consumer protocol subscription: ", r.error()));
  }
  return topics;
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
