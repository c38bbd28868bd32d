// Fetch v0-4 on the wire: v1 adds throttle time, v3 the response size limit, v4 the
// isolation level, the last stable offset and aborted transactions.
#include "server/kafka/fetch.h"

namespace ferry::kafka {

FetchRequest DecodeFetchRequest(int16_t v, Reader& r) {
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

}  // namespace ferry::kafka
