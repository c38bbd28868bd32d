// KafkaMetrics: the Kafka door's metrics in the prometheus registry, recorded as the door
// reports them through kafka::KafkaObserver:
//   ferry_kafka_requests_total{api,version,code}        requests served, by response code
//   ferry_kafka_request_duration_seconds{api}            arrival to response, histogram
//   ferry_kafka_fetch_requests_total                     Kafka Fetch requests
//   ferry_kafka_connections_open                         connections now
//   ferry_kafka_connections_accepted_total
//   ferry_kafka_connections_rejected_total{reason}       max_connections, max_connections_per_ip
//   ferry_kafka_bytes_received_total, ferry_kafka_bytes_sent_total
//   ferry_kafka_produced_batches_total{codec}          batches stored, by their compression
// SASL authentications and authorizer denials go to the SecurityObserver given (door "kafka"),
// so both doors count them in the same series (security_metrics.h).
// Thread-safe; series are created on first use and cached, so a request costs a map lookup
// under a short lock and atomic increments.
#ifndef FERRY_SERVER_METRICS_KAFKA_METRICS_H_
#define FERRY_SERVER_METRICS_KAFKA_METRICS_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/kafka/observer.h"
#include "server/security/observer.h"

namespace ferry::metrics {

class KafkaMetrics final : public kafka::KafkaObserver {
 public:
  // `security` may be null; it must outlive this.
  explicit KafkaMetrics(prometheus::Registry* registry,
                        security::SecurityObserver* security = nullptr);

  void OnRequest(std::string_view api, std::string_view version, std::string_view code,
                 absl::Duration latency) override;
  void OnConnectionOpened() override;
  void OnConnectionClosed() override;
  void OnConnectionRejected(std::string_view reason) override;
  void OnBytesReceived(int64_t bytes) override;
  void OnBytesSent(int64_t bytes) override;
  void OnProducedBatches(std::string_view codec, int64_t batches) override;
  void OnAuthentication(std::string_view listener, std::string_view mechanism, bool ok) override;
  void OnAuthorizationDenied(std::string_view listener, std::string_view operation) override;

 private:
  security::SecurityObserver* const security_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Counter& fetches_;
  prometheus::Gauge& open_;
  prometheus::Counter& accepted_;
  prometheus::Counter& received_;
  prometheus::Counter& sent_;
  // One series per codec Kafka defines, made up front: OnProducedBatches takes no lock.
  std::map<std::string, prometheus::Counter*, std::less<>> produced_by_codec_;

  absl::Mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, prometheus::Counter*, std::less<>>
      requests_by_key_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, prometheus::Histogram*, std::less<>> duration_by_api_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, prometheus::Counter*, std::less<>> rejected_by_reason_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::metrics

#endif  // FERRY_SERVER_METRICS_KAFKA_METRICS_H_
