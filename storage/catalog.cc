#include "storage/catalog.h"

#include <random>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/database.h"
#include "storage/encoding.h"
#include "storage/producer_state.h"
#include "storage/rocks_status.h"

namespace ferry::storage {
namespace {

constexpr char kStatsKeyPrefix = 's';
constexpr size_t kTopicMetaBytesV1 = 32;  // before topic UUIDs
constexpr size_t kTopicMetaBytes = kTopicMetaBytesV1 + 16;
constexpr size_t kPartitionStatsBytes = 24;

}  // namespace

std::string TopicKey(std::string_view name) {
  return std::string(1, kTopicKeyPrefix) + std::string(name);
}

std::string EncodeTopicMeta(const TopicMeta& m) {
  std::string v;
  PutFixed64(&v, m.id);
  PutFixed32(&v, static_cast<uint32_t>(m.partitions));
  PutFixed64(&v, static_cast<uint64_t>(m.retention_ms));
  PutFixed64(&v, static_cast<uint64_t>(m.retention_bytes));
  PutFixed32(&v, static_cast<uint32_t>(m.max_record_bytes));
  v.append(reinterpret_cast<const char*>(m.uuid.data()), m.uuid.size());
  return v;
}

bool DecodeTopicMeta(std::string_view name, std::string_view v, TopicMeta* m) {
  if (v.size() != kTopicMetaBytes && v.size() != kTopicMetaBytesV1) return false;
  m->name.assign(name);
  m->id = GetFixed64(v.data());
  m->partitions = static_cast<int32_t>(GetFixed32(v.data() + 8));
  m->retention_ms = static_cast<int64_t>(GetFixed64(v.data() + 12));
  m->retention_bytes = static_cast<int64_t>(GetFixed64(v.data() + 20));
  m->max_record_bytes = static_cast<int32_t>(GetFixed32(v.data() + 28));
  m->uuid = {};
  if (v.size() == kTopicMetaBytes) {
    for (size_t i = 0; i < m->uuid.size(); ++i) {
      m->uuid[i] = static_cast<uint8_t>(v[kTopicMetaBytesV1 + i]);
    }
  }
  return true;
}

TopicUuid NewTopicUuid() {
  static absl::Mutex mu(absl::kConstInit);
  static std::mt19937_64* rng = nullptr;
  TopicUuid u;
  {
    absl::MutexLock lock(&mu);
    if (rng == nullptr) {
      std::random_device seed;
      std::seed_seq seq{seed(), seed(), seed(), seed(), seed(), seed(), seed(), seed()};
      rng = new std::mt19937_64(seq);
    }
    const uint64_t hi = (*rng)();
    const uint64_t lo = (*rng)();
    for (int i = 0; i < 8; ++i) {
      u[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
      u[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
    }
  }
  u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);  // version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return u;                                           // the version bits make it non-zero
}

bool IsZeroUuid(const TopicUuid& uuid) {
  for (uint8_t b : uuid) {
    if (b != 0) return false;
  }
  return true;
}

std::string StatsKey(uint64_t topic_id, int32_t partition) {
  std::string key(1, kStatsKeyPrefix);
  PutBigEndian64(&key, topic_id);
  PutBigEndian32(&key, static_cast<uint32_t>(partition));
  return key;
}

std::string EncodePartitionStats(const PartitionStats& stats) {
  std::string v;
  PutFixed64(&v, static_cast<uint64_t>(stats.next_offset));
  PutFixed64(&v, static_cast<uint64_t>(stats.log_start_offset));
  PutFixed64(&v, static_cast<uint64_t>(stats.size_bytes));
  return v;
}

bool DecodePartitionStats(std::string_view v, PartitionStats* stats) {
  if (v.size() != kPartitionStatsBytes) return false;
  stats->next_offset = static_cast<int64_t>(GetFixed64(v.data()));
  stats->log_start_offset = static_cast<int64_t>(GetFixed64(v.data() + 8));
  stats->size_bytes = static_cast<int64_t>(GetFixed64(v.data() + 16));
  return true;
}

std::string PartitionCfName(uint64_t topic_id, int32_t partition) {
  return absl::StrCat(kPartitionCfPrefix, topic_id, ".", partition);
}

bool ParsePartitionCfName(std::string_view name, uint64_t* topic_id, int32_t* partition) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(name.data(), name.size()), '.');
  return parts.size() == 3 && parts[0] == "p" && absl::SimpleAtoi(parts[1], topic_id) &&
         absl::SimpleAtoi(parts[2], partition);
}

Catalog::Catalog(Database* db) : db_(db), meta_cf_(db->meta_cf()) {}

std::shared_ptr<const Topic> Catalog::Find(std::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Topic>> Catalog::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<const Topic>> out;
  out.reserve(topics_.size());
  for (const auto& [name, topic] : topics_) out.push_back(topic);
  return out;
}

void Catalog::Publish(std::shared_ptr<const Topic> topic) {
  absl::MutexLock lock(&mu_);
  const std::string& name = topic->meta.name;
  topics_[name] = std::move(topic);
}

std::shared_ptr<const Topic> Catalog::FindByUuid(const TopicUuid& uuid) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [name, topic] : topics_) {
    if (topic->meta.uuid == uuid) return topic;
  }
  return nullptr;
}

absl::Status Catalog::Restore(std::shared_ptr<Topic> topic) {
  if (IsZeroUuid(topic->meta.uuid)) {
    topic->meta.uuid = NewTopicUuid();
    absl::Status s = PutTopicMeta(topic->meta, /*created=*/false);
    if (!s.ok()) return s;
  }
  Publish(std::move(topic));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::shared_ptr<PartitionLog>>> Catalog::CreatePartitionLogs(
    uint64_t topic_id, int32_t from, int32_t to) {
  std::vector<std::string> names;
  for (int32_t p = from; p < to; ++p) names.push_back(PartitionCfName(topic_id, p));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = db_->CreatePartitionFamilies(names, &handles);
  if (!s.ok()) return FromRocks(s, "create column families");
  std::vector<std::shared_ptr<PartitionLog>> logs;
  for (int32_t p = from; p < to; ++p) {
    logs.push_back(
        std::make_shared<PartitionLog>(db_->db(), handles[p - from], topic_id, p, 0, 0, 0));
  }
  return logs;
}

absl::Status Catalog::PutTopicMeta(const TopicMeta& meta, bool created) {
  rocksdb::WriteBatch wb;
  wb.Put(meta_cf_, TopicKey(meta.name), EncodeTopicMeta(meta));
  if (created) {
    std::string next;
    PutFixed64(&next, meta.id + 1);
    wb.Put(meta_cf_, kNextTopicIdKey, next);
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;  // metadata is always synced, whatever the policy for records
  return FromRocks(db_->db()->Write(wo, &wb), "write topic metadata");
}

absl::StatusOr<std::shared_ptr<const Topic>> Catalog::Create(TopicMeta meta) {
  if (Find(meta.name) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("topic '", meta.name, "' already exists"));
  }
  std::string next;
  rocksdb::Status gs = db_->db()->Get(rocksdb::ReadOptions(), meta_cf_, kNextTopicIdKey, &next);
  if (!gs.ok() && !gs.IsNotFound()) return FromRocks(gs, "read topic id");
  meta.id = next.size() == 8 ? GetFixed64(next.data()) : 1;
  meta.uuid = NewTopicUuid();
  auto logs = CreatePartitionLogs(meta.id, 0, meta.partitions);
  if (!logs.ok()) return logs.status();
  absl::Status s = PutTopicMeta(meta, /*created=*/true);
  if (!s.ok()) return s;
  auto topic = std::make_shared<Topic>();
  topic->meta = std::move(meta);
  topic->partitions = *std::move(logs);
  Publish(topic);
  return std::shared_ptr<const Topic>(topic);
}

absl::StatusOr<std::shared_ptr<const Topic>> Catalog::Grow(std::string_view name, int32_t total) {
  std::shared_ptr<const Topic> old = Find(name);
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
  absl::Status s = PutTopicMeta(topic->meta, /*created=*/false);
  if (!s.ok()) return s;
  Publish(topic);
  return std::shared_ptr<const Topic>(topic);
}

absl::StatusOr<std::shared_ptr<const Topic>> Catalog::SetSettings(std::string_view name,
                                                                  const TopicMeta& settings) {
  std::shared_ptr<const Topic> old = Find(name);
  if (old == nullptr)
    return absl::NotFoundError(absl::StrCat("topic '", std::string(name), "' does not exist"));
  auto topic = std::make_shared<Topic>(*old);
  topic->meta.retention_ms = settings.retention_ms;
  topic->meta.retention_bytes = settings.retention_bytes;
  topic->meta.max_record_bytes = settings.max_record_bytes;
  absl::Status s = PutTopicMeta(topic->meta, /*created=*/false);
  if (!s.ok()) return s;
  Publish(topic);
  return std::shared_ptr<const Topic>(topic);
}

absl::StatusOr<std::shared_ptr<const Topic>> Catalog::Remove(std::string_view name) {
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    return absl::NotFoundError(absl::StrCat("topic '", std::string(name), "' does not exist"));
  }
  std::shared_ptr<const Topic> topic = std::move(it->second);
  topics_.erase(it);
  return topic;
}

absl::Status Catalog::Drop(const Topic& topic) {
  rocksdb::WriteBatch wb;
  wb.Delete(meta_cf_, TopicKey(topic.meta.name));
  for (auto& log : topic.partitions)
    wb.Delete(meta_cf_, StatsKey(log->topic_id(), log->partition()));
  // Its idempotent producers' state, in the same write.
  wb.DeleteRange(meta_cf_, ProducerStateTopicStart(topic.meta.id),
                 ProducerStateTopicStart(topic.meta.id + 1));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  absl::Status s = FromRocks(db_->db()->Write(wo, &wb), "delete topic metadata");
  if (!s.ok()) return s;
  // Readers may still hold the handles; RocksDB keeps a dropped family readable until Close.
  for (auto& log : topic.partitions) {
    rocksdb::Status ds = db_->db()->DropColumnFamily(log->cf());
    if (!ds.ok()) return FromRocks(ds, "drop column family");
  }
  return absl::OkStatus();
}

WriteOp Catalog::StatsWrite(const PartitionLog& log, const PartitionStats& stats) const {
  WriteOp op;
  op.cf = meta_cf_;
  op.key = StatsKey(log.topic_id(), log.partition());
  op.value = EncodePartitionStats(stats);
  return op;
}

}  // namespace ferry::storage
