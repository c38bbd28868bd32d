// FromRocks: the one translation of a RocksDB status into an absl::Status for all of storage/,
// and WriteFailure, the status of a write the data dir refused (full disk, I/O error), which each
// door recognises with IsStorageWriteFailure. Thread-safe (pure functions).
#ifndef FERRY_STORAGE_ROCKS_STATUS_H_
#define FERRY_STORAGE_ROCKS_STATUS_H_

#include <string_view>

#include "absl/status/status.h"

namespace rocksdb {
class Status;
}  // namespace rocksdb

namespace ferry::storage {

// OK when `s` is; otherwise INTERNAL "storage: <what>: <s>", or "storage: <s>" when `what` is
// empty; RESOURCE_EXHAUSTED when the disk is full. I/O errors are marked as write failures.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what = {});

// A failed RocksDB write on `data_dir`, as the store refuses writes until it recovers:
// RESOURCE_EXHAUSTED "no space left on the data dir <dir>: writes are refused until space is
// freed (<s>)" for a full disk, UNAVAILABLE "the data dir <dir> failed a write: ..." otherwise.
absl::Status WriteFailure(const rocksdb::Status& s, std::string_view data_dir);

// True for a status made by WriteFailure, or by FromRocks from an I/O error: the data dir, not
// the request, is at fault (Kafka: KAFKA_STORAGE_ERROR, which clients retry).
bool IsStorageWriteFailure(const absl::Status& s);

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_ROCKS_STATUS_H_
