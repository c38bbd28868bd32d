// Principal: who a request is authorized as, in Kafka's form "Type:name" ("User:alice"). A
// client that has not authenticated is User:ANONYMOUS, as in Kafka. Header-only; a value type.
#ifndef FERRY_SERVER_SECURITY_PRINCIPAL_H_
#define FERRY_SERVER_SECURITY_PRINCIPAL_H_

#include <string>
#include <string_view>
#include <utility>

namespace ferry::security {

inline constexpr std::string_view kUserType = "User";
inline constexpr std::string_view kAnonymousName = "ANONYMOUS";

struct Principal {
  std::string type = std::string(kUserType);
  std::string name = std::string(kAnonymousName);

  std::string ToString() const { return type + ":" + name; }
  bool anonymous() const { return type == kUserType && name == kAnonymousName; }
  bool operator==(const Principal& o) const { return type == o.type && name == o.name; }
};

inline Principal UserPrincipal(std::string name) {
  Principal p;
  p.name = std::move(name);
  return p;
}

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_PRINCIPAL_H_
