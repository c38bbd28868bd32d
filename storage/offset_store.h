// OffsetStore: consumer groups' committed offsets, in the "offsets" column family, keyed by
// group, topic and partition. Commits go through the store's commit queue (a Writer), so they
// are as durable as appends under the fsync policy.
// Thread-safe.
#ifndef FERRY_STORAGE_OFFSET_STORE_H_
#define FERRY_STORAGE_OFFSET_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ferry::storage {

class Writer;

struct CommittedOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string metadata;
};

class OffsetStore {
 public:
  // Reads `cf` of `db` directly; writes through `writer`. None is owned.
  OffsetStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, Writer* writer)
      : db_(db), cf_(cf), writer_(writer) {}
  OffsetStore(const OffsetStore&) = delete;
  OffsetStore& operator=(const OffsetStore&) = delete;

  // Stores every entry atomically, then calls `done` (on the commit thread).
  void Commit(std::string_view group, const std::vector<CommittedOffset>& offsets,
              std::function<void(absl::Status)> done);
  absl::Status CommitSync(std::string_view group, const std::vector<CommittedOffset>& offsets);

  // nullopt when the group has committed nothing for the partition.
  absl::StatusOr<std::optional<CommittedOffset>> Fetch(std::string_view group,
                                                       std::string_view topic,
                                                       int32_t partition) const;
  absl::StatusOr<std::vector<CommittedOffset>> FetchAll(std::string_view group) const;
  // Every group with at least one committed offset.
  absl::StatusOr<std::vector<std::string>> ListGroups() const;
  absl::Status DeleteGroup(std::string_view group);
  // Forgets the group's offsets of these partitions, in one durable write (OK for partitions
  // it has none of).
  absl::Status DeleteOffsets(std::string_view group,
                             const std::vector<std::pair<std::string, int32_t>>& partitions);
  // Forgets every group's offsets for `topic` (the topic was deleted).
  absl::Status DeleteTopic(std::string_view topic);

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  Writer* const writer_;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_OFFSET_STORE_H_
