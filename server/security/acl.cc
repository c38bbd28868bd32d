// Kafka's ACL matching rules, names and the stored form of a binding.
#include "server/security/acl.h"

#include <algorithm>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ferry::security {
namespace {

// absl 2022's string_view is its own type, not std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

template <typename E>
struct NamedValue {
  E value;
  std::string_view name;
};

constexpr NamedValue<ResourceType> kResourceTypes[] = {
    {ResourceType::kAny, "any"},
    {ResourceType::kTopic, "topic"},
    {ResourceType::kGroup, "group"},
    {ResourceType::kCluster, "cluster"},
    {ResourceType::kTransactionalId, "transactional_id"},
};
constexpr NamedValue<PatternType> kPatternTypes[] = {
    {PatternType::kAny, "any"},
    {PatternType::kMatch, "match"},
    {PatternType::kLiteral, "literal"},
    {PatternType::kPrefixed, "prefixed"},
};
constexpr NamedValue<Operation> kOperations[] = {
    {Operation::kAny, "any"},
    {Operation::kAll, "all"},
    {Operation::kRead, "read"},
    {Operation::kWrite, "write"},
    {Operation::kCreate, "create"},
    {Operation::kDelete, "delete"},
    {Operation::kAlter, "alter"},
    {Operation::kDescribe, "describe"},
    {Operation::kClusterAction, "cluster_action"},
    {Operation::kDescribeConfigs, "describe_configs"},
    {Operation::kAlterConfigs, "alter_configs"},
    {Operation::kIdempotentWrite, "idempotent_write"},
};
constexpr NamedValue<Permission> kPermissions[] = {
    {Permission::kAny, "any"},
    {Permission::kDeny, "deny"},
    {Permission::kAllow, "allow"},
};

template <typename E, size_t N>
std::string_view NameOf(const NamedValue<E> (&table)[N], E v) {
  for (const auto& e : table) {
    if (e.value == v) return e.name;
  }
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> Parse(const NamedValue<E> (&table)[N], std::string_view s) {
  std::string lower = absl::AsciiStrToLower(std::string(s));
  for (char& c : lower) {
    if (c == '-') c = '_';
  }
  // Kafka's tools spell them in one word: "describeconfigs", "transactionalid".
  for (const auto& e : table) {
    std::string flat(e.name);
    flat.erase(std::remove(flat.begin(), flat.end(), '_'), flat.end());
    if (lower == e.name || lower == flat) return e.value;
  }
  return std::nullopt;
}

bool Known(ResourceType t) {
  return t >= ResourceType::kTopic && t <= ResourceType::kTransactionalId;
}
bool Known(PatternType t) { return t == PatternType::kLiteral || t == PatternType::kPrefixed; }
bool Known(Operation o) { return o >= Operation::kAll && o <= Operation::kIdempotentWrite; }
bool Known(Permission p) { return p == Permission::kAllow || p == Permission::kDeny; }

auto Tie(const AclBinding& b) {
  return std::tie(b.resource_type, b.resource_name, b.pattern_type, b.principal, b.host,
                  b.operation, b.permission);
}

void PutString(std::string* out, std::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(n >> shift));
  out->append(s);
}

bool GetString(std::string_view* in, std::string* s) {
  if (in->size() < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(4);
  if (in->size() < n) return false;
  s->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

constexpr char kEncodingVersion = 1;

}  // namespace

bool AclBinding::operator==(const AclBinding& o) const { return Tie(*this) == Tie(o); }
bool AclBinding::operator<(const AclBinding& o) const { return Tie(*this) < Tie(o); }

absl::StatusOr<std::string> NormalizePrincipal(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) {
    if (s.empty()) return absl::InvalidArgumentError("the principal is empty");
    return absl::StrCat("User:", AV(s));
  }
  if (colon == 0 || colon + 1 == s.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("principal \"", AV(s), "\" is not Type:name (User:alice)"));
  }
  return std::string(s);
}

absl::Status ValidateBinding(const AclBinding& b) {
  if (!Known(b.resource_type)) {
    return absl::InvalidArgumentError(
        "the ACL's resource type must be topic, group, cluster or "
        "transactional_id");
  }
  if (!Known(b.pattern_type)) {
    return absl::InvalidArgumentError("the ACL's pattern type must be literal or prefixed");
  }
  if (!Known(b.operation)) {
    return absl::InvalidArgumentError("the ACL's operation is unknown or only for filters (any)");
  }
  if (!Known(b.permission)) {
    return absl::InvalidArgumentError("the ACL's permission must be allow or deny");
  }
  if (b.resource_name.empty())
    return absl::InvalidArgumentError("the ACL's resource name is empty");
  if (b.resource_type == ResourceType::kCluster &&
      (b.resource_name != kClusterName || b.pattern_type != PatternType::kLiteral)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a cluster ACL names the literal resource \"", AV(kClusterName), "\""));
  }
  if (b.pattern_type == PatternType::kPrefixed && b.resource_name == kWildcard) {
    return absl::InvalidArgumentError("a prefixed ACL cannot name \"*\" (use a literal \"*\")");
  }
  absl::StatusOr<std::string> p = NormalizePrincipal(b.principal);
  if (!p.ok()) return p.status();
  if (*p != b.principal) {
    return absl::InvalidArgumentError(
        absl::StrCat("principal \"", b.principal, "\" is not Type:name (User:alice)"));
  }
  if (b.host.empty()) return absl::InvalidArgumentError("the ACL's host is empty (\"*\": any)");
  return absl::OkStatus();
}

absl::Status ValidateFilter(const AclFilter& f) {
  if (f.resource_type == ResourceType::kUnknown || f.pattern_type == PatternType::kUnknown ||
      f.operation == Operation::kUnknown || f.permission == Permission::kUnknown) {
    return absl::InvalidArgumentError("the ACL filter has an unknown value");
  }
  if (f.pattern_type == PatternType::kMatch && !f.resource_name.has_value()) {
    return absl::InvalidArgumentError("an ACL filter of pattern type match names a resource");
  }
  return absl::OkStatus();
}

bool ResourceMatches(const AclBinding& b, ResourceType type, std::string_view name) {
  if (b.resource_type != type) return false;
  if (b.pattern_type == PatternType::kPrefixed) return absl::StartsWith(AV(name), b.resource_name);
  return b.resource_name == name || b.resource_name == kWildcard;
}

bool OperationCovers(const AclBinding& b, Operation op) {
  if (b.operation == Operation::kAll || b.operation == op) return true;
  if (b.permission != Permission::kAllow) return false;
  switch (op) {
    case Operation::kDescribe:
      return b.operation == Operation::kRead || b.operation == Operation::kWrite ||
             b.operation == Operation::kDelete || b.operation == Operation::kAlter;
    case Operation::kDescribeConfigs:
      return b.operation == Operation::kAlterConfigs;
    default:
      return false;
  }
}

bool FilterMatches(const AclFilter& f, const AclBinding& b) {
  if (f.resource_type != ResourceType::kAny && f.resource_type != b.resource_type) return false;
  if (f.pattern_type == PatternType::kMatch) {
    if (!ResourceMatches(b, b.resource_type, *f.resource_name)) return false;
  } else {
    if (f.pattern_type != PatternType::kAny && f.pattern_type != b.pattern_type) return false;
    if (f.resource_name.has_value() && *f.resource_name != b.resource_name) return false;
  }
  if (f.principal.has_value() && *f.principal != b.principal) return false;
  if (f.host.has_value() && *f.host != b.host) return false;
  if (f.operation != Operation::kAny && f.operation != b.operation) return false;
  if (f.permission != Permission::kAny && f.permission != b.permission) return false;
  return true;
}

std::string_view Name(ResourceType t) { return NameOf(kResourceTypes, t); }
std::string_view Name(PatternType t) { return NameOf(kPatternTypes, t); }
std::string_view Name(Operation o) { return NameOf(kOperations, o); }
std::string_view Name(Permission p) { return NameOf(kPermissions, p); }
std::optional<ResourceType> ParseResourceType(std::string_view s) {
  return Parse(kResourceTypes, s);
}
std::optional<PatternType> ParsePatternType(std::string_view s) { return Parse(kPatternTypes, s); }
std::optional<Operation> ParseOperation(std::string_view s) { return Parse(kOperations, s); }
std::optional<Permission> ParsePermission(std::string_view s) { return Parse(kPermissions, s); }

std::string Describe(const AclBinding& b) {
  return absl::StrCat(AV(Name(b.permission)), " ", b.principal, " from ", b.host, " ",
                      AV(Name(b.operation)), " ", AV(Name(b.resource_type)), " ", b.resource_name,
                      " (", AV(Name(b.pattern_type)), ")");
}

std::string EncodeBinding(const AclBinding& b) {
  std::string out;
  out.push_back(kEncodingVersion);
  out.push_back(static_cast<char>(b.resource_type));
  out.push_back(static_cast<char>(b.pattern_type));
  out.push_back(static_cast<char>(b.operation));
  out.push_back(static_cast<char>(b.permission));
  PutString(&out, b.resource_name);
  PutString(&out, b.principal);
  PutString(&out, b.host);
  return out;
}

std::optional<AclBinding> DecodeBinding(std::string_view in) {
  if (in.size() < 5 || in[0] != kEncodingVersion) return std::nullopt;
  AclBinding b;
  b.resource_type = static_cast<ResourceType>(in[1]);
  b.pattern_type = static_cast<PatternType>(in[2]);
  b.operation = static_cast<Operation>(in[3]);
  b.permission = static_cast<Permission>(in[4]);
  in.remove_prefix(5);
  if (!GetString(&in, &b.resource_name) || !GetString(&in, &b.principal) ||
      !GetString(&in, &b.host) || !in.empty()) {
    return std::nullopt;
  }
  if (!ValidateBinding(b).ok()) return std::nullopt;
  return b;
}

}  // namespace ferry::security
