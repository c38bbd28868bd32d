// Fetch v0-12 on the wire: v1 adds throttle time, v3 the response size limit, v4 the
// isolation level, the last stable offset and aborted transactions, v5 the log start offset,
// v7 fetch sessions (KIP-227) and a top-level error code, v9 the current leader epoch, v11
// the rack id and preferred read replica, v12 the flexible forms and the last fetched epoch
// (the response's diverging epoch, current leader and snapshot id are tagged: never sent).
// Versions 2, 6, 8 and 10 change nothing on the wire.
#include <utility>

#include "server/kafka/fetch.h"

namespace ferry::kafka {

FetchRequest DecodeFetchRequest(int16_t v, Reader& r) {
  FetchRequest f;
  f.replica_id = r.Int32();
  f.max_wait_ms = r.Int32();
  f.min_bytes = r.Int32();
  if (v >= 3) f.max_bytes = r.Int32();
  if (v >= 4) f.isolation_level = r.Int8();
  if (v >= 7) {
    f.session_id = r.Int32();
    f.session_epoch = r.Int32();
  }
  const int32_t n = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    FetchRequest::Topic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(16);
    for (int32_t j = 0; j < np && r.ok(); ++j) {
      FetchRequest::Partition part;
      part.index = r.Int32();
      if (v >= 9) part.current_leader_epoch = r.Int32();
      part.fetch_offset = r.Int64();
      if (v >= 12) part.last_fetched_epoch = r.Int32();
      if (v >= 5) part.log_start_offset = r.Int64();
      part.max_bytes = r.Int32();
      r.TaggedFields();
      t.partitions.push_back(part);
    }
    r.TaggedFields();
    f.topics.push_back(std::move(t));
  }
  if (v >= 7) {
    const int32_t nf = r.ArrayCount(kMinString + 4);
    for (int32_t i = 0; i < nf && r.ok(); ++i) {
      FetchRequest::Topic t;
      t.name = Str(r.String());
      const int32_t np = r.ArrayCount(4);
      for (int32_t j = 0; j < np && r.ok(); ++j) {
        FetchRequest::Partition part;
        part.index = r.Int32();
        t.partitions.push_back(part);
      }
      r.TaggedFields();
      f.forgotten_topics.push_back(std::move(t));
    }
  }
  if (v >= 11) f.rack_id = Str(r.String());
  r.TaggedFields();  // cluster_id (tag 0) is not checked
  return f;
}

std::string EncodeResponse(const RequestHeader& h, const FetchResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 1) w.Int32(0);
  if (v >= 7) {
    w.Int16(r.error_code);
    w.Int32(r.session_id);
  }
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.index);
      w.Int16(p.error_code);
      w.Int64(p.high_watermark);
      if (v >= 4) w.Int64(p.high_watermark);  // last_stable_offset: no transactions
      if (v >= 5) w.Int64(p.log_start_offset);
      if (v >= 4) w.NullArray();  // aborted_transactions: none
      if (v >= 11) w.Int32(-1);   // preferred_read_replica: read from the leader
      w.BytesField(p.records);
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
