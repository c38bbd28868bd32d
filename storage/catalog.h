// Catalog: the topics. They are persisted in the meta column family (a topic's settings, each
// partition's stats, the next topic id) and served from memory as immutable snapshots, each
// with its partitions' logs.
//
// Thread-safe. Find and List never wait for I/O. Create, Grow, SetSettings, Remove and Drop do
// I/O and must be serialized by the caller (the store's admin lock).
#ifndef FERRY_STORAGE_CATALOG_H_
#define FERRY_STORAGE_CATALOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/partition_log.h"
#include "storage/topic.h"
#include "storage/writer.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ferry::storage {

class Database;

// --- The meta column family's keys and values; only these functions know their layout. ---

// t<name> -> TopicMeta: id, partitions, retention ms and bytes, record limit (32 bytes, as
// every Ferry wrote before topic UUIDs), then the UUID (16 bytes).
constexpr char kTopicKeyPrefix = 't';
std::string TopicKey(std::string_view name);
std::string EncodeTopicMeta(const TopicMeta& meta);
// False when `value` is not an encoded TopicMeta. `name` is the key without its prefix. A
// value without a UUID (an older Ferry's) decodes with an all-zero `uuid`.
bool DecodeTopicMeta(std::string_view name, std::string_view value, TopicMeta* meta);

// A new random topic UUID (version 4), never all zero.
TopicUuid NewTopicUuid();
bool IsZeroUuid(const TopicUuid& uuid);

// s<topic id BE64><partition BE32> -> PartitionStats. Written in the same atomic write as the
// records they count, so they are exact after any crash and recovery scans no data.
struct PartitionStats {
  int64_t next_offset = 0;
  int64_t log_start_offset = 0;
  int64_t size_bytes = 0;
};
std::string StatsKey(uint64_t topic_id, int32_t partition);
std::string EncodePartitionStats(const PartitionStats& stats);
// False when `value` is not an encoded PartitionStats.
bool DecodePartitionStats(std::string_view value, PartitionStats* stats);

// n -> the next topic id (fixed64).
inline constexpr char kNextTopicIdKey[] = "n";

// A partition's column family: "p.<topic id>.<partition>".
inline constexpr char kPartitionCfPrefix[] = "p.";
std::string PartitionCfName(uint64_t topic_id, int32_t partition);
bool ParsePartitionCfName(std::string_view name, uint64_t* topic_id, int32_t* partition);

class Catalog {
 public:
  // `db` must outlive the catalog.
  explicit Catalog(Database* db);
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // nullptr when there is no such topic.
  std::shared_ptr<const Topic> Find(std::string_view name) const;
  std::shared_ptr<const Topic> FindByUuid(const TopicUuid& uuid) const;
  std::vector<std::shared_ptr<const Topic>> List() const;

  // Serves a topic rebuilt from the meta column family (at recovery). A topic an older Ferry
  // created (no UUID) gets one here, persisted (synced) before it is served.
  absl::Status Restore(std::shared_ptr<Topic> topic);
  // Creates the topic's column families, then its metadata (synced). ALREADY_EXISTS when the
  // name is taken. `meta.id` and `meta.uuid` are assigned here.
  absl::StatusOr<std::shared_ptr<const Topic>> Create(TopicMeta meta);
  // Grows a topic to `total` partitions (INVALID_ARGUMENT unless it grows).
  absl::StatusOr<std::shared_ptr<const Topic>> Grow(std::string_view name, int32_t total);
  // Replaces a topic's settings (retention, record limit; its name, id and partitions stay) with
  // those of `settings`, synced, and serves the new snapshot. NOT_FOUND when there is none.
  absl::StatusOr<std::shared_ptr<const Topic>> SetSettings(std::string_view name,
                                                           const TopicMeta& settings);
  // Stops serving the topic (NOT_FOUND when there is none); its metadata and column families
  // stay until Drop.
  absl::StatusOr<std::shared_ptr<const Topic>> Remove(std::string_view name);
  // Deletes a removed topic's metadata (synced), then drops its column families.
  absl::Status Drop(const Topic& topic);

  // The put of `log`'s stats, for the commit queue to write with the change they describe.
  WriteOp StatsWrite(const PartitionLog& log, const PartitionStats& stats) const;

 private:
  absl::StatusOr<std::vector<std::shared_ptr<PartitionLog>>> CreatePartitionLogs(uint64_t topic_id,
                                                                                 int32_t from,
                                                                                 int32_t to);
  // Writes the topic's settings, synced, and for a `created` topic the next topic id (only
  // then: rewriting an older topic must not move the next id back onto a newer topic's).
  absl::Status PutTopicMeta(const TopicMeta& meta, bool created);
  void Publish(std::shared_ptr<const Topic> topic);

  Database* const db_;
  rocksdb::ColumnFamilyHandle* const meta_cf_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const Topic>, std::less<>> topics_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_CATALOG_H_
