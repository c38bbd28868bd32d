#include "server/metrics/engine_counters.h"

#include <algorithm>

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

}  // namespace ferry::metrics
