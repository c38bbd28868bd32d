// CommitQueue: orders every write of the store and group-commits them: its commit thread merges
// whatever is queued into one RocksDB write, meeting the sync options, then makes appended
// records visible and runs each unit's callback; its notifier thread fires partition waiters.
//
// A failed write (full disk, I/O error) fails its group and every unit queued behind it, takes
// back what they had changed in memory (offsets assigned, producer state), and refuses writes
// until the commit thread has brought RocksDB out of its background-error state (DB::Resume,
// retried with back-off, once the data dir has room again). So no acknowledged write is lost,
// and no offset is skipped or given twice.
//
// Thread-safe. The queue's mutex (mu()) is also the lock under which the store assigns offsets
// and marks partitions gone, so units enter the queue in the order those decisions were made.
#ifndef FERRY_STORAGE_COMMIT_QUEUE_H_
#define FERRY_STORAGE_COMMIT_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/clock.h"
#include "storage/partition_log.h"
#include "storage/writer.h"

namespace rocksdb {
class DB;
class WriteBatch;
struct WriteOptions;
}  // namespace rocksdb

namespace ferry::storage {

struct CommitQueueOptions {
  // Each RocksDB write waits for its WAL sync; the units merged into it share that sync.
  bool sync_writes = true;
  // For unsynced writes: the WAL is synced once this long has passed since the last sync.
  // InfiniteDuration: never (the OS decides when the WAL reaches the disk).
  absl::Duration sync_interval = absl::InfiniteDuration();
  // Times sync_interval and the back-off between recovery attempts. Not owned.
  const Clock* clock = Clock::Real();
  // Named in write-failure messages; its free space is checked before resuming.
  std::string data_dir;
  // Called on the commit thread when writes start being refused (the failure) and when they are
  // accepted again (OK). Must not block or call into the queue. May be empty.
  std::function<void(const absl::Status&)> on_writable_changed;
};

// One atomic write through the queue, and what follows once it is written.
struct CommitUnit {
  std::vector<WriteOp> ops;  // may be empty: a barrier
  // Partitions whose visible end moves to the given offset once the write succeeds.
  std::vector<std::pair<std::shared_ptr<PartitionLog>, int64_t>> advances;
  std::function<void(absl::Status)> done;  // on the commit thread; may be empty
  // Takes back, under mu(), what was changed in memory when the unit was enqueued, should its
  // write fail; units are undone newest first. May be empty.
  std::function<void()> undo;
  size_t bytes = 0;  // payload bytes, to bound a group
};

class CommitQueue : public Writer {
 public:
  // Starts the commit and notifier threads. `db` must stay open until Stop() returns.
  CommitQueue(rocksdb::DB* db, const CommitQueueOptions& options);
  ~CommitQueue() override;  // Stop()s.
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Held for microseconds, never across I/O.
  absl::Mutex* mu() ABSL_LOCK_RETURNED(mu_) { return &mu_; }
  // True once Stop() has begun; no unit may be enqueued then.
  bool closing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closing_; }
  // Why writes are refused (see WriteFailure), from a failed RocksDB write or a background
  // error until RocksDB has resumed. OK while writes are accepted.
  const absl::Status& failed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return failed_; }
  // failed(), taking the lock.
  absl::Status WriteFailureStatus();

  // From RocksDB's event listener (any thread, possibly under RocksDB's own mutex): a
  // background flush or compaction failed. Writes are refused when `stops_writes`; either way
  // the commit thread resumes RocksDB once it can.
  void OnBackgroundError(const absl::Status& error, bool stops_writes);
  // Adds `unit` at the tail; it is written after every unit enqueued before it.
  void Enqueue(std::unique_ptr<CommitUnit> unit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Writer. UNAVAILABLE once closing or failed.
  void Write(std::vector<WriteOp> ops, std::function<void(absl::Status)> done) override;
  // Returns once every unit enqueued before it has been written.
  absl::Status Barrier();

  // Runs `fired` on the notifier thread, in order, never inside this call.
  void Notify(std::vector<PartitionLog::Waiter> fired);

  // RocksDB writes made so far.
  int64_t commit_groups() const { return commit_groups_.load(std::memory_order_relaxed); }

  // Takes no more units, writes those queued, syncs the WAL when interval syncing left writes
  // unsynced, runs every pending notification and joins both threads. Idempotent.
  void Stop();

 private:
  // Waits for units (until `deadline` when not infinite) and moves the next group into
  // `units`. True when the queue is closing and empty: the commit thread's last round.
  bool TakeGroup(absl::Time deadline, std::vector<std::unique_ptr<CommitUnit>>* units);
  // Writes `units` as one batch, then advances partitions, runs callbacks and notifies.
  // True when something was written to RocksDB.
  bool CommitGroup(const rocksdb::WriteOptions& wo, std::vector<std::unique_ptr<CommitUnit>>* units,
                   rocksdb::WriteBatch* wb);
  // Refuses writes with `failure`, fails every queued unit into `units` and undoes them all.
  // True when writes were accepted until now.
  bool FailLocked(const absl::Status& failure, std::vector<std::unique_ptr<CommitUnit>>* units)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // While RocksDB needs resuming: when the back-off has passed and the data dir has room, calls
  // DB::Resume and, once it succeeds, accepts writes again.
  void MaybeResume();
  void CommitLoop();
  void NotifyLoop();

  rocksdb::DB* const db_;
  const CommitQueueOptions options_;
  std::atomic<int64_t> commit_groups_{0};

  absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<std::unique_ptr<CommitUnit>> queue_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  // RocksDB is in a background-error state (set by failures, cleared by a successful Resume).
  bool needs_resume_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t background_errors_ ABSL_GUARDED_BY(mu_) = 0;
  // A background error that stops writes, for the commit thread to act on.
  absl::Status pending_failure_ ABSL_GUARDED_BY(mu_);
  absl::Time next_resume_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration resume_backoff_ ABSL_GUARDED_BY(mu_);
  std::thread commit_thread_;

  absl::Mutex notify_mu_;
  std::deque<PartitionLog::Waiter> notify_queue_ ABSL_GUARDED_BY(notify_mu_);
  bool notify_stop_ ABSL_GUARDED_BY(notify_mu_) = false;
  std::thread notify_thread_;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_COMMIT_QUEUE_H_
