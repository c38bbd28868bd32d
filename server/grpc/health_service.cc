#include "server/grpc/health_service.h"

#include <utility>

namespace ferry::grpc_server {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch call: writes the service's status when the call starts and each time it changes,
// one message at a time (a change during a write is sent when the write completes; only the
// latest status matters). A final status, at shutdown, is written and then the call ends.
class HealthService::WatchReactor final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  WatchReactor(HealthService* service, std::string name)
      : service_(service), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Called with the service's lock held, so the reactor cannot be gone (OnDone takes it too).
  void Notify(ServingStatus status, bool final) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    pending_ = status;
    final_ = final_ || final;
    SendLocked();
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
      return;
    }
    SendLocked();
  }

  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled"));
  }

  void OnDone() override {
    service_->Forget(this);
    delete this;
  }

 private:
  void SendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_) return;
    if (!sent_any_ || pending_ != sent_) {
      response_.set_status(pending_);
      sent_ = pending_;
      sent_any_ = true;
      writing_ = true;
      StartWrite(&response_);
      return;
    }
    if (final_) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the broker is shutting down"));
    }
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  HealthService* const service_;
  const std::string name_;
  absl::Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);
  ServingStatus pending_ ABSL_GUARDED_BY(mu_) = HealthCheckResponse::UNKNOWN;
  ServingStatus sent_ ABSL_GUARDED_BY(mu_) = HealthCheckResponse::UNKNOWN;
  bool sent_any_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool final_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

HealthService::HealthService(const std::vector<std::string>& services)
    : StrictUnaryMethods("grpc.health.v1.Health") {
  Strict("Check", &HealthService::Check);
  absl::MutexLock lock(&mu_);
  statuses_[""] = HealthCheckResponse::NOT_SERVING;
  for (const std::string& service : services) statuses_[service] = HealthCheckResponse::NOT_SERVING;
}

HealthService::~HealthService() = default;

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  for (auto& [name, status] : statuses_) {
    status = serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  }
  for (WatchReactor* watch : watches_) watch->Notify(StatusOf(watch->name()), false);
}

void HealthService::Shutdown(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  for (auto& [name, status] : statuses_) status = HealthCheckResponse::NOT_SERVING;
  for (WatchReactor* watch : watches_) watch->Notify(StatusOf(watch->name()), true);
  auto all_ended = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return watches_.empty(); };
  mu_.AwaitWithDeadline(absl::Condition(&all_ended), deadline);
}

HealthService::ServingStatus HealthService::StatusOf(const std::string& service) const {
  auto it = statuses_.find(service);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN : it->second;
}

void HealthService::Forget(WatchReactor* watch) {
  absl::MutexLock lock(&mu_);
  watches_.erase(watch);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::ReaderMutexLock lock(&mu_);
  auto it = statuses_.find(request->service());
  if (it == statuses_.end()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 "no service named '" + request->service() + "' is served here"));
    return reactor;
  }
  response->set_status(it->second);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*context*/, const HealthCheckRequest* request) {
  auto* watch = new WatchReactor(this, request->service());
  absl::MutexLock lock(&mu_);
  watches_.insert(watch);
  watch->Notify(StatusOf(request->service()), shut_down_);
  return watch;
}

}  // namespace ferry::grpc_server
