#include "storage/writer.h"

#include <utility>

#include "absl/synchronization/mutex.h"

namespace ferry::storage {

absl::Status Writer::WriteSync(std::vector<WriteOp> ops) {
  absl::Mutex mu;
  bool finished = false;
  absl::Status result;
  Write(std::move(ops), [&](absl::Status s) {
    absl::MutexLock lock(&mu);
    result = std::move(s);
    finished = true;
  });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(&finished));
  return result;
}

}  // namespace ferry::storage
