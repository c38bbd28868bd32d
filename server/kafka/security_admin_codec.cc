// The ACL APIs (v0-3, flexible from v2) and the SCRAM credential APIs (v0, flexible) on the
// wire, as Kafka's message schemas define them.
#include <map>
#include <tuple>

#include "server/kafka/security_admin.h"

namespace ferry::kafka {
namespace {

std::optional<std::string_view> View(const std::optional<std::string>& s) {
  return s.has_value() ? std::optional<std::string_view>(*s) : std::nullopt;
}

// A filter (nullable strings) or a creation (strings), in the request's field order.
WireAcl ReadAcl(int16_t version, Reader& r, bool filter) {
  WireAcl a;
  a.resource_type = r.Int8();
  a.resource_name =
      filter ? OptStr(r.NullableString()) : std::optional<std::string>(Str(r.String()));
  if (version >= 1) a.pattern_type = r.Int8();
  a.principal = filter ? OptStr(r.NullableString()) : std::optional<std::string>(Str(r.String()));
  a.host = filter ? OptStr(r.NullableString()) : std::optional<std::string>(Str(r.String()));
  a.operation = r.Int8();
  a.permission = r.Int8();
  r.TaggedFields();
  return a;
}

}  // namespace

DescribeAclsRequest DecodeDescribeAclsRequest(int16_t version, Reader& r) {
  DescribeAclsRequest d;
  d.filter = ReadAcl(version, r, /*filter=*/true);
  return d;
}

CreateAclsRequest DecodeCreateAclsRequest(int16_t version, Reader& r) {
  CreateAclsRequest c;
  const int32_t n = r.ArrayCount(9);
  for (int32_t i = 0; i < n && r.ok(); ++i) c.creations.push_back(ReadAcl(version, r, false));
  r.TaggedFields();
  return c;
}

DeleteAclsRequest DecodeDeleteAclsRequest(int16_t version, Reader& r) {
  DeleteAclsRequest d;
  const int32_t n = r.ArrayCount(6);
  for (int32_t i = 0; i < n && r.ok(); ++i) d.filters.push_back(ReadAcl(version, r, true));
  r.TaggedFields();
  return d;
}

DescribeUserScramCredentialsRequest DecodeDescribeUserScramCredentialsRequest(int16_t, Reader& r) {
  DescribeUserScramCredentialsRequest d;
  const int32_t n = r.NullableArrayCount(2);
  if (n >= 0) {
    d.users.emplace();
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      d.users->push_back(Str(r.String()));
      r.TaggedFields();
    }
  }
  r.TaggedFields();
  return d;
}

AlterUserScramCredentialsRequest DecodeAlterUserScramCredentialsRequest(int16_t, Reader& r) {
  AlterUserScramCredentialsRequest a;
  const int32_t nd = r.ArrayCount(3);
  for (int32_t i = 0; i < nd && r.ok(); ++i) {
    AlterUserScramCredentialsRequest::Deletion d;
    d.name = Str(r.String());
    d.mechanism = r.Int8();
    r.TaggedFields();
    a.deletions.push_back(std::move(d));
  }
  const int32_t nu = r.ArrayCount(8);
  for (int32_t i = 0; i < nu && r.ok(); ++i) {
    AlterUserScramCredentialsRequest::Upsertion u;
    u.name = Str(r.String());
    u.mechanism = r.Int8();
    u.iterations = r.Int32();
    u.salt = std::string(r.BytesField());
    u.salted_password = std::string(r.BytesField());
    r.TaggedFields();
    a.upsertions.push_back(std::move(u));
  }
  r.TaggedFields();
  return a;
}

std::string EncodeResponse(const RequestHeader& h, const DescribeAclsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle_time_ms
  w.Int16(r.error_code);
  w.NullableString(View(r.error_message));
  // Grouped by resource (type, name, pattern), as Kafka answers.
  std::map<std::tuple<int8_t, std::string, int8_t>, std::vector<const WireAcl*>> resources;
  for (const WireAcl& a : r.acls) {
    resources[{a.resource_type, a.resource_name.value_or(""), a.pattern_type}].push_back(&a);
  }
  w.ArrayCount(static_cast<int32_t>(resources.size()));
  for (const auto& [key, acls] : resources) {
    w.Int8(std::get<0>(key));
    w.String(std::get<1>(key));
    if (h.api_version >= 1) w.Int8(std::get<2>(key));
    w.ArrayCount(static_cast<int32_t>(acls.size()));
    for (const WireAcl* a : acls) {
      w.String(a->principal.value_or(""));
      w.String(a->host.value_or(""));
      w.Int8(a->operation);
      w.Int8(a->permission);
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const CreateAclsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);
  w.ArrayCount(static_cast<int32_t>(r.results.size()));
  for (const auto& res : r.results) {
    w.Int16(res.error_code);
    w.NullableString(View(res.error_message));
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const DeleteAclsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);
  w.ArrayCount(static_cast<int32_t>(r.results.size()));
  for (const auto& res : r.results) {
    w.Int16(res.error_code);
    w.NullableString(View(res.error_message));
    w.ArrayCount(static_cast<int32_t>(res.matching.size()));
    for (const WireAcl& a : res.matching) {
      w.Int16(0);
      w.NullableString(std::nullopt);
      w.Int8(a.resource_type);
      w.String(a.resource_name.value_or(""));
      if (h.api_version >= 1) w.Int8(a.pattern_type);
      w.String(a.principal.value_or(""));
      w.String(a.host.value_or(""));
      w.Int8(a.operation);
      w.Int8(a.permission);
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const DescribeUserScramCredentialsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);
  w.Int16(r.error_code);
  w.NullableString(View(r.error_message));
  w.ArrayCount(static_cast<int32_t>(r.results.size()));
  for (const auto& res : r.results) {
    w.String(res.user);
    w.Int16(res.error_code);
    w.NullableString(View(res.error_message));
    w.ArrayCount(static_cast<int32_t>(res.credentials.size()));
    for (const auto& [mechanism, iterations] : res.credentials) {
      w.Int8(mechanism);
      w.Int32(iterations);
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::string EncodeResponse(const RequestHeader& h, const AlterUserScramCredentialsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);
  w.ArrayCount(static_cast<int32_t>(r.results.size()));
  for (const auto& res : r.results) {
    w.String(res.user);
    w.Int16(res.error_code);
    w.NullableString(View(res.error_message));
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
