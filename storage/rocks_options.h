// RocksOptions: how Ferry tunes RocksDB (database options, column family options, the shared
// block cache and WriteBufferManager, tickers-only statistics), in one place for the store and
// the storage benchmarks.
// Thread-safe: a value; the cache and statistics it points to are themselves thread-safe.
#ifndef FERRY_STORAGE_ROCKS_OPTIONS_H_
#define FERRY_STORAGE_ROCKS_OPTIONS_H_

#include <cstddef>
#include <memory>

#include "rocksdb/options.h"

namespace rocksdb {
class Cache;
class Statistics;
}  // namespace rocksdb

namespace ferry::storage {

struct RocksOptions {
  rocksdb::DBOptions db;
  // One block cache and one statistics object for the whole database; `db` and both column
  // family options below point to them.
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::shared_ptr<rocksdb::Statistics> statistics;
  // For a partition's column family ("p.<topic id>.<partition>").
  rocksdb::ColumnFamilyOptions partition_cf;
  // For the small column families: "meta", "offsets" and RocksDB's unused "default".
  rocksdb::ColumnFamilyOptions small_cf;
};

// Memory stays bounded however many partitions exist: every column family shares a block cache
// of `block_cache_bytes`, and all memtables together stay within `write_buffer_bytes`.
RocksOptions MakeRocksOptions(size_t block_cache_bytes, size_t write_buffer_bytes);

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_ROCKS_OPTIONS_H_
