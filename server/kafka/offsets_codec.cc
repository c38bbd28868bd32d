// OffsetCommit and OffsetFetch v0-2 on the wire: OffsetCommit v1 adds the generation, member
// id and a per-partition timestamp, v2 drops the timestamp for a retention time; OffsetFetch
// v2 adds a top-level error and null topics (every committed partition).
#include "server/kafka/offsets.h"

namespace ferry::kafka {

OffsetCommitRequest DecodeOffsetCommitRequest(int16_t v, Reader& r) {
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

OffsetFetchRequest DecodeOffsetFetchRequest(int16_t v, Reader& r) {
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

}  // namespace ferry::kafka
