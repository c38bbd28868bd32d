#include "storage/store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/statistics.h"
#include "rocksdb/write_batch.h"
#include "storage/commit_queue.h"
#include "storage/encoding.h"
#include "storage/offset_store.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"

namespace ferry::storage {
namespace {

constexpr char kMetaCf[] = "meta";
constexpr char kOffsetsCf[] = "offsets";
// Keys of the meta column family.
constexpr char kNextTopicIdKey[] = "n";
constexpr char kTopicPrefix = 't';  // t<name> -> TopicMeta
constexpr char kStatsPrefix = 's';  // s<id BE64><partition BE32> -> next, log start, bytes

std::string PartitionCfName(uint64_t topic_id, int32_t partition) {
  return absl::StrCat("p.", topic_id, ".", partition);
}

bool ParsePartitionCfName(std::string_view name, uint64_t* topic_id, int32_t* partition) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(name.data(), name.size()), '.');
  return parts.size() == 3 && parts[0] == "p" && absl::SimpleAtoi(parts[1], topic_id) &&
         absl::SimpleAtoi(parts[2], partition);
}

std::string TopicKey(std::string_view name) {
  return std::string(1, kTopicPrefix) + std::string(name);
}

std::string StatsKey(uint64_t topic_id, int32_t partition) {
  std::string key(1, kStatsPrefix);
  PutBigEndian64(&key, topic_id);
  PutBigEndian32(&key, static_cast<uint32_t>(partition));
  return key;
}

std::string EncodeStats(int64_t next, int64_t start, int64_t bytes) {
  std::string v;
  PutFixed64(&v, static_cast<uint64_t>(next));
  PutFixed64(&v, static_cast<uint64_t>(start));
  PutFixed64(&v, static_cast<uint64_t>(bytes));
  return v;
}

std::string EncodeTopicMeta(const TopicMeta& m) {
  std::string v;
  PutFixed64(&v, m.id);
  PutFixed32(&v, static_cast<uint32_t>(m.partitions));
  PutFixed64(&v, static_cast<uint64_t>(m.retention_ms));
  PutFixed64(&v, static_cast<uint64_t>(m.retention_bytes));
  PutFixed32(&v, static_cast<uint32_t>(m.max_record_bytes));
  return v;
}

bool DecodeTopicMeta(std::string_view name, std::string_view v, TopicMeta* m) {
  if (v.size() != 32) return false;
  m->name.assign(name);
  m->id = GetFixed64(v.data());
  m->partitions = static_cast<int32_t>(GetFixed32(v.data() + 8));
  m->retention_ms = static_cast<int64_t>(GetFixed64(v.data() + 12));
  m->retention_bytes = static_cast<int64_t>(GetFixed64(v.data() + 20));
  m->max_record_bytes = static_cast<int32_t>(GetFixed32(v.data() + 28));
  return true;
}

}  // namespace

Store::Store(const StoreOptions& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data dir is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data dir '", options.data_dir, "': ", ec.message()));
  }
  std::unique_ptr<Store> store(new Store(options));
  const absl::Time started = absl::Now();
  absl::Status s = store->Recover();
  if (!s.ok()) return s;
  store->recovery_.duration = absl::Now() - started;
  CommitQueueOptions queue;
  queue.sync_writes = options.fsync == FsyncPolicy::kAlways;
  if (options.fsync == FsyncPolicy::kInterval) queue.sync_interval = options.fsync_interval;
  queue.clock = options.clock;
  store->queue_ = std::make_unique<CommitQueue>(store->db_, queue);
  store->offsets_ =
      std::make_unique<OffsetStore>(store->db_, store->offsets_cf_, store->queue_.get());
  return store;
}

absl::Status Store::Recover() {
  rocks_ = MakeRocksOptions(options_.block_cache_bytes, options_.write_buffer_bytes);
  const rocksdb::DBOptions& db_opts = rocks_.db;

  std::vector<std::string> names;
  rocksdb::Status ls = rocksdb::DB::ListColumnFamilies(db_opts, options_.data_dir, &names);
  if (!ls.ok()) names = {rocksdb::kDefaultColumnFamilyName};  // a new database
  for (const char* required : {kMetaCf, kOffsetsCf}) {
    if (std::find(names.begin(), names.end(), required) == names.end()) names.push_back(required);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) {
    descriptors.emplace_back(name, name.starts_with("p.") ? rocks_.partition_cf : rocks_.small_cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status os = rocksdb::DB::Open(db_opts, options_.data_dir, descriptors, &handles, &db_);
  if (!os.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the database in '", options_.data_dir, "': ", os.ToString()));
  }
  absl::MutexLock admin(&admin_mu_);
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
  for (size_t i = 0; i < names.size(); ++i) {
    handles_.push_back(handles[i]);
    by_name[names[i]] = handles[i];
  }
  meta_cf_ = by_name[kMetaCf];
  offsets_cf_ = by_name[kOffsetsCf];

  // Topics, with their partitions' offsets and sizes.
  std::set<std::string> used_cfs;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf_));
  const std::string topic_prefix(1, kTopicPrefix);
  for (it->Seek(topic_prefix); it->Valid() && it->key().starts_with(topic_prefix); it->Next()) {
    auto topic = std::make_shared<Topic>();
    std::string_view key(it->key().data(), it->key().size());
    if (!DecodeTopicMeta(key.substr(1), std::string_view(it->value().data(), it->value().size()),
                         &topic->meta)) {
      return absl::DataLossError(
          absl::StrCat("storage: malformed metadata of topic ", std::string(key)));
    }
    for (int32_t p = 0; p < topic->meta.partitions; ++p) {
      const std::string cf_name = PartitionCfName(topic->meta.id, p);
      used_cfs.insert(cf_name);
      rocksdb::ColumnFamilyHandle* cf = by_name[cf_name];
      if (cf == nullptr) {
        // Column families are created before the metadata that names them, so this means the
        // directory was tampered with; an empty partition is the best that can be done.
        rocksdb::Status cs = db_->CreateColumnFamily(rocks_.partition_cf, cf_name, &cf);
        if (!cs.ok()) return FromRocks(cs, "recreate column family");
        handles_.push_back(cf);
      }
      int64_t next = 0, start = 0, bytes = 0;
      std::string stats;
      rocksdb::Status gs =
          db_->Get(rocksdb::ReadOptions(), meta_cf_, StatsKey(topic->meta.id, p), &stats);
      if (gs.ok() && stats.size() == 24) {
        next = static_cast<int64_t>(GetFixed64(stats.data()));
        start = static_cast<int64_t>(GetFixed64(stats.data() + 8));
        bytes = static_cast<int64_t>(GetFixed64(stats.data() + 16));
      } else if (!gs.IsNotFound() && !gs.ok()) {
        return FromRocks(gs, "read partition stats");
      }
      // The stats are written in the same atomic write batch as the records they count, so
      // they are exact after any crash; no data is scanned at start-up.
      topic->partitions.push_back(
          std::make_shared<PartitionLog>(db_, cf, topic->meta.id, p, next, start, bytes));
      recovery_.records += next - start;
      ++recovery_.partitions;
    }
    ++recovery_.topics;
    absl::MutexLock lock(&catalog_mu_);
    topics_[topic->meta.name] = std::move(topic);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read topics");

  // Partitions of topics whose deletion was interrupted, or whose creation never finished.
  for (auto& [name, cf] : by_name) {
    uint64_t id;
    int32_t p;
    if (ParsePartitionCfName(name, &id, &p) && !used_cfs.contains(name)) {
      rocksdb::Status ds = db_->DropColumnFamily(cf);
      if (!ds.ok()) return FromRocks(ds, "drop orphan column family");
    }
  }
  return absl::OkStatus();
}

Store::~Store() { Close(); }

absl::StatusOr<std::vector<std::shared_ptr<PartitionLog>>> Store::CreatePartitionLogs(
    uint64_t topic_id, int32_t from, int32_t to) {
  std::vector<std::string> names;
  for (int32_t p = from; p < to; ++p) names.push_back(PartitionCfName(topic_id, p));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  // One call for all partitions: RocksDB rewrites its OPTIONS file once per call.
  rocksdb::Status s = db_->CreateColumnFamilies(rocks_.partition_cf, names, &handles);
  for (auto* h : handles) handles_.push_back(h);
  if (!s.ok()) return FromRocks(s, "create column families");
  std::vector<std::shared_ptr<PartitionLog>> logs;
  for (int32_t p = from; p < to; ++p) {
    logs.push_back(std::make_shared<PartitionLog>(db_, handles[p - from], topic_id, p, 0, 0, 0));
  }
  return logs;
}

absl::Status Store::PutTopicMeta(const TopicMeta& meta) {
  rocksdb::WriteBatch wb;
  wb.Put(meta_cf_, TopicKey(meta.name), EncodeTopicMeta(meta));
  std::string next;
  PutFixed64(&next, meta.id + 1);
  wb.Put(meta_cf_, kNextTopicIdKey, next);
  rocksdb::WriteOptions wo;
  wo.sync = true;  // metadata is always synced, whatever the policy for records
  return FromRocks(db_->Write(wo, &wb), "write topic metadata");
}

absl::StatusOr<std::shared_ptr<const Topic>> Store::CreateTopic(TopicMeta meta) {
  absl::MutexLock admin(&admin_mu_);
  if (closed_) return absl::UnavailableError("the broker is shutting down");
  if (FindTopic(meta.name) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("topic '", meta.name, "' already exists"));
  }
  std::string next;
  rocksdb::Status gs = db_->Get(rocksdb::ReadOptions(), meta_cf_, kNextTopicIdKey, &next);
  if (!gs.ok() && !gs.IsNotFound()) return FromRocks(gs, "read topic id");
  meta.id = next.size() == 8 ? GetFixed64(next.data()) : 1;
  auto logs = CreatePartitionLogs(meta.id, 0, meta.partitions);
  if (!logs.ok()) return logs.status();
  absl::Status s = PutTopicMeta(meta);
  if (!s.ok()) return s;
  auto topic = std::make_shared<Topic>();
  topic->meta = std::move(meta);
  topic->partitions = *std::move(logs);
  absl::MutexLock lock(&catalog_mu_);
  topics_[topic->meta.name] = topic;
  return std::shared_ptr<const Topic>(topic);
}

absl::StatusOr<std::shared_ptr<const Topic>> Store::AddPartitions(std::string_view name,
                                                                  int32_t total) {
  absl::MutexLock admin(&admin_mu_);
  if (closed_) return absl::UnavailableError("the broker is shutting down");
  std::shared_ptr<const Topic> old = FindTopic(name);
  if (old == nullptr)
    return absl::NotFoundError(absl::StrCat("topic '", std::string(name), "' does not exist"));
  if (total <= old->meta.partitions) {
    return absl::InvalidArgumentError(absl::StrCat(
        "topic '", std::string(name), "' has ", old->meta.partitions,
        " partitions; the new count must be greater (partitions never shrink), got ", total));
  }
  auto logs = CreatePartitionLogs(old->meta.id, old->meta.partitions, total);
  if (!logs.ok()) return logs.status();
  auto topic = std::make_shared<Topic>(*old);
  topic->meta.partitions = total;
  for (auto& l : *logs) topic->partitions.push_back(std::move(l));
  absl::Status s = PutTopicMeta(topic->meta);
  if (!s.ok()) return s;
  absl::MutexLock lock(&catalog_mu_);
  topics_[topic->meta.name] = topic;
  return std::shared_ptr<const Topic>(topic);
}

absl::Status Store::DeleteTopic(std::string_view name) {
  absl::MutexLock admin(&admin_mu_);
  if (closed_) return absl::UnavailableError("the broker is shutting down");
  std::shared_ptr<const Topic> topic;
  {
    absl::MutexLock lock(&catalog_mu_);
    auto it = topics_.find(name);
    if (it == topics_.end()) {
      return absl::NotFoundError(absl::StrCat("topic '", std::string(name), "' does not exist"));
    }
    topic = it->second;
    topics_.erase(it);
  }
  std::vector<PartitionLog::Waiter> fired;
  {
    // Appends check deleted() under the queue's lock, so none is queued for these partitions
    // after.
    absl::MutexLock lock(queue_->mu());
    for (auto& log : topic->partitions) log->MarkGone(PartitionLog::kDeleted, &fired);
  }
  queue_->Notify(std::move(fired));
  absl::Status s = queue_->Barrier();  // earlier appends to the topic reach RocksDB first
  if (!s.ok()) return s;

  rocksdb::WriteBatch wb;
  wb.Delete(meta_cf_, TopicKey(topic->meta.name));
  for (auto& log : topic->partitions)
    wb.Delete(meta_cf_, StatsKey(log->topic_id(), log->partition()));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = FromRocks(db_->Write(wo, &wb), "delete topic metadata");
  if (!s.ok()) return s;
  // Readers may still hold the handles; RocksDB keeps a dropped family readable until Close.
  for (auto& log : topic->partitions) {
    rocksdb::Status ds = db_->DropColumnFamily(log->cf_);
    if (!ds.ok()) return FromRocks(ds, "drop column family");
  }
  return offsets_->DeleteTopic(topic->meta.name);
}

std::shared_ptr<const Topic> Store::FindTopic(std::string_view name) const {
  absl::MutexLock lock(&catalog_mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Topic>> Store::ListTopics() const {
  absl::MutexLock lock(&catalog_mu_);
  std::vector<std::shared_ptr<const Topic>> out;
  out.reserve(topics_.size());
  for (const auto& [name, topic] : topics_) out.push_back(topic);
  return out;
}

void Store::Append(std::vector<AppendPart> parts, AppendDone done) {
  std::vector<int64_t> bases;
  bases.reserve(parts.size());
  absl::Status rejected;
  {
    // Offsets are assigned in queue order, so a partition's batches reach RocksDB in offset
    // order.
    absl::MutexLock lock(queue_->mu());
    if (queue_->closing()) {
      rejected = absl::UnavailableError("the broker is shutting down");
    } else if (!queue_->failed().ok()) {
      rejected = absl::UnavailableError(
          absl::StrCat("storage failed earlier and accepts no writes until a restart: ",
                       queue_->failed().message()));
    } else {
      for (const auto& part : parts) {
        if (part.log->deleted()) {
          rejected = part.log->GoneError();
          break;
        }
      }
    }
    if (rejected.ok()) {
      auto unit = std::make_unique<CommitUnit>();
      unit->ops.reserve(parts.size() * 2);
      for (auto& part : parts) {
        PartitionLog& log = *part.log;
        const int64_t base = log.next_offset_;
        bases.push_back(base);
        log.next_offset_ += part.count;
        const int64_t size = log.size_bytes_.fetch_add(kBatchHeaderBytes + part.payload.size()) +
                             static_cast<int64_t>(kBatchHeaderBytes + part.payload.size());
        unit->bytes += kBatchHeaderBytes + part.payload.size();

        WriteOp data;
        data.cf = log.cf_;
        data.key = OffsetKey(base);
        data.value_prefix = EncodeBatchHeader(part.count, part.max_timestamp_ms);
        data.value = std::move(part.payload);
        unit->ops.push_back(std::move(data));
        WriteOp stats;
        stats.cf = meta_cf_;
        stats.key = StatsKey(log.topic_id(), log.partition());
        stats.value = EncodeStats(log.next_offset_, log.log_start_offset(), size);
        unit->ops.push_back(std::move(stats));
        unit->advances.emplace_back(part.log, log.next_offset_);
      }
      unit->done = [done = std::move(done), bases = std::move(bases)](absl::Status s) {
        done(s, bases);
      };
      queue_->Enqueue(std::move(unit));
      return;
    }
  }
  done(rejected, bases);
}

void Store::Write(std::vector<WriteOp> ops, std::function<void(absl::Status)> done) {
  queue_->Write(std::move(ops), std::move(done));
}

absl::StatusOr<int64_t> Store::EnforceRetention(int64_t now_ms) {
  int64_t removed_total = 0;
  for (const auto& topic : ListTopics()) {
    const TopicMeta& meta = topic->meta;
    if (meta.retention_ms <= 0 && meta.retention_bytes <= 0) continue;
    for (const auto& log : topic->partitions) {
      if (log->deleted()) continue;
      const int64_t end = log->end_offset();
      const std::string upper = OffsetKey(end);
      rocksdb::Slice upper_slice(upper);
      rocksdb::ReadOptions ro;
      ro.iterate_upper_bound = &upper_slice;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log->cf_));
      int64_t bytes = log->size_bytes();
      int64_t new_start = log->log_start_offset();
      int64_t removed_bytes = 0;
      int64_t removed = 0;
      for (it->Seek(OffsetKey(new_start)); it->Valid(); it->Next()) {
        const std::string_view v(it->value().data(), it->value().size());
        BatchHeader header;
        absl::Status s = DecodeBatchHeader(v, &header);
        if (!s.ok()) return s;
        const bool too_old =
            meta.retention_ms > 0 && header.max_timestamp_ms < now_ms - meta.retention_ms;
        const bool too_big =
            meta.retention_bytes > 0 && bytes - removed_bytes > meta.retention_bytes;
        if (!too_old && !too_big) break;
        int64_t base;
        ParseOffsetKey(std::string_view(it->key().data(), it->key().size()), &base);
        new_start = base + header.count;
        removed_bytes += static_cast<int64_t>(v.size());
        ++removed;
      }
      if (!it->status().ok()) return FromRocks(it->status(), "retention scan");
      if (removed == 0) continue;
      {
        absl::MutexLock lock(queue_->mu());
        if (queue_->closing() || log->deleted()) continue;
        auto unit = std::make_unique<CommitUnit>();
        const int64_t old_start = log->log_start_offset();
        log->log_start_.store(new_start, std::memory_order_release);
        const int64_t size = log->size_bytes_.fetch_sub(removed_bytes) - removed_bytes;
        WriteOp del;
        del.kind = WriteOp::Kind::kDeleteRange;
        del.cf = log->cf_;
        del.key = OffsetKey(old_start);
        del.value = OffsetKey(new_start);
        unit->ops.push_back(std::move(del));
        WriteOp stats;
        stats.cf = meta_cf_;
        stats.key = StatsKey(log->topic_id(), log->partition());
        stats.value = EncodeStats(log->next_offset_, new_start, size);
        unit->ops.push_back(std::move(stats));
        queue_->Enqueue(std::move(unit));
      }
      removed_total += removed;
    }
  }
  return removed_total;
}

StoreStats Store::Stats() const {
  StoreStats st;
  if (db_ == nullptr) return st;
  uint64_t v = 0;
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) {
    st.memtable_bytes = static_cast<int64_t>(v);
  }
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimatePendingCompactionBytes, &v)) {
    st.pending_compaction_bytes = static_cast<int64_t>(v);
  }
  if (db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &v)) st.write_stopped = v != 0;
  st.block_cache_bytes = static_cast<int64_t>(rocks_.block_cache->GetUsage());
  st.wal_syncs = static_cast<int64_t>(rocks_.statistics->getTickerCount(rocksdb::WAL_FILE_SYNCED));
  st.write_stall_micros =
      static_cast<int64_t>(rocks_.statistics->getTickerCount(rocksdb::STALL_MICROS));
  st.commit_groups = queue_ == nullptr ? 0 : queue_->commit_groups();
  return st;
}

void Store::CloseReaders() {
  if (queue_ == nullptr) return;  // Open failed: no reader ever saw a partition
  std::vector<PartitionLog::Waiter> fired;
  {
    absl::MutexLock lock(queue_->mu());
    for (const auto& topic : ListTopics()) {
      for (const auto& log : topic->partitions) log->MarkGone(PartitionLog::kClosing, &fired);
    }
  }
  queue_->Notify(std::move(fired));
}

void Store::Close() {
  {
    absl::MutexLock admin(&admin_mu_);
    if (closed_) return;
    closed_ = true;
  }
  CloseReaders();
  if (queue_ != nullptr) queue_->Stop();
  if (db_ == nullptr) return;
  db_->FlushWAL(true);
  {
    absl::MutexLock admin(&admin_mu_);
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
  }
  db_->Close();
  delete db_;
  db_ = nullptr;
}

}  // namespace ferry::storage
