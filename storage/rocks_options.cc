#include "storage/rocks_options.h"

#include "rocksdb/cache.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"
#include "rocksdb/write_buffer_manager.h"

namespace ferry::storage {
namespace {

rocksdb::ColumnFamilyOptions PartitionCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  // Small per-partition memtables, bounded in total by the shared WriteBufferManager; small
  // arena blocks so that an idle partition costs kilobytes, not a megabyte.
  cf.write_buffer_size = 8 << 20;
  cf.arena_block_size = 64 << 10;
  cf.max_write_buffer_number = 3;
  cf.target_file_size_base = 64 << 20;
  cf.compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = 64 << 10;  // values are whole batches, read sequentially
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = false;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

rocksdb::ColumnFamilyOptions SmallCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf = PartitionCfOptions(cache);
  cf.write_buffer_size = 4 << 20;
  return cf;
}

}  // namespace

RocksOptions MakeRocksOptions(size_t block_cache_bytes, size_t write_buffer_bytes) {
  RocksOptions o;
  o.block_cache = rocksdb::NewLRUCache(block_cache_bytes);
  rocksdb::DBOptions& db = o.db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  db.max_background_jobs = 2;
  db.keep_log_file_num = 3;
  db.max_log_file_size = 16 << 20;
  db.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db.max_open_files = 1024;
  db.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(write_buffer_bytes);
  // One WAL for every partition; cap it so idle partitions' memtables get flushed.
  db.max_total_wal_size = write_buffer_bytes * 2;
  db.avoid_flush_during_shutdown = false;
  // Replayed WAL data stays in memtables at open instead of being flushed as one small SST
  // per partition: with 1,000 partitions that flush alone took seconds.
  db.avoid_flush_during_recovery = true;
  // RocksDB starts this many threads per column family at open to load table handles: with
  // 1,000 partitions the default of 16 meant 16,000 thread starts and seconds of start-up.
  db.max_file_opening_threads = 1;
  // Tickers only (WAL syncs, stall time): no per-operation timers on the write path.
  o.statistics = rocksdb::CreateDBStatistics();
  o.statistics->set_stats_level(rocksdb::StatsLevel::kExceptTimers);
  db.statistics = o.statistics;

  o.partition_cf = PartitionCfOptions(o.block_cache);
  o.small_cf = SmallCfOptions(o.block_cache);
  return o;
}

}  // namespace ferry::storage
