// OffsetStore: consumer groups' committed offsets, in the "offsets" column family, keyed by
// group, topic and partition. Commits go through the store's commit queue, so they are as
// durable as appends under the fsync policy.
// Thread-safe.
#ifndef FERRY_STORAGE_OFFSET_STORE_H_
#define FERRY_STORAGE_OFFSET_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ferry::storage {

class Store;

struct CommittedOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string metadata;
};

class OffsetStore {
 public:
  explicit OffsetStore(Store* store) : store_(store) {}

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
  // Forgets every group's offsets for `topic` (the topic was deleted).
  absl::Status DeleteTopic(std::string_view topic);

 private:
  Store* const store_;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_OFFSET_STORE_H_
