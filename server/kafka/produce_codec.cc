// Produce v0-9 on the wire: v1 adds throttle time, v2 the log append time, v3 the
// transactional id, v5 the log start offset, v8 the record errors and error message, v9 the
// flexible forms. The records stay encoded (records.h decodes them).
#include <utility>

#include "server/kafka/produce.h"

namespace ferry::kafka {

ProduceRequest DecodeProduceRequest(int16_t v, Reader& r) {
  ProduceRequest p;
  if (v >= 3) p.transactional_id = OptStr(r.NullableString());
  p.acks = r.Int16();
  p.timeout_ms = r.Int32();
  const int32_t n = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    ProduceRequest::Topic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(5);
    for (int32_t j = 0; j < np && r.ok(); ++j) {
      ProduceRequest::Partition part;
      part.index = r.Int32();
      part.records = r.NullableBytes();
      r.TaggedFields();
      t.partitions.push_back(part);
    }
    r.TaggedFields();
    p.topics.push_back(std::move(t));
  }
  r.TaggedFields();
  return p;
}

std::string EncodeResponse(const RequestHeader& h, const ProduceResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.index);
      w.Int16(p.error_code);
      w.Int64(p.base_offset);
      if (v >= 2) w.Int64(-1);  // log_append_time: records keep the producer's timestamps
      if (v >= 5) w.Int64(p.log_start_offset);
      if (v >= 8) {
        w.ArrayCount(0);  // record_errors: a refused batch is refused whole
        w.NullableString(p.error_message);
      }
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  if (v >= 1) w.Int32(0);
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
