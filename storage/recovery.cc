#include "storage/recovery.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/catalog.h"
#include "storage/database.h"
#include "storage/partition_log.h"
#include "storage/producer_state.h"
#include "storage/rocks_options.h"
#include "storage/rocks_status.h"
#include "storage/topic.h"

namespace ferry::storage {
namespace {

constexpr char kMetaCf[] = "meta";
constexpr char kOffsetsCf[] = "offsets";

absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(
    const std::string& dir, const RocksOptions& options,
    std::map<std::string, rocksdb::ColumnFamilyHandle*>* by_name) {
  std::vector<std::string> names;
  rocksdb::Status ls = rocksdb::DB::ListColumnFamilies(options.db, dir, &names);
  if (!ls.ok()) names = {rocksdb::kDefaultColumnFamilyName};  // a new database
  for (const char* required : {kMetaCf, kOffsetsCf}) {
    if (std::find(names.begin(), names.end(), required) == names.end()) names.push_back(required);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) {
    descriptors.emplace_back(
        name, name.starts_with(kPartitionCfPrefix) ? options.partition_cf : options.small_cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status os = rocksdb::DB::Open(options.db, dir, descriptors, &handles, &db);
  if (!os.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the database in '", dir, "': ", os.ToString()));
  }
  for (size_t i = 0; i < names.size(); ++i) (*by_name)[names[i]] = handles[i];
  return std::make_unique<Database>(db, options, std::move(handles), (*by_name)[kMetaCf],
                                    (*by_name)[kOffsetsCf]);
}

}  // namespace

absl::StatusOr<RecoverySummary> Recover(const std::string& dir, const RocksOptions& options,
                                        std::unique_ptr<Database>* db_out,
                                        std::unique_ptr<Catalog>* catalog_out) {
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
  auto db_or = OpenDatabase(dir, options, &by_name);
  if (!db_or.ok()) return db_or.status();
  std::unique_ptr<Database> db = *std::move(db_or);
  auto catalog = std::make_unique<Catalog>(db.get());
  RecoverySummary summary;

  // Idempotent producers' state, by partition; written with the batches it describes, so it
  // matches the records exactly after any crash.
  std::map<std::pair<uint64_t, int32_t>, std::vector<std::pair<int64_t, ProducerEntry>>> producers;
  {
    std::unique_ptr<rocksdb::Iterator> pit(
        db->db()->NewIterator(rocksdb::ReadOptions(), db->meta_cf()));
    for (pit->Seek(kProducerStatePrefix);
         pit->Valid() && pit->key().starts_with(kProducerStatePrefix); pit->Next()) {
      const std::string_view key(pit->key().data(), pit->key().size());
      uint64_t topic_id;
      int32_t partition;
      int64_t producer_id;
      ProducerEntry entry;
      if (!ParseProducerStateKey(key, &topic_id, &partition, &producer_id) ||
          !DecodeProducerEntry(std::string_view(pit->value().data(), pit->value().size()),
                               &entry)) {
        return absl::DataLossError("storage: malformed idempotent producer state");
      }
      producers[{topic_id, partition}].emplace_back(producer_id, std::move(entry));
    }
    if (!pit->status().ok()) return FromRocks(pit->status(), "read producer state");
  }

  // Topics, with their partitions' offsets and sizes.
  std::set<std::string> used_cfs;
  std::unique_ptr<rocksdb::Iterator> it(
      db->db()->NewIterator(rocksdb::ReadOptions(), db->meta_cf()));
  const std::string topic_prefix(1, kTopicKeyPrefix);
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
      auto found = by_name.find(cf_name);
      rocksdb::ColumnFamilyHandle* cf = found == by_name.end() ? nullptr : found->second;
      if (cf == nullptr) {
        // Column families are created before the metadata that names them, so this means the
        // directory was tampered with; an empty partition is the best that can be done.
        std::vector<rocksdb::ColumnFamilyHandle*> created;
        rocksdb::Status cs = db->CreatePartitionFamilies({cf_name}, &created);
        if (!cs.ok()) return FromRocks(cs, "recreate column family");
        cf = created[0];
      }
      PartitionStats stats;
      std::string value;
      rocksdb::Status gs =
          db->db()->Get(rocksdb::ReadOptions(), db->meta_cf(), StatsKey(topic->meta.id, p), &value);
      if (gs.ok()) {
        DecodePartitionStats(value, &stats);  // a malformed value: an empty partition, as ever
      } else if (!gs.IsNotFound()) {
        return FromRocks(gs, "read partition stats");
      }
      // The stats are written in the same atomic write batch as the records they count, so
      // they are exact after any crash; no data is scanned at start-up.
      std::vector<std::pair<int64_t, ProducerEntry>> partition_producers;
      if (auto found_producers = producers.find({topic->meta.id, p});
          found_producers != producers.end()) {
        partition_producers = std::move(found_producers->second);
        producers.erase(found_producers);
      }
      topic->partitions.push_back(std::make_shared<PartitionLog>(
          db->db(), cf, topic->meta.id, p, stats.next_offset, stats.log_start_offset,
          stats.size_bytes, std::move(partition_producers)));
      summary.records += stats.next_offset - stats.log_start_offset;
      ++summary.partitions;
    }
    ++summary.topics;
    if (absl::Status rs = catalog->Restore(std::move(topic)); !rs.ok()) return rs;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read topics");
  it.reset();

  // State of producers on partitions that no longer exist (none is expected: a topic's state
  // is deleted with its metadata).
  if (!producers.empty()) {
    rocksdb::WriteBatch wb;
    for (const auto& [where, entries] : producers) {
      for (const auto& [id, entry] : entries) {
        wb.Delete(db->meta_cf(), ProducerStateKey(where.first, where.second, id));
      }
    }
    rocksdb::Status ws = db->db()->Write(rocksdb::WriteOptions(), &wb);
    if (!ws.ok()) return FromRocks(ws, "delete orphan producer state");
  }

  // Partitions of topics whose deletion was interrupted, or whose creation never finished.
  for (auto& [name, cf] : by_name) {
    uint64_t id;
    int32_t p;
    if (ParsePartitionCfName(name, &id, &p) && !used_cfs.contains(name)) {
      rocksdb::Status ds = db->db()->DropColumnFamily(cf);
      if (!ds.ok()) return FromRocks(ds, "drop orphan column family");
    }
  }
  *db_out = std::move(db);
  *catalog_out = std::move(catalog);
  return summary;
}

}  // namespace ferry::storage
