#include "storage/commit_queue.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

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

// Between attempts to resume RocksDB after a failure: doubling from the first to the last.
constexpr absl::Duration kFirstResumeBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxResumeBackoff = absl::Seconds(1);
// After a full disk, RocksDB is resumed once the data dir has this much room: resuming flushes
// every memtable and starts a new (preallocated) WAL, so resuming with less would fill the disk
// again at once and make writes flap between refused and accepted.
constexpr uintmax_t kResumeHeadroomBytes = 16 << 20;

}  // namespace

CommitQueue::CommitQueue(rocksdb::DB* db, const CommitQueueOptions& options)
    : db_(db), options_(options), resume_backoff_(kFirstResumeBackoff) {
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
      rejected = failed_;
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

absl::Status CommitQueue::WriteFailureStatus() {
  absl::MutexLock lock(&mu_);
  return failed_;
}

void CommitQueue::OnBackgroundError(const absl::Status& error, bool stops_writes) {
  absl::MutexLock lock(&mu_);
  needs_resume_ = true;
  ++background_errors_;
  // The commit thread refuses writes (FailLocked) and reports it, in its own order.
  if (stops_writes && pending_failure_.ok()) pending_failure_ = error;
  cv_.Signal();
}

bool CommitQueue::FailLocked(const absl::Status& failure,
                             std::vector<std::unique_ptr<CommitUnit>>* units) {
  const bool first = failed_.ok();
  if (first) failed_ = failure;
  needs_resume_ = true;
  // Units queued behind a failed one were given offsets after its: none may be written, or it
  // would land past a gap.
  while (!queue_.empty()) {
    units->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  for (auto it = units->rbegin(); it != units->rend(); ++it) {
    if ((*it)->undo) (*it)->undo();
  }
  return first;
}

void CommitQueue::MaybeResume() {
  uint64_t errors_seen;
  bool disk_full;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = options_.clock->Now();
    if (!needs_resume_ || closing_ || now < next_resume_) return;
    next_resume_ = now + resume_backoff_;
    resume_backoff_ = std::min(resume_backoff_ * 2, kMaxResumeBackoff);
    errors_seen = background_errors_;
    disk_full = absl::IsResourceExhausted(failed_);
  }
  if (disk_full && !options_.data_dir.empty()) {
    std::error_code ec;
    const std::filesystem::space_info space = std::filesystem::space(options_.data_dir, ec);
    if (!ec && space.available < kResumeHeadroomBytes) return;
  }
  // Flushes the memtables and switches to a new WAL; fails (or is Busy) while the cause lasts.
  if (!db_->Resume().ok()) return;
  bool resumed = false;
  {
    absl::MutexLock lock(&mu_);
    // A background error reported during Resume needs another round.
    if (background_errors_ != errors_seen) return;
    needs_resume_ = false;
    resumed = !failed_.ok();
    failed_ = absl::OkStatus();
    resume_backoff_ = kFirstResumeBackoff;
    next_resume_ = absl::InfinitePast();
  }
  if (resumed && options_.on_writable_changed) options_.on_writable_changed(absl::OkStatus());
}

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
      while (queue_.empty() && !closing_ && !needs_resume_) cv_.Wait(&mu_);
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
  bool first_failure = false;
  if (written) {
    const rocksdb::Status rs = db_->Write(wo, wb);
    commit_groups_.fetch_add(1, std::memory_order_relaxed);
    if (!rs.ok()) {
      absl::MutexLock lock(&mu_);
      // The first failure of an episode names the cause; later units get the same refusal.
      status = failed_.ok() ? WriteFailure(rs, options_.data_dir) : failed_;
      first_failure = FailLocked(status, units);
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
  if (first_failure && options_.on_writable_changed) options_.on_writable_changed(status);
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
    absl::Time deadline = unsynced ? last_sync + options_.sync_interval : absl::InfiniteFuture();
    absl::Status failure;
    bool first_failure = false;
    {
      absl::MutexLock lock(&mu_);
      if (needs_resume_) deadline = std::min(deadline, next_resume_);
      if (!pending_failure_.ok()) {
        failure = failed_.ok() ? pending_failure_ : failed_;
        pending_failure_ = absl::OkStatus();
        first_failure = FailLocked(failure, &units);
      }
    }
    if (!failure.ok()) {
      for (auto& unit : units) {
        if (unit->done) unit->done(failure);
      }
      units.clear();
      if (first_failure && options_.on_writable_changed) options_.on_writable_changed(failure);
    }
    const bool stop = TakeGroup(deadline, &units);
    if (!units.empty() && CommitGroup(wo, &units, &wb)) unsynced = unsynced || interval_sync;
    if (unsynced && (stop || options_.clock->Now() - last_sync >= options_.sync_interval)) {
      db_->SyncWAL();
      unsynced = false;
      last_sync = options_.clock->Now();
    }
    if (stop) break;
    MaybeResume();
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
