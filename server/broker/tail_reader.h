// TailReader: one reader's position in one partition, read forward and waited on. Every reader
// uses it (gRPC direct and group Subscribe, Kafka Fetch), so they share the read limits, the
// wake-up on append and the one reset rule (types.h: OffsetReset) when retention passes them.
// Not thread-safe: one owner drives it at a time; a wait's callback runs on the store's
// notifier thread.
#ifndef FERRY_SERVER_BROKER_TAIL_READER_H_
#define FERRY_SERVER_BROKER_TAIL_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/broker/types.h"
#include "storage/partition_log.h"

namespace ferry::broker {

class Broker;

class TailReader {
 public:
  // Made by Broker::OpenReader (and ConsumerGroups::OpenReader), at a position inside the log.
  TailReader(const Broker* broker, std::string topic, std::string group,
             std::shared_ptr<storage::PartitionLog> log, int64_t next, OffsetReset reset);
  TailReader(TailReader&& other) noexcept { *this = std::move(other); }
  TailReader& operator=(TailReader&& other) noexcept;
  TailReader(const TailReader&) = delete;
  TailReader& operator=(const TailReader&) = delete;
  ~TailReader() { CancelWait(); }

  const std::string& topic() const { return topic_; }
  int32_t partition() const { return log_->partition(); }
  // The offset of the next record to read.
  int64_t next() const { return next_; }
  int64_t end_offset() const { return log_->end_offset(); }
  int64_t log_start_offset() const { return log_->log_start_offset(); }

  // Calls `fn(encoded, offset)` for the records from next() on, at most `max_records` and
  // about `max_bytes` of record bytes (0: the broker's limits; always at least one record when
  // any is there), and moves next() past them. Returns how many; 0 when caught up. When
  // retention has passed next(), applies the reset rule first. Errors: OUT_OF_RANGE (reset
  // kNone), NOT_FOUND (topic deleted), UNAVAILABLE (shutting down), DATA_LOSS, or `fn`'s own
  // (next() then stays at the record `fn` refused).
  using RecordFn = absl::FunctionRef<absl::Status(std::string_view encoded, int64_t offset)>;
  absl::StatusOr<int32_t> Read(int32_t max_records, int32_t max_bytes, RecordFn fn);

  // Calls `wake` once, on the notifier thread, when records past next() become visible or the
  // log goes away. Returns false, registering nothing, when that is already so: read again.
  // At most one wait at a time.
  bool WaitAsync(std::function<void()> wake);
  // Drops a pending wait; true when it had not fired.
  bool CancelWait();

 private:
  const Broker* broker_ = nullptr;
  std::string topic_;
  std::string group_;
  std::shared_ptr<storage::PartitionLog> log_;
  int64_t next_ = 0;
  OffsetReset reset_ = OffsetReset::kNone;
  uint64_t waiter_ = 0;
};

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_TAIL_READER_H_
