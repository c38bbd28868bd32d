// DescribeConfigs v0-4, AlterConfigs v0-2 and IncrementalAlterConfigs v0-1 on the wire.
// DescribeConfigs: v1 adds include_synonyms, the config source (replacing is_default) and
// synonyms; v3 include_documentation, the config type and documentation; v4 is flexible.
// AlterConfigs v2 and IncrementalAlterConfigs v1 are flexible; otherwise their versions differ
// only in what the broker does.
#include <utility>

#include "server/kafka/configs.h"

namespace ferry::kafka {
namespace {

AlterConfigsRequest DecodeAlter(Reader& r, bool with_op) {
  AlterConfigsRequest a;
  const int32_t n = r.ArrayCount(1 + kMinString + 1);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    AlterConfigsRequest::Resource res;
    res.type = r.Int8();
    res.name = Str(r.String());
    const int32_t nc = r.ArrayCount(kMinString + 1);
    for (int32_t j = 0; j < nc && r.ok(); ++j) {
      AlterConfigsRequest::Config c;
      c.name = Str(r.String());
      if (with_op) c.op = r.Int8();
      c.value = OptStr(r.NullableString());
      r.TaggedFields();
      res.configs.push_back(std::move(c));
    }
    r.TaggedFields();
    a.resources.push_back(std::move(res));
  }
  a.validate_only = r.Bool();
  r.TaggedFields();
  return a;
}

}  // namespace

DescribeConfigsRequest DecodeDescribeConfigsRequest(int16_t v, Reader& r) {
  DescribeConfigsRequest d;
  const int32_t n = r.ArrayCount(1 + kMinString + 1);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    DescribeConfigsRequest::Resource res;
    res.type = r.Int8();
    res.name = Str(r.String());
    const int32_t nk = r.NullableArrayCount(kMinString);
    if (nk >= 0) {
      res.keys.emplace();
      for (int32_t j = 0; j < nk && r.ok(); ++j) res.keys->push_back(Str(r.String()));
    }
    r.TaggedFields();
    d.resources.push_back(std::move(res));
  }
  if (v >= 1) d.include_synonyms = r.Bool();
  if (v >= 3) d.include_documentation = r.Bool();
  r.TaggedFields();
  return d;
}

AlterConfigsRequest DecodeAlterConfigsRequest(int16_t, Reader& r) { return DecodeAlter(r, false); }

AlterConfigsRequest DecodeIncrementalAlterConfigsRequest(int16_t, Reader& r) {
  return DecodeAlter(r, true);
}

std::string EncodeResponse(const RequestHeader& h, const DescribeConfigsResponse& r) {
  const int16_t v = h.api_version;
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle time
  w.ArrayCount(static_cast<int32_t>(r.results.size()));
  for (const auto& res : r.results) {
    w.Int16(res.error_code);
    w.NullableString(res.error_message);
    w.Int8(res.type);
    w.String(res.name);
    w.ArrayCount(static_cast<int32_t>(res.configs.size()));
    for (const auto& c : res.configs) {
      w.String(c.name);
      w.NullableString(c.value);
      w.Bool(c.read_only);
      if (v == 0) w.Bool(c.is_default);
      if (v >= 1) w.Int8(c.source);
      w.Bool(c.is_sensitive);
      if (v >= 1) {
        w.ArrayCount(static_cast<int32_t>(c.synonyms.size()));
        for (const auto& s : c.synonyms) {
          w.String(s.name);
          w.NullableString(s.value);
          w.Int8(s.source);
          w.TaggedFields();
        }
      }
      if (v >= 3) {
        w.Int8(c.type);
        w.NullableString(c.documentation);
      }
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const AlterConfigsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle time
  w.ArrayCount(static_cast<int32_t>(r.resources.size()));
  for (const auto& res : r.resources) {
    w.Int16(res.error_code);
    w.NullableString(res.error_message);
    w.Int8(res.type);
    w.String(res.name);
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
