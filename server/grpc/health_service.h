// grpc.health.v1.Health for ferryd: Check and Watch per service name ("" is the server as a
// whole). It replaces gRPC's default health service for one reason: on shutdown, every open
// Watch is sent NOT_SERVING and then ended by the server, and Shutdown waits (bounded) until
// those last messages have been written, so a watcher always learns that the broker went away
// before its stream ends. gRPC's own service leaves that update racing the call cancellation.
// Thread-safe.
#ifndef FERRY_SERVER_GRPC_HEALTH_SERVICE_H_
#define FERRY_SERVER_GRPC_HEALTH_SERVICE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/grpc/strict_unary.h"

namespace ferry::grpc_server {

class HealthService final : public StrictUnaryMethods<grpc::health::v1::Health::CallbackService> {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // Serves `services` (and ""), each NOT_SERVING until SetServing(true).
  explicit HealthService(const std::vector<std::string>& services);
  ~HealthService() override;

  // Every known name becomes SERVING or NOT_SERVING; watchers are told of the change.
  void SetServing(bool serving) ABSL_LOCKS_EXCLUDED(mu_);

  // Every name becomes NOT_SERVING for good; each open Watch is sent that and then ended with
  // UNAVAILABLE. Returns once every watch has ended, or at `deadline`.
  void Shutdown(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class WatchReactor;

  // The status of `service` as a watcher sees it: SERVICE_UNKNOWN for a name not served.
  ServingStatus StatusOf(const std::string& service) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Called by a watch when it ends; the reactor is gone after this.
  void Forget(WatchReactor* watch) ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<WatchReactor*> watches_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_HEALTH_SERVICE_H_
