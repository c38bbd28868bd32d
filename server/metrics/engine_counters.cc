#include "server/metrics/engine_counters.h"

#include <algorithm>

#include "server/kafka/observer.h"

namespace ferry::metrics {

void EngineCounters::OnPublished(std::string_view topic, int64_t records, int64_t bytes) {
  absl::MutexLock lock(&mu_);
  auto it = published_.find(topic);
  if (it == published_.end()) it = published_.emplace(std::string(topic), Published()).first;
  it->second.records += records;
  it->second.bytes += bytes;
}

void EngineCounters::OnDelivered(std::string_view topic, std::string_view group, int64_t records) {
  absl::MutexLock lock(&mu_);
  if (group == kafka::kKafkaFetchReaderLabel) {
    auto it = kafka_fetched_.find(topic);
    if (it == kafka_fetched_.end()) it = kafka_fetched_.emplace(std::string(topic), 0).first;
    it->second += records;
    return;
  }
  delivered_[{std::string(topic), std::string(group)}] += records;
}

void EngineCounters::OnStream(std::string_view mode, int delta) {
  (mode == "group" ? group_streams_ : direct_streams_).fetch_add(delta, std::memory_order_relaxed);
}

void EngineCounters::OnTopicDeleted(std::string_view topic) {
  // A deleted topic's series disappear from the metrics.
  absl::MutexLock lock(&mu_);
  auto it = published_.find(topic);
  if (it != published_.end()) published_.erase(it);
  std::erase_if(delivered_, [&](const auto& e) { return e.first.first == topic; });
  auto k = kafka_fetched_.find(topic);
  if (k != kafka_fetched_.end()) kafka_fetched_.erase(k);
}

EngineCounters::Published EngineCounters::PublishedTo(const std::string& topic) const {
  absl::MutexLock lock(&mu_);
  auto it = published_.find(topic);
  return it == published_.end() ? Published() : it->second;
}

std::map<std::pair<std::string, std::string>, int64_t> EngineCounters::Delivered() const {
  absl::MutexLock lock(&mu_);
  return delivered_;
}

std::map<std::string, int64_t> EngineCounters::KafkaFetched() const {
  absl::MutexLock lock(&mu_);
  return {kafka_fetched_.begin(), kafka_fetched_.end()};
}

}  // namespace ferry::metrics
