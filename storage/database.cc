#include "storage/database.h"

#include <utility>

#include "rocksdb/db.h"

namespace ferry::storage {

Database::Database(rocksdb::DB* db, RocksOptions options,
                   std::vector<rocksdb::ColumnFamilyHandle*> handles,
                   rocksdb::ColumnFamilyHandle* meta_cf, rocksdb::ColumnFamilyHandle* offsets_cf)
    : options_(std::move(options)),
      meta_cf_(meta_cf),
      offsets_cf_(offsets_cf),
      db_(db),
      handles_(std::move(handles)) {}

Database::~Database() { Close(); }

rocksdb::Status Database::CreatePartitionFamilies(
    const std::vector<std::string>& names, std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  absl::MutexLock lock(&mu_);
  std::vector<rocksdb::ColumnFamilyHandle*> created;
  rocksdb::Status s = db_->CreateColumnFamilies(options_.partition_cf, names, &created);
  for (auto* h : created) {
    handles_.push_back(h);
    handles->push_back(h);
  }
  return s;
}

void Database::Close() {
  absl::MutexLock lock(&mu_);
  if (db_ == nullptr) return;
  db_->FlushWAL(true);
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  db_->Close();
  delete db_;
  db_ = nullptr;
}

}  // namespace ferry::storage
