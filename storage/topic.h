// TopicMeta and Topic: a topic's persisted settings, and the immutable snapshot of a topic that
// the catalog serves. Plain values; a Topic's partition logs are themselves thread-safe.
#ifndef FERRY_STORAGE_TOPIC_H_
#define FERRY_STORAGE_TOPIC_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/partition_log.h"

namespace ferry::storage {

// A topic's UUID, as Kafka 2.8+ names topics (Metadata v10+, DeleteTopics v6): random, never
// all zero once the catalog has served the topic.
using TopicUuid = std::array<uint8_t, 16>;

// `id` is unique per creation: a topic deleted and created again under the same name gets new
// column families. `uuid` likewise, and unique across data directories.
struct TopicMeta {
  std::string name;
  uint64_t id = 0;
  TopicUuid uuid{};
  int32_t partitions = 0;
  int64_t retention_ms = 0;     // 0: unlimited
  int64_t retention_bytes = 0;  // per partition; 0: unlimited
  int32_t max_record_bytes = 0;
};

// Growing a topic publishes a new snapshot.
struct Topic {
  TopicMeta meta;
  std::vector<std::shared_ptr<PartitionLog>> partitions;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_TOPIC_H_
