// The ACL and SCRAM credential APIs over security::Security.
#include "server/kafka/security_admin.h"

#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/security/security.h"

namespace ferry::kafka {
namespace {

using security::AclBinding;
using security::AclFilter;
using security::Operation;
using security::PatternType;
using security::Permission;
using security::ResourceType;

constexpr int8_t kKafkaUserResource = 7;
constexpr int8_t kKafkaDelegationTokenResource = 6;

bool ClusterAllowed(const ApiContext& ctx, int16_t api, Operation op) {
  return Authorized(ctx, api, op, ResourceType::kCluster, security::kClusterName);
}

AclFilter ToFilter(const WireAcl& a) {
  AclFilter f;
  f.resource_type = static_cast<ResourceType>(a.resource_type);
  f.resource_name = a.resource_name;
  f.pattern_type = static_cast<PatternType>(a.pattern_type);
  f.principal = a.principal;
  f.host = a.host;
  f.operation = static_cast<Operation>(a.operation);
  f.permission = static_cast<Permission>(a.permission);
  return f;
}

// INVALID_ARGUMENT for a code outside Kafka's enums (a filter naming user or delegation-token
// resources is fine: nothing matches it).
absl::Status CheckCodes(const WireAcl& a) {
  const bool type_ok = a.resource_type >= 1 && a.resource_type <= kKafkaUserResource;
  const bool pattern_ok = a.pattern_type >= 1 && a.pattern_type <= 4;
  const bool op_ok = a.operation >= 1 && a.operation <= 14;
  const bool perm_ok = a.permission >= 1 && a.permission <= 3;
  if (!type_ok || !pattern_ok || !op_ok || !perm_ok) {
    return absl::InvalidArgumentError(
        "the ACL filter has an unknown resource type, pattern "
        "type, operation or permission code");
  }
  return absl::OkStatus();
}

bool NoSuchResources(const WireAcl& a) {
  return a.resource_type == kKafkaUserResource || a.resource_type == kKafkaDelegationTokenResource;
}

WireAcl ToWire(const AclBinding& b) {
  WireAcl a;
  a.resource_type = static_cast<int8_t>(b.resource_type);
  a.resource_name = b.resource_name;
  a.pattern_type = static_cast<int8_t>(b.pattern_type);
  a.principal = b.principal;
  a.host = b.host;
  a.operation = static_cast<int8_t>(b.operation);
  a.permission = static_cast<int8_t>(b.permission);
  return a;
}

bool SecurityOff(const ApiContext& ctx) {
  return ctx.security == nullptr || !ctx.security->authorizer_enabled();
}

constexpr char kNoAuthorizer[] =
    "no authorizer is configured: start ferryd with --authorizer=acl to use ACLs";

}  // namespace

Result HandleDescribeAcls(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const DescribeAclsRequest r = DecodeDescribeAclsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  DescribeAclsResponse resp;
  if (SecurityOff(ctx)) {
    resp.error_code = error::kSecurityDisabled;
    resp.error_message = kNoAuthorizer;
  } else if (!ClusterAllowed(ctx, kDescribeAcls, Operation::kDescribe)) {
    resp.error_code = error::kClusterAuthorizationFailed;
    resp.error_message =
        DeniedMessage(ctx, Operation::kDescribe, ResourceType::kCluster, security::kClusterName);
  } else if (absl::Status s = CheckCodes(r.filter); !s.ok()) {
    resp.error_code = error::kInvalidRequest;
    resp.error_message = std::string(s.message());
  } else if (!NoSuchResources(r.filter)) {
    const AclFilter f = ToFilter(r.filter);
    if (absl::Status v = security::ValidateFilter(f); !v.ok()) {
      resp.error_code = error::kInvalidRequest;
      resp.error_message = std::string(v.message());
    } else {
      for (const AclBinding& b : ctx.security->DescribeAcls(f)) resp.acls.push_back(ToWire(b));
    }
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleCreateAcls(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const CreateAclsRequest r = DecodeCreateAclsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  CreateAclsResponse resp;
  const bool off = SecurityOff(ctx);
  const bool allowed = !off && ClusterAllowed(ctx, kCreateAcls, Operation::kAlter);
  for (const WireAcl& a : r.creations) {
    CreateAclsResponse::Result& out = resp.results.emplace_back();
    if (off) {
      out.error_code = error::kSecurityDisabled;
      out.error_message = kNoAuthorizer;
      continue;
    }
    if (!allowed) {
      out.error_code = error::kClusterAuthorizationFailed;
      out.error_message =
          DeniedMessage(ctx, Operation::kAlter, ResourceType::kCluster, security::kClusterName);
      continue;
    }
    AclBinding b;
    b.resource_type = static_cast<ResourceType>(a.resource_type);
    b.resource_name = a.resource_name.value_or("");
    b.pattern_type = static_cast<PatternType>(a.pattern_type);
    b.principal = a.principal.value_or("");
    b.host = a.host.value_or("");
    b.operation = static_cast<Operation>(a.operation);
    b.permission = static_cast<Permission>(a.permission);
    absl::Status s = ctx.security->CreateAcl(b);
    if (!s.ok()) {
      out.error_code =
          absl::IsInvalidArgument(s) ? error::kInvalidRequest : error::kUnknownServerError;
      out.error_message = std::string(s.message());
    }
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleDeleteAcls(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const DeleteAclsRequest r = DecodeDeleteAclsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  DeleteAclsResponse resp;
  const bool off = SecurityOff(ctx);
  const bool allowed = !off && ClusterAllowed(ctx, kDeleteAcls, Operation::kAlter);
  for (const WireAcl& a : r.filters) {
    DeleteAclsResponse::FilterResult& out = resp.results.emplace_back();
    if (off) {
      out.error_code = error::kSecurityDisabled;
      out.error_message = kNoAuthorizer;
      continue;
    }
    if (!allowed) {
      out.error_code = error::kClusterAuthorizationFailed;
      out.error_message =
          DeniedMessage(ctx, Operation::kAlter, ResourceType::kCluster, security::kClusterName);
      continue;
    }
    if (absl::Status s = CheckCodes(a); !s.ok()) {
      out.error_code = error::kInvalidRequest;
      out.error_message = std::string(s.message());
      continue;
    }
    if (NoSuchResources(a)) continue;
    auto removed = ctx.security->DeleteAcls(ToFilter(a));
    if (!removed.ok()) {
      out.error_code = absl::IsInvalidArgument(removed.status()) ? error::kInvalidRequest
                                                                 : error::kUnknownServerError;
      out.error_message = std::string(removed.status().message());
      continue;
    }
    for (const AclBinding& b : *removed) out.matching.push_back(ToWire(b));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleDescribeUserScramCredentials(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const DescribeUserScramCredentialsRequest r =
      DecodeDescribeUserScramCredentialsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  DescribeUserScramCredentialsResponse resp;
  if (ctx.security == nullptr) {
    resp.error_code = error::kUnknownServerError;
    resp.error_message = "this listener has no user store";
    return Result::Reply(EncodeResponse(h, resp));
  }
  if (!ClusterAllowed(ctx, kDescribeUserScramCredentials, Operation::kDescribe)) {
    resp.error_code = error::kClusterAuthorizationFailed;
    resp.error_message =
        DeniedMessage(ctx, Operation::kDescribe, ResourceType::kCluster, security::kClusterName);
    return Result::Reply(EncodeResponse(h, resp));
  }
  const auto add = [&](const security::UserInfo& u) {
    DescribeUserScramCredentialsResponse::Result& out = resp.results.emplace_back();
    out.user = u.name;
    for (const auto& [m, iterations] : u.credentials) {
      out.credentials.emplace_back(static_cast<int8_t>(m), iterations);
    }
  };
  if (!r.users.has_value() || r.users->empty()) {
    for (const security::UserInfo& u : ctx.security->Users()) add(u);
    return Result::Reply(EncodeResponse(h, resp));
  }
  std::map<std::string, int> seen;
  for (const std::string& name : *r.users) ++seen[name];
  std::set<std::string> answered;
  for (const std::string& name : *r.users) {
    if (!answered.insert(name).second) continue;
    if (seen[name] > 1) {
      DescribeUserScramCredentialsResponse::Result& out = resp.results.emplace_back();
      out.user = name;
      out.error_code = error::kDuplicateResource;
      out.error_message = absl::StrCat("user '", name, "' is named more than once");
      continue;
    }
    std::optional<security::UserInfo> u = ctx.security->FindUser(name);
    if (!u.has_value()) {
      DescribeUserScramCredentialsResponse::Result& out = resp.results.emplace_back();
      out.user = name;
      out.error_code = error::kResourceNotFound;
      out.error_message = absl::StrCat(
          "attempt to describe a user credential that does not "
          "exist: ",
          name);
      continue;
    }
    add(*u);
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleAlterUserScramCredentials(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const AlterUserScramCredentialsRequest r =
      DecodeAlterUserScramCredentialsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  AlterUserScramCredentialsResponse resp;
  // One result per user, in the order users first appear; a user's first error wins and
  // none of its changes is made.
  std::vector<std::string> order;
  std::map<std::string, std::pair<int16_t, std::string>> errors;
  std::map<std::pair<std::string, int8_t>, int> mentions;
  const auto note = [&](const std::string& user) {
    if (errors.emplace(user, std::make_pair(error::kNone, std::string())).second) {
      order.push_back(user);
    }
  };
  const auto fail = [&](const std::string& user, int16_t code, std::string message) {
    auto& e = errors[user];
    if (e.first == error::kNone) e = {code, std::move(message)};
  };
  for (const auto& d : r.deletions) {
    note(d.name);
    ++mentions[{d.name, d.mechanism}];
  }
  for (const auto& u : r.upsertions) {
    note(u.name);
    ++mentions[{u.name, u.mechanism}];
  }
  const bool allowed =
      ctx.security != nullptr && ClusterAllowed(ctx, kAlterUserScramCredentials, Operation::kAlter);
  const auto mechanism_of = [](int8_t code) -> std::optional<security::ScramMechanism> {
    if (code == 1) return security::ScramMechanism::kSha256;
    if (code == 2) return security::ScramMechanism::kSha512;
    return std::nullopt;
  };
  for (const std::string& user : order) {
    if (!allowed) {
      fail(user, error::kClusterAuthorizationFailed,
           DeniedMessage(ctx, Operation::kAlter, ResourceType::kCluster, security::kClusterName));
    } else if (!security::Security::ValidateUserName(user).ok()) {
      fail(user, error::kUnacceptableCredential, "a user name is 1 to 255 bytes");
    }
  }
  for (const auto& [key, count] : mentions) {
    if (count > 1) {
      fail(key.first, error::kDuplicateResource,
           "a user's mechanism appears more than once in the request");
    }
    if (!mechanism_of(key.second).has_value()) {
      fail(key.first, error::kUnsupportedSaslMechanism,
           "the SCRAM mechanism must be SCRAM-SHA-256 (1) or SCRAM-SHA-512 (2)");
    }
  }
  // Checked before anything is changed.
  std::vector<std::pair<std::string, security::ScramCredential>> upserts;
  for (const auto& u : r.upsertions) {
    if (errors[u.name].first != error::kNone) continue;
    auto c = security::CredentialFromSaltedPassword(*mechanism_of(u.mechanism), u.salt,
                                                    u.salted_password, u.iterations);
    if (!c.ok()) {
      fail(u.name, error::kUnacceptableCredential, std::string(c.status().message()));
      continue;
    }
    upserts.emplace_back(u.name, *std::move(c));
  }
  for (const auto& d : r.deletions) {
    if (errors[d.name].first != error::kNone) continue;
    if (!ctx.security->FindCredential(d.name, *mechanism_of(d.mechanism)).has_value()) {
      fail(d.name, error::kResourceNotFound,
           absl::StrCat("attempt to delete a user credential that does not exist: ", d.name));
    }
  }
  for (const auto& d : r.deletions) {
    if (errors[d.name].first != error::kNone) continue;
    absl::Status s = ctx.security->DeleteCredential(d.name, *mechanism_of(d.mechanism));
    if (!s.ok()) fail(d.name, error::kUnknownServerError, std::string(s.message()));
  }
  for (const auto& [user, credential] : upserts) {
    if (errors[user].first != error::kNone) continue;
    absl::Status s = ctx.security->UpsertCredential(user, credential);
    if (!s.ok()) fail(user, error::kUnknownServerError, std::string(s.message()));
  }
  for (const std::string& user : order) {
    AlterUserScramCredentialsResponse::Result& out = resp.results.emplace_back();
    out.user = user;
    out.error_code = errors[user].first;
    if (out.error_code != error::kNone) out.error_message = errors[user].second;
  }
  return Result::Reply(EncodeResponse(h, resp));
}

std::string DescribeAclsErrorResponse(const RequestHeader& h, int16_t error_code) {
  DescribeAclsResponse r;
  r.error_code = error_code;
  return EncodeResponse(h, r);
}
std::string CreateAclsErrorResponse(const RequestHeader& h, int16_t) {
  return EncodeResponse(h, CreateAclsResponse{});
}
std::string DeleteAclsErrorResponse(const RequestHeader& h, int16_t) {
  return EncodeResponse(h, DeleteAclsResponse{});
}
std::string DescribeUserScramCredentialsErrorResponse(const RequestHeader& h, int16_t error_code) {
  DescribeUserScramCredentialsResponse r;
  r.error_code = error_code;
  return EncodeResponse(h, r);
}
std::string AlterUserScramCredentialsErrorResponse(const RequestHeader& h, int16_t) {
  return EncodeResponse(h, AlterUserScramCredentialsResponse{});
}

}  // namespace ferry::kafka
