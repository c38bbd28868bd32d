#include "server/security/tls.h"

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
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

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
                                        absl::Duration reload_interval) {
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
        "--tls-client-auth must be none, request or require, got '", client_auth, "'"));
  }
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key come together: the certificate chain and its private key");
  }
  if (cert_file.empty()) {
    if (!ca_file.empty() || c.client_auth != ClientAuth::kNone) {
      return absl::InvalidArgumentError(
          "--tls-ca and --tls-client-auth need TLS: set --tls-cert and --tls-key as well");
    }
    return c;
  }
  if (c.client_auth == ClientAuth::kRequire && ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-auth=require needs --tls-ca, the CA that signs the client certificates");
  }
  if (reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--tls-reload-interval-s must be at least 1");
  }
  // Read now, so a mistake stops the start with its cause rather than failing every handshake.
  ERR_clear_error();
  absl::StatusOr<Certificate> cert = ReadCertificate("tls-cert", cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<File> f = Open("tls-key", key_file);
  if (!f.ok()) return f.status();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_PrivateKey(f->get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-key: ", key_file, " holds no unencrypted PEM private key (", OpenSslError(), ")"));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("--tls-key: ", key_file,
                                                   " is not the private key of the certificate "
                                                   "in --tls-cert ",
                                                   cert_file));
  }
  if (!ca_file.empty()) {
    absl::StatusOr<Certificate> ca = ReadCertificate("tls-ca", ca_file);
    if (!ca.ok()) return ca.status();
  }
  return c;
}

std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(const TlsConfig& config) {
  const auto interval =
      static_cast<unsigned int>(std::max<int64_t>(1, absl::ToInt64Seconds(config.reload_interval)));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config.key_file, config.cert_file, config.ca_file, interval);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!config.ca_file.empty()) options.watch_root_certs();
  switch (config.client_auth) {
    case ClientAuth::kNone:
      options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      break;
    case ClientAuth::kRequest:
      options.set_cert_request_type(config.ca_file.empty()
                                        ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY
                                        : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
      break;
    case ClientAuth::kRequire:
      options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      break;
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace ferry::security
