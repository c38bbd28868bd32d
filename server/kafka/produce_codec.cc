// Produce v0-3 on the wire: v1 adds throttle time, v2 the log append time, v3 the
// transactional id. The records stay encoded (records.h decodes them).
#include "server/kafka/produce.h"

namespace ferry::kafka {

ProduceRequest DecodeProduceRequest(int16_t v, Reader& r) {
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

}  // namespace ferry::kafka
