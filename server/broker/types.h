// The engine's own vocabulary: what both front doors translate their protocol into and out of.
// Nothing here knows gRPC or Kafka; the doors convert at their edge. Plain values: thread-safe.
#ifndef FERRY_SERVER_BROKER_TYPES_H_
#define FERRY_SERVER_BROKER_TYPES_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::broker {

// A topic's settings; 0 means "the broker's default" (unlimited retention, --max-record-bytes).
struct TopicConfig {
  int64_t retention_ms = 0;
  int64_t retention_bytes = 0;  // per partition
  int32_t max_record_bytes = 0;
};

// A change to a topic's settings: each field given is set (0: back to the broker's default),
// the others stay as they are.
struct TopicConfigChange {
  std::optional<int64_t> retention_ms;
  std::optional<int64_t> retention_bytes;
  std::optional<int32_t> max_record_bytes;
};

// A topic as the doors describe it: its settings with defaults filled in.
struct TopicInfo {
  std::string name;
  // Random, persisted, never all zero; a topic created again under the same name gets a new
  // one (Kafka's topic id).
  std::array<uint8_t, 16> topic_id{};
  int32_t partitions = 0;
  TopicConfig config;
};

// Where a reader starts in a partition.
struct StartPosition {
  enum class Kind { kEarliest, kLatest, kOffset, kTimestamp };
  Kind kind = Kind::kEarliest;
  int64_t offset = 0;        // kOffset
  int64_t timestamp_ms = 0;  // kTimestamp: the first record at or after it

  static StartPosition Earliest() { return {Kind::kEarliest}; }
  static StartPosition Latest() { return {Kind::kLatest}; }
  static StartPosition AtOffset(int64_t offset) { return {Kind::kOffset, offset}; }
  static StartPosition AtTimestamp(int64_t ms) { return {Kind::kTimestamp, 0, ms}; }
};

// What a reader does when its position is outside the log: a start offset below the log start
// or past the end, a committed offset retention has passed, or retention passing the reader
// while it reads. The one rule for every reader (gRPC direct and group, Kafka Fetch):
//   kEarliest: go on from the log start;  kLatest: go on from the log end;
//   kNone: stop with OUT_OF_RANGE (Kafka: OFFSET_OUT_OF_RANGE; the client decides).
enum class OffsetReset { kNone, kEarliest, kLatest };

// One record's fields as views, for a door that does not have the stored encoding at hand
// (Kafka's record batches). Null and empty differ, as in Kafka: a key (value) is null unless
// `has_key` (`has_value`) is set or it is non-empty; a null one is stored absent, an empty
// one as a zero-length field (proto3 explicit presence of ferry.v1.Record).
struct RecordFields {
  std::string_view key;
  std::string_view value;
  bool has_key = false;
  bool has_value = false;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  int64_t timestamp_ms = 0;  // 0: the broker's time at append

  bool key_present() const { return has_key || !key.empty(); }
  bool value_present() const { return has_value || !value.empty(); }
};

// A record in the stored encoding (protobuf wire format of ferry.v1.Record, see
// record_codec.h), walked once: the publish path checks and partitions records by their views
// and stores their bytes as they came.
struct RecordView {
  std::string_view encoded;  // the record's bytes
  std::string_view key;      // the last `key` field, as protobuf parsing would keep
  bool has_key = false;      // a `key` field is present (empty or not): not null
  bool has_value = false;    // a `value` field is present: not null
  int64_t timestamp_ms = 0;  // 0 when absent
  bool has_offset = false;   // an `offset` field is present (output-only: dropped on store)
  size_t user_bytes = 0;     // key + value + header keys and values
};

// An idempotent producer's identity: an id unique in the data directory and the epoch of the
// producer's current session with it.
struct ProducerIdentity {
  int64_t id = -1;
  int16_t epoch = -1;
};

// Who sent a publish and where its first record is in that producer's sequence on the
// partition (Kafka's idempotent record batches). A retry of one of the producer's last 5
// publishes to the partition is acknowledged with the original offsets and stored once.
struct ProducerSequence {
  ProducerIdentity producer;
  int32_t base_sequence = 0;
};

// One publish: records for one topic, on one partition or placed by the partitioner.
struct PublishBatch {
  std::string_view topic;
  std::optional<int32_t> partition;
  std::vector<RecordView> records;
  // Set: an idempotent publish; `partition` must be set too (sequences are per partition).
  std::optional<ProducerSequence> sequence;
};

// Where the records of one publish went: record i is at offset
// part_base[record_part[i]] + record_index[i] of partition part_partition[record_part[i]].
struct PublishAcks {
  std::vector<int32_t> part_partition;
  std::vector<int64_t> part_base;
  std::vector<int32_t> record_part;
  std::vector<uint32_t> record_index;

  size_t size() const { return record_part.size(); }
  int32_t partition(size_t i) const { return part_partition[record_part[i]]; }
  int64_t offset(size_t i) const { return part_base[record_part[i]] + record_index[i]; }
};

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_TYPES_H_
