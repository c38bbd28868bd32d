// MetaRecords: small records the engine keeps beside the topic catalog in the meta column
// family, in namespaces of their own (the security module's users and ACLs), opaque to storage.
// Every change is one atomic, synced write, whatever the fsync policy for records, as topic
// metadata is.
// Thread-safe (RocksDB's own).
#ifndef FERRY_STORAGE_META_RECORDS_H_
#define FERRY_STORAGE_META_RECORDS_H_

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ferry::storage {

// The namespaces: a record's key is its namespace's prefix followed by the caller's key.
// Prefixes never collide with the catalog's keys (t, s, n, pn, ps).
enum class MetaNamespace : char {
  kUsers = 'U',
  kAcls = 'A',
};

class MetaRecords {
 public:
  // `db` and `meta_cf` must outlive it.
  MetaRecords(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf);

  struct Change {
    std::string key;
    std::string value;
    bool erase = false;  // delete `key` (value ignored)
  };
  // Applies every change atomically, synced.
  absl::Status Apply(MetaNamespace ns, const std::vector<Change>& changes);
  // Calls `fn(key, value)` for every record of `ns`, in key order.
  absl::Status Scan(MetaNamespace ns,
                    const std::function<void(std::string_view key, std::string_view value)>& fn);

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const meta_cf_;
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_META_RECORDS_H_
