// DeleteRecords v0-2, CreatePartitions v0-3 and DescribeCluster v0-1 on the wire.
// DeleteRecords v2 and CreatePartitions v2 are flexible (their other versions differ only in
// what the broker does); DescribeCluster is flexible from v0 and v1 adds the endpoint type.
#include <utility>

#include "server/kafka/admin.h"

namespace ferry::kafka {

DeleteRecordsRequest DecodeDeleteRecordsRequest(int16_t, Reader& r) {
  DeleteRecordsRequest d;
  const int32_t n = r.ArrayCount(kMinString + 1);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    DeleteRecordsRequest::Topic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(12);
    for (int32_t j = 0; j < np && r.ok(); ++j) {
      DeleteRecordsRequest::Partition p;
      p.partition = r.Int32();
      p.offset = r.Int64();
      r.TaggedFields();
      t.partitions.push_back(p);
    }
    r.TaggedFields();
    d.topics.push_back(std::move(t));
  }
  d.timeout_ms = r.Int32();
  r.TaggedFields();
  return d;
}

CreatePartitionsRequest DecodeCreatePartitionsRequest(int16_t, Reader& r) {
  CreatePartitionsRequest c;
  const int32_t n = r.ArrayCount(kMinString + 5);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    CreatePartitionsRequest::Topic t;
    t.name = Str(r.String());
    t.count = r.Int32();
    const int32_t na = r.NullableArrayCount(1);
    if (na >= 0) {
      t.assignments.emplace();
      for (int32_t j = 0; j < na && r.ok(); ++j) {
        std::vector<int32_t> brokers;
        const int32_t nb = r.ArrayCount(4);
        for (int32_t k = 0; k < nb && r.ok(); ++k) brokers.push_back(r.Int32());
        r.TaggedFields();
        t.assignments->push_back(std::move(brokers));
      }
    }
    r.TaggedFields();
    c.topics.push_back(std::move(t));
  }
  c.timeout_ms = r.Int32();
  c.validate_only = r.Bool();
  r.TaggedFields();
  return c;
}

DescribeClusterRequest DecodeDescribeClusterRequest(int16_t v, Reader& r) {
  DescribeClusterRequest d;
  d.include_authorized_operations = r.Bool();
  if (v >= 1) d.endpoint_type = r.Int8();
  r.TaggedFields();
  return d;
}

std::string EncodeResponse(const RequestHeader& h, const DeleteRecordsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle time
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.partition);
      w.Int64(p.low_watermark);
      w.Int16(p.error_code);
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const CreatePartitionsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle time
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.Int16(t.error_code);
    w.NullableString(t.error_message);
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const DescribeClusterResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle time
  w.Int16(r.error_code);
  w.NullableString(r.error_message);
  if (h.api_version >= 1) w.Int8(r.endpoint_type);
  w.String(r.cluster_id);
  w.Int32(r.controller_id);
  w.ArrayCount(static_cast<int32_t>(r.brokers.size()));
  for (const auto& b : r.brokers) {
    w.Int32(b.id);
    w.String(b.host);
    w.Int32(b.port);
    w.NullableString(b.rack);
    w.TaggedFields();
  }
  w.Int32(r.authorized_operations);
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
