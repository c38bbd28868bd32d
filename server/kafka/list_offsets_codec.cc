// ListOffsets v0-2 on the wire: v0 asks for a number of old-style offsets and gets an
// array; v1 gets one offset with its timestamp; v2 adds the isolation level and throttle time.
#include "server/kafka/list_offsets.h"

namespace ferry::kafka {

ListOffsetsRequest DecodeListOffsetsRequest(int16_t v, Reader& r) {
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

}  // namespace ferry::kafka
