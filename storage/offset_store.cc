#include "storage/offset_store.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "storage/encoding.h"
#include "storage/rocks_status.h"
#include "storage/writer.h"

namespace ferry::storage {
namespace {

// Values: the first format was fixed64 offset, then the metadata. The current one starts with
// a marker no committed offset can equal (offsets are at least -2), then fixed32 log
// partition, fixed64 sequence, fixed64 offset, fixed64 commit time (ms), then the metadata.
constexpr uint64_t kValueMarker = 0xF0FE'C0F5'E7A1'0002ULL;
constexpr size_t kValueHeaderBytes = 8 + 4 + 8 + 8 + 8;

// In meta_cf: "cof/" + big-endian log partition -> fixed64, a floor for that partition's next
// sequence (written with deletions, whose tombstones are not stored).
constexpr char kLogFloorPrefix[] = "cof/";

std::string LogFloorKey(int32_t log_partition) {
  std::string key(kLogFloorPrefix);
  PutBigEndian32(&key, static_cast<uint32_t>(log_partition));
  return key;
}

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

// A stored value; `sequence` is nullopt for the first format.
struct StoredValue {
  std::optional<int32_t> log_partition;
  int64_t sequence = -1;
};

bool ParseValue(std::string_view value, CommittedOffset* out, StoredValue* stored = nullptr) {
  if (value.size() < 8) return false;
  if (GetFixed64(value.data()) != kValueMarker) {
    out->offset = static_cast<int64_t>(GetFixed64(value.data()));
    out->metadata.assign(value.substr(8));
    out->commit_timestamp_ms = -1;
    if (stored != nullptr) *stored = StoredValue{};
    return true;
  }
  if (value.size() < kValueHeaderBytes) return false;
  const char* p = value.data() + 8;
  if (stored != nullptr) {
    stored->log_partition = static_cast<int32_t>(GetFixed32(p));
    stored->sequence = static_cast<int64_t>(GetFixed64(p + 4));
  }
  out->offset = static_cast<int64_t>(GetFixed64(p + 12));
  out->commit_timestamp_ms = static_cast<int64_t>(GetFixed64(p + 20));
  out->metadata.assign(value.substr(kValueHeaderBytes));
  return true;
}

std::string EncodeValue(int32_t log_partition, int64_t sequence, int64_t offset,
                        int64_t commit_timestamp_ms, std::string_view metadata) {
  std::string value;
  value.reserve(kValueHeaderBytes + metadata.size());
  PutFixed64(&value, kValueMarker);
  PutFixed32(&value, static_cast<uint32_t>(log_partition));
  PutFixed64(&value, static_cast<uint64_t>(sequence));
  PutFixed64(&value, static_cast<uint64_t>(offset));
  PutFixed64(&value, static_cast<uint64_t>(commit_timestamp_ms));
  value.append(metadata);
  return value;
}

std::string_view GroupOfKey(std::string_view key) { return key.substr(0, key.find('\0')); }

// Java's String.hashCode over the UTF-16 code units of `s` read as UTF-8, as Kafka's broker
// sees a group id (the client sent it UTF-8 encoded; malformed bytes decode to U+FFFD).
int32_t JavaStringHash(std::string_view s) {
  uint32_t h = 0;
  const auto unit = [&h](uint32_t u) { h = 31 * h + u; };
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0xFFFD;
    size_t len = 1;
    if (b < 0x80) {
      cp = b;
    } else {
      size_t need = 0;
      uint32_t min = 0;
      if (b >= 0xC2 && b <= 0xDF) {
        need = 1, cp = b & 0x1F, min = 0x80;
      } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2, cp = b & 0x0F, min = 0x800;
      } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3, cp = b & 0x07, min = 0x10000;
      }
      bool ok = need > 0;
      for (size_t k = 1; ok && k <= need; ++k) {
        if (i + k >= s.size()) {
          ok = false;
          break;
        }
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0) != 0x80) {
          ok = false;
          break;
        }
        cp = (cp << 6) | (c & 0x3F);
      }
      if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
      if (ok) {
        len = 1 + need;
      } else {
        cp = 0xFFFD;
      }
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    } else {
      unit(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

}  // namespace

int32_t OffsetLogPartitionFor(std::string_view group, int32_t partitions) {
  // Kafka's Utils.abs: Math.abs, but 0 for Integer.MIN_VALUE.
  const int32_t h = JavaStringHash(group);
  const int32_t a = h == INT32_MIN ? 0 : std::abs(h);
  return a % partitions;
}

OffsetStore::OffsetStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                         rocksdb::ColumnFamilyHandle* meta_cf, Writer* writer, const Clock* clock,
                         int32_t log_partitions)
    : db_(db),
      cf_(cf),
      meta_cf_(meta_cf),
      writer_(writer),
      clock_(clock),
      log_partitions_(std::max(1, log_partitions)),
      log_(log_partitions_) {}

absl::Status OffsetStore::Load() {
  struct Unplaced {
    std::string key;
    int32_t log_partition;
    CommittedOffset value;
  };
  std::vector<Unplaced> unplaced;
  absl::MutexLock order(&order_mu_);
  absl::MutexLock lock(&mu_);
  for (int32_t p = 0; p < log_partitions_; ++p) {
    std::string floor;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf_, LogFloorKey(p), &floor);
    if (s.ok() && floor.size() == 8) {
      log_[p].next = static_cast<int64_t>(GetFixed64(floor.data()));
    } else if (!s.ok() && !s.IsNotFound()) {
      return FromRocks(s);
    }
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string key = it->key().ToString();
    std::string group;
    CommittedOffset o;
    StoredValue stored;
    if (!ParseKey(key, &group, &o) ||
        !ParseValue(std::string_view(it->value().data(), it->value().size()), &o, &stored)) {
      return absl::DataLossError("storage: malformed committed offset");
    }
    const int32_t p = OffsetLogPartitionFor(group, log_partitions_);
    LogPartition& lp = log_[p];
    // A value from before sequences, from another partition count, or (never written so) a
    // sequence taken twice, gets a new sequence below.
    if (!stored.log_partition.has_value() || *stored.log_partition != p || stored.sequence < 0 ||
        lp.entries.contains(stored.sequence)) {
      unplaced.push_back({std::move(key), p, std::move(o)});
      continue;
    }
    lp.entries.emplace(stored.sequence, key);
    lp.next = std::max(lp.next, stored.sequence + 1);
    slots_[std::move(key)] = Slot{p, stored.sequence};
  }
  if (!it->status().ok()) return FromRocks(it->status());
  if (unplaced.empty()) return absl::OkStatus();
  // In key order, after every sequence already given: stable once written back.
  const int64_t now_ms = clock_->NowMs();
  std::vector<WriteOp> ops;
  ops.reserve(unplaced.size());
  for (Unplaced& u : unplaced) {
    LogPartition& lp = log_[u.log_partition];
    const int64_t seq = lp.next++;
    WriteOp op;
    op.cf = cf_;
    op.key = u.key;
    const int64_t ts = u.value.commit_timestamp_ms >= 0 ? u.value.commit_timestamp_ms : now_ms;
    op.value = EncodeValue(u.log_partition, seq, u.value.offset, ts, u.value.metadata);
    ops.push_back(std::move(op));
    lp.entries.emplace(seq, u.key);
    slots_[u.key] = Slot{u.log_partition, seq};
  }
  return writer_->WriteSync(std::move(ops));
}

void OffsetStore::AssignLocked(std::vector<LogChange>* changes) {
  for (LogChange& c : *changes) {
    LogPartition& lp = log_[c.log_partition];
    c.sequence = lp.next++;
    lp.in_flight.insert(c.sequence);
    ++pending_[c.key];
  }
}

void OffsetStore::Apply(const std::vector<LogChange>& changes, const absl::Status& s) {
  std::vector<std::function<void()>> woken;  // called once the lock is released
  {
    absl::MutexLock lock(&mu_);
    for (const LogChange& c : changes) {
      LogPartition& lp = log_[c.log_partition];
      if (auto it = pending_.find(c.key); it != pending_.end() && --it->second == 0) {
        pending_.erase(it);
      }
      // A failed write keeps its sequence in flight, so LogEnd never passes a sequence that a
      // restart could give again.
      if (!s.ok()) continue;
      lp.in_flight.erase(c.sequence);
      auto slot = slots_.find(c.key);
      if (slot != slots_.end()) {
        if (slot->second.sequence > c.sequence) continue;
        LogPartition& old = log_[slot->second.log_partition];
        old.entries.erase(slot->second.sequence);
        old.tombstones.erase(slot->second.sequence);
      }
      slots_[c.key] = Slot{c.log_partition, c.sequence};
      lp.entries[c.sequence] = c.key;
      if (c.tombstone) lp.tombstones.insert(c.sequence);
    }
    for (auto it = waits_.begin(); it != waits_.end();) {
      const LogPartition& lp = log_[it->second.log_partition];
      const int64_t end = lp.in_flight.empty() ? lp.next : *lp.in_flight.begin();
      if (end > it->second.end) {
        woken.push_back(std::move(it->second.wake));
        it = waits_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& wake : woken) wake();
}

void OffsetStore::Commit(std::string_view group, const std::vector<CommittedOffset>& offsets,
                         std::function<void(absl::Status)> done) {
  const int32_t p = OffsetLogPartitionFor(group, log_partitions_);
  std::vector<LogChange> changes;
  changes.reserve(offsets.size());
  for (const auto& o : offsets) {
    changes.push_back({OffsetKey(group, o.topic, o.partition), p, 0, false});
  }
  absl::MutexLock order(&order_mu_);
  {
    absl::MutexLock lock(&mu_);
    AssignLocked(&changes);
  }
  const int64_t now_ms = clock_->NowMs();
  std::vector<WriteOp> ops;
  ops.reserve(offsets.size());
  for (size_t i = 0; i < offsets.size(); ++i) {
    WriteOp op;
    op.cf = cf_;
    op.key = changes[i].key;
    op.value = EncodeValue(p, changes[i].sequence, offsets[i].offset, now_ms, offsets[i].metadata);
    ops.push_back(std::move(op));
  }
  writer_->Write(std::move(ops),
                 [this, changes = std::move(changes), done = std::move(done)](absl::Status s) {
                   Apply(changes, s);
                   done(std::move(s));
                 });
}

absl::Status OffsetStore::CommitSync(std::string_view group,
                                     const std::vector<CommittedOffset>& offsets) {
  absl::Notification written;
  absl::Status result;
  Commit(group, offsets, [&](absl::Status s) {
    result = std::move(s);
    written.Notify();
  });
  written.WaitForNotification();
  return result;
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

absl::Status OffsetStore::Delete(std::vector<std::string> keys, std::string range_begin,
                                 std::string range_end) {
  std::vector<WriteOp> ops;
  std::vector<LogChange> changes;
  absl::Notification written;
  absl::Status result;
  {
    absl::MutexLock order(&order_mu_);
    {
      absl::MutexLock lock(&mu_);
      // Tombstones for the keys in the log (live) or being committed now.
      std::set<std::string> doomed;
      const auto consider = [&](const std::string& key) {
        auto slot = slots_.find(key);
        const bool live =
            slot != slots_.end() &&
            !log_[slot->second.log_partition].tombstones.contains(slot->second.sequence);
        if (live || pending_.contains(key)) doomed.insert(key);
      };
      for (const std::string& key : keys) consider(key);
      if (!range_begin.empty()) {
        for (auto it = slots_.lower_bound(range_begin); it != slots_.end() && it->first < range_end;
             ++it) {
          consider(it->first);
        }
        for (auto it = pending_.lower_bound(range_begin);
             it != pending_.end() && it->first < range_end; ++it) {
          doomed.insert(it->first);
        }
      }
      std::set<int32_t> touched;
      for (const std::string& key : doomed) {
        const int32_t p = OffsetLogPartitionFor(GroupOfKey(key), log_partitions_);
        changes.push_back({key, p, 0, true});
        touched.insert(p);
      }
      AssignLocked(&changes);
      // Tombstones are not stored: the floor keeps the next sequence above them after a
      // restart.
      for (int32_t p : touched) {
        WriteOp op;
        op.cf = meta_cf_;
        op.key = LogFloorKey(p);
        PutFixed64(&op.value, static_cast<uint64_t>(log_[p].next));
        ops.push_back(std::move(op));
      }
    }
    for (std::string& key : keys) {
      WriteOp op;
      op.kind = WriteOp::Kind::kDelete;
      op.cf = cf_;
      op.key = std::move(key);
      ops.push_back(std::move(op));
    }
    if (!range_begin.empty()) {
      WriteOp op;
      op.kind = WriteOp::Kind::kDeleteRange;
      op.cf = cf_;
      op.key = std::move(range_begin);
      op.value = std::move(range_end);
      ops.push_back(std::move(op));
    }
    if (ops.empty()) return absl::OkStatus();
    writer_->Write(std::move(ops), [&, this](absl::Status s) {
      Apply(changes, s);
      result = std::move(s);
      written.Notify();
    });
  }
  written.WaitForNotification();
  return result;
}

absl::Status OffsetStore::DeleteGroup(std::string_view group) {
  return Delete({}, GroupPrefix(group), std::string(group) + '\1');
}

absl::Status OffsetStore::DeleteOffsets(
    std::string_view group, const std::vector<std::pair<std::string, int32_t>>& partitions) {
  std::vector<std::string> keys;
  keys.reserve(partitions.size());
  for (const auto& [topic, partition] : partitions) {
    keys.push_back(OffsetKey(group, topic, partition));
  }
  if (keys.empty()) return absl::OkStatus();
  return Delete(std::move(keys), {}, {});
}

absl::Status OffsetStore::DeleteTopic(std::string_view topic) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  std::vector<std::string> keys;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    CommittedOffset o;
    if (ParseKey(std::string_view(it->key().data(), it->key().size()), nullptr, &o) &&
        o.topic == topic) {
      keys.push_back(it->key().ToString());
    }
  }
  if (!it->status().ok()) return FromRocks(it->status());
  if (keys.empty()) return absl::OkStatus();
  return Delete(std::move(keys), {}, {});
}

std::optional<uint64_t> OffsetStore::WaitForLog(int32_t log_partition, int64_t end,
                                                std::function<void()> wake) {
  if (log_partition < 0 || log_partition >= log_partitions_) return std::nullopt;
  absl::MutexLock lock(&mu_);
  const LogPartition& lp = log_[log_partition];
  if ((lp.in_flight.empty() ? lp.next : *lp.in_flight.begin()) > end) return std::nullopt;
  const uint64_t id = next_wait_id_++;
  waits_.emplace(id, LogWait{log_partition, end, std::move(wake)});
  return id;
}

void OffsetStore::CancelLogWait(uint64_t id) {
  absl::MutexLock lock(&mu_);
  waits_.erase(id);
}

int64_t OffsetStore::LogEnd(int32_t log_partition) const {
  if (log_partition < 0 || log_partition >= log_partitions_) return 0;
  absl::MutexLock lock(&mu_);
  const LogPartition& lp = log_[log_partition];
  return lp.in_flight.empty() ? lp.next : *lp.in_flight.begin();
}

absl::StatusOr<OffsetStore::LogRead> OffsetStore::ReadLog(int32_t log_partition, int64_t from,
                                                          size_t max_bytes) const {
  if (log_partition < 0 || log_partition >= log_partitions_) {
    return absl::NotFoundError(absl::StrCat("__consumer_offsets has ", log_partitions_,
                                            " partitions; partition ", log_partition,
                                            " does not exist"));
  }
  // Copied under the lock, values read after it (RocksDB reads are I/O).
  struct Wanted {
    int64_t sequence;
    std::string key;
    bool tombstone;
  };
  std::vector<Wanted> wanted;
  LogRead read;
  {
    absl::MutexLock lock(&mu_);
    const LogPartition& lp = log_[log_partition];
    read.end = lp.in_flight.empty() ? lp.next : *lp.in_flight.begin();
    read.covered = std::max(from, read.end);
    size_t bytes = 0;
    for (auto it = lp.entries.lower_bound(from); it != lp.entries.end() && it->first < read.end;
         ++it) {
      if (!wanted.empty() && bytes >= max_bytes) {
        read.covered = it->first;
        break;
      }
      wanted.push_back({it->first, it->second, lp.tombstones.contains(it->first)});
      bytes += it->second.size() + 48;
    }
  }
  std::vector<OffsetLogEntry>& out = read.entries;
  out.reserve(wanted.size());
  for (Wanted& w : wanted) {
    OffsetLogEntry e;
    e.sequence = w.sequence;
    CommittedOffset key_fields;
    if (!ParseKey(w.key, &e.group, &key_fields)) {
      return absl::DataLossError("storage: malformed committed offset key");
    }
    e.topic = key_fields.topic;
    e.partition = key_fields.partition;
    if (!w.tombstone) {
      std::string value;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, w.key, &value);
      if (s.IsNotFound()) continue;  // deleted since: its tombstone follows
      if (!s.ok()) return FromRocks(s);
      CommittedOffset v = key_fields;
      StoredValue stored;
      if (!ParseValue(value, &v, &stored)) {
        return absl::DataLossError("storage: malformed committed offset");
      }
      if (stored.sequence != w.sequence) continue;  // superseded since: the newer one follows
      e.value = std::move(v);
    }
    out.push_back(std::move(e));
  }
  return read;
}

}  // namespace ferry::storage
