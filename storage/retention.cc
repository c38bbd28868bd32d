#include "storage/retention.h"

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "storage/catalog.h"
#include "storage/commit_queue.h"
#include "storage/encoding.h"
#include "storage/rocks_status.h"

namespace ferry::storage {

Retention::Retention(rocksdb::DB* db, const Catalog* catalog, CommitQueue* queue)
    : db_(db), catalog_(catalog), queue_(queue) {}

absl::StatusOr<int64_t> Retention::Enforce(int64_t now_ms, std::string_view only) {
  absl::MutexLock pass(&mu_);
  int64_t removed_total = 0;
  std::vector<std::shared_ptr<const Topic>> topics;
  if (only.empty()) {
    topics = catalog_->List();
  } else if (auto topic = catalog_->Find(only)) {
    topics.push_back(std::move(topic));
  }
  for (const auto& topic : topics) {
    const TopicMeta& meta = topic->meta;
    if (meta.retention_ms <= 0 && meta.retention_bytes <= 0) continue;
    for (const auto& log : topic->partitions) {
      if (log->deleted()) continue;
      absl::StatusOr<Cut> cut = Plan(meta, *log, now_ms);
      if (!cut.ok()) return cut.status();
      if (cut->batches == 0) continue;
      if (Apply(*log, *cut, nullptr)) removed_total += cut->batches;
    }
  }
  return removed_total;
}

absl::StatusOr<Retention::Cut> Retention::ScanOldest(
    const PartitionLog& log, int64_t upper_offset, int64_t start,
    const std::function<bool(int64_t, const BatchHeader&, const Cut&)>& take,
    const char* what) const {
  const std::string upper = OffsetKey(upper_offset);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log.cf()));
  const int64_t log_start = log.log_start_offset();
  Cut cut;
  cut.start = start;
  const std::string start_key = OffsetKey(log_start);
  it->SeekForPrev(start_key);
  if (!it->Valid()) it->Seek(start_key);
  for (; it->Valid(); it->Next()) {
    const std::string_view value(it->value().data(), it->value().size());
    BatchHeader header;
    absl::Status s = DecodeBatchHeader(value, &header);
    if (!s.ok()) return s;
    int64_t base;
    ParseOffsetKey(std::string_view(it->key().data(), it->key().size()), &base);
    if (base + header.count <= log_start) continue;
    if (!take(base, header, cut)) break;
    if (cut.batches == 0) cut.from = base;
    cut.to = base + header.count;
    cut.start = std::max(cut.start, cut.to);
    cut.bytes += static_cast<int64_t>(value.size());
    ++cut.batches;
  }
  if (!it->status().ok()) return FromRocks(it->status(), what);
  return cut;
}

absl::StatusOr<Retention::Cut> Retention::Plan(const TopicMeta& meta, const PartitionLog& log,
                                               int64_t now_ms) const {
  const int64_t bytes = log.size_bytes();
  return ScanOldest(
      log, log.end_offset(), log.log_start_offset(),
      [&](int64_t, const BatchHeader& header, const Cut& cut) {
        const bool too_old =
            meta.retention_ms > 0 && header.max_timestamp_ms < now_ms - meta.retention_ms;
        const bool too_big = meta.retention_bytes > 0 && bytes - cut.bytes > meta.retention_bytes;
        return too_old || too_big;
      },
      "retention scan");
}

absl::StatusOr<int64_t> Retention::DeleteBefore(PartitionLog& log, int64_t offset) {
  absl::MutexLock pass(&mu_);
  if (log.deleted()) return log.GoneError();
  const int64_t log_start = log.log_start_offset();
  const int64_t end = log.end_offset();
  if (offset > end) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " is beyond the partition's end offset ", end));
  }
  if (offset <= log_start) return log_start;

  // The batches wholly below `offset`; one that straddles it stays.
  absl::StatusOr<Cut> planned = ScanOldest(
      log, offset, offset,
      [&](int64_t base, const BatchHeader& header, const Cut&) {
        return base + header.count <= offset;
      },
      "delete records scan");
  if (!planned.ok()) return planned.status();
  const Cut& cut = *planned;

  absl::Notification written;
  absl::Status status;
  if (!Apply(log, cut, [&](absl::Status s) {
        status = std::move(s);
        written.Notify();
      })) {
    if (log.deleted()) return log.GoneError();
    absl::Status failed = queue_->WriteFailureStatus();
    return failed.ok() ? absl::UnavailableError("the broker is shutting down") : failed;
  }
  written.WaitForNotification();
  if (!status.ok()) return status;
  return offset;
}

bool Retention::Apply(PartitionLog& log, const Cut& cut, std::function<void(absl::Status)> done) {
  absl::MutexLock lock(queue_->mu());
  if (queue_->closing() || log.deleted() || !queue_->failed().ok()) return false;
  auto unit = std::make_unique<CommitUnit>();
  const int64_t old_start = log.log_start_offset();
  const int64_t size = log.MoveLogStart(cut.start, cut.bytes);
  // The batches stay when the write fails: so do the log start and the bytes counted. `log`
  // outlives the unit: deleting its topic waits for the queue (Store::DeleteTopic's barrier).
  unit->undo = [&log, old_start, bytes = cut.bytes] { log.MoveLogStart(old_start, -bytes); };
  if (cut.batches > 0) {
    WriteOp del;
    del.kind = WriteOp::Kind::kDeleteRange;
    del.cf = log.cf();
    del.key = OffsetKey(cut.from);
    del.value = OffsetKey(cut.to);
    unit->ops.push_back(std::move(del));
  }
  unit->ops.push_back(catalog_->StatsWrite(log, {log.next_offset(), cut.start, size}));
  unit->done = std::move(done);
  queue_->Enqueue(std::move(unit));
  return true;
}

}  // namespace ferry::storage
