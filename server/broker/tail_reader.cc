#include "server/broker/tail_reader.h"

#include <utility>

#include "server/broker/broker.h"

namespace ferry::broker {

TailReader::TailReader(const Broker* broker, std::string topic, std::string group,
                       std::shared_ptr<storage::PartitionLog> log, int64_t next, OffsetReset reset)
    : broker_(broker),
      topic_(std::move(topic)),
      group_(std::move(group)),
      log_(std::move(log)),
      next_(next),
      reset_(reset) {}

TailReader& TailReader::operator=(TailReader&& other) noexcept {
  if (this == &other) return *this;
  CancelWait();
  broker_ = other.broker_;
  topic_ = std::move(other.topic_);
  group_ = std::move(other.group_);
  log_ = std::move(other.log_);
  next_ = other.next_;
  reset_ = other.reset_;
  waiter_ = std::exchange(other.waiter_, 0);
  return *this;
}

absl::StatusOr<int32_t> TailReader::Read(int32_t max_records, int32_t max_bytes, RecordFn fn) {
  // Two rounds at most: the reset rule moves the position once, then the read happens.
  for (int round = 0;; ++round) {
    int32_t records = 0;
    auto next = broker_->ForEachRecord(*log_, next_, max_records, max_bytes,
                                       [&](std::string_view encoded, int64_t offset) {
                                         absl::Status s = fn(encoded, offset);
                                         if (s.ok()) {
                                           ++records;
                                           next_ = offset + 1;
                                         }
                                         return s;
                                       });
    if (next.ok()) {
      if (records > 0 && broker_->observer() != nullptr) {
        broker_->observer()->OnDelivered(topic_, group_, records);
      }
      return records;
    }
    // Retention passed the reader by (the only way next_ leaves the log while reading).
    const int64_t start = log_->log_start_offset();
    if (round == 0 && absl::IsOutOfRange(next.status()) && next_ < start &&
        reset_ != OffsetReset::kNone) {
      next_ = reset_ == OffsetReset::kEarliest ? start : log_->end_offset();
      continue;
    }
    if (records > 0 && broker_->observer() != nullptr) {
      broker_->observer()->OnDelivered(topic_, group_, records);
    }
    return next.status();
  }
}

bool TailReader::WaitAsync(std::function<void()> wake) {
  CancelWait();
  waiter_ = log_->AddWaiter(next_, std::move(wake));
  return waiter_ != 0;
}

bool TailReader::CancelWait() {
  if (waiter_ == 0) return false;
  const bool removed = log_->RemoveWaiter(waiter_);
  waiter_ = 0;
  return removed;
}

}  // namespace ferry::broker
