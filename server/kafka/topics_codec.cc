// CreateTopics and DeleteTopics v0-1 on the wire: CreateTopics v1 adds validate_only and
// per-topic error messages, DeleteTopics v1 throttle time.
#include "server/kafka/topics.h"

namespace ferry::kafka {

CreateTopicsRequest DecodeCreateTopicsRequest(int16_t v, Reader& r) {
  CreateTopicsRequest c;
  const int32_t n = r.ArrayCount(kMinString + 14);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    CreateTopicsRequest::Topic t;
    t.name = Str(r.String());
    t.num_partitions = r.Int32();
    t.replication_factor = r.Int16();
    const int32_t na = r.ArrayCount(8);
    for (int32_t j = 0; j < na && r.ok(); ++j) {
      const int32_t partition = r.Int32();
      std::vector<int32_t> brokers;
      const int32_t nb = r.ArrayCount(4);
      for (int32_t k = 0; k < nb && r.ok(); ++k) brokers.push_back(r.Int32());
      t.assignments.emplace_back(partition, std::move(brokers));
    }
    const int32_t nc = r.ArrayCount(kMinString + 2);
    for (int32_t j = 0; j < nc && r.ok(); ++j) {
      CreateTopicsRequest::Config config;
      config.name = Str(r.String());
      config.value = OptStr(r.NullableString());
      t.configs.push_back(std::move(config));
    }
    c.topics.push_back(std::move(t));
  }
  c.timeout_ms = r.Int32();
  if (v >= 1) c.validate_only = r.Bool();
  return c;
}

DeleteTopicsRequest DecodeDeleteTopicsRequest(int16_t, Reader& r) {
  DeleteTopicsRequest d;
  const int32_t n = r.ArrayCount(kMinString);
  for (int32_t i = 0; i < n && r.ok(); ++i) d.names.push_back(Str(r.String()));
  d.timeout_ms = r.Int32();
  return d;
}

std::string EncodeResponse(const RequestHeader& h, const CreateTopicsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.Int16(t.error_code);
    if (h.api_version >= 1) w.NullableString(t.error_message);
  }
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const DeleteTopicsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  if (h.api_version >= 1) w.Int32(0);
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.Int16(t.error_code);
  }
  return f.Finish();
}

}  // namespace ferry::kafka
