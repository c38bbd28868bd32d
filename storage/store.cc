#include "storage/store.h"

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "rocksdb/statistics.h"
#include "storage/catalog.h"
#include "storage/commit_queue.h"
#include "storage/database.h"
#include "storage/encoding.h"
#include "storage/offset_store.h"
#include "storage/producer_ids.h"
#include "storage/retention.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"

namespace ferry::storage {
namespace {

// Hands RocksDB's background errors (a failed flush, compaction or WAL write) to the commit
// queue, and turns off RocksDB's own recovery from them: the queue resumes the database itself,
// so that it knows when writes are accepted again and no two recoveries race (a manual Resume
// during RocksDB's is refused as Busy).
class BackgroundErrorListener : public rocksdb::EventListener {
 public:
  explicit BackgroundErrorListener(std::string data_dir) : data_dir_(std::move(data_dir)) {}
  void Attach(CommitQueue* queue) { queue_.store(queue, std::memory_order_release); }

  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* error) override {
    CommitQueue* queue = queue_.load(std::memory_order_acquire);
    if (queue == nullptr || error->ok()) return;
    queue->OnBackgroundError(WriteFailure(*error, data_dir_),
                             error->severity() >= rocksdb::Status::Severity::kHardError);
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }

 private:
  const std::string data_dir_;
  std::atomic<CommitQueue*> queue_{nullptr};
};

CommitQueueOptions QueueOptions(const StoreOptions& options) {
  CommitQueueOptions queue;
  queue.data_dir = options.data_dir;
  queue.on_writable_changed = options.on_writable_changed;
  queue.sync_writes = options.fsync == FsyncPolicy::kAlways;
  if (options.fsync == FsyncPolicy::kInterval) queue.sync_interval = options.fsync_interval;
  queue.clock = options.clock;
  return queue;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data dir is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data dir '", options.data_dir, "': ", ec.message()));
  }
  // Wall time, not options.clock: the summary reports how long start-up really took.
  const absl::Time started = absl::Now();
  std::unique_ptr<Database> db;
  std::unique_ptr<Catalog> catalog;
  RocksOptions rocks = MakeRocksOptions(options.block_cache_bytes, options.write_buffer_bytes);
  auto listener = std::make_shared<BackgroundErrorListener>(options.data_dir);
  rocks.db.listeners.push_back(listener);
  absl::StatusOr<RecoverySummary> recovery = Recover(options.data_dir, rocks, &db, &catalog);
  if (!recovery.ok()) return recovery.status();
  auto producer_ids = ProducerIdAllocator::Open(db->db(), db->meta_cf());
  if (!producer_ids.ok()) return producer_ids.status();
  recovery->duration = absl::Now() - started;
  std::unique_ptr<Store> store(
      new Store(options, std::move(db), std::move(catalog), *std::move(producer_ids), *recovery));
  // Outlives the queue: Close() stops the queue, then closes the database.
  listener->Attach(store->queue_.get());
  if (absl::Status s = store->offsets_->Load(); !s.ok()) return s;
  return store;
}

Store::Store(const StoreOptions& options, std::unique_ptr<Database> db,
             std::unique_ptr<Catalog> catalog, std::unique_ptr<ProducerIdAllocator> producer_ids,
             const RecoverySummary& recovery)
    : db_(std::move(db)),
      catalog_(std::move(catalog)),
      queue_(std::make_unique<CommitQueue>(db_->db(), QueueOptions(options))),
      offsets_(std::make_unique<OffsetStore>(db_->db(), db_->offsets_cf(), db_->meta_cf(),
                                             queue_.get(), options.clock,
                                             options.offsets_log_partitions)),
      retention_(std::make_unique<Retention>(db_->db(), catalog_.get(), queue_.get())),
      producer_ids_(std::move(producer_ids)),
      recovery_(recovery),
      clock_(options.clock),
      producer_limits_(options.producer_limits) {}

Store::~Store() { Close(); }

absl::StatusOr<std::shared_ptr<const Topic>> Store::CreateTopic(TopicMeta meta) {
  absl::MutexLock admin(&admin_mu_);
  if (closed_) return absl::UnavailableError("the broker is shutting down");
  return catalog_->Create(std::move(meta));
}

absl::StatusOr<std::shared_ptr<const Topic>> Store::AddPartitions(std::string_view name,
                                                                  int32_t total) {
  absl::MutexLock admin(&admin_mu_);
  if (closed_) return absl::UnavailableError("the broker is shutting down");
  return catalog_->Grow(name, total);
}

absl::StatusOr<std::shared_ptr<const Topic>> Store::UpdateTopicSettings(
    std::string_view name, const TopicSettingsEdit& edit, bool dry_run) {
  absl::MutexLock admin(&admin_mu_);
  if (closed_) return absl::UnavailableError("the broker is shutting down");
  std::shared_ptr<const Topic> topic = catalog_->Find(name);
  if (topic == nullptr) {
    return absl::NotFoundError(absl::StrCat("topic '", std::string(name), "' does not exist"));
  }
  TopicMeta settings = topic->meta;
  absl::Status s = edit(&settings);
  if (!s.ok()) return s;
  if (dry_run) {
    auto preview = std::make_shared<Topic>(*topic);
    preview->meta.retention_ms = settings.retention_ms;
    preview->meta.retention_bytes = settings.retention_bytes;
    preview->meta.max_record_bytes = settings.max_record_bytes;
    return std::shared_ptr<const Topic>(preview);
  }
  return catalog_->SetSettings(name, settings);
}

absl::Status Store::DeleteTopic(std::string_view name) {
  absl::MutexLock admin(&admin_mu_);
  if (closed_) return absl::UnavailableError("the broker is shutting down");
  absl::StatusOr<std::shared_ptr<const Topic>> removed = catalog_->Remove(name);
  if (!removed.ok()) return removed.status();
  const Topic& topic = **removed;
  std::vector<PartitionLog::Waiter> fired;
  {
    // Appends check deleted() under the queue's mutex, so none is queued for these partitions
    // after.
    absl::MutexLock lock(queue_->mu());
    for (auto& log : topic.partitions) log->MarkGone(PartitionLog::kDeleted, &fired);
  }
  queue_->Notify(std::move(fired));
  absl::Status s = queue_->Barrier();  // earlier appends to the topic reach RocksDB first
  if (!s.ok()) return s;
  s = catalog_->Drop(topic);
  if (!s.ok()) return s;
  return offsets_->DeleteTopic(topic.meta.name);
}

std::shared_ptr<const Topic> Store::FindTopic(std::string_view name) const {
  return catalog_->Find(name);
}

std::shared_ptr<const Topic> Store::FindTopicByUuid(const TopicUuid& uuid) const {
  return catalog_->FindByUuid(uuid);
}

std::vector<std::shared_ptr<const Topic>> Store::ListTopics() const { return catalog_->List(); }

void Store::Append(std::vector<AppendPart> parts, AppendDone done) {
  std::vector<int64_t> bases;
  bases.reserve(parts.size());
  absl::Status rejected;
  {
    // Offsets are assigned under the queue's mutex, in queue order, so a partition's batches
    // reach RocksDB in offset order.
    absl::MutexLock lock(queue_->mu());
    if (queue_->closing()) {
      rejected = absl::UnavailableError("the broker is shutting down");
    } else if (!queue_->failed().ok()) {
      rejected = queue_->failed();
    } else {
      for (const auto& part : parts) {
        if (part.log->deleted()) {
          rejected = part.log->GoneError();
          break;
        }
      }
    }
    // Idempotent parts are checked first, so a refused one leaves no offsets assigned.
    std::vector<ProducerStateTable::Check> checks(parts.size());
    for (size_t i = 0; i < parts.size() && rejected.ok(); ++i) {
      const AppendPart& part = parts[i];
      if (part.producer.producer_id < 0) continue;
      if (!producer_ids_->MayHaveAllocated(part.producer.producer_id)) {
        rejected = absl::FailedPreconditionError(
            absl::StrCat("producer id ", part.producer.producer_id,
                         " was never allocated by this broker; ask for one (InitProducerId)"));
        break;
      }
      checks[i] = part.log->producers().Evaluate(part.producer, part.count);
      if (checks[i].kind == ProducerStateTable::Check::Kind::kRefused) rejected = checks[i].error;
    }
    if (rejected.ok()) {
      auto unit = std::make_unique<CommitUnit>();
      unit->ops.reserve(parts.size() * 3);
      // What to take back if the write fails, so the retry gets the same offsets and
      // sequence checks: appended parts' offsets and bytes, producers' prior state.
      struct Undo {
        std::shared_ptr<PartitionLog> log;
        uint32_t count;
        int64_t bytes;
        int64_t producer_id;
        std::optional<ProducerEntry> producer_before;
        std::vector<std::pair<int64_t, ProducerEntry>> evicted_before;
      };
      std::vector<Undo> undo;
      const int64_t now_ms = clock_->NowMs();
      for (size_t i = 0; i < parts.size(); ++i) {
        AppendPart& part = parts[i];
        if (checks[i].kind == ProducerStateTable::Check::Kind::kDuplicate) {
          // Stored already; its unit is ahead in the queue, so this one's `done` follows it.
          bases.push_back(checks[i].duplicate_base_offset);
          continue;
        }
        PartitionLog& log = *part.log;
        const int64_t stored = static_cast<int64_t>(kBatchHeaderBytes + part.payload.size());
        int64_t size;
        const int64_t base = log.AssignOffsets(part.count, stored, &size);
        Undo& u = undo.emplace_back(
            Undo{part.log, part.count, stored, part.producer.producer_id, std::nullopt, {}});
        bases.push_back(base);
        unit->bytes += stored;

        WriteOp data;
        data.cf = log.cf();
        data.key = OffsetKey(base);
        data.value_prefix = EncodeBatchHeader(part.count, part.max_timestamp_ms);
        data.value = std::move(part.payload);
        unit->ops.push_back(std::move(data));
        unit->ops.push_back(
            catalog_->StatsWrite(log, {log.next_offset(), log.log_start_offset(), size}));
        if (part.producer.producer_id >= 0) {
          u.producer_before = log.producers().Find(part.producer.producer_id);
          // Only a full table evicts; then all of it is kept, to put the evicted back.
          if (log.producers().size() >= producer_limits_.max_producers) {
            u.evicted_before = log.producers().Snapshot();
          }
          std::vector<int64_t> evicted;
          const ProducerEntry entry = log.mutable_producers().Record(
              part.producer, part.count, base, now_ms, producer_limits_, &evicted);
          WriteOp state;
          state.cf = db_->meta_cf();
          state.key = ProducerStateKey(log.topic_id(), log.partition(), part.producer.producer_id);
          state.value = EncodeProducerEntry(entry);
          unit->ops.push_back(std::move(state));
          for (int64_t id : evicted) {
            WriteOp del;
            del.kind = WriteOp::Kind::kDelete;
            del.cf = db_->meta_cf();
            del.key = ProducerStateKey(log.topic_id(), log.partition(), id);
            unit->ops.push_back(std::move(del));
          }
        }
        unit->advances.emplace_back(part.log, log.next_offset());
      }
      unit->undo = [undo = std::move(undo)] {
        for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
          it->log->UnassignOffsets(it->count, it->bytes);
          if (it->producer_id < 0) continue;
          ProducerStateTable& producers = it->log->mutable_producers();
          producers.Reset(it->producer_id, it->producer_before);
          for (const auto& [id, entry] : it->evicted_before) {
            if (!producers.Find(id).has_value()) producers.Reset(id, entry);
          }
        }
      };
      // A duplicate's original is ahead of it in the queue: when the original's write fails,
      // this unit fails with it (CommitQueue fails every unit queued behind a failed one).
      unit->done = [done = std::move(done), bases = std::move(bases)](absl::Status s) {
        done(s, bases);
      };
      queue_->Enqueue(std::move(unit));
      return;
    }
  }
  done(rejected, bases);
}

void Store::Write(std::vector<WriteOp> ops, std::function<void(absl::Status)> done) {
  queue_->Write(std::move(ops), std::move(done));
}

absl::Status Store::WriteSync(std::vector<WriteOp> ops) {
  return queue_->WriteSync(std::move(ops));
}

absl::StatusOr<int64_t> Store::EnforceRetention(int64_t now_ms, std::string_view only) {
  absl::StatusOr<int64_t> removed = retention_->Enforce(now_ms, only);
  ExpireProducers(now_ms);
  return removed;
}

absl::StatusOr<int64_t> Store::DeleteRecordsBefore(PartitionLog& log, int64_t offset) {
  return retention_->DeleteBefore(log, offset);
}

void Store::ExpireProducers(int64_t now_ms) {
  for (const auto& topic : ListTopics()) {
    for (const auto& log : topic->partitions) {
      if (log->producers().size() == 0) continue;
      absl::MutexLock lock(queue_->mu());
      if (queue_->closing() || !queue_->failed().ok()) return;
      if (log->deleted()) break;  // the whole topic: its state goes with its metadata
      const std::vector<int64_t> expired =
          log->mutable_producers().Expire(now_ms, producer_limits_);
      if (expired.empty()) continue;
      auto unit = std::make_unique<CommitUnit>();
      for (int64_t id : expired) {
        WriteOp del;
        del.kind = WriteOp::Kind::kDelete;
        del.cf = db_->meta_cf();
        del.key = ProducerStateKey(log->topic_id(), log->partition(), id);
        unit->ops.push_back(std::move(del));
      }
      queue_->Enqueue(std::move(unit));
    }
  }
}

absl::StatusOr<int64_t> Store::AllocateProducerId() { return producer_ids_->Allocate(); }

bool Store::ProducerIdMayExist(int64_t producer_id) const {
  return producer_ids_->MayHaveAllocated(producer_id);
}

StoreStats Store::Stats() const {
  StoreStats st;
  rocksdb::DB* db = db_->db();
  if (db == nullptr) return st;
  uint64_t v = 0;
  if (db->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) {
    st.memtable_bytes = static_cast<int64_t>(v);
  }
  if (db->GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimatePendingCompactionBytes, &v)) {
    st.pending_compaction_bytes = static_cast<int64_t>(v);
  }
  if (db->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &v)) st.write_stopped = v != 0;
  const RocksOptions& rocks = db_->options();
  st.block_cache_bytes = static_cast<int64_t>(rocks.block_cache->GetUsage());
  st.wal_syncs = static_cast<int64_t>(rocks.statistics->getTickerCount(rocksdb::WAL_FILE_SYNCED));
  st.write_stall_micros =
      static_cast<int64_t>(rocks.statistics->getTickerCount(rocksdb::STALL_MICROS));
  st.commit_groups = queue_->commit_groups();
  st.writable = queue_->WriteFailureStatus().ok();
  return st;
}

rocksdb::DB* Store::db() const { return db_->db(); }
rocksdb::ColumnFamilyHandle* Store::meta_cf() const { return db_->meta_cf(); }
rocksdb::ColumnFamilyHandle* Store::offsets_cf() const { return db_->offsets_cf(); }

void Store::CloseReaders() {
  std::vector<PartitionLog::Waiter> fired;
  {
    absl::MutexLock lock(queue_->mu());
    for (const auto& topic : ListTopics()) {
      for (const auto& log : topic->partitions) log->MarkGone(PartitionLog::kClosing, &fired);
    }
  }
  queue_->Notify(std::move(fired));
}

void Store::Close() {
  {
    absl::MutexLock admin(&admin_mu_);
    if (closed_) return;
    closed_ = true;
  }
  CloseReaders();
  queue_->Stop();
  db_->Close();
}

}  // namespace ferry::storage
