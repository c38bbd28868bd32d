// Broker: Ferry's engine behind both front doors. It owns the store, validates requests,
// chooses partitions, appends and reads records, and runs retention. No gRPC in here: the
// front doors translate their protocol into these calls and absl::Status back.
// Thread-safe.
#ifndef FERRY_SERVER_BROKER_BROKER_H_
#define FERRY_SERVER_BROKER_BROKER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/broker/clock.h"
#include "server/broker/observer.h"
#include "server/broker/producer_ids.h"
#include "server/broker/record_codec.h"
#include "server/broker/tail_reader.h"
#include "server/broker/types.h"
#include "storage/offset_store.h"
#include "storage/store.h"

namespace ferry::broker {

struct BrokerOptions {
  storage::StoreOptions store;
  bool auto_create_topics = true;
  int32_t default_partitions = 3;
  int32_t max_partitions = 10000;        // per topic
  int32_t max_record_bytes = 1 << 20;    // key + value + headers of one record
  int64_t max_batch_bytes = 16 << 20;    // all records of one publish request
  int32_t max_subscribe_records = 1000;  // per Subscribe message
  int32_t max_subscribe_bytes = 1 << 20;
  absl::Duration retention_check_interval = absl::Seconds(30);
};

class Broker {
 public:
  // Opens (and recovers) the store and starts the retention task. `observer` (optional)
  // outlives the broker.
  static absl::StatusOr<std::unique_ptr<Broker>> Open(const BrokerOptions& options,
                                                      const Clock* clock,
                                                      EngineObserver* observer = nullptr);
  ~Broker();  // Close()s.

  const BrokerOptions& options() const { return options_; }
  const Clock& clock() const { return *clock_; }
  const storage::RecoverySummary& recovery() const { return store_->recovery(); }
  storage::StoreStats StorageStats() const { return store_->Stats(); }
  // The storage under the engine, for the engine's other modules (security keeps its users and
  // ACLs beside the topic catalog).
  storage::Store* store() const { return store_.get(); }

  // --- topics ---------------------------------------------------------------------------
  absl::StatusOr<std::shared_ptr<const storage::Topic>> CreateTopic(std::string_view name,
                                                                    int32_t partitions,
                                                                    const TopicConfig& config);
  // The topic, created with the defaults first when it is missing and the broker auto-creates
  // topics (NOT_FOUND otherwise). A creation lost to a concurrent one returns the winner's.
  absl::StatusOr<std::shared_ptr<const storage::Topic>> FindOrCreateTopic(std::string_view name);
  absl::Status DeleteTopic(std::string_view name);
  absl::StatusOr<std::shared_ptr<const storage::Topic>> CreatePartitions(std::string_view name,
                                                                         int32_t total);
  // Changes the settings `change` gives, the others kept; the one path for both doors. The
  // change is persisted (synced) before this returns and in force at once: publishes check the
  // new record limit, and a retention pass runs now when a retention setting is given.
  // `validate_only`: checks, changes nothing. INVALID_ARGUMENT for a bad value, NOT_FOUND
  // when the topic is absent. Returns the topic as described with the change.
  absl::StatusOr<TopicInfo> AlterTopicConfig(std::string_view name, const TopicConfigChange& change,
                                             bool validate_only = false);
  // Checks a topic's settings against the broker's limits (INVALID_ARGUMENT with the reason).
  absl::Status ValidateTopicConfig(const TopicConfig& config) const;
  // NOT_FOUND (or INVALID_ARGUMENT for a bad name) when absent.
  absl::StatusOr<std::shared_ptr<const storage::Topic>> GetTopic(std::string_view name) const;
  // nullptr when absent (no name check).
  std::shared_ptr<const storage::Topic> FindTopic(std::string_view name) const;
  // nullptr when no topic has this UUID.
  std::shared_ptr<const storage::Topic> FindTopicByUuid(const storage::TopicUuid& uuid) const;
  std::vector<std::shared_ptr<const storage::Topic>> ListTopics() const;
  // The partition's log: INVALID_ARGUMENT for a negative partition, NOT_FOUND when absent.
  absl::StatusOr<std::shared_ptr<storage::PartitionLog>> GetPartition(std::string_view topic,
                                                                      int32_t partition) const;
  // The topic's name, partitions and settings, defaults filled in.
  TopicInfo Describe(const storage::Topic& topic) const;

  // --- publish --------------------------------------------------------------------------
  // Validates and appends `batch`'s records atomically, then calls `done` once they are
  // durable per the fsync policy (on the commit thread), or at once on rejection (on this
  // thread). Records are stored as the bytes they came in; the views need to live only until
  // this call returns. `done` gets where each record went.
  // An idempotent publish (`batch.sequence` set) may also fail with OUT_OF_RANGE (a sequence
  // gap: Kafka OUT_OF_ORDER_SEQUENCE_NUMBER), ABORTED (an epoch older than the producer's
  // latest: INVALID_PRODUCER_EPOCH) or FAILED_PRECONDITION (an id never allocated:
  // UNKNOWN_PRODUCER_ID); a duplicate is acknowledged with the original offsets.
  using PublishDone = std::function<void(absl::Status, const PublishAcks*)>;
  void Publish(const PublishBatch& batch, PublishDone done);

  // --- idempotent producers -------------------------------------------------------------
  // A new producer identity, or the next epoch of `current` (see ProducerIds::Init).
  absl::StatusOr<ProducerIdentity> InitProducer(std::optional<ProducerIdentity> current) {
    return producer_ids_.Init(current);
  }

  // --- read -----------------------------------------------------------------------------
  // Where `start` is in `log`. An offset outside the log is resolved by `reset` (kNone:
  // OUT_OF_RANGE); a timestamp past every record gives the end offset.
  absl::StatusOr<int64_t> ResolveStart(const storage::PartitionLog& log, const StartPosition& start,
                                       OffsetReset reset) const;
  // A reader of `topic`/`partition` from `start`. `group` (empty outside a group) only labels
  // what it delivers, for metrics.
  absl::StatusOr<TailReader> OpenReader(std::string_view topic, int32_t partition,
                                        const StartPosition& start, OffsetReset reset,
                                        std::string group = "") const;
  // The first record at or after `timestamp_ms`: its offset and timestamp; offset = end and
  // timestamp = -1 when there is none.
  struct TimestampMatch {
    int64_t offset = 0;
    int64_t timestamp_ms = -1;
  };
  absl::StatusOr<TimestampMatch> FindOffsetForTimestamp(const storage::PartitionLog& log,
                                                        int64_t timestamp_ms) const;
  // The record with the largest timestamp (the first of equals; Kafka's MAX_TIMESTAMP): its
  // offset and timestamp; offset -1 and timestamp -1 when the log holds no record.
  absl::StatusOr<TimestampMatch> FindMaxTimestamp(const storage::PartitionLog& log) const;

  // --- retention ------------------------------------------------------------------------
  // Moves the partition's log start forward to `offset` (-1: its end offset), deleting the
  // records below it, durably; readers below it then behave as after retention. Returns the
  // new log start (the old one when `offset` is at or below it). OUT_OF_RANGE past the end
  // offset or for an offset below -1; NOT_FOUND for an absent topic or partition.
  absl::StatusOr<int64_t> DeleteRecords(std::string_view topic, int32_t partition, int64_t offset);
  // One retention pass at the clock's current time; returns batches removed.
  absl::StatusOr<int64_t> EnforceRetention();

  // Called after a topic is created (auto-creation included), grown or deleted. Set once,
  // before serving.
  void SetTopicsChangedListener(std::function<void()> listener) {
    topics_changed_ = std::move(listener);
  }

  // For the group engine: committed offsets live in the same store.
  storage::OffsetStore& offsets() const { return store_->offsets(); }
  // Null when nothing observes the engine.
  EngineObserver* observer() const { return observer_; }

  // Stops delivering: subscriptions end with UNAVAILABLE, new appends are refused.
  void BeginShutdown();
  // Finishes queued appends and closes the store. Idempotent.
  void Close();

 private:
  friend class TailReader;
  Broker(const BrokerOptions& options, const Clock* clock, EngineObserver* observer,
         std::unique_ptr<storage::Store> store);
  // Reads records of `log` from `from` and calls `fn` with each record's stored bytes and
  // offset, within the limits (0: the broker's), at least one record when any is there; stops
  // at the first error `fn` returns. Returns the offset after the last record taken.
  absl::StatusOr<int64_t> ForEachRecord(
      const storage::PartitionLog& log, int64_t from, int32_t max_records, int32_t max_bytes,
      absl::FunctionRef<absl::Status(std::string_view encoded, int64_t offset)> fn) const;
  void RetentionLoop();

  const BrokerOptions options_;
  const Clock* const clock_;
  EngineObserver* const observer_;
  std::unique_ptr<storage::Store> store_;
  ProducerIds producer_ids_{store_.get()};

  // Spreads keyless records: each topic's next partition in turn.
  mutable absl::Mutex spread_mu_;
  absl::flat_hash_map<uint64_t, uint32_t> spread_ ABSL_GUARDED_BY(spread_mu_);

  std::function<void()> topics_changed_;
  absl::Notification stop_retention_;
  std::thread retention_thread_;
  std::atomic<bool> closed_{false};
};

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_BROKER_H_
