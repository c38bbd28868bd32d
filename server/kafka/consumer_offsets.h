// __consumer_offsets over the Kafka door: the engine's committed-offsets log
// (storage::OffsetStore, one entry per group, topic and partition, compacted) encoded as
// Kafka's internal topic, so lag monitors that read it work. Only offset commit records (key
// version 1, value version 3) are written; group metadata records (key version 2) are not.
// Pure encoding over the broker's OffsetStore; thread-safe.
#ifndef FERRY_SERVER_KAFKA_CONSUMER_OFFSETS_H_
#define FERRY_SERVER_KAFKA_CONSUMER_OFFSETS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/kafka/protocol.h"

namespace ferry::broker {
class Broker;
}  // namespace ferry::broker

namespace ferry::kafka {

inline constexpr std::string_view kConsumerOffsetsTopic = "__consumer_offsets";

inline bool IsConsumerOffsetsTopic(std::string_view name) { return name == kConsumerOffsetsTopic; }

// The topic id Metadata (v10+) gives __consumer_offsets: fixed, never a stored topic's.
const Uuid& ConsumerOffsetsTopicId();

// Kafka's OffsetCommitKey v1: int16 version, group, topic (int16-length strings), int32
// partition. OffsetCommitValue v3: int16 version, int64 offset, int32 leader epoch (-1),
// metadata, int64 commit timestamp.
std::string EncodeOffsetCommitKey(std::string_view group, std::string_view topic,
                                  int32_t partition);
std::string EncodeOffsetCommitValue(int64_t offset, std::string_view metadata,
                                    int64_t commit_timestamp_ms);

// A partition of __consumer_offsets as Fetch and ListOffsets see it.
struct ConsumerOffsetsRead {
  int16_t error_code = 0;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  std::string records;  // encoded for the Fetch version: record batch v2 or a message set
};

// The entries of `partition` from `fetch_offset`, about `max_bytes` of them (at least one),
// encoded for Fetch `fetch_version`: OFFSET_OUT_OF_RANGE past the end, UNKNOWN_TOPIC_OR_PARTITION
// for a partition that does not exist.
ConsumerOffsetsRead ReadConsumerOffsets(broker::Broker& broker, int16_t fetch_version,
                                        int32_t partition, int64_t fetch_offset, int64_t max_bytes);

// ListOffsets on `partition`: -1 latest (the log end), -2 earliest (0: compaction never moves
// the log start), -3 the largest commit timestamp, else the first entry committed at or after
// `timestamp`. `offset`/`timestamp` -1 when none; the error code otherwise.
struct ConsumerOffsetsListed {
  int16_t error_code = 0;
  int64_t offset = -1;
  int64_t timestamp = -1;
};
ConsumerOffsetsListed ListConsumerOffsets(broker::Broker& broker, int32_t partition,
                                          int64_t timestamp);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_CONSUMER_OFFSETS_H_
