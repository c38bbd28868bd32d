// RPC metrics for every gRPC method, recorded by a server interceptor:
// ferry_rpc_duration_seconds{method,code} (unary calls), ferry_rpc_stream_duration_seconds
// {method,code} (streams) and ferry_rpc_in_flight{method}; method is the full gRPC name.
#ifndef FERRY_SERVER_METRICS_RPC_METRICS_H_
#define FERRY_SERVER_METRICS_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <cstdint>
#include <memory>

#include "prometheus/registry.h"

namespace ferry::metrics {

// Creates the RPC metric families in `registry` and returns the interceptor factory to pass to
// grpc::ServerBuilder::experimental().SetInterceptorCreators.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewRpcMetricsInterceptor(
    prometheus::Registry* registry);

// Calls in progress on the server right now (all methods), as the interceptor sees them.
int64_t ActiveRpcCount();

}  // namespace ferry::metrics

#endif  // FERRY_SERVER_METRICS_RPC_METRICS_H_
