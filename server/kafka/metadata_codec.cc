// Metadata v0-12 on the wire. v0 has no null topic list (an empty one means every topic);
// v1 adds racks, the controller and is_internal, v2 the cluster id, v3 throttle time, v4
// auto-creation, v5 offline replicas, v7 leader epochs, v8 authorized operations, v9 the
// flexible form, v10 topic ids, v11 drops the cluster's authorized operations, v12 lets a
// request topic's name be null (asked for by id).
#include <algorithm>

#include "server/kafka/metadata.h"

namespace ferry::kafka {

MetadataRequest DecodeMetadataRequest(int16_t v, Reader& r) {
  MetadataRequest m;
  // A topic is at least a name (v0-9) or a UUID and a name (v10+).
  const size_t min_topic = (v >= 10 ? 16 : 0) + (r.flexible() ? 1 : kMinString);
  const int32_t n = r.NullableArrayCount(min_topic);
  if (n >= 0) {
    std::vector<MetadataRequest::Topic> topics;
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      MetadataRequest::Topic t;
      if (v >= 10) {
        std::string_view id = r.Bytes(16);
        if (r.ok()) std::copy(id.begin(), id.end(), t.topic_id.begin());
        t.name = OptStr(r.NullableString());
        if (t.name && t.name->empty()) t.name.reset();  // v10-11 ask by id with ""
      } else {
        t.name = Str(r.String());
      }
      r.TaggedFields();
      topics.push_back(std::move(t));
    }
    // v0 has no null: an empty list asks for every topic.
    if (!(v == 0 && topics.empty())) m.topics = std::move(topics);
  }
  if (v >= 4) m.allow_auto_topic_creation = r.Bool();
  if (v >= 8 && v <= 10) m.include_cluster_authorized_operations = r.Bool();
  if (v >= 8) m.include_topic_authorized_operations = r.Bool();
  r.TaggedFields();
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
    w.TaggedFields();
  }
  if (v >= 2) w.NullableString(r.cluster_id);
  if (v >= 1) w.Int32(r.controller_id);
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.Int16(t.error_code);
    if (v >= 12) {
      w.NullableString(t.name);
    } else {
      w.String(t.name.value_or(""));
    }
    if (v >= 10) w.Raw(std::string_view(reinterpret_cast<const char*>(t.topic_id.data()), 16));
    if (v >= 1) w.Bool(t.is_internal);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int16(p.error_code);
      w.Int32(p.index);
      w.Int32(p.leader);
      if (v >= 7) w.Int32(p.leader_epoch);
      WriteInt32Array(w, p.replicas);
      WriteInt32Array(w, p.isr);
      if (v >= 5) w.ArrayCount(0);  // offline replicas: none, the one copy is here
      w.TaggedFields();
    }
    if (v >= 8) w.Int32(t.authorized_operations);
    w.TaggedFields();
  }
  if (v >= 8 && v <= 10) w.Int32(r.cluster_authorized_operations);
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
