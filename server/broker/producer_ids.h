// ProducerIds: the engine's idempotent producer sessions: a new producer id with epoch 0, or,
// given the id and epoch a producer holds (Kafka's InitProducerId v3+, KIP-360), the next epoch
// of that id, so the producer restarts its sequences without losing its identity; an older
// epoch is fenced. Ids come from the store (persisted, never reused).
//
// Epochs live in memory, bounded: after a restart, or once an id is forgotten, a producer's
// own epoch is trusted and bumped (its partitions still refuse any epoch older than the one
// they stored). Thread-safe.
#ifndef FERRY_SERVER_BROKER_PRODUCER_IDS_H_
#define FERRY_SERVER_BROKER_PRODUCER_IDS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/types.h"
#include "storage/store.h"

namespace ferry::broker {

class ProducerIds {
 public:
  // `store` outlives this. At most `max_remembered` ids' epochs are kept.
  explicit ProducerIds(storage::Store* store, size_t max_remembered = 100000)
      : store_(store), max_remembered_(max_remembered) {}
  ProducerIds(const ProducerIds&) = delete;
  ProducerIds& operator=(const ProducerIds&) = delete;

  // `current` empty: a new id, epoch 0. Otherwise the next epoch of `current.id`; the same
  // answer again for a retry of the last bump (its answer was lost); a new id when the epoch
  // is exhausted or the id was never allocated here. ABORTED when `current.epoch` is older
  // than the id's (another instance bumped it: Kafka PRODUCER_FENCED); UNAVAILABLE when the
  // id block cannot be persisted.
  absl::StatusOr<ProducerIdentity> Init(std::optional<ProducerIdentity> current)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Epochs {
    int16_t current = 0;
    int16_t previous = -1;  // the epoch before the last bump
  };
  absl::StatusOr<ProducerIdentity> Fresh() ABSL_LOCKS_EXCLUDED(mu_);
  void Remember(int64_t id, Epochs epochs) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::Store* const store_;
  const size_t max_remembered_;
  absl::Mutex mu_;
  absl::flat_hash_map<int64_t, Epochs> epochs_ ABSL_GUARDED_BY(mu_);
  std::deque<int64_t> order_ ABSL_GUARDED_BY(mu_);  // first remembered first, for eviction
};

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_PRODUCER_IDS_H_
