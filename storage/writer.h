// WriteOp and Writer: one change to the database, and the interface through which changes are
// applied atomically, in order and as durably as the fsync policy asks (the commit queue).
// Writer implementations are thread-safe.
#ifndef FERRY_STORAGE_WRITER_H_
#define FERRY_STORAGE_WRITER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace rocksdb {
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ferry::storage {

// One change of a write. A put's value is `value_prefix` followed by `value`.
struct WriteOp {
  enum class Kind { kPut, kDelete, kDeleteRange };
  Kind kind = Kind::kPut;
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  std::string key;
  std::string value_prefix;
  std::string value;  // kDeleteRange: the exclusive end key
};

class Writer {
 public:
  virtual ~Writer() = default;

  // Applies `ops` atomically (durable per the fsync policy), then calls `done` on the writer's
  // thread; `done` may run inside this call when the write is refused.
  virtual void Write(std::vector<WriteOp> ops, std::function<void(absl::Status)> done) = 0;
  // Blocking form of Write.
  absl::Status WriteSync(std::vector<WriteOp> ops);
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_WRITER_H_
