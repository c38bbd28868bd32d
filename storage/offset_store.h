// OffsetStore: consumer groups' committed offsets, in the "offsets" column family, keyed by
// group, topic and partition, and the committed-offsets log derived from them (what the Kafka
// door serves as the compacted topic __consumer_offsets). Commits go through the store's
// commit queue (a Writer), so they are as durable as appends under the fsync policy.
// Thread-safe.
#ifndef FERRY_STORAGE_OFFSET_STORE_H_
#define FERRY_STORAGE_OFFSET_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/clock.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ferry::storage {

class Writer;

struct CommittedOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string metadata;
  // Read only: when the commit was stored (ms since the epoch); for a commit stored before
  // Ferry kept it, when the data directory was first opened by a version that does.
  int64_t commit_timestamp_ms = -1;
};

// One entry of the committed-offsets log: Kafka's __consumer_offsets is compacted, so only
// the latest commit of each (group, topic, partition) is there, at the sequence it got.
struct OffsetLogEntry {
  int64_t sequence = 0;
  std::string group;
  std::string topic;
  int32_t partition = 0;
  // nullopt: a tombstone (the commit was deleted since; kept until restart).
  std::optional<CommittedOffset> value;
};

// Kafka's partition of a group in __consumer_offsets: abs(Java String.hashCode(group)) %
// `partitions`, with the group's UTF-8 read as Java would (UTF-16 code units, U+FFFD for
// bytes that are not UTF-8).
int32_t OffsetLogPartitionFor(std::string_view group, int32_t partitions);

class OffsetStore {
 public:
  // Reads `cf` of `db` directly; writes through `writer`; keeps the log's persisted high
  // marks in `meta_cf`. None is owned. `log_partitions` (> 0) is how many partitions the log
  // has: changing it between runs moves groups to other partitions (their entries get new
  // sequences there, above every sequence that partition gave before).
  OffsetStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
              rocksdb::ColumnFamilyHandle* meta_cf, Writer* writer, const Clock* clock,
              int32_t log_partitions);
  OffsetStore(const OffsetStore&) = delete;
  OffsetStore& operator=(const OffsetStore&) = delete;

  // Builds the log from the column family; once, before anything else. Commits stored without
  // a sequence (older data directories) get one here, written back in one durable write.
  absl::Status Load();

  // Stores every entry atomically, then calls `done` (on the commit thread).
  void Commit(std::string_view group, const std::vector<CommittedOffset>& offsets,
              std::function<void(absl::Status)> done);
  absl::Status CommitSync(std::string_view group, const std::vector<CommittedOffset>& offsets);

  // nullopt when the group has committed nothing for the partition.
  absl::StatusOr<std::optional<CommittedOffset>> Fetch(std::string_view group,
                                                       std::string_view topic,
                                                       int32_t partition) const;
  absl::StatusOr<std::vector<CommittedOffset>> FetchAll(std::string_view group) const;
  // Every group with at least one committed offset.
  absl::StatusOr<std::vector<std::string>> ListGroups() const;
  absl::Status DeleteGroup(std::string_view group);
  // Forgets the group's offsets of these partitions, in one durable write (OK for partitions
  // it has none of).
  absl::Status DeleteOffsets(std::string_view group,
                             const std::vector<std::pair<std::string, int32_t>>& partitions);
  // Forgets every group's offsets for `topic` (the topic was deleted).
  absl::Status DeleteTopic(std::string_view topic);

  // --- the committed-offsets log -------------------------------------------------------
  int32_t log_partitions() const { return log_partitions_; }
  // The next sequence of `log_partition` (its log end: every durable entry is below it).
  // Never goes backwards, restarts included. 0 for a partition out of range.
  int64_t LogEnd(int32_t log_partition) const ABSL_LOCKS_EXCLUDED(mu_);
  // The live entries and tombstones of `log_partition` with sequence >= `from` and below
  // LogEnd, in sequence order, until about `max_bytes` of keys and values (at least one).
  struct LogRead {
    std::vector<OffsetLogEntry> entries;
    int64_t end = 0;      // LogEnd when read
    int64_t covered = 0;  // no entry in [from, covered) is left out: the next read's `from`
  };
  absl::StatusOr<LogRead> ReadLog(int32_t log_partition, int64_t from, size_t max_bytes) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Calls `wake` once, on the commit thread (it must not block), when LogEnd(log_partition)
  // passes `end`; nullopt, and nothing registered, when it already has (or the partition does
  // not exist). Otherwise an id for CancelLogWait.
  std::optional<uint64_t> WaitForLog(int32_t log_partition, int64_t end, std::function<void()> wake)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Forgets a wait (nothing when it has fired).
  void CancelLogWait(uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct LogPartition {
    std::map<int64_t, std::string> entries;  // sequence -> storage key, live or tombstone
    std::set<int64_t> tombstones;
    std::set<int64_t> in_flight;  // given out, not durable yet: LogEnd stops at the first
    int64_t next = 0;
  };
  struct Slot {
    int32_t log_partition = 0;
    int64_t sequence = 0;
  };
  // A change to the log once a write is durable: `key` now has `sequence` (a tombstone when
  // `tombstone`).
  struct LogChange {
    std::string key;
    int32_t log_partition = 0;
    int64_t sequence = 0;
    bool tombstone = false;
  };

  // Gives out sequences for `changes`' keys (in order), marking them in flight.
  void AssignLocked(std::vector<LogChange>* changes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records `changes` as durable (when `s` is OK) and no longer in flight.
  void Apply(const std::vector<LogChange>& changes, const absl::Status& s) ABSL_LOCKS_EXCLUDED(mu_);
  // Deletes `keys` (and the range [range_begin, range_end) when not empty) in one durable
  // write, giving each deleted key that is in the log a tombstone.
  absl::Status Delete(std::vector<std::string> keys, std::string range_begin, std::string range_end)
      ABSL_LOCKS_EXCLUDED(order_mu_, mu_);

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  rocksdb::ColumnFamilyHandle* const meta_cf_;
  Writer* const writer_;
  const Clock* const clock_;
  const int32_t log_partitions_;

  // Held while sequences are given out and their write queued, so the commit queue (FIFO)
  // applies writes in sequence order. Before mu_.
  absl::Mutex order_mu_;
  mutable absl::Mutex mu_;
  std::vector<LogPartition> log_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Slot> slots_ ABSL_GUARDED_BY(mu_);   // storage key -> its log entry
  std::map<std::string, int> pending_ ABSL_GUARDED_BY(mu_);  // keys with writes in flight
  struct LogWait {
    int32_t log_partition;
    int64_t end;
    std::function<void()> wake;
  };
  std::map<uint64_t, LogWait> waits_ ABSL_GUARDED_BY(mu_);
  uint64_t next_wait_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_OFFSET_STORE_H_
