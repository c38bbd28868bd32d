// DeleteGroups v0-2 (v2 flexible) and OffsetDelete v0 on the wire, as Kafka's message schemas
// define them.
#include "server/kafka/group_admin.h"

namespace ferry::kafka {

DeleteGroupsRequest DecodeDeleteGroupsRequest(int16_t, Reader& r) {
  DeleteGroupsRequest d;
  const int32_t n = r.ArrayCount(r.flexible() ? 1 : kMinString);
  for (int32_t i = 0; i < n && r.ok(); ++i) d.groups.push_back(Str(r.String()));
  r.TaggedFields();
  return d;
}

OffsetDeleteRequest DecodeOffsetDeleteRequest(int16_t, Reader& r) {
  OffsetDeleteRequest d;
  d.group_id = Str(r.String());
  const int32_t n = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    OffsetDeleteRequest::Topic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(4);
    for (int32_t j = 0; j < np && r.ok(); ++j) t.partitions.push_back(r.Int32());
    d.topics.push_back(std::move(t));
  }
  return d;
}

std::string EncodeResponse(const RequestHeader& h, const DeleteGroupsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle_time_ms
  w.ArrayCount(static_cast<int32_t>(r.results.size()));
  for (const auto& [group, code] : r.results) {
    w.String(group);
    w.Int16(code);
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const OffsetDeleteResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int16(r.error_code);
  w.Int32(0);  // throttle_time_ms
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& [index, code] : t.partitions) {
      w.Int32(index);
      w.Int16(code);
    }
  }
  return f.Finish();
}

}  // namespace ferry::kafka
