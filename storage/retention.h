// Retention: a pass that removes whole batches older than each topic's retention.ms (by their
// max timestamp) or beyond its retention.bytes, and the explicit cut of DeleteBefore (Kafka's
// DeleteRecords), both moving log start offsets forward through the commit queue together with
// the partition stats that persist them.
// Thread-safe: passes and cuts are serialized here (two planning the same cut would both
// subtract its bytes from the partition's size).
#ifndef FERRY_STORAGE_RETENTION_H_
#define FERRY_STORAGE_RETENTION_H_

#include <cstdint>
#include <functional>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/partition_log.h"
#include "storage/topic.h"

namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace ferry::storage {

class Catalog;
class CommitQueue;

class Retention {
 public:
  // None is owned; all must outlive this.
  Retention(rocksdb::DB* db, const Catalog* catalog, CommitQueue* queue);
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  // One pass at `now_ms` over every topic with a limit, or only topic `only` when it is not
  // empty. Returns batches removed.
  absl::StatusOr<int64_t> Enforce(int64_t now_ms, std::string_view only = {})
      ABSL_LOCKS_EXCLUDED(mu_);

  // Moves `log`'s start to `offset` (which may fall inside a stored batch: the batch stays,
  // readers skip the records below the start), deletes the batches wholly below it, and
  // returns the log start once that is written under the store's durability policy. An offset
  // at or below the log start changes nothing; OUT_OF_RANGE past the end offset; NOT_FOUND or
  // UNAVAILABLE when the log is gone or the store is closing.
  absl::StatusOr<int64_t> DeleteBefore(PartitionLog& log, int64_t offset) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // The oldest batches of a partition that its topic no longer keeps.
  struct Cut {
    int64_t from = 0;     // the base offset of the first of them
    int64_t to = 0;       // the offset after the last of them
    int64_t start = 0;    // the log start offset once they are gone (>= to)
    int64_t bytes = 0;    // their stored bytes
    int64_t batches = 0;  // how many
  };
  // Cuts the oldest batches below `upper`, from the one holding the log start (which may begin
  // before it, after a DeleteBefore), as long as `take(header)` says so; reads only batch
  // headers. `start` is the log start once they are gone unless `take` moves it further.
  absl::StatusOr<Cut> ScanOldest(
      const PartitionLog& log, int64_t upper, int64_t start,
      const std::function<bool(int64_t base, const BatchHeader&, const Cut&)>& take,
      const char* what) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The batches past the topic's retention.
  absl::StatusOr<Cut> Plan(const TopicMeta& meta, const PartitionLog& log, int64_t now_ms) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves `log`'s start to the cut and queues the deletion of the batches below it with the new
  // stats; `done` (may be empty) runs once they are written. False when the log is gone or the
  // store is closing or refusing writes: nothing changed.
  bool Apply(PartitionLog& log, const Cut& cut, std::function<void(absl::Status)> done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  rocksdb::DB* const db_;
  const Catalog* const catalog_;
  CommitQueue* const queue_;
  // Held across a pass or a cut (their I/O included): admin work, never on the append path.
  absl::Mutex mu_;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_RETENTION_H_
