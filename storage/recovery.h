// Recovery: opens the data directory's database with every column family in it, rebuilds the
// catalog and every partition log from the meta column family alone (each partition's offsets
// and size come from its stored stats, so no data is scanned), and drops the column families of
// topics whose deletion or creation was interrupted.
// Not thread-safe: runs once, before the store serves anything.
#ifndef FERRY_STORAGE_RECOVERY_H_
#define FERRY_STORAGE_RECOVERY_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ferry::storage {

class Catalog;
class Database;
struct RocksOptions;

struct RecoverySummary {
  int topics = 0;
  int partitions = 0;
  int64_t records = 0;
  // Wall time of the whole Store::Open (absl::Now(), not the injected clock).
  absl::Duration duration;
};

// Opens (or creates) the database in `dir` with `options` and recovers its catalog into
// `*db` and `*catalog`. `duration` is left for the caller to measure.
absl::StatusOr<RecoverySummary> Recover(const std::string& dir, const RocksOptions& options,
                                        std::unique_ptr<Database>* db,
                                        std::unique_ptr<Catalog>* catalog);

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_RECOVERY_H_
