// EngineCounters: the metrics' view of the engine's work (records published and delivered per
// topic and group, records Kafka fetches took, open subscription streams), kept as the engine
// reports it through broker::EngineObserver and read at scrape time. Thread-safe.
#ifndef FERRY_SERVER_METRICS_ENGINE_COUNTERS_H_
#define FERRY_SERVER_METRICS_ENGINE_COUNTERS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "server/broker/observer.h"

namespace ferry::metrics {

class EngineCounters final : public broker::EngineObserver {
 public:
  struct Published {
    int64_t records = 0;
    int64_t bytes = 0;
  };

  void OnPublished(std::string_view topic, int64_t records, int64_t bytes) override;
  void OnDelivered(std::string_view topic, std::string_view group, int64_t records) override;
  void OnStream(std::string_view mode, int delta) override;
  void OnTopicDeleted(std::string_view topic) override;

  // What `topic` had appended since start-up; zeros when nothing.
  Published PublishedTo(const std::string& topic) const;
  // (topic, group) -> records delivered since start-up, Kafka fetches excepted.
  std::map<std::pair<std::string, std::string>, int64_t> Delivered() const;
  // topic -> records Kafka Fetch requests took since start-up.
  std::map<std::string, int64_t> KafkaFetched() const;
  int64_t DirectStreams() const { return direct_streams_.load(std::memory_order_relaxed); }
  int64_t GroupStreams() const { return group_streams_.load(std::memory_order_relaxed); }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, Published, std::less<>> published_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, int64_t> delivered_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t, std::less<>> kafka_fetched_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> direct_streams_{0};
  std::atomic<int64_t> group_streams_{0};
};

}  // namespace ferry::metrics

#endif  // FERRY_SERVER_METRICS_ENGINE_COUNTERS_H_
