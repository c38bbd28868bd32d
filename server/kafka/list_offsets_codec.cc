// ListOffsets v0-7 on the wire: v0 asks for a number of old-style offsets and gets an
// array; v1 gets one offset with its timestamp; v2 adds the isolation level and throttle time;
// v4 the leader epochs; v6 the flexible forms; v7 only allows the MAX_TIMESTAMP query (-3).
// Versions 3 and 5 change nothing on the wire.
#include <utility>

#include "server/kafka/list_offsets.h"

namespace ferry::kafka {

ListOffsetsRequest DecodeListOffsetsRequest(int16_t v, Reader& r) {
  ListOffsetsRequest l;
  l.replica_id = r.Int32();
  if (v >= 2) l.isolation_level = r.Int8();
  const int32_t n = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    ListOffsetsRequest::Topic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(v == 0 ? 16 : 12);
    for (int32_t j = 0; j < np && r.ok(); ++j) {
      ListOffsetsRequest::Partition part;
      part.index = r.Int32();
      if (v >= 4) part.current_leader_epoch = r.Int32();
      part.timestamp = r.Int64();
      if (v == 0) part.max_num_offsets = r.Int32();
      r.TaggedFields();
      t.partitions.push_back(part);
    }
    r.TaggedFields();
    l.topics.push_back(std::move(t));
  }
  r.TaggedFields();
  return l;
}

std::string EncodeResponse(const RequestHeader& h, const ListOffsetsResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 2) w.Int32(0);
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
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
        if (v >= 4) w.Int32(p.leader_epoch);
      }
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
