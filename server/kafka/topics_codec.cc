// CreateTopics v0-7 and DeleteTopics v0-6 on the wire. CreateTopics: v1 validate_only and
// per-topic error messages, v2 throttle time, v5 the flexible form and the created topic's
// partitions, replication factor and configs, v7 its topic id. DeleteTopics: v1 throttle
// time, v4 the flexible form, v5 per-topic error messages, v6 topics by name or id.
#include <algorithm>

#include "server/kafka/topics.h"

namespace ferry::kafka {
namespace {

Uuid ReadUuid(Reader& r) {
  Uuid id{};
  std::string_view b = r.Bytes(16);
  if (r.ok()) std::copy(b.begin(), b.end(), id.begin());
  return id;
}

void WriteUuid(Writer& w, const Uuid& id) {
  w.Raw(std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
}

}  // namespace

CreateTopicsRequest DecodeCreateTopicsRequest(int16_t v, Reader& r) {
  CreateTopicsRequest c;
  const size_t min_string = r.flexible() ? 1 : kMinString;
  const size_t min_array = r.flexible() ? 1 : 4;
  const int32_t n = r.ArrayCount(min_string + 6 + 2 * min_array);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    CreateTopicsRequest::Topic t;
    t.name = Str(r.String());
    t.num_partitions = r.Int32();
    t.replication_factor = r.Int16();
    const int32_t na = r.ArrayCount(4 + min_array);
    for (int32_t j = 0; j < na && r.ok(); ++j) {
      const int32_t partition = r.Int32();
      std::vector<int32_t> brokers;
      const int32_t nb = r.ArrayCount(4);
      for (int32_t k = 0; k < nb && r.ok(); ++k) brokers.push_back(r.Int32());
      r.TaggedFields();
      t.assignments.emplace_back(partition, std::move(brokers));
    }
    const int32_t nc = r.ArrayCount(min_string + 1);
    for (int32_t j = 0; j < nc && r.ok(); ++j) {
      CreateTopicsRequest::Config config;
      config.name = Str(r.String());
      config.value = OptStr(r.NullableString());
      r.TaggedFields();
      t.configs.push_back(std::move(config));
    }
    r.TaggedFields();
    c.topics.push_back(std::move(t));
  }
  c.timeout_ms = r.Int32();
  if (v >= 1) c.validate_only = r.Bool();
  r.TaggedFields();
  return c;
}

DeleteTopicsRequest DecodeDeleteTopicsRequest(int16_t v, Reader& r) {
  DeleteTopicsRequest d;
  if (v >= 6) {
    const int32_t n = r.ArrayCount(1 + 16 + 1);
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      DeleteTopicsRequest::Topic t;
      t.name = OptStr(r.NullableString());
      t.topic_id = ReadUuid(r);
      r.TaggedFields();
      d.topics.push_back(std::move(t));
    }
  } else {
    const int32_t n = r.ArrayCount(r.flexible() ? 1 : kMinString);
    for (int32_t i = 0; i < n && r.ok(); ++i) d.topics.push_back({Str(r.String()), {}});
  }
  d.timeout_ms = r.Int32();
  r.TaggedFields();
  return d;
}

std::string EncodeResponse(const RequestHeader& h, const CreateTopicsResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 2) w.Int32(0);
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    if (v >= 7) WriteUuid(w, t.topic_id);
    w.Int16(t.error_code);
    if (v >= 1) w.NullableString(t.error_message);
    if (v >= 5) {
      w.Int32(t.num_partitions);
      w.Int16(t.replication_factor);
      w.ArrayCount(static_cast<int32_t>(t.configs.size()));
      for (const auto& c : t.configs) {
        w.String(c.name);
        w.NullableString(c.value);
        w.Bool(c.read_only);
        w.Int8(c.source);
        w.Bool(c.is_sensitive);
        w.TaggedFields();
      }
    }
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const DeleteTopicsResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  if (v >= 1) w.Int32(0);
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    if (v >= 6) {
      w.NullableString(t.name);
      WriteUuid(w, t.topic_id);
    } else {
      w.String(t.name.value_or(""));
    }
    w.Int16(t.error_code);
    if (v >= 5) w.NullableString(t.error_message);
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
