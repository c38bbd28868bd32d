#include "server/broker/producer_ids.h"

#include "absl/strings/str_cat.h"

namespace ferry::broker {
namespace {

// Kafka's limit: an epoch at Short.MaxValue - 1 cannot be bumped; a new id starts at 0.
constexpr int16_t kLastEpoch = INT16_MAX - 1;

}  // namespace

absl::StatusOr<ProducerIdentity> ProducerIds::Fresh() {
  absl::StatusOr<int64_t> id = store_->AllocateProducerId();
  if (!id.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot allocate a producer id: ", id.status().message()));
  }
  absl::MutexLock lock(&mu_);
  Remember(*id, Epochs{0, -1});
  return ProducerIdentity{*id, 0};
}

void ProducerIds::Remember(int64_t id, Epochs epochs) {
  auto [it, inserted] = epochs_.insert_or_assign(id, epochs);
  if (!inserted) return;
  order_.push_back(id);
  while (order_.size() > max_remembered_) {
    epochs_.erase(order_.front());
    order_.pop_front();
  }
}

absl::StatusOr<ProducerIdentity> ProducerIds::Init(std::optional<ProducerIdentity> current) {
  if (!current.has_value()) return Fresh();
  if (current->id < 0 || current->epoch < 0) {
    return absl::InvalidArgumentError(absl::StrCat("producer id ", current->id, " and epoch ",
                                                   current->epoch,
                                                   " must both be set (>= 0) or both be -1"));
  }
  if (!store_->ProducerIdMayExist(current->id)) return Fresh();
  {
    absl::MutexLock lock(&mu_);
    auto it = epochs_.find(current->id);
    Epochs known = it != epochs_.end() ? it->second : Epochs{current->epoch, -1};
    if (current->epoch < known.current) {
      if (current->epoch == known.previous) return ProducerIdentity{current->id, known.current};
      return absl::AbortedError(absl::StrCat("producer id ", current->id, " is at epoch ",
                                             known.current, "; epoch ", current->epoch,
                                             " was fenced by a newer instance of the producer"));
    }
    if (current->epoch < kLastEpoch) {
      // An epoch above the known one: bumped before a restart, or forgotten; trusted.
      const int16_t next = static_cast<int16_t>(current->epoch + 1);
      Remember(current->id, Epochs{next, current->epoch});
      return ProducerIdentity{current->id, next};
    }
  }
  return Fresh();  // epoch exhausted
}

}  // namespace ferry::broker
