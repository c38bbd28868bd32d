// SecurityObserver: what a front door reports about authentication and authorization, for
// metrics. Door-neutral: the gRPC door and the Kafka door report through the same interface, and
// neither keeps metrics state of its own. Labels are bounded by construction: the door ("grpc",
// "kafka"), its listener's name, the mechanism ("basic", "mtls", "PLAIN", "SCRAM-SHA-256", ...)
// and the operation (acl.h's Name) — never a principal, a user or a resource name.
// Implementations must be thread-safe and fast: they are called on every call that authenticates
// or is denied.
#ifndef FERRY_SERVER_SECURITY_OBSERVER_H_
#define FERRY_SERVER_SECURITY_OBSERVER_H_

#include <string_view>

namespace ferry::security {

class SecurityObserver {
 public:
  virtual ~SecurityObserver() = default;
  // A client authenticated (`ok`) or failed to, by `mechanism`.
  virtual void Authenticated(std::string_view door, std::string_view listener,
                             std::string_view mechanism, bool ok) = 0;
  // A request was refused: its principal may not do `operation` ("write", "read", ...).
  virtual void Denied(std::string_view door, std::string_view listener,
                      std::string_view operation) = 0;
};

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_OBSERVER_H_
