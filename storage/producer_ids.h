// ProducerIdAllocator: hands out Kafka producer ids, unique for the data directory's life. Ids
// are reserved in blocks whose end is persisted (synced) in the meta column family before any
// id of the block is given out, so a restart, kill -9 included, resumes after the last block
// and never gives an id twice.
// Thread-safe. The lock is never held across the block's write.
#ifndef FERRY_STORAGE_PRODUCER_IDS_H_
#define FERRY_STORAGE_PRODUCER_IDS_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ferry::storage {

// pn -> the end (exclusive) of the last reserved block of producer ids (fixed64).
inline constexpr char kProducerIdBlockKey[] = "pn";
inline constexpr int64_t kProducerIdBlock = 1000;

class ProducerIdAllocator {
 public:
  // Reads the persisted block end. `db` and `meta_cf` must outlive the allocator.
  static absl::StatusOr<std::unique_ptr<ProducerIdAllocator>> Open(
      rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf);
  ProducerIdAllocator(const ProducerIdAllocator&) = delete;
  ProducerIdAllocator& operator=(const ProducerIdAllocator&) = delete;

  // A new id (>= 0). Fails only when the block's write fails.
  absl::StatusOr<int64_t> Allocate() ABSL_LOCKS_EXCLUDED(mu_);
  // True when `id` may have been handed out, by this process or an earlier one.
  bool MayHaveAllocated(int64_t id) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  ProducerIdAllocator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf, int64_t end);

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const meta_cf_;
  mutable absl::Mutex mu_;
  int64_t next_ ABSL_GUARDED_BY(mu_);
  int64_t end_ ABSL_GUARDED_BY(mu_);  // persisted
  bool reserving_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_PRODUCER_IDS_H_
