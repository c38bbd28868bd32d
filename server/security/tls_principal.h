// The principal name a verified client certificate stands for (--tls-principal): its subject
// CN, its first SAN, or its whole subject as an RFC 2253 string. No gRPC or Kafka types, so the
// Kafka door (an X509 from its handshake) and the gRPC door (the PEM in an AuthContext) share
// it. Pure functions; thread-safe.
#ifndef FERRY_SERVER_SECURITY_TLS_PRINCIPAL_H_
#define FERRY_SERVER_SECURITY_TLS_PRINCIPAL_H_

#include <openssl/x509.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::security {

enum class PrincipalField {
  kCn,   // the subject's (last) commonName
  kSan,  // the first DNS subjectAltName, else the first URI, else the first email
  kDn,   // the subject, RFC 2253 ("CN=alice,O=Example")
};

// "cn", "san" or "dn"; INVALID_ARGUMENT naming --tls-principal otherwise.
absl::StatusOr<PrincipalField> ParsePrincipalField(std::string_view text);

// The name `cert` gives for `field`; NOT_FOUND when it has none (no CN, no usable SAN).
absl::StatusOr<std::string> PrincipalName(X509* cert, PrincipalField field);
// The same for the first certificate of a PEM string; INVALID_ARGUMENT when it holds none.
absl::StatusOr<std::string> PrincipalNameFromPem(std::string_view pem, PrincipalField field);

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_TLS_PRINCIPAL_H_
