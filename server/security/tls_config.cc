#include "server/security/tls_config.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::security {
namespace {

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) return "no PEM data";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

absl::StatusOr<File> Open(const std::string& flag, const std::string& path) {
  File f(std::fopen(path.c_str(), "r"));
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  return f;
}

using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;

// The first PEM certificate of `path`, for the flag `flag`.
absl::StatusOr<Certificate> ReadCertificate(const std::string& flag, const std::string& path) {
  absl::StatusOr<File> f = Open(flag, path);
  if (!f.ok()) return f.status();
  Certificate cert(PEM_read_X509(f->get(), nullptr, nullptr, nullptr), X509_free);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", path, " holds no PEM certificate (", OpenSslError(), ")"));
  }
  return cert;
}

}  // namespace

absl::StatusOr<TlsConfig> ParseTlsFlags(const std::string& cert_file, const std::string& key_file,
                                        const std::string& ca_file, const std::string& client_auth,
                                        absl::Duration reload_interval, const std::string& prefix) {
  const std::string cert_flag = prefix + "-cert";
  const std::string key_flag = prefix + "-key";
  const std::string ca_flag = prefix + "-ca";
  const std::string auth_flag = prefix + "-client-auth";
  TlsConfig c;
  c.cert_file = cert_file;
  c.key_file = key_file;
  c.ca_file = ca_file;
  c.reload_interval = reload_interval;
  if (client_auth == "none") {
    c.client_auth = ClientAuth::kNone;
  } else if (client_auth == "request") {
    c.client_auth = ClientAuth::kRequest;
  } else if (client_auth == "require") {
    c.client_auth = ClientAuth::kRequire;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", auth_flag, " must be none, request or require, got '", client_auth, "'"));
  }
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", cert_flag, " and --", key_flag,
                                                   " come together: the certificate chain and "
                                                   "its private key"));
  }
  if (cert_file.empty()) {
    if (!ca_file.empty() || c.client_auth != ClientAuth::kNone) {
      return absl::InvalidArgumentError(absl::StrCat("--", ca_flag, " and --", auth_flag,
                                                     " need TLS: set --", cert_flag, " and --",
                                                     key_flag, " as well"));
    }
    return c;
  }
  if (c.client_auth == ClientAuth::kRequire && ca_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", auth_flag, "=require needs --", ca_flag,
                                                   ", the CA that signs the client certificates"));
  }
  if (reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--tls-reload-interval-s must be at least 1");
  }
  // Read now, so a mistake stops the start with its cause rather than failing every handshake.
  ERR_clear_error();
  absl::StatusOr<Certificate> cert = ReadCertificate(cert_flag, cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<File> f = Open(key_flag, key_file);
  if (!f.ok()) return f.status();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_PrivateKey(f->get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("--", key_flag, ": ", key_file,
                                                   " holds no unencrypted PEM private key (",
                                                   OpenSslError(), ")"));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("--", key_flag, ": ", key_file,
                                                   " is not the private key of the certificate "
                                                   "in --",
                                                   cert_flag, " ", cert_file));
  }
  if (!ca_file.empty()) {
    absl::StatusOr<Certificate> ca = ReadCertificate(ca_flag, ca_file);
    if (!ca.ok()) return ca.status();
  }
  return c;
}

}  // namespace ferry::security
