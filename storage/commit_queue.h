// CommitQueue: orders every write of the store and group-commits them: its commit thread merges
// whatever is queued into one RocksDB write, meeting the sync options, then makes appended
// records visible and runs each unit's callback; its notifier thread fires partition waiters.
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
  // Times sync_interval. Not owned.
  const Clock* clock = Clock::Real();
};

// One atomic write through the queue, and what follows once it is written.
struct CommitUnit {
  std::vector<WriteOp> ops;  // may be empty: a barrier
  // Partitions whose visible end moves to the given offset once the write succeeds.
  std::vector<std::pair<std::shared_ptr<PartitionLog>, int64_t>> advances;
  std::function<void(absl::Status)> done;  // on the commit thread; may be empty
  size_t bytes = 0;                        // payload bytes, to bound a group
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
  // The first failed RocksDB write, after which the store accepts no writes until a restart,
  // so that no later write lands past a gap. OK while none has failed.
  const absl::Status& failed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return failed_; }
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
  std::thread commit_thread_;

  absl::Mutex notify_mu_;
  std::deque<PartitionLog::Waiter> notify_queue_ ABSL_GUARDED_BY(notify_mu_);
  bool notify_stop_ ABSL_GUARDED_BY(notify_mu_) = false;
  std::thread notify_thread_;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_COMMIT_QUEUE_H_
