// TLS for ferryd's gRPC listener: server credentials that re-read the files of a TlsConfig
// (tls_config.h) while serving, so a rotated certificate (a Kubernetes Secret updated in place)
// is used by new connections without a restart and without dropping open ones. TLS 1.2 is the
// oldest version offered.
#ifndef FERRY_SERVER_SECURITY_TLS_H_
#define FERRY_SERVER_SECURITY_TLS_H_

#include <memory>

#include "grpcpp/security/server_credentials.h"
#include "server/security/tls_config.h"

namespace ferry::security {

// gRPC server credentials for `config` (TlsEnabled), reloading its files every reload_interval.
std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(const TlsConfig& config);

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_TLS_H_
