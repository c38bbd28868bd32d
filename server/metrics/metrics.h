// Prometheus metrics on an HTTP endpoint (/metrics). Values are read from the broker at scrape
// time, so the publish path pays nothing for them.
#ifndef FERRY_SERVER_METRICS_METRICS_H_
#define FERRY_SERVER_METRICS_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/broker/broker.h"

namespace prometheus {
class Exposer;
}

namespace ferry::metrics {

class MetricsServer {
 public:
  // Serves http://`listen`/metrics until destroyed.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                              broker::Broker* broker);
  ~MetricsServer();

 private:
  MetricsServer() = default;
  std::shared_ptr<void> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace ferry::metrics

#endif  // FERRY_SERVER_METRICS_METRICS_H_
