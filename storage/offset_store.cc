#include "storage/offset_store.h"

#include <memory>

#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "storage/encoding.h"
#include "storage/rocks_status.h"
#include "storage/writer.h"

namespace ferry::storage {
namespace {

// group \0 topic \0 partition(big-endian). Group and topic names never contain NUL.
std::string GroupPrefix(std::string_view group) {
  std::string key(group);
  key.push_back('\0');
  return key;
}

std::string OffsetKey(std::string_view group, std::string_view topic, int32_t partition) {
  std::string key = GroupPrefix(group);
  key.append(topic);
  key.push_back('\0');
  PutBigEndian32(&key, static_cast<uint32_t>(partition));
  return key;
}

bool ParseKey(std::string_view key, std::string* group, CommittedOffset* out) {
  const size_t g = key.find('\0');
  if (g == std::string_view::npos) return false;
  const size_t t = key.find('\0', g + 1);
  if (t == std::string_view::npos || key.size() != t + 5) return false;
  if (group != nullptr) group->assign(key.substr(0, g));
  out->topic.assign(key.substr(g + 1, t - g - 1));
  out->partition = static_cast<int32_t>(GetBigEndian32(key.data() + t + 1));
  return true;
}

bool ParseValue(std::string_view value, CommittedOffset* out) {
  if (value.size() < 8) return false;
  out->offset = static_cast<int64_t>(GetFixed64(value.data()));
  out->metadata.assign(value.substr(8));
  return true;
}

std::vector<WriteOp> CommitOps(rocksdb::ColumnFamilyHandle* cf, std::string_view group,
                               const std::vector<CommittedOffset>& offsets) {
  std::vector<WriteOp> ops;
  ops.reserve(offsets.size());
  for (const auto& o : offsets) {
    WriteOp op;
    op.cf = cf;
    op.key = OffsetKey(group, o.topic, o.partition);
    PutFixed64(&op.value, static_cast<uint64_t>(o.offset));
    op.value.append(o.metadata);
    ops.push_back(std::move(op));
  }
  return ops;
}

}  // namespace

void OffsetStore::Commit(std::string_view group, const std::vector<CommittedOffset>& offsets,
                         std::function<void(absl::Status)> done) {
  writer_->Write(CommitOps(cf_, group, offsets), std::move(done));
}

absl::Status OffsetStore::CommitSync(std::string_view group,
                                     const std::vector<CommittedOffset>& offsets) {
  return writer_->WriteSync(CommitOps(cf_, group, offsets));
}

absl::StatusOr<std::optional<CommittedOffset>> OffsetStore::Fetch(std::string_view group,
                                                                  std::string_view topic,
                                                                  int32_t partition) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf_, OffsetKey(group, topic, partition), &value);
  if (s.IsNotFound()) return std::optional<CommittedOffset>();
  if (!s.ok()) return FromRocks(s);
  CommittedOffset out;
  out.topic.assign(topic);
  out.partition = partition;
  if (!ParseValue(value, &out)) return absl::DataLossError("storage: malformed committed offset");
  return std::optional<CommittedOffset>(std::move(out));
}

absl::StatusOr<std::vector<CommittedOffset>> OffsetStore::FetchAll(std::string_view group) const {
  const std::string prefix = GroupPrefix(group);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  std::vector<CommittedOffset> out;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    CommittedOffset o;
    if (!ParseKey(std::string_view(it->key().data(), it->key().size()), nullptr, &o) ||
        !ParseValue(std::string_view(it->value().data(), it->value().size()), &o)) {
      return absl::DataLossError("storage: malformed committed offset");
    }
    out.push_back(std::move(o));
  }
  if (!it->status().ok()) return FromRocks(it->status());
  return out;
}

absl::StatusOr<std::vector<std::string>> OffsetStore::ListGroups() const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  std::vector<std::string> groups;
  it->SeekToFirst();
  while (it->Valid()) {
    std::string group;
    CommittedOffset o;
    if (!ParseKey(std::string_view(it->key().data(), it->key().size()), &group, &o)) {
      return absl::DataLossError("storage: malformed committed offset key");
    }
    groups.push_back(group);
    // Skip the rest of this group: the next key after "group\0..." is "group\1".
    std::string next = group;
    next.push_back('\1');
    it->Seek(next);
  }
  if (!it->status().ok()) return FromRocks(it->status());
  return groups;
}

absl::Status OffsetStore::DeleteGroup(std::string_view group) {
  WriteOp op;
  op.kind = WriteOp::Kind::kDeleteRange;
  op.cf = cf_;
  op.key = GroupPrefix(group);
  op.value = std::string(group) + '\1';
  std::vector<WriteOp> ops;
  ops.push_back(std::move(op));
  return writer_->WriteSync(std::move(ops));
}

absl::Status OffsetStore::DeleteOffsets(
    std::string_view group, const std::vector<std::pair<std::string, int32_t>>& partitions) {
  std::vector<WriteOp> ops;
  for (const auto& [topic, partition] : partitions) {
    WriteOp op;
    op.kind = WriteOp::Kind::kDelete;
    op.cf = cf_;
    op.key = OffsetKey(group, topic, partition);
    ops.push_back(std::move(op));
  }
  if (ops.empty()) return absl::OkStatus();
  return writer_->WriteSync(std::move(ops));
}

absl::Status OffsetStore::DeleteTopic(std::string_view topic) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  std::vector<WriteOp> ops;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    CommittedOffset o;
    if (ParseKey(std::string_view(it->key().data(), it->key().size()), nullptr, &o) &&
        o.topic == topic) {
      WriteOp op;
      op.kind = WriteOp::Kind::kDelete;
      op.cf = cf_;
      op.key = it->key().ToString();
      ops.push_back(std::move(op));
    }
  }
  if (!it->status().ok()) return FromRocks(it->status());
  if (ops.empty()) return absl::OkStatus();
  return writer_->WriteSync(std::move(ops));
}

}  // namespace ferry::storage
