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
#include "ferry/v1/ferry.pb.h"
#include "server/broker/clock.h"
#include "server/broker/record_codec.h"
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

// Per-topic counters since start-up, for metrics.
struct TopicCounters {
  std::atomic<int64_t> records_published{0};
  std::atomic<int64_t> bytes_published{0};
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

// Open Subscribe streams by mode, for metrics.
struct StreamGauges {
  std::atomic<int64_t> direct{0};
  std::atomic<int64_t> group{0};
};

class Broker {
 public:
  // Opens (and recovers) the store and starts the retention task.
  static absl::StatusOr<std::unique_ptr<Broker>> Open(const BrokerOptions& options,
                                                      const Clock* clock);
  ~Broker();  // Close()s.

  const BrokerOptions& options() const { return options_; }
  const storage::RecoverySummary& recovery() const { return store_->recovery(); }

  // --- topics ---------------------------------------------------------------------------
  absl::StatusOr<std::shared_ptr<const storage::Topic>> CreateTopic(std::string_view name,
                                                                    int32_t partitions,
                                                                    const v1::TopicConfig& config);
  absl::Status DeleteTopic(std::string_view name);
  absl::StatusOr<std::shared_ptr<const storage::Topic>> CreatePartitions(std::string_view name,
                                                                         int32_t total);
  // NOT_FOUND (or INVALID_ARGUMENT for a bad name) when absent.
  absl::StatusOr<std::shared_ptr<const storage::Topic>> GetTopic(std::string_view name) const;
  std::vector<std::shared_ptr<const storage::Topic>> ListTopics() const;
  // The partition's log: INVALID_ARGUMENT for a negative partition, NOT_FOUND when absent.
  absl::StatusOr<std::shared_ptr<storage::PartitionLog>> GetPartition(std::string_view topic,
                                                                      int32_t partition) const;
  void FillTopicInfo(const storage::Topic& topic, v1::TopicInfo* info) const;

  // --- publish --------------------------------------------------------------------------
  using PublishDone = std::function<void(absl::Status, v1::PublishResponse*)>;
  // Validates and appends `request`'s records atomically, then calls `done` once they are
  // durable per the fsync policy (on the commit thread), or at once on rejection (on this
  // thread). Records are moved out of `request`.
  void Publish(v1::PublishRequest* request, PublishDone done);
  // The same for a request already walked in wire format (`ParsePublishRequest`): records are
  // stored as the bytes they came in, without building messages. The views need to live only
  // until this call returns. `done` gets where each record went.
  using PublishAcksDone = std::function<void(absl::Status, const PublishAcks*)>;
  void PublishRecords(const PublishRequestView& request, PublishAcksDone done);

  // --- read -----------------------------------------------------------------------------
  // The offset to start reading `log` at for a direct subscription (after validation).
  absl::StatusOr<int64_t> ResolveStart(const storage::PartitionLog& log,
                                       const v1::DirectSubscription& sub) const;
  // Reads records from `from` into `out` (records with offsets, end_offset), at most
  // `max_records` and about `max_bytes` (always at least one record when any exists).
  // Returns the offset after the last record read; `from` when nothing is there yet.
  absl::StatusOr<int64_t> Read(const storage::PartitionLog& log, int64_t from, int32_t max_records,
                               int32_t max_bytes, v1::SubscribeResponse* out) const;

  // Like Read, but appends the records to `out` as a SubscribeResponse's `records` fields in
  // wire format (offsets set), ready to send, and counts them in `*records`.
  absl::StatusOr<int64_t> ReadEncoded(const storage::PartitionLog& log, int64_t from,
                                      int32_t max_records, int32_t max_bytes, std::string* out,
                                      int32_t* records) const;

  // --- retention ------------------------------------------------------------------------
  // One retention pass at the clock's current time; returns batches removed.
  absl::StatusOr<int64_t> EnforceRetention();

  // Called after a topic is created (auto-creation included), grown or deleted. Set once,
  // before serving.
  void SetTopicsChangedListener(std::function<void()> listener) {
    topics_changed_ = std::move(listener);
  }

  // Counters of `topic`, created on first use; never null.
  std::shared_ptr<TopicCounters> Counters(std::string_view topic) const;
  // Records sent to subscribers of `topic` (`group` empty for direct subscribers).
  void CountDelivered(const std::string& topic, const std::string& group, int64_t records);
  // (topic, group) -> records delivered since start-up.
  std::map<std::pair<std::string, std::string>, int64_t> Delivered() const;
  StreamGauges& streams() { return streams_; }

  // Stops delivering: subscriptions end with UNAVAILABLE, new appends are refused.
  void BeginShutdown();
  // Finishes queued appends and closes the store. Idempotent.
  void Close();

  storage::Store& store() { return *store_; }

 private:
  Broker(const BrokerOptions& options, const Clock* clock, std::unique_ptr<storage::Store> store);
  absl::StatusOr<std::shared_ptr<const storage::Topic>> TopicForPublish(std::string_view name);
  // Reads as Read does and calls `fn` with each record's stored bytes and offset; stops at the
  // first error `fn` returns. `*payload_bytes` (optional): bytes of the batches read.
  absl::StatusOr<int64_t> ForEachRecord(
      const storage::PartitionLog& log, int64_t from, int32_t max_records, int32_t max_bytes,
      absl::FunctionRef<absl::Status(std::string_view encoded, int64_t offset)> fn,
      size_t* payload_bytes) const;
  void RetentionLoop();

  const BrokerOptions options_;
  const Clock* const clock_;
  std::unique_ptr<storage::Store> store_;

  mutable absl::Mutex counters_mu_;
  mutable absl::flat_hash_map<std::string, std::shared_ptr<TopicCounters>> counters_
      ABSL_GUARDED_BY(counters_mu_);

  mutable absl::Mutex delivered_mu_;
  std::map<std::pair<std::string, std::string>, int64_t> delivered_ ABSL_GUARDED_BY(delivered_mu_);
  StreamGauges streams_;

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
