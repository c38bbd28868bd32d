// FromRocks: the one translation of a RocksDB status into an absl::Status for all of storage/.
// Thread-safe (a pure function).
#ifndef FERRY_STORAGE_ROCKS_STATUS_H_
#define FERRY_STORAGE_ROCKS_STATUS_H_

#include <string_view>

#include "absl/status/status.h"

namespace rocksdb {
class Status;
}  // namespace rocksdb

namespace ferry::storage {

// OK when `s` is; otherwise INTERNAL "storage: <what>: <s>", or "storage: <s>" when `what` is
// empty.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what = {});

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_ROCKS_STATUS_H_
