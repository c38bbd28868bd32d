// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka uses them: the credential a
// broker stores for a user (salt, iterations, StoredKey, ServerKey: never the password), and
// the password checks the PLAIN mechanism and gRPC basic credentials make against it. Pure
// functions over OpenSSL; thread-safe.
#ifndef FERRY_SERVER_SECURITY_SCRAM_H_
#define FERRY_SERVER_SECURITY_SCRAM_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ferry::security {

// Kafka's codes (DescribeUserScramCredentials, AlterUserScramCredentials).
enum class ScramMechanism : int8_t {
  kUnknown = 0,
  kSha256 = 1,
  kSha512 = 2,
};

// Kafka's bounds on iterations for both mechanisms.
inline constexpr int32_t kMinScramIterations = 4096;
inline constexpr int32_t kMaxScramIterations = 16384;

struct ScramCredential {
  ScramMechanism mechanism = ScramMechanism::kSha512;
  int32_t iterations = kMinScramIterations;
  std::string salt;        // raw bytes
  std::string stored_key;  // H(ClientKey)
  std::string server_key;  // HMAC(SaltedPassword, "Server Key")
};

// "SCRAM-SHA-256" / "SCRAM-SHA-512" and back (case-insensitive; nullopt for others).
std::string_view MechanismName(ScramMechanism m);
std::optional<ScramMechanism> ParseScramMechanism(std::string_view name);

// The credential of `password` with a new random salt. INVALID_ARGUMENT for iterations outside
// Kafka's bounds, an unknown mechanism or an empty password.
absl::StatusOr<ScramCredential> MakeScramCredential(ScramMechanism m, std::string_view password,
                                                    int32_t iterations);
// The credential from a salted password computed by the client (Kafka's
// AlterUserScramCredentials sends salt and SaltedPassword, never the password).
absl::StatusOr<ScramCredential> CredentialFromSaltedPassword(ScramMechanism m,
                                                             std::string_view salt,
                                                             std::string_view salted_password,
                                                             int32_t iterations);
// Whether `password` is the one `c` was made from (constant time in the comparison).
bool CheckPassword(const ScramCredential& c, std::string_view password);

// The stored form and back.
std::string EncodeCredential(const ScramCredential& c);
std::optional<ScramCredential> DecodeCredential(std::string_view bytes);

// The primitives the SCRAM exchange (sasl_server.cc) and tests use.
namespace scram_internal {
std::string Hash(ScramMechanism m, std::string_view data);
std::string Hmac(ScramMechanism m, std::string_view key, std::string_view data);
std::string SaltedPassword(ScramMechanism m, std::string_view password, std::string_view salt,
                           int32_t iterations);
std::string RandomBytes(size_t n);
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);
bool ConstantTimeEquals(std::string_view a, std::string_view b);
}  // namespace scram_internal

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_SCRAM_H_
