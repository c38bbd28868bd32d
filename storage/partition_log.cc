#include "storage/partition_log.h"

#include <memory>

#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "storage/encoding.h"
#include "storage/rocks_status.h"

namespace ferry::storage {
namespace {

constexpr uint8_t kBatchFormatV1 = 1;

void PutBatchHeader(std::string* dst, uint32_t count, int64_t max_timestamp_ms) {
  dst->push_back(static_cast<char>(kBatchFormatV1));
  PutFixed32(dst, count);
  PutFixed64(dst, static_cast<uint64_t>(max_timestamp_ms));
}

}  // namespace

std::string EncodeBatchValue(uint32_t count, int64_t max_timestamp_ms, std::string_view payload) {
  std::string value;
  value.reserve(kBatchHeaderBytes + payload.size());
  PutBatchHeader(&value, count, max_timestamp_ms);
  value.append(payload);
  return value;
}

std::string EncodeBatchHeader(uint32_t count, int64_t max_timestamp_ms) {
  std::string header;  // 13 bytes: within std::string's inline buffer, no allocation
  PutBatchHeader(&header, count, max_timestamp_ms);
  return header;
}

absl::Status DecodeBatchHeader(std::string_view value, BatchHeader* out) {
  if (value.size() < kBatchHeaderBytes || static_cast<uint8_t>(value[0]) != kBatchFormatV1) {
    return absl::DataLossError("storage: stored batch has an unknown format");
  }
  out->count = GetFixed32(value.data() + 1);
  out->max_timestamp_ms = static_cast<int64_t>(GetFixed64(value.data() + 5));
  return absl::OkStatus();
}

absl::Status DecodeBatchValue(std::string_view value, StoredBatch* out) {
  BatchHeader header;
  absl::Status s = DecodeBatchHeader(value, &header);
  if (!s.ok()) return s;
  out->count = header.count;
  out->max_timestamp_ms = header.max_timestamp_ms;
  out->payload.assign(value.data() + kBatchHeaderBytes, value.size() - kBatchHeaderBytes);
  return absl::OkStatus();
}

PartitionLog::PartitionLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint64_t topic_id,
                           int32_t partition, int64_t next_offset, int64_t log_start_offset,
                           int64_t size_bytes,
                           std::vector<std::pair<int64_t, ProducerEntry>> producers)
    : db_(db),
      cf_(cf),
      topic_id_(topic_id),
      partition_(partition),
      next_offset_(next_offset),
      end_offset_(next_offset),
      log_start_(log_start_offset),
      size_bytes_(size_bytes) {
  for (auto& [id, entry] : producers) producers_.Restore(id, std::move(entry));
}

absl::Status PartitionLog::Read(int64_t from, size_t max_records, size_t max_bytes,
                                std::vector<StoredBatch>* out) const {
  if (deleted()) return GoneError();
  const int64_t end = end_offset();
  const int64_t start = log_start_offset();
  if (from < start) {
    return absl::OutOfRangeError("offset " + std::to_string(from) +
                                 " is below the partition's log start offset " +
                                 std::to_string(start));
  }
  if (from > end) {
    return absl::OutOfRangeError("offset " + std::to_string(from) +
                                 " is beyond the partition's end offset " + std::to_string(end));
  }
  if (from == end) return absl::OkStatus();

  // Only batches wholly below the visible end: appends still in the commit queue stay hidden.
  const std::string upper = OffsetKey(end);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  const std::string from_key = OffsetKey(from);
  it->SeekForPrev(from_key);
  if (!it->Valid()) it->Seek(from_key);

  size_t records = 0;
  size_t bytes = 0;
  for (; it->Valid(); it->Next()) {
    StoredBatch batch;
    if (!ParseOffsetKey(std::string_view(it->key().data(), it->key().size()), &batch.base_offset)) {
      return absl::DataLossError("storage: malformed offset key");
    }
    absl::Status s =
        DecodeBatchValue(std::string_view(it->value().data(), it->value().size()), &batch);
    if (!s.ok()) return s;
    const int64_t batch_end = batch.base_offset + batch.count;
    if (batch_end <= from) continue;
    const int64_t first = std::max(from, batch.base_offset);
    records += static_cast<size_t>(batch_end - first);
    bytes += batch.payload.size();
    out->push_back(std::move(batch));
    if (records >= max_records || bytes >= max_bytes) break;
  }
  return FromRocks(it->status());
}

absl::StatusOr<int64_t> PartitionLog::FindBatchByTimestamp(int64_t timestamp_ms) const {
  if (deleted()) return GoneError();
  const int64_t end = end_offset();
  const std::string upper = OffsetKey(end);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  // Timestamps are producer-given and need not grow with offsets, so every batch is examined;
  // only the 13-byte header of each value is decoded.
  for (it->Seek(OffsetKey(log_start_offset())); it->Valid(); it->Next()) {
    BatchHeader header;
    absl::Status s =
        DecodeBatchHeader(std::string_view(it->value().data(), it->value().size()), &header);
    if (!s.ok()) return s;
    if (header.max_timestamp_ms >= timestamp_ms) {
      int64_t base;
      ParseOffsetKey(std::string_view(it->key().data(), it->key().size()), &base);
      return base;
    }
  }
  absl::Status s = FromRocks(it->status());
  if (!s.ok()) return s;
  return end;
}

absl::StatusOr<PartitionLog::MaxTimestampBatch> PartitionLog::FindMaxTimestampBatch() const {
  if (deleted()) return GoneError();
  const std::string upper = OffsetKey(end_offset());
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  MaxTimestampBatch best;
  // As FindBatchByTimestamp: timestamps need not grow with offsets, so every header is read.
  for (it->Seek(OffsetKey(log_start_offset())); it->Valid(); it->Next()) {
    BatchHeader header;
    absl::Status s =
        DecodeBatchHeader(std::string_view(it->value().data(), it->value().size()), &header);
    if (!s.ok()) return s;
    if (best.count == 0 || header.max_timestamp_ms > best.max_timestamp_ms) {
      ParseOffsetKey(std::string_view(it->key().data(), it->key().size()), &best.base_offset);
      best.count = header.count;
      best.max_timestamp_ms = header.max_timestamp_ms;
    }
  }
  absl::Status s = FromRocks(it->status());
  if (!s.ok()) return s;
  return best;
}

int64_t PartitionLog::AssignOffsets(uint32_t count, int64_t bytes, int64_t* size) {
  const int64_t base = next_offset_;
  next_offset_ += count;
  *size = size_bytes_.fetch_add(bytes) + bytes;
  return base;
}

void PartitionLog::UnassignOffsets(uint32_t count, int64_t bytes) {
  next_offset_ -= count;
  size_bytes_.fetch_sub(bytes);
}

int64_t PartitionLog::MoveLogStart(int64_t start, int64_t bytes) {
  log_start_.store(start, std::memory_order_release);
  return size_bytes_.fetch_sub(bytes) - bytes;
}

uint64_t PartitionLog::AddWaiter(int64_t offset, Waiter wake) {
  absl::MutexLock lock(&waiters_mu_);
  // Checked under the lock that Advance takes, so a wake-up cannot fall between check and add.
  if (deleted() || end_offset() > offset) return 0;
  const uint64_t id = next_waiter_id_++;
  waiters_.push_back(PendingWaiter{id, offset, std::move(wake)});
  return id;
}

bool PartitionLog::RemoveWaiter(uint64_t id) {
  absl::MutexLock lock(&waiters_mu_);
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if (it->id == id) {
      waiters_.erase(it);
      return true;
    }
  }
  return false;
}

void PartitionLog::Advance(int64_t end, std::vector<Waiter>* fired) {
  absl::MutexLock lock(&waiters_mu_);
  if (end > end_offset_.load(std::memory_order_relaxed)) {
    end_offset_.store(end, std::memory_order_release);
  }
  if (waiters_.empty()) return;
  size_t kept = 0;
  for (size_t i = 0; i < waiters_.size(); ++i) {
    if (waiters_[i].offset < end) {
      fired->push_back(std::move(waiters_[i].wake));
    } else {
      if (kept != i) waiters_[kept] = std::move(waiters_[i]);
      ++kept;
    }
  }
  waiters_.resize(kept);
}

absl::Status PartitionLog::GoneError() const {
  if (state_.load(std::memory_order_acquire) == kClosing) {
    return absl::UnavailableError("the broker is shutting down");
  }
  return absl::NotFoundError("the topic was deleted");
}

void PartitionLog::MarkGone(State state, std::vector<Waiter>* fired) {
  absl::MutexLock lock(&waiters_mu_);
  state_.store(state, std::memory_order_release);
  for (auto& w : waiters_) fired->push_back(std::move(w.wake));
  waiters_.clear();
}

}  // namespace ferry::storage
