// The one place where engine errors (absl::Status) become gRPC statuses.
#ifndef FERRY_SERVER_GRPC_STATUS_H_
#define FERRY_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace ferry::grpc_server {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_STATUS_H_
