// MetaRecords on RocksDB: a key prefix per namespace, synced write batches.
#include "storage/meta_records.h"

#include <memory>

#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/rocks_status.h"

namespace ferry::storage {

MetaRecords::MetaRecords(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf)
    : db_(db), meta_cf_(meta_cf) {}

absl::Status MetaRecords::Apply(MetaNamespace ns, const std::vector<Change>& changes) {
  rocksdb::WriteBatch wb;
  for (const Change& c : changes) {
    std::string key(1, static_cast<char>(ns));
    key.append(c.key);
    rocksdb::Status s = c.erase ? wb.Delete(meta_cf_, key) : wb.Put(meta_cf_, key, c.value);
    if (!s.ok()) return FromRocks(s, "batch meta records");
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, &wb), "write meta records");
}

absl::Status MetaRecords::Scan(MetaNamespace ns,
                               const std::function<void(std::string_view, std::string_view)>& fn) {
  const std::string prefix(1, static_cast<char>(ns));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_cf_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const rocksdb::Slice k = it->key();
    const rocksdb::Slice v = it->value();
    fn(std::string_view(k.data() + 1, k.size() - 1), std::string_view(v.data(), v.size()));
  }
  return FromRocks(it->status(), "read meta records");
}

}  // namespace ferry::storage
