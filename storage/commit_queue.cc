#include "storage/commit_queue.h"

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/rocks_status.h"

namespace ferry::storage {
namespace {

// Writes merged into one RocksDB write by the commit thread, at most.
constexpr size_t kMaxGroupBytes = 32 << 20;
// The commit thread's write batch starts at this capacity, and goes back to it after a group
// grew it beyond kMaxKeptBatchCapacity.
constexpr size_t kBatchCapacity = 1 << 20;
constexpr size_t kMaxKeptBatchCapacity = 8 << 20;

}  // namespace

CommitQueue::CommitQueue(rocksdb::DB* db, const CommitQueueOptions& options)
    : db_(db), options_(options) {
  commit_thread_ = std::thread([this] { CommitLoop(); });
  notify_thread_ = std::thread([this] { NotifyLoop(); });
}

CommitQueue::~CommitQueue() { Stop(); }

void CommitQueue::Enqueue(std::unique_ptr<CommitUnit> unit) {
  queue_.push_back(std::move(unit));
  cv_.Signal();
}

void CommitQueue::Write(std::vector<WriteOp> ops, std::function<void(absl::Status)> done) {
  absl::Status rejected;
  {
    absl::MutexLock lock(&mu_);
    if (closing_) {
      rejected = absl::UnavailableError("the broker is shutting down");
    } else if (!failed_.ok()) {
      rejected = absl::UnavailableError(absl::StrCat("storage failed: ", failed_.message()));
    } else {
      auto unit = std::make_unique<CommitUnit>();
      for (const auto& op : ops) unit->bytes += op.key.size() + op.value.size();
      unit->ops = std::move(ops);
      unit->done = std::move(done);
      Enqueue(std::move(unit));
      return;
    }
  }
  done(rejected);
}

absl::Status CommitQueue::Barrier() { return WriteSync({}); }

void CommitQueue::Notify(std::vector<PartitionLog::Waiter> fired) {
  if (fired.empty()) return;
  absl::MutexLock lock(&notify_mu_);
  for (auto& w : fired) notify_queue_.push_back(std::move(w));
}

void CommitQueue::Stop() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    cv_.SignalAll();
  }
  if (commit_thread_.joinable()) commit_thread_.join();
  {
    absl::MutexLock lock(&notify_mu_);
    notify_stop_ = true;
  }
  if (notify_thread_.joinable()) notify_thread_.join();
}

bool CommitQueue::TakeGroup(absl::Time deadline, std::vector<std::unique_ptr<CommitUnit>>* units) {
  absl::MutexLock lock(&mu_);
  if (queue_.empty() && !closing_) {
    if (deadline != absl::InfiniteFuture()) {
      // A timeout rather than a deadline: the deadline is on the injected clock.
      cv_.WaitWithTimeout(&mu_, deadline - options_.clock->Now());
    } else {
      while (queue_.empty() && !closing_) cv_.Wait(&mu_);
    }
  }
  size_t bytes = 0;
  while (!queue_.empty() && (units->empty() || bytes < kMaxGroupBytes)) {
    bytes += queue_.front()->bytes;
    units->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return closing_ && queue_.empty() && units->empty();
}

bool CommitQueue::CommitGroup(const rocksdb::WriteOptions& wo,
                              std::vector<std::unique_ptr<CommitUnit>>* units,
                              rocksdb::WriteBatch* wb) {
  // One batch object for the thread's life: Clear keeps its buffer, so a group commit neither
  // regrows it (re-copying the records already in it) nor faults in new pages. After an
  // unusually large group, it starts small again.
  if (wb->Data().capacity() > kMaxKeptBatchCapacity) *wb = rocksdb::WriteBatch(kBatchCapacity);
  wb->Clear();
  for (auto& unit : *units) {
    for (auto& op : unit->ops) {
      switch (op.kind) {
        case WriteOp::Kind::kPut: {
          rocksdb::Slice key(op.key);
          rocksdb::Slice value[2] = {rocksdb::Slice(op.value_prefix), rocksdb::Slice(op.value)};
          wb->Put(op.cf, rocksdb::SliceParts(&key, 1), rocksdb::SliceParts(value, 2));
          break;
        }
        case WriteOp::Kind::kDelete:
          wb->Delete(op.cf, op.key);
          break;
        case WriteOp::Kind::kDeleteRange:
          wb->DeleteRange(op.cf, op.key, op.value);
          break;
      }
    }
  }
  absl::Status status;
  const bool written = wb->Count() > 0;
  if (written) {
    status = FromRocks(db_->Write(wo, wb), "write");
    commit_groups_.fetch_add(1, std::memory_order_relaxed);
    if (!status.ok()) {
      absl::MutexLock lock(&mu_);
      if (failed_.ok()) failed_ = status;
    }
  }
  std::vector<PartitionLog::Waiter> fired;
  for (auto& unit : *units) {
    if (status.ok()) {
      for (auto& [log, end] : unit->advances) log->Advance(end, &fired);
    }
    if (unit->done) unit->done(status);
  }
  Notify(std::move(fired));
  return written;
}

void CommitQueue::CommitLoop() {
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  const bool interval_sync =
      !options_.sync_writes && options_.sync_interval != absl::InfiniteDuration();
  bool unsynced = false;  // written since the last interval sync
  absl::Time last_sync = options_.clock->Now();
  rocksdb::WriteBatch wb(kBatchCapacity);
  while (true) {
    std::vector<std::unique_ptr<CommitUnit>> units;
    const bool stop =
        TakeGroup(unsynced ? last_sync + options_.sync_interval : absl::InfiniteFuture(), &units);
    if (!units.empty() && CommitGroup(wo, &units, &wb)) unsynced = unsynced || interval_sync;
    if (unsynced && (stop || options_.clock->Now() - last_sync >= options_.sync_interval)) {
      db_->SyncWAL();
      unsynced = false;
      last_sync = options_.clock->Now();
    }
    if (stop) break;
  }
}

void CommitQueue::NotifyLoop() {
  while (true) {
    std::deque<PartitionLog::Waiter> batch;
    {
      absl::MutexLock lock(&notify_mu_);
      notify_mu_.Await(absl::Condition(
          +[](CommitQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->notify_mu_) {
            return q->notify_stop_ || !q->notify_queue_.empty();
          },
          this));
      if (notify_queue_.empty() && notify_stop_) return;
      batch.swap(notify_queue_);
    }
    for (auto& wake : batch) wake();
  }
}

}  // namespace ferry::storage
