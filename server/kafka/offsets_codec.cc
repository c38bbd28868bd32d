// OffsetCommit and OffsetFetch v0-8 on the wire, every field as Kafka's message schemas define
// it. OffsetCommit: v1 adds the generation, member id and a per-partition timestamp, v2-4 a
// retention time instead of the timestamp, v3 throttle time, v6 the leader epoch, v7 the
// group instance id, v8 is flexible. OffsetFetch: v2 a top-level error and null topics (every
// committed partition), v3 throttle time, v5 the leader epoch, v6 flexible, v7 require_stable,
// v8 several groups in one request.
#include "server/kafka/offsets.h"

namespace ferry::kafka {
namespace {

// The least bytes an array element can take (see groups_codec.cc).
size_t MinBytes(const Reader& r, size_t fixed) { return r.flexible() ? 1 : fixed; }

// [name, [partition index]]; null (-1 or compact 0) when `nullable`, which sets *all.
std::vector<OffsetFetchRequest::Topic> ReadFetchTopics(Reader& r, bool nullable, bool* all) {
  std::vector<OffsetFetchRequest::Topic> topics;
  const int32_t n = nullable ? r.NullableArrayCount(MinBytes(r, kMinString + 4))
                             : r.ArrayCount(MinBytes(r, kMinString + 4));
  if (n < 0) {
    *all = true;
    return topics;
  }
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    OffsetFetchRequest::Topic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(4);
    for (int32_t j = 0; j < np && r.ok(); ++j) t.partitions.push_back(r.Int32());
    r.TaggedFields();
    topics.push_back(std::move(t));
  }
  return topics;
}

}  // namespace

OffsetCommitRequest DecodeOffsetCommitRequest(int16_t v, Reader& r) {
  OffsetCommitRequest c;
  c.group_id = Str(r.String());
  if (v >= 1) {
    c.generation_id = r.Int32();
    c.member_id = Str(r.String());
  }
  if (v >= 7) c.group_instance_id = OptStr(r.NullableString());
  if (v >= 2 && v <= 4) c.retention_time_ms = r.Int64();
  const size_t min_partition = 4 + 8 + (v >= 6 ? 4 : 0) + (v == 1 ? 8 : 0) + 2;
  const int32_t n = r.ArrayCount(MinBytes(r, kMinString + 4));
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    OffsetCommitRequest::Topic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(r.flexible() ? min_partition - 1 : min_partition);
    for (int32_t j = 0; j < np && r.ok(); ++j) {
      OffsetCommitRequest::Partition part;
      part.index = r.Int32();
      part.offset = r.Int64();
      if (v >= 6) part.leader_epoch = r.Int32();
      if (v == 1) part.timestamp = r.Int64();
      part.metadata = OptStr(r.NullableString());
      r.TaggedFields();
      t.partitions.push_back(std::move(part));
    }
    r.TaggedFields();
    c.topics.push_back(std::move(t));
  }
  r.TaggedFields();
  return c;
}

OffsetFetchRequest DecodeOffsetFetchRequest(int16_t v, Reader& r) {
  OffsetFetchRequest f;
  if (v <= 7) {
    OffsetFetchRequest::Group& g = f.groups.emplace_back();
    g.group_id = Str(r.String());
    g.topics = ReadFetchTopics(r, /*nullable=*/v >= 2, &g.all_topics);
  } else {
    const int32_t n = r.ArrayCount(MinBytes(r, kMinString + 4));
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      OffsetFetchRequest::Group g;
      g.group_id = Str(r.String());
      g.topics = ReadFetchTopics(r, /*nullable=*/true, &g.all_topics);
      r.TaggedFields();
      f.groups.push_back(std::move(g));
    }
  }
  if (v >= 7) f.require_stable = r.Bool();
  r.TaggedFields();
  return f;
}

std::string EncodeResponse(const RequestHeader& h, const OffsetCommitResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  if (h.api_version >= 3) w.Int32(0);  // throttle_time_ms
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.index);
      w.Int16(p.error_code);
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

namespace {

void WriteFetchTopics(Writer& w, int16_t v, const std::vector<OffsetFetchResponse::Topic>& topics) {
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.index);
      w.Int64(p.offset);
      if (v >= 5) w.Int32(p.leader_epoch);
      w.NullableString(p.metadata);
      w.Int16(p.error_code);
      w.TaggedFields();
    }
    w.TaggedFields();
  }
}

}  // namespace

std::string EncodeResponse(const RequestHeader& h, const OffsetFetchResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 3) w.Int32(0);  // throttle_time_ms
  if (v <= 7) {
    const OffsetFetchResponse::Group g =
        r.groups.empty() ? OffsetFetchResponse::Group{} : r.groups.front();
    WriteFetchTopics(w, v, g.topics);
    if (v >= 2) w.Int16(g.error_code);
  } else {
    w.ArrayCount(static_cast<int32_t>(r.groups.size()));
    for (const auto& g : r.groups) {
      w.String(g.group_id);
      WriteFetchTopics(w, v, g.topics);
      w.Int16(g.error_code);
      w.TaggedFields();
    }
  }
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
