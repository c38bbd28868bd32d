#include "server/metrics/kafka_metrics.h"

#include <string>

namespace ferry::metrics {

KafkaMetrics::KafkaMetrics(prometheus::Registry* registry, security::SecurityObserver* security)
    : security_(security),
      requests_(prometheus::BuildCounter()
                    .Name("ferry_kafka_requests_total")
                    .Help("Kafka requests served, by API, version and the response's Kafka error "
                          "code (the first non-zero one for per-partition codes; \"closed\" when "
                          "the request closed its connection, \"none\" when no response is due).")
                    .Register(*registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("ferry_kafka_request_duration_seconds")
                    .Help("Time from a Kafka request's arrival to its response, by API; Fetch "
                          "includes its long poll.")
                    .Register(*registry)),
      rejected_(prometheus::BuildCounter()
                    .Name("ferry_kafka_connections_rejected_total")
                    .Help("Kafka connections closed at once on accept, by the limit they hit.")
                    .Register(*registry)),
      fetches_(prometheus::BuildCounter()
                   .Name("ferry_kafka_fetch_requests_total")
                   .Help("Kafka Fetch requests (Kafka consumers; not counted as gRPC "
                         "subscribers).")
                   .Register(*registry)
                   .Add({})),
      open_(prometheus::BuildGauge()
                .Name("ferry_kafka_connections_open")
                .Help("Kafka client connections open now.")
                .Register(*registry)
                .Add({})),
      accepted_(prometheus::BuildCounter()
                    .Name("ferry_kafka_connections_accepted_total")
                    .Help("Kafka client connections accepted.")
                    .Register(*registry)
                    .Add({})),
      received_(prometheus::BuildCounter()
                    .Name("ferry_kafka_bytes_received_total")
                    .Help("Bytes read from Kafka clients.")
                    .Register(*registry)
                    .Add({})),
      sent_(prometheus::BuildCounter()
                .Name("ferry_kafka_bytes_sent_total")
                .Help("Bytes written to Kafka clients.")
                .Register(*registry)
                .Add({})) {
  // The reasons exist from the start, so a dashboard shows zeros rather than no series.
  for (const char* reason : {"max_connections", "max_connections_per_ip"}) {
    rejected_by_reason_[reason] = &rejected_.Add({{"reason", reason}});
  }
  auto& produced = prometheus::BuildCounter()
                       .Name("ferry_kafka_produced_batches_total")
                       .Help(
                           "Record batches (or legacy wrapper messages) stored from Kafka "
                           "Produce requests, by the compression they came with.")
                       .Register(*registry);
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    produced_by_codec_[codec] = &produced.Add({{"codec", codec}});
  }
}

void KafkaMetrics::OnRequest(std::string_view api, std::string_view version, std::string_view code,
                             absl::Duration latency) {
  prometheus::Counter* counter;
  prometheus::Histogram* histogram;
  {
    absl::MutexLock lock(&mu_);
    auto key = std::make_tuple(std::string(api), std::string(version), std::string(code));
    auto it = requests_by_key_.find(key);
    if (it == requests_by_key_.end()) {
      it = requests_by_key_
               .emplace(key, &requests_.Add({{"api", std::get<0>(key)},
                                             {"version", std::get<1>(key)},
                                             {"code", std::get<2>(key)}}))
               .first;
    }
    counter = it->second;
    auto h = duration_by_api_.find(api);
    if (h == duration_by_api_.end()) {
      h = duration_by_api_
              .emplace(std::string(api),
                       &duration_.Add({{"api", std::string(api)}},
                                      prometheus::Histogram::BucketBoundaries{
                                          0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}))
              .first;
    }
    histogram = h->second;
  }
  counter->Increment();
  histogram->Observe(absl::ToDoubleSeconds(latency));
  if (api == "Fetch") fetches_.Increment();
}

void KafkaMetrics::OnConnectionOpened() {
  accepted_.Increment();
  open_.Increment();
}

void KafkaMetrics::OnConnectionClosed() { open_.Decrement(); }

void KafkaMetrics::OnConnectionRejected(std::string_view reason) {
  prometheus::Counter* counter;
  {
    absl::MutexLock lock(&mu_);
    auto it = rejected_by_reason_.find(reason);
    if (it == rejected_by_reason_.end()) {
      it = rejected_by_reason_
               .emplace(std::string(reason), &rejected_.Add({{"reason", std::string(reason)}}))
               .first;
    }
    counter = it->second;
  }
  counter->Increment();
}

void KafkaMetrics::OnBytesReceived(int64_t bytes) {
  received_.Increment(static_cast<double>(bytes));
}

void KafkaMetrics::OnBytesSent(int64_t bytes) { sent_.Increment(static_cast<double>(bytes)); }

void KafkaMetrics::OnProducedBatches(std::string_view codec, int64_t batches) {
  auto it = produced_by_codec_.find(codec);
  if (it != produced_by_codec_.end()) it->second->Increment(static_cast<double>(batches));
}

void KafkaMetrics::OnAuthentication(std::string_view listener, std::string_view mechanism,
                                    bool ok) {
  if (security_ != nullptr) security_->Authenticated("kafka", listener, mechanism, ok);
}

void KafkaMetrics::OnAuthorizationDenied(std::string_view listener, std::string_view operation) {
  if (security_ != nullptr) security_->Denied("kafka", listener, operation);
}

}  // namespace ferry::metrics
