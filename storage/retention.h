// Retention: a pass that removes whole batches older than each topic's retention.ms (by their
// max timestamp) or beyond its retention.bytes, moving log start offsets forward through the
// commit queue together with the partition stats that persist them.
// Thread-safe, but passes must not overlap (the broker runs one at a time): two passes planning
// the same cut would both subtract its bytes from the partition's size.
#ifndef FERRY_STORAGE_RETENTION_H_
#define FERRY_STORAGE_RETENTION_H_

#include <cstdint>

#include "absl/status/statusor.h"
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

  // One pass at `now_ms` over every topic with a limit. Returns batches removed.
  absl::StatusOr<int64_t> Enforce(int64_t now_ms);

 private:
  // The oldest batches of a partition that its topic no longer keeps.
  struct Cut {
    int64_t start = 0;    // the log start offset once they are gone
    int64_t bytes = 0;    // their stored bytes
    int64_t batches = 0;  // how many
  };
  // Scans `log` from its log start; reads only batch headers.
  absl::StatusOr<Cut> Plan(const TopicMeta& meta, const PartitionLog& log, int64_t now_ms) const;
  // Moves `log`'s start to the cut and queues the deletion of the batches below it with the new
  // stats. False when the log is gone or the store is closing: nothing changed.
  bool Apply(PartitionLog& log, const Cut& cut);

  rocksdb::DB* const db_;
  const Catalog* const catalog_;
  CommitQueue* const queue_;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_RETENTION_H_
