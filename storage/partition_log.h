// PartitionLog: one partition's records in its own RocksDB column family, keyed by the
// big-endian offset of each stored batch's first record.
//
// Appends, retention and deletion go through the store's commit queue, which orders them; this
// class serves reads and wakes waiters when new records become visible.
// Thread-safe: every method may be called from any thread.
#ifndef FERRY_STORAGE_PARTITION_LOG_H_
#define FERRY_STORAGE_PARTITION_LOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/producer_state.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ferry::storage {

// A batch as stored: `count` records from `base_offset`, encoded by the layer above into
// `payload`. Storage never looks inside the payload.
struct StoredBatch {
  int64_t base_offset = 0;
  uint32_t count = 0;
  int64_t max_timestamp_ms = 0;
  std::string payload;
};

// The stored value of a batch: a 13-byte header (format, count, max timestamp) + payload.
// These four functions are the only code that knows the header's layout.
constexpr size_t kBatchHeaderBytes = 13;
std::string EncodeBatchValue(uint32_t count, int64_t max_timestamp_ms, std::string_view payload);
// The header alone, for a value whose payload is written after it (no copy of the payload).
std::string EncodeBatchHeader(uint32_t count, int64_t max_timestamp_ms);
absl::Status DecodeBatchValue(std::string_view value, StoredBatch* out);

// A stored batch's header, for scans that need no payload (retention, timestamp lookup).
struct BatchHeader {
  uint32_t count = 0;
  int64_t max_timestamp_ms = 0;
};
// DATA_LOSS unless `value` starts with a header of a known format.
absl::Status DecodeBatchHeader(std::string_view value, BatchHeader* out);

class PartitionLog {
 public:
  // `producers`: the idempotent producers' persisted state (at recovery).
  PartitionLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint64_t topic_id,
               int32_t partition, int64_t next_offset, int64_t log_start_offset, int64_t size_bytes,
               std::vector<std::pair<int64_t, ProducerEntry>> producers = {});
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  int32_t partition() const { return partition_; }
  uint64_t topic_id() const { return topic_id_; }

  // The offset the next appended record will get once every acknowledged append is visible.
  int64_t end_offset() const { return end_offset_.load(std::memory_order_acquire); }
  int64_t log_start_offset() const { return log_start_.load(std::memory_order_acquire); }
  // Bytes of stored batch values (headers included).
  int64_t size_bytes() const { return size_bytes_.load(std::memory_order_acquire); }
  // True once the topic is deleted or the store is closing; reads and appends then fail.
  bool deleted() const { return state_.load(std::memory_order_acquire) != kOpen; }

  // The idempotent producers that appended here (read-only outside storage).
  const ProducerStateTable& producers() const { return producers_; }

  // Reads whole batches that hold records from `from` on, until at least `max_records` records
  // or `max_bytes` payload bytes are gathered (always at least one batch when any exists).
  // The first batch may start before `from`. Empty when `from` == end offset.
  // OUT_OF_RANGE when `from` is below the log start or above the end; NOT_FOUND when deleted.
  absl::Status Read(int64_t from, size_t max_records, size_t max_bytes,
                    std::vector<StoredBatch>* out) const;

  // The base offset of the first batch whose max timestamp is >= `timestamp_ms`, or the end
  // offset when there is none. The caller refines within the batch.
  absl::StatusOr<int64_t> FindBatchByTimestamp(int64_t timestamp_ms) const;

  // The first batch whose max timestamp is the largest of the log (Kafka's MAX_TIMESTAMP
  // lookup): its base offset, count and that timestamp; count 0 when the log is empty.
  struct MaxTimestampBatch {
    int64_t base_offset = 0;
    uint32_t count = 0;
    int64_t max_timestamp_ms = -1;
  };
  absl::StatusOr<MaxTimestampBatch> FindMaxTimestampBatch() const;

  // Registers `wake` to run once when the end offset moves past `offset` or the log is deleted
  // or closed. Returns 0, without registering, when that is already the case. `wake` runs on the
  // store's notifier thread, never inside this call.
  using Waiter = std::function<void()>;
  uint64_t AddWaiter(int64_t offset, Waiter wake);
  // True when the waiter was removed before it fired.
  bool RemoveWaiter(uint64_t id);

 private:
  // Storage's own units; no one else changes a log.
  friend class Catalog;
  friend class CommitQueue;
  friend class Retention;
  friend class Store;

  struct PendingWaiter {
    uint64_t id;
    int64_t offset;
    Waiter wake;
  };

  rocksdb::ColumnFamilyHandle* cf() const { return cf_; }
  // Changed by the store under the commit queue's mutex, with the appends it describes.
  ProducerStateTable& mutable_producers() { return producers_; }

  // The next four are called under the commit queue's mutex only.
  // The offset the next append gets: ahead of end_offset() while appends are in the queue.
  int64_t next_offset() const { return next_offset_; }
  // Assigns offsets to an append of `count` records, `bytes` stored bytes; returns the first.
  // `*size` gets the log's stored bytes with the append.
  int64_t AssignOffsets(uint32_t count, int64_t bytes, int64_t* size);
  // Takes back the last AssignOffsets(count, bytes), whose write failed.
  void UnassignOffsets(uint32_t count, int64_t bytes);
  // Moves the log start forward to `start`, releasing `bytes` stored bytes; returns the stored
  // bytes left.
  int64_t MoveLogStart(int64_t start, int64_t bytes);

  // Makes appended records visible up to `end`; moves fired waiters into `fired`.
  void Advance(int64_t end, std::vector<Waiter>* fired);
  enum State { kOpen, kDeleted, kClosing };
  // Marks the log deleted or closing and fires every waiter.
  void MarkGone(State state, std::vector<Waiter>* fired);
  absl::Status GoneError() const;

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  const uint64_t topic_id_;
  const int32_t partition_;

  // Guarded by the commit queue's mutex (not expressible here): see next_offset().
  int64_t next_offset_;

  std::atomic<int64_t> end_offset_;
  std::atomic<int64_t> log_start_;
  std::atomic<int64_t> size_bytes_;
  std::atomic<int> state_{kOpen};
  ProducerStateTable producers_;

  mutable absl::Mutex waiters_mu_;
  uint64_t next_waiter_id_ ABSL_GUARDED_BY(waiters_mu_) = 1;
  std::vector<PendingWaiter> waiters_ ABSL_GUARDED_BY(waiters_mu_);
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_PARTITION_LOG_H_
