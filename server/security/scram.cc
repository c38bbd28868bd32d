// SCRAM credentials on OpenSSL: PBKDF2 for the salted password, HMAC and SHA-2 for the keys.
#include "server/security/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ferry::security {
namespace scram_internal {
namespace {

const EVP_MD* Digest(ScramMechanism m) {
  return m == ScramMechanism::kSha256 ? EVP_sha256() : EVP_sha512();
}

}  // namespace

std::string Hash(ScramMechanism m, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, Digest(m), nullptr);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string Hmac(ScramMechanism m, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(Digest(m), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string SaltedPassword(ScramMechanism m, std::string_view password, std::string_view salt,
                           int32_t iterations) {
  std::string out(static_cast<size_t>(EVP_MD_get_size(Digest(m))), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, Digest(m),
                    static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");  // no entropy: nothing secure can go on
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') {
      return std::nullopt;
    }
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace scram_internal

namespace {
using namespace scram_internal;  // NOLINT(build/namespaces): this file's own primitives

absl::Status CheckParameters(ScramMechanism m, int32_t iterations) {
  if (m != ScramMechanism::kSha256 && m != ScramMechanism::kSha512) {
    return absl::InvalidArgumentError("the SCRAM mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512");
  }
  if (iterations < kMinScramIterations || iterations > kMaxScramIterations) {
    return absl::InvalidArgumentError(absl::StrCat("SCRAM iterations must be ", kMinScramIterations,
                                                   " to ", kMaxScramIterations, ", not ",
                                                   iterations));
  }
  return absl::OkStatus();
}

ScramCredential FromSalted(ScramMechanism m, std::string salt, std::string_view salted,
                           int32_t iterations) {
  ScramCredential c;
  c.mechanism = m;
  c.iterations = iterations;
  c.salt = std::move(salt);
  c.stored_key = Hash(m, Hmac(m, salted, "Client Key"));
  c.server_key = Hmac(m, salted, "Server Key");
  return c;
}

void PutBytes(std::string* out, std::string_view s) {
  out->push_back(static_cast<char>(s.size()));
  out->append(s);
}

bool GetBytes(std::string_view* in, std::string* s) {
  if (in->empty()) return false;
  const size_t n = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  if (in->size() < n) return false;
  s->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

constexpr char kEncodingVersion = 1;

}  // namespace

std::string_view MechanismName(ScramMechanism m) {
  switch (m) {
    case ScramMechanism::kSha256:
      return "SCRAM-SHA-256";
    case ScramMechanism::kSha512:
      return "SCRAM-SHA-512";
    default:
      return "UNKNOWN";
  }
}

std::optional<ScramMechanism> ParseScramMechanism(std::string_view name) {
  const std::string upper = absl::AsciiStrToUpper(std::string(name));
  if (upper == "SCRAM-SHA-256") return ScramMechanism::kSha256;
  if (upper == "SCRAM-SHA-512") return ScramMechanism::kSha512;
  return std::nullopt;
}

absl::StatusOr<ScramCredential> MakeScramCredential(ScramMechanism m, std::string_view password,
                                                    int32_t iterations) {
  if (absl::Status s = CheckParameters(m, iterations); !s.ok()) return s;
  if (password.empty()) return absl::InvalidArgumentError("the password is empty");
  std::string salt = RandomBytes(32);
  const std::string salted = SaltedPassword(m, password, salt, iterations);
  return FromSalted(m, std::move(salt), salted, iterations);
}

absl::StatusOr<ScramCredential> CredentialFromSaltedPassword(ScramMechanism m,
                                                             std::string_view salt,
                                                             std::string_view salted_password,
                                                             int32_t iterations) {
  if (absl::Status s = CheckParameters(m, iterations); !s.ok()) return s;
  if (salt.empty() || salt.size() > 255) {
    return absl::InvalidArgumentError("the SCRAM salt must be 1 to 255 bytes");
  }
  const size_t digest = m == ScramMechanism::kSha256 ? 32 : 64;
  if (salted_password.size() != digest) {
    return absl::InvalidArgumentError(absl::StrCat("the salted password of ",
                                                   std::string(MechanismName(m)), " is ", digest,
                                                   " bytes, not ", salted_password.size()));
  }
  return FromSalted(m, std::string(salt), salted_password, iterations);
}

bool CheckPassword(const ScramCredential& c, std::string_view password) {
  const std::string salted = SaltedPassword(c.mechanism, password, c.salt, c.iterations);
  return ConstantTimeEquals(Hash(c.mechanism, Hmac(c.mechanism, salted, "Client Key")),
                            c.stored_key);
}

std::string EncodeCredential(const ScramCredential& c) {
  std::string out;
  out.push_back(kEncodingVersion);
  out.push_back(static_cast<char>(c.mechanism));
  const uint32_t it = static_cast<uint32_t>(c.iterations);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(it >> shift));
  PutBytes(&out, c.salt);
  PutBytes(&out, c.stored_key);
  PutBytes(&out, c.server_key);
  return out;
}

std::optional<ScramCredential> DecodeCredential(std::string_view in) {
  if (in.size() < 6 || in[0] != kEncodingVersion) return std::nullopt;
  ScramCredential c;
  c.mechanism = static_cast<ScramMechanism>(in[1]);
  uint32_t it = 0;
  for (int i = 2; i < 6; ++i) it = (it << 8) | static_cast<uint8_t>(in[i]);
  c.iterations = static_cast<int32_t>(it);
  in.remove_prefix(6);
  if (!GetBytes(&in, &c.salt) || !GetBytes(&in, &c.stored_key) || !GetBytes(&in, &c.server_key) ||
      !in.empty() || !CheckParameters(c.mechanism, c.iterations).ok()) {
    return std::nullopt;
  }
  return c;
}

}  // namespace ferry::security
