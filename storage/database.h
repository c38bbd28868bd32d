// Database: the open RocksDB instance, the options it was opened with (with the shared block
// cache and statistics), and every column family handle opened on it, all closed together.
// Thread-safe, except that nothing may use db() or a handle once Close() has begun.
#ifndef FERRY_STORAGE_DATABASE_H_
#define FERRY_STORAGE_DATABASE_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "storage/rocks_options.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Status;
}  // namespace rocksdb

namespace ferry::storage {

class Database {
 public:
  // Takes ownership of `db` and of `handles` (every handle DB::Open returned), among which are
  // `meta_cf` and `offsets_cf`.
  Database(rocksdb::DB* db, RocksOptions options, std::vector<rocksdb::ColumnFamilyHandle*> handles,
           rocksdb::ColumnFamilyHandle* meta_cf, rocksdb::ColumnFamilyHandle* offsets_cf);
  ~Database();  // Close()s.
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // nullptr once closed.
  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* meta_cf() const { return meta_cf_; }
  rocksdb::ColumnFamilyHandle* offsets_cf() const { return offsets_cf_; }
  const RocksOptions& options() const { return options_; }

  // Creates one column family with the partition options per name, in one call (RocksDB
  // rewrites its OPTIONS file once per call), and appends their handles to `handles`. Handles
  // are kept for Close even when the call fails part way. A dropped family's handle stays
  // valid, and its data readable, until Close.
  rocksdb::Status CreatePartitionFamilies(const std::vector<std::string>& names,
                                          std::vector<rocksdb::ColumnFamilyHandle*>* handles);

  // Syncs the WAL, destroys every handle and closes the database. Idempotent.
  void Close();

 private:
  const RocksOptions options_;
  rocksdb::ColumnFamilyHandle* const meta_cf_;
  rocksdb::ColumnFamilyHandle* const offsets_cf_;

  absl::Mutex mu_;
  rocksdb::DB* db_;  // written under mu_, by Close only
  std::vector<rocksdb::ColumnFamilyHandle*> handles_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_DATABASE_H_
