// Store: Ferry's storage, the one facade over its units: one RocksDB database (Database) holding
// the topic catalog (Catalog, column family "meta"), one column family per partition
// (PartitionLog), committed group offsets (OffsetStore, column family "offsets"), the commit
// queue (CommitQueue) that group-commits every write under the configured fsync policy, and
// retention (Retention).
//
// Thread-safe. Admin operations (create, grow, delete topics) are serialized among
// themselves; appends never wait for them except while a topic is being deleted.
#ifndef FERRY_STORAGE_STORE_H_
#define FERRY_STORAGE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/clock.h"
#include "storage/partition_log.h"
#include "storage/producer_state.h"
#include "storage/recovery.h"
#include "storage/topic.h"
#include "storage/writer.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ferry::storage {

class Catalog;
class CommitQueue;
class Database;
class OffsetStore;
class ProducerIdAllocator;
class Retention;

enum class FsyncPolicy {
  kAlways,    // an append is acknowledged after its WAL write is synced (group commit)
  kInterval,  // acknowledged after the WAL write; the WAL is synced every fsync_interval
  kNever,     // acknowledged after the WAL write; the OS decides when it reaches the disk
};

struct StoreOptions {
  std::string data_dir;
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  absl::Duration fsync_interval = absl::Milliseconds(100);
  // Times fsync_interval. Not owned; must outlive the store.
  const Clock* clock = Clock::Real();
  // Shared by every column family, so memory stays bounded however many partitions exist.
  size_t block_cache_bytes = 64 << 20;
  size_t write_buffer_bytes = 128 << 20;
  // How long idempotent producers' state is kept per partition, and how many producers.
  ProducerStateLimits producer_limits;
  // Partitions of the committed-offsets log (Kafka's __consumer_offsets,
  // offsets.topic.num.partitions); a group's partition depends on it.
  int32_t offsets_log_partitions = 50;
  // Called when writes start being refused (with why: RESOURCE_EXHAUSTED for a full disk, else
  // UNAVAILABLE; see WriteFailure) and when they are accepted again (OK), once per change, on
  // the commit thread; must not block. May be empty.
  std::function<void(const absl::Status&)> on_writable_changed;
};

// RocksDB's health, for metrics.
struct StoreStats {
  int64_t memtable_bytes = 0;     // all memtables, every column family
  int64_t block_cache_bytes = 0;  // block cache usage
  int64_t pending_compaction_bytes = 0;
  int64_t wal_syncs = 0;           // since start-up
  int64_t write_stall_micros = 0;  // time writes were delayed or stopped, since start-up
  bool write_stopped = false;
  int64_t commit_groups = 0;  // RocksDB writes made by the commit queue
  // False while writes are refused after a failed write (full disk, I/O error) until RocksDB
  // has resumed; reads are served meanwhile.
  bool writable = true;
};

class Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();  // Close()s.
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const RecoverySummary& recovery() const { return recovery_; }

  // ALREADY_EXISTS when the name is taken. `meta.id` is assigned here.
  absl::StatusOr<std::shared_ptr<const Topic>> CreateTopic(TopicMeta meta);
  // Grows a topic to `total` partitions (INVALID_ARGUMENT unless it grows).
  absl::StatusOr<std::shared_ptr<const Topic>> AddPartitions(std::string_view name, int32_t total);
  // Changes a topic's retention and record limit: `edit` gets the current settings and
  // changes them, or returns an error to change nothing; it runs under the admin lock, so
  // concurrent changes do not lose each other's, and must not block. The result is persisted
  // (synced) and served, and the new snapshot returned; with `dry_run`, nothing is written
  // and the snapshot returned is what it would be. NOT_FOUND when there is no such topic.
  using TopicSettingsEdit = std::function<absl::Status(TopicMeta* settings)>;
  absl::StatusOr<std::shared_ptr<const Topic>> UpdateTopicSettings(std::string_view name,
                                                                   const TopicSettingsEdit& edit,
                                                                   bool dry_run = false);
  // Drops the topic's column families, metadata and committed offsets. Appends already
  // acknowledged are written first; later ones fail with NOT_FOUND.
  absl::Status DeleteTopic(std::string_view name);
  // nullptr when there is no such topic.
  std::shared_ptr<const Topic> FindTopic(std::string_view name) const;
  std::shared_ptr<const Topic> FindTopicByUuid(const TopicUuid& uuid) const;
  std::vector<std::shared_ptr<const Topic>> ListTopics() const;

  // One partition's share of an append.
  struct AppendPart {
    std::shared_ptr<PartitionLog> log;
    uint32_t count = 0;
    int64_t max_timestamp_ms = 0;
    std::string payload;
    // An idempotent producer's batch (producer_id >= 0): checked against, and recorded in, the
    // partition's producer state in the same atomic write as the records.
    ProducerAppend producer;
  };
  // `base_offsets[i]` is the offset of the first record of `parts[i]`. While writes are refused
  // (StoreStats::writable), RESOURCE_EXHAUSTED naming the data dir (full disk) or UNAVAILABLE;
  // a failed append takes its offsets back, so its retry gets the same ones. An idempotent part
  // that repeats one of the producer's last kMaxCachedBatches batches is not stored again: its base
  // offset is the original's, and `done` runs once the original is durable. A refused
  // idempotent part refuses the whole append: OUT_OF_RANGE for a sequence gap, ABORTED for a
  // stale epoch (see ProducerStateTable::Evaluate), FAILED_PRECONDITION for a producer id this
  // store never allocated.
  using AppendDone = std::function<void(absl::Status, const std::vector<int64_t>& base_offsets)>;
  // Appends every part atomically (one RocksDB write) and calls `done` once the write meets the
  // fsync policy and the records are visible to readers. `done` runs on the commit thread and
  // must not block; it may run inside this call when the append is rejected.
  void Append(std::vector<AppendPart> parts, AppendDone done);

  // Removes whole batches older than each topic's retention.ms (by their max timestamp) or
  // beyond its retention.bytes, moving log start offsets forward, and forgets idempotent
  // producers idle past the expiry (state only: their batches follow retention). Returns
  // batches removed. `only` (when not empty): that topic alone (producer expiry covers all).
  absl::StatusOr<int64_t> EnforceRetention(int64_t now_ms, std::string_view only = {});

  // Moves `log`'s start forward to `offset` (Kafka's DeleteRecords): see Retention::DeleteBefore.
  // Returns the log start once durable.
  absl::StatusOr<int64_t> DeleteRecordsBefore(PartitionLog& log, int64_t offset);

  // A new idempotent producer id, never given before in this data directory.
  absl::StatusOr<int64_t> AllocateProducerId();
  // False for an id this data directory never handed out.
  bool ProducerIdMayExist(int64_t producer_id) const;

  OffsetStore& offsets() { return *offsets_; }
  StoreStats Stats() const;

  // One change of a Write. A put's value is `value_prefix` followed by `value`.
  using WriteOp = storage::WriteOp;
  // Applies `ops` atomically through the commit queue (durable per the fsync policy), then
  // calls `done` on the commit thread.
  void Write(std::vector<WriteOp> ops, std::function<void(absl::Status)> done);
  // Blocking form of Write.
  absl::Status WriteSync(std::vector<WriteOp> ops);

  rocksdb::DB* db() const;
  rocksdb::ColumnFamilyHandle* meta_cf() const;
  rocksdb::ColumnFamilyHandle* offsets_cf() const;

  // Ends reading: every partition's waiters fire and reads fail with UNAVAILABLE, so open
  // subscriptions end promptly at shutdown. Appends are refused from now on.
  void CloseReaders();
  // Finishes queued writes, syncs the WAL, closes the database. Idempotent.
  void Close();

 private:
  Store(const StoreOptions& options, std::unique_ptr<Database> db, std::unique_ptr<Catalog> catalog,
        std::unique_ptr<ProducerIdAllocator> producer_ids, const RecoverySummary& recovery);
  // Forgets producers idle past the expiry, deleting their persisted state.
  void ExpireProducers(int64_t now_ms);

  // Declared in the order they are built; destroyed in reverse, the database last.
  const std::unique_ptr<Database> db_;
  const std::unique_ptr<Catalog> catalog_;
  const std::unique_ptr<CommitQueue> queue_;
  const std::unique_ptr<OffsetStore> offsets_;
  const std::unique_ptr<Retention> retention_;
  const std::unique_ptr<ProducerIdAllocator> producer_ids_;
  const RecoverySummary recovery_;
  const Clock* const clock_;
  const ProducerStateLimits producer_limits_;

  // Serializes topic creation, growth and deletion (which do I/O) with each other and Close.
  absl::Mutex admin_mu_;
  bool closed_ ABSL_GUARDED_BY(admin_mu_) = false;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_STORE_H_
