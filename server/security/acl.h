// Kafka's ACL model: a binding says that a principal, from a host, may (allow) or may not (deny)
// perform an operation on a resource (a topic, a group, the cluster, a transactional id) named
// literally or by prefix. The enums carry Kafka's wire codes, so the Kafka door translates
// nothing. Matching rules (ResourceMatches, Authorize in security.h) are Kafka's:
//   - a literal binding names one resource, or every one with the name "*";
//   - a prefixed binding names every resource whose name starts with it;
//   - deny wins over allow; ALL matches every operation;
//   - DESCRIBE is implied by READ, WRITE, DELETE and ALTER; DESCRIBE_CONFIGS by ALTER_CONFIGS.
// Value types, pure functions; thread-safe.
#ifndef FERRY_SERVER_SECURITY_ACL_H_
#define FERRY_SERVER_SECURITY_ACL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::security {

enum class ResourceType : int8_t {
  kUnknown = 0,
  kAny = 1,  // filters only
  kTopic = 2,
  kGroup = 3,
  kCluster = 4,
  kTransactionalId = 5,
};

enum class PatternType : int8_t {
  kUnknown = 0,
  kAny = 1,    // filters only: literal or prefixed, the name compared as is
  kMatch = 2,  // filters only: every binding that applies to the named resource
  kLiteral = 3,
  kPrefixed = 4,
};

enum class Operation : int8_t {
  kUnknown = 0,
  kAny = 1,  // filters only
  kAll = 2,
  kRead = 3,
  kWrite = 4,
  kCreate = 5,
  kDelete = 6,
  kAlter = 7,
  kDescribe = 8,
  kClusterAction = 9,
  kDescribeConfigs = 10,
  kAlterConfigs = 11,
  kIdempotentWrite = 12,
};

enum class Permission : int8_t {
  kUnknown = 0,
  kAny = 1,  // filters only
  kDeny = 2,
  kAllow = 3,
};

// The cluster resource's one name, as Kafka calls it.
inline constexpr std::string_view kClusterName = "kafka-cluster";
// A literal name or a principal/host that matches every one.
inline constexpr std::string_view kWildcard = "*";

struct AclBinding {
  ResourceType resource_type = ResourceType::kTopic;
  std::string resource_name;
  PatternType pattern_type = PatternType::kLiteral;
  std::string principal;  // "User:alice", or "User:*" for every user
  std::string host = std::string(kWildcard);
  Operation operation = Operation::kRead;
  Permission permission = Permission::kAllow;

  bool operator==(const AclBinding& o) const;
  bool operator<(const AclBinding& o) const;
};

// Which bindings to describe or delete: an empty optional, or kAny, matches every value.
// pattern_type kMatch with a resource name selects the bindings that apply to that resource
// (literal equal, the "*" literal, prefixes of it).
struct AclFilter {
  ResourceType resource_type = ResourceType::kAny;
  std::optional<std::string> resource_name;
  PatternType pattern_type = PatternType::kAny;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  Operation operation = Operation::kAny;
  Permission permission = Permission::kAny;
};

// INVALID_ARGUMENT when `b` cannot be stored: a filter-only or unknown value, an empty name, a
// cluster binding not named kafka-cluster, a principal not "Type:name", an empty host.
absl::Status ValidateBinding(const AclBinding& b);
// INVALID_ARGUMENT for an unknown value in a filter.
absl::Status ValidateFilter(const AclFilter& f);
bool FilterMatches(const AclFilter& f, const AclBinding& b);
// Whether binding `b` applies to resource (`type`, `name`), by its pattern.
bool ResourceMatches(const AclBinding& b, ResourceType type, std::string_view name);
// Whether binding `b`'s operation covers `op` for an allow (implications included) or a deny.
bool OperationCovers(const AclBinding& b, Operation op);

// Lower-case names, as ferryctl and the gRPC API spell them ("topic", "prefixed", "read",
// "describe_configs", "allow"), and back (case-insensitive; "any" accepted for filters).
std::string_view Name(ResourceType t);
std::string_view Name(PatternType t);
std::string_view Name(Operation o);
std::string_view Name(Permission p);
std::optional<ResourceType> ParseResourceType(std::string_view s);
std::optional<PatternType> ParsePatternType(std::string_view s);
std::optional<Operation> ParseOperation(std::string_view s);
std::optional<Permission> ParsePermission(std::string_view s);

// "User:alice" from "alice" or "User:alice"; INVALID_ARGUMENT for "", ":x" or "User:".
absl::StatusOr<std::string> NormalizePrincipal(std::string_view s);

// One line for logs and ferryctl: "allow User:alice from * read topic orders (literal)".
std::string Describe(const AclBinding& b);

// The stored form of a binding (a key in the meta column family) and back.
std::string EncodeBinding(const AclBinding& b);
std::optional<AclBinding> DecodeBinding(std::string_view bytes);

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_ACL_H_
