#include "server/metrics/metrics.h"

#include <exception>
#include <string>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/metric_family.h"

namespace ferry::metrics {
namespace {

prometheus::ClientMetric::Label Label(std::string name, std::string value) {
  prometheus::ClientMetric::Label l;
  l.name = std::move(name);
  l.value = std::move(value);
  return l;
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void Add(prometheus::MetricFamily* f, std::vector<prometheus::ClientMetric::Label> labels,
         double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f->type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f->metric.push_back(std::move(m));
}

// Reads the broker's topics at each scrape; a deleted topic's series disappear with it.
class BrokerCollector : public prometheus::Collectable {
 public:
  explicit BrokerCollector(broker::Broker* broker) : broker_(broker) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    auto records = Family("ferry_records_published_total",
                          "Records appended to a topic since the broker started.",
                          MetricType::Counter);
    auto bytes = Family("ferry_bytes_published_total",
                        "Bytes of keys, values and headers appended since the broker started.",
                        MetricType::Counter);
    auto end = Family("ferry_partition_end_offset", "The offset the next record will get.",
                      MetricType::Gauge);
    auto start = Family("ferry_partition_log_start_offset",
                        "The first offset still stored (moves with retention).",
                        MetricType::Gauge);
    auto size = Family("ferry_partition_size_bytes", "Bytes stored for the partition.",
                       MetricType::Gauge);
    for (const auto& topic : broker_->ListTopics()) {
      const std::string& name = topic->meta.name;
      auto counters = broker_->Counters(name);
      Add(&records, {Label("topic", name)}, static_cast<double>(counters->records_published));
      Add(&bytes, {Label("topic", name)}, static_cast<double>(counters->bytes_published));
      for (const auto& log : topic->partitions) {
        std::vector<prometheus::ClientMetric::Label> labels = {
            Label("topic", name), Label("partition", std::to_string(log->partition()))};
        Add(&end, labels, static_cast<double>(log->end_offset()));
        Add(&start, labels, static_cast<double>(log->log_start_offset()));
        Add(&size, labels, static_cast<double>(log->size_bytes()));
      }
    }
    return {records, bytes, end, start, size};
  }

 private:
  broker::Broker* const broker_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& listen,
                                                                    broker::Broker* broker) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  auto collector = std::make_shared<BrokerCollector>(broker);
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError("cannot serve metrics on " + listen + ": " + e.what());
  }
  server->exposer_->RegisterCollectable(collector);
  server->collector_ = collector;
  return server;
}

MetricsServer::~MetricsServer() { exposer_.reset(); }

}  // namespace ferry::metrics
