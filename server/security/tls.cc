#include "server/security/tls.h"

#include <algorithm>
#include <memory>

#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace ferry::security {

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
