// EngineObserver: what the engine reports as it works, for metrics. The engine keeps no metrics
// state of its own; ferryd passes the metrics module's implementation, tests pass none.
// Implementations must be thread-safe and fast: they are called on publish and read paths.
#ifndef FERRY_SERVER_BROKER_OBSERVER_H_
#define FERRY_SERVER_BROKER_OBSERVER_H_

#include <cstdint>
#include <string_view>

namespace ferry::broker {

class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  // `records` records (`bytes` of keys, values and headers) were appended to `topic`.
  virtual void OnPublished(std::string_view topic, int64_t records, int64_t bytes) = 0;
  // A reader took `records` records of `topic`; `group` is empty for readers outside a group.
  virtual void OnDelivered(std::string_view topic, std::string_view group, int64_t records) = 0;
  // A subscription stream opened (+1) or closed (-1); `mode` is "direct" or "group".
  virtual void OnStream(std::string_view mode, int delta) = 0;
  // `topic` was deleted: its series go away.
  virtual void OnTopicDeleted(std::string_view topic) = 0;
};

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_OBSERVER_H_
