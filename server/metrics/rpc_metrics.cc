#include "server/metrics/rpc_metrics.h"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

namespace ferry::metrics {
namespace {

std::atomic<int64_t> g_active_rpcs{0};

std::string CodeName(grpc::StatusCode code) {
  // grpc::StatusCode and absl::StatusCode share google.rpc.Code's numbering and names.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

class RpcMetrics {
 public:
  explicit RpcMetrics(prometheus::Registry* registry)
      : duration_(prometheus::BuildHistogram()
                      .Name("ferry_rpc_duration_seconds")
                      .Help("Time from a unary call's start to its status, by method and status "
                            "code (streams: ferry_rpc_stream_duration_seconds).")
                      .Register(*registry)),
        stream_duration_(prometheus::BuildHistogram()
                             .Name("ferry_rpc_stream_duration_seconds")
                             .Help("Lifetime of streaming calls, from start to status, by "
                                   "method and status code.")
                             .Register(*registry)),
        in_flight_(prometheus::BuildGauge()
                       .Name("ferry_rpc_in_flight")
                       .Help("Calls (and streams) in progress, by method.")
                       .Register(*registry)) {}

  prometheus::Gauge& InFlight(const std::string& method) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& g = in_flight_by_method_[method];
    if (g == nullptr) g = &in_flight_.Add({{"method", method}});
    return *g;
  }

  void Observe(const std::string& method, bool stream, grpc::StatusCode code, double seconds) {
    prometheus::Histogram* h;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& slot = duration_by_key_[{method, code}];
      if (slot == nullptr) {
        // Unary calls take microseconds to seconds; streams live seconds to days.
        slot = stream ? &stream_duration_.Add({{"method", method}, {"code", CodeName(code)}},
                                              prometheus::Histogram::BucketBoundaries{
                                                  0.1, 1, 10, 60, 300, 900, 3600, 14400, 86400})
                      : &duration_.Add({{"method", method}, {"code", CodeName(code)}},
                                       prometheus::Histogram::BucketBoundaries{
                                           0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
      }
      h = slot;
    }
    h->Observe(seconds);
  }

 private:
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Histogram>& stream_duration_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  std::mutex mu_;
  std::map<std::pair<std::string, grpc::StatusCode>, prometheus::Histogram*> duration_by_key_;
  std::map<std::string, prometheus::Gauge*> in_flight_by_method_;
};

class RpcInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(RpcMetrics* metrics, std::string method, bool stream)
      : metrics_(metrics), method_(std::move(method)), stream_(stream) {}
  ~RpcInterceptor() override { Done(); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      start_ = std::chrono::steady_clock::now();
      metrics_->InFlight(method_).Increment();
      // A health Watch lasts as long as the watcher wants: shutdown does not wait for it.
      counts_as_active_ = method_ != "/grpc.health.v1.Health/Watch";
      if (counts_as_active_) g_active_rpcs.fetch_add(1, std::memory_order_relaxed);
      started_ = true;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      code_ = methods->GetSendStatus().error_code();
      status_sent_ = true;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_CLOSE)) Done();
    methods->Proceed();
  }

 private:
  // Records the call once, at its close (or when gRPC destroys the interceptor). A call that
  // closes before the server sent a status was cancelled (the client cancelled, its deadline
  // passed, the connection broke): the handler's later Finish is never sent, and its status
  // never reaches PRE_SEND_STATUS, so it would otherwise count as OK.
  void Done() {
    if (!started_) return;
    started_ = false;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    metrics_->Observe(method_, stream_, status_sent_ ? code_ : grpc::StatusCode::CANCELLED,
                      seconds);
    metrics_->InFlight(method_).Decrement();
    if (counts_as_active_) g_active_rpcs.fetch_sub(1, std::memory_order_relaxed);
  }

  RpcMetrics* const metrics_;
  const std::string method_;
  const bool stream_;
  std::chrono::steady_clock::time_point start_;
  grpc::StatusCode code_ = grpc::StatusCode::OK;
  bool status_sent_ = false;
  bool started_ = false;
  bool counts_as_active_ = false;
};

class RpcInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcInterceptorFactory(prometheus::Registry* registry) : metrics_(registry) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // The full method name ("/ferry.v1.Broker/Publish"): bounded by the methods the server
    // has, and the same form for every service.
    using Type = grpc::experimental::ServerRpcInfo::Type;
    return new RpcInterceptor(&metrics_, info->method() == nullptr ? "" : info->method(),
                              info->type() != Type::UNARY);
  }

 private:
  RpcMetrics metrics_;
};

}  // namespace

int64_t ActiveRpcCount() { return g_active_rpcs.load(std::memory_order_relaxed); }

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewRpcMetricsInterceptor(
    prometheus::Registry* registry) {
  return std::make_unique<RpcInterceptorFactory>(registry);
}

}  // namespace ferry::metrics
