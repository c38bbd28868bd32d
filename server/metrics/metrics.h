// The metrics HTTP endpoint: /metrics (Prometheus text format), /healthz (the process is up)
// and /readyz (serving: storage recovered, not shutting down). Broker, group, storage and
// process figures are read at scrape time, so the hot paths pay nothing for them; RPC figures
// come from the registry the gRPC interceptor records into. Served by civetweb, or over HTTPS
// (--metrics-tls) by HttpsListener with Ferry's reloading TLS context.
#ifndef FERRY_SERVER_METRICS_METRICS_H_
#define FERRY_SERVER_METRICS_METRICS_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/registry.h"
#include "server/grpc/engine.h"
#include "server/metrics/engine_counters.h"

struct mg_connection;
struct mg_context;

namespace ferry::security {
class ServerTlsContext;
}  // namespace ferry::security

namespace ferry::metrics {

class HttpsListener;

class MetricsServer {
 public:
  // Serves on `listen` (host:port) until destroyed. `counters` is what the engine reports to;
  // `registry` holds the RPC metrics. With `tls`, HTTPS only, each connection with the
  // context current when it is accepted.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& listen, const grpc_server::Engine* engine, const EngineCounters* counters,
      std::shared_ptr<prometheus::Registry> registry,
      std::shared_ptr<security::ServerTlsContext> tls = nullptr);
  ~MetricsServer();

  // /readyz answers 503 from now on.
  void SetShuttingDown() { shutting_down_.store(true); }

  // The exposition text, as /metrics serves it.
  std::string Scrape() const;
  bool Ready() const;
  // The whole HTTP response to `method` `path` (no query), gzipped when `accepts_gzip` and large.
  std::string Respond(std::string_view method, std::string_view path, bool accepts_gzip) const;
  // The port it listens on (useful with port 0).
  int port() const;

 private:
  MetricsServer() = default;

  // One path served: the handler's callback data.
  struct Route {
    enum class Kind { kMetrics, kHealth, kReady };
    const MetricsServer* server;
    Kind kind;
  };
  // civetweb's request handler: GET or HEAD; /metrics is gzipped when the client accepts it.
  static int Handle(mg_connection* conn, void* cbdata);

  const grpc_server::Engine* engine_ = nullptr;
  const EngineCounters* counters_ = nullptr;
  std::shared_ptr<prometheus::Registry> registry_;
  std::atomic<bool> shutting_down_{false};
  mg_context* ctx_ = nullptr;
  std::vector<Route> routes_;
  std::unique_ptr<HttpsListener> https_;  // --metrics-tls: instead of civetweb
};

}  // namespace ferry::metrics

#endif  // FERRY_SERVER_METRICS_METRICS_H_
