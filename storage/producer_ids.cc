#include "storage/producer_ids.h"

#include <memory>
#include <string>

#include "rocksdb/db.h"
#include "storage/encoding.h"
#include "storage/rocks_status.h"

namespace ferry::storage {

absl::StatusOr<std::unique_ptr<ProducerIdAllocator>> ProducerIdAllocator::Open(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta_cf, kProducerIdBlockKey, &value);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read producer id block");
  const int64_t end = value.size() == 8 ? static_cast<int64_t>(GetFixed64(value.data())) : 0;
  return std::unique_ptr<ProducerIdAllocator>(new ProducerIdAllocator(db, meta_cf, end));
}

ProducerIdAllocator::ProducerIdAllocator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf,
                                         int64_t end)
    : db_(db), meta_cf_(meta_cf), next_(end), end_(end) {}

absl::StatusOr<int64_t> ProducerIdAllocator::Allocate() {
  absl::MutexLock lock(&mu_);
  while (true) {
    mu_.Await(absl::Condition(
        +[](bool* reserving) { return !*reserving; }, &reserving_));
    if (next_ < end_) return next_++;
    // Reserve the next block: written and synced before any of its ids is given out.
    reserving_ = true;
    const int64_t new_end = end_ + kProducerIdBlock;
    mu_.Unlock();
    std::string value;
    PutFixed64(&value, static_cast<uint64_t>(new_end));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    absl::Status s =
        FromRocks(db_->Put(wo, meta_cf_, kProducerIdBlockKey, value), "write producer id block");
    mu_.Lock();
    reserving_ = false;
    if (!s.ok()) return s;
    end_ = new_end;
  }
}

bool ProducerIdAllocator::MayHaveAllocated(int64_t id) const {
  absl::MutexLock lock(&mu_);
  return id >= 0 && id < end_;
}

}  // namespace ferry::storage
