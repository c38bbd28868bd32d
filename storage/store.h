// Store: Ferry's one RocksDB database. It keeps the topic catalog (column family "meta"), one
// column family per partition, committed group offsets (column family "offsets"), and a
// commit queue that group-commits every write under the configured fsync policy.
//
// Thread-safe. Admin operations (create, grow, delete topics) are serialized among
// themselves; appends never wait for them except while a topic is being deleted.
#ifndef FERRY_STORAGE_STORE_H_
#define FERRY_STORAGE_STORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/clock.h"
#include "storage/partition_log.h"
#include "storage/rocks_options.h"
#include "storage/writer.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace ferry::storage {

class CommitQueue;
class OffsetStore;

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
};

// A topic's persisted settings. `id` is unique per creation: a topic deleted and created again
// under the same name gets new column families.
struct TopicMeta {
  std::string name;
  uint64_t id = 0;
  int32_t partitions = 0;
  int64_t retention_ms = 0;     // 0: unlimited
  int64_t retention_bytes = 0;  // per partition; 0: unlimited
  int32_t max_record_bytes = 0;
};

// An immutable snapshot of a topic; growing a topic publishes a new snapshot.
struct Topic {
  TopicMeta meta;
  std::vector<std::shared_ptr<PartitionLog>> partitions;
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
};

struct RecoverySummary {
  int topics = 0;
  int partitions = 0;
  int64_t records = 0;
  absl::Duration duration;
};

class Store : public Writer {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store() override;  // Close()s.
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const RecoverySummary& recovery() const { return recovery_; }

  // ALREADY_EXISTS when the name is taken. `meta.id` is assigned here.
  absl::StatusOr<std::shared_ptr<const Topic>> CreateTopic(TopicMeta meta);
  // Grows a topic to `total` partitions (INVALID_ARGUMENT unless it grows).
  absl::StatusOr<std::shared_ptr<const Topic>> AddPartitions(std::string_view name, int32_t total);
  // Drops the topic's column families, metadata and committed offsets. Appends already
  // acknowledged are written first; later ones fail with NOT_FOUND.
  absl::Status DeleteTopic(std::string_view name);
  // nullptr when there is no such topic.
  std::shared_ptr<const Topic> FindTopic(std::string_view name) const;
  std::vector<std::shared_ptr<const Topic>> ListTopics() const;

  // One partition's share of an append.
  struct AppendPart {
    std::shared_ptr<PartitionLog> log;
    uint32_t count = 0;
    int64_t max_timestamp_ms = 0;
    std::string payload;
  };
  // `base_offsets[i]` is the offset of the first record of `parts[i]`.
  using AppendDone = std::function<void(absl::Status, const std::vector<int64_t>& base_offsets)>;
  // Appends every part atomically (one RocksDB write) and calls `done` once the write meets the
  // fsync policy and the records are visible to readers. `done` runs on the commit thread and
  // must not block; it may run inside this call when the append is rejected.
  void Append(std::vector<AppendPart> parts, AppendDone done);

  // Removes whole batches older than each topic's retention.ms (by their max timestamp) or
  // beyond its retention.bytes, moving log start offsets forward. Returns batches removed.
  absl::StatusOr<int64_t> EnforceRetention(int64_t now_ms);

  OffsetStore& offsets() { return *offsets_; }
  StoreStats Stats() const;

  // One change of a Write. A put's value is `value_prefix` followed by `value`.
  using WriteOp = storage::WriteOp;
  // Applies `ops` atomically through the commit queue (durable per the fsync policy), then
  // calls `done` on the commit thread. WriteSync (from Writer) is the blocking form.
  void Write(std::vector<WriteOp> ops, std::function<void(absl::Status)> done) override;

  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* meta_cf() const { return meta_cf_; }
  rocksdb::ColumnFamilyHandle* offsets_cf() const { return offsets_cf_; }

  // Ends reading: every partition's waiters fire and reads fail with UNAVAILABLE, so open
  // subscriptions end promptly at shutdown. Appends are refused from now on.
  void CloseReaders();
  // Finishes queued writes, syncs the WAL, closes the database. Idempotent.
  void Close();

 private:
  explicit Store(const StoreOptions& options);
  absl::Status Recover();
  absl::StatusOr<std::vector<std::shared_ptr<PartitionLog>>> CreatePartitionLogs(uint64_t topic_id,
                                                                                 int32_t from,
                                                                                 int32_t to);
  absl::Status PutTopicMeta(const TopicMeta& meta);

  const StoreOptions options_;
  rocksdb::DB* db_ = nullptr;
  RocksOptions rocks_;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* offsets_cf_ = nullptr;
  std::unique_ptr<CommitQueue> queue_;
  std::unique_ptr<OffsetStore> offsets_;
  RecoverySummary recovery_;

  // Serializes topic creation, growth and deletion (which do I/O) with each other.
  absl::Mutex admin_mu_;
  // Every column family handle ever opened; destroyed at Close, after which nothing reads.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_ ABSL_GUARDED_BY(admin_mu_);

  mutable absl::Mutex catalog_mu_;
  std::map<std::string, std::shared_ptr<const Topic>, std::less<>> topics_
      ABSL_GUARDED_BY(catalog_mu_);

  bool closed_ ABSL_GUARDED_BY(admin_mu_) = false;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_STORE_H_
