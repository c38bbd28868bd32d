// The TLS settings of a listener as the flags give them (certificate, key and CA files, whether
// clients present certificates), checked once at start so a wrong path or a key that does not
// match fails with a message naming the flag. No gRPC or Kafka types: both doors use it.
#ifndef FERRY_SERVER_SECURITY_TLS_CONFIG_H_
#define FERRY_SERVER_SECURITY_TLS_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ferry::security {

// --tls-client-auth: whether clients present certificates (mTLS).
enum class ClientAuth {
  kNone,     // not asked for
  kRequest,  // asked for, and verified against the CA when given; a client without one is let in
  kRequire,  // a client without a certificate the CA signed is refused in the handshake
};

struct TlsConfig {
  std::string cert_file;  // PEM certificate chain, the server's first
  std::string key_file;   // PEM private key of the first certificate
  std::string ca_file;    // PEM CA bundle that client certificates are verified against
  ClientAuth client_auth = ClientAuth::kNone;
  absl::Duration reload_interval = absl::Seconds(10);  // how often the files are re-read
};

// Checks the flags: --tls-cert and --tls-key come together (neither: TLS off, an empty
// cert_file); every file named is readable PEM; the key matches the certificate; require needs
// --tls-ca. INVALID_ARGUMENT names the flag, spelled `--<prefix>-cert` and so on ("tls",
// "kafka-tls").
absl::StatusOr<TlsConfig> ParseTlsFlags(const std::string& cert_file, const std::string& key_file,
                                        const std::string& ca_file, const std::string& client_auth,
                                        absl::Duration reload_interval,
                                        const std::string& prefix = "tls");

inline bool TlsEnabled(const TlsConfig& c) { return !c.cert_file.empty(); }

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_TLS_CONFIG_H_
