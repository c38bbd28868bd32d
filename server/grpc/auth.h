// Who is calling the gRPC door, and what they may do.
//
// Authenticate gives each call a principal:
//   - from the client certificate, when the TLS listener verified one against --tls-ca (the
//     common name, the first subject alternative name or the whole subject DN, by
//     AuthOptions::cert_principal);
//   - else from `authorization: Basic base64(user:password)` metadata, checked against the
//     engine's user store (a wrong one is UNAUTHENTICATED; over a plaintext listener the
//     password is refused unless AuthOptions::basic_without_tls, --sasl-plain-without-tls);
//   - else User:ANONYMOUS.
// Basic credentials win over a certificate when a call carries both: the client asked for them.
// A Caller then checks each resource a call touches with Security::Authorize; a refusal is
// PERMISSION_DENIED naming the principal, the operation and the resource. With the authorizer
// off (--authorizer=none) nothing is checked and no call pays for it; credentials a client sends
// anyway are still verified, so a wrong password is never silently accepted.
// Thread-safe: a Caller belongs to one call; AuthOptions is read-only once serving.
#ifndef FERRY_SERVER_GRPC_AUTH_H_
#define FERRY_SERVER_GRPC_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/security/acl.h"
#include "server/security/observer.h"
#include "server/security/principal.h"
#include "server/security/security.h"
#include "server/security/tls_principal.h"

namespace ferry::grpc_server {

struct AuthOptions {
  bool tls = false;  // the listener serves TLS
  // The listener verifies client certificates against a CA (--tls-ca with
  // --tls-client-auth=request or require): only then does a certificate name a principal.
  bool verified_client_certs = false;
  // What names the principal of a verified client certificate (--tls-principal), as on the
  // Kafka door.
  security::PrincipalField cert_principal = security::PrincipalField::kCn;
  bool basic_without_tls = false;  // --sasl-plain-without-tls: passwords over plaintext too
  std::string listener = "grpc";   // the metrics' listener label
  security::SecurityObserver* observer = nullptr;  // may be null
};

// The principal of one call and the host it came from.
class Caller {
 public:
  // Authenticates the call of `context` (see the file comment). `security` may be null (no
  // engine attached: tests), which makes every caller anonymous and allowed.
  static absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context,
                                             const security::Security* security,
                                             const AuthOptions& options);

  // OK, or PERMISSION_DENIED "User:bob may not write topic 'orders'" (counted).
  absl::Status Check(security::Operation op, security::ResourceType type,
                     std::string_view name) const;
  // Whether Check would pass, without counting a denial (to filter lists).
  bool Allowed(security::Operation op, security::ResourceType type, std::string_view name) const;
  // Whether any check is made at all (the authorizer is on).
  bool checking() const { return security_ != nullptr; }

  const security::Principal& principal() const { return principal_; }
  const std::string& host() const { return host_; }

 private:
  Caller(const security::Security* security, const AuthOptions* options)
      : security_(security), options_(options) {}

  const security::Security* security_;  // null: the authorizer is off
  const AuthOptions* options_;
  security::Principal principal_;
  std::string host_;
};

// The host of a gRPC peer string ("ipv4:127.0.0.1:5000" -> "127.0.0.1", "ipv6:[::1]:5000" ->
// "::1"); the string itself when it has no recognised form.
std::string PeerHost(std::string_view peer);

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_AUTH_H_
