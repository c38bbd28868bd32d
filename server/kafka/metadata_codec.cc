// Metadata v0-4 on the wire. v0 has no null topic list (an empty one means every topic);
// v1 adds racks and the controller, v2 the cluster id, v3 throttle time, v4 auto-creation.
#include <algorithm>

#include "server/kafka/metadata.h"

namespace ferry::kafka {

MetadataRequest DecodeMetadataRequest(int16_t v, Reader& r) {
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

}  // namespace ferry::kafka
