// ProducerStateTable: one partition's idempotent producers, as Kafka keeps them (KIP-98): per
// producer id its epoch, when it last appended, and the sequence numbers and base offsets of
// its last kMaxCachedBatches batches, so a retried batch is acknowledged with its original
// offsets and stored once, and a gap or a stale epoch is refused.
//
// Persisted in the meta column family (ProducerStateKey -> EncodeProducerEntry), written in the
// same atomic write as the batch that changed it, so a crash never keeps one without the other.
// Thread-safe (its own mutex, taken inside the commit queue's: the store checks and records an
// append under the queue's mutex, so checks and offsets are decided in one order).
#ifndef FERRY_STORAGE_PRODUCER_STATE_H_
#define FERRY_STORAGE_PRODUCER_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace ferry::storage {

// Kafka's max.in.flight.requests.per.connection with idempotence: the batches a producer may
// have unacknowledged, hence the ones a retry can repeat.
inline constexpr int kMaxCachedBatches = 5;

// Who sent an append, and where it sits in that producer's sequence on its partition.
// producer_id < 0: not idempotent (no checks).
struct ProducerAppend {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t base_sequence = -1;
};

// The sequence number `count` - 1 records after `base`, wrapping at INT32_MAX to 0 as Kafka's.
int32_t LastSequence(int32_t base, uint32_t count);

// One producer's state on one partition.
struct ProducerEntry {
  struct Batch {
    int32_t first_sequence = 0;
    int32_t last_sequence = 0;
    int64_t base_offset = 0;
  };
  int16_t epoch = 0;
  int64_t last_append_ms = 0;  // the store's clock at its last append
  std::vector<Batch> batches;  // oldest first, at most kMaxCachedBatches
};

// ps<topic id BE64><partition BE32><producer id BE64> in the meta column family.
inline constexpr char kProducerStatePrefix[] = "ps";
std::string ProducerStateKey(uint64_t topic_id, int32_t partition, int64_t producer_id);
// The keys of one topic's producers are [ProducerStateTopicStart(id), ...(id + 1)).
std::string ProducerStateTopicStart(uint64_t topic_id);
// False when `key` is not a ProducerStateKey.
bool ParseProducerStateKey(std::string_view key, uint64_t* topic_id, int32_t* partition,
                           int64_t* producer_id);
std::string EncodeProducerEntry(const ProducerEntry& entry);
// False when `value` is not an encoded ProducerEntry.
bool DecodeProducerEntry(std::string_view value, ProducerEntry* entry);

// How long an idle producer's state is kept, and how many producers a partition keeps.
struct ProducerStateLimits {
  // Kafka's producer.id.expiration.ms default: a producer that has not appended to the
  // partition for a day is forgotten there (its next append is taken as a first one).
  int64_t expiry_ms = 24 * 60 * 60 * 1000;
  // Beyond this, the producer idle longest is forgotten to make room.
  size_t max_producers = 1000;
};

class ProducerStateTable {
 public:
  ProducerStateTable() = default;
  ProducerStateTable(const ProducerStateTable&) = delete;
  ProducerStateTable& operator=(const ProducerStateTable&) = delete;

  // What an idempotent append of `count` records from `append` would do.
  struct Check {
    enum class Kind { kAppend, kDuplicate, kRefused };
    Kind kind = Kind::kAppend;
    int64_t duplicate_base_offset = -1;  // kDuplicate: where the original batch went
    // kRefused: OUT_OF_RANGE (a sequence gap: Kafka OUT_OF_ORDER_SEQUENCE_NUMBER) or ABORTED
    // (an epoch older than the producer's current one: INVALID_PRODUCER_EPOCH).
    absl::Status error;
  };
  Check Evaluate(const ProducerAppend& append, uint32_t count) const;

  // Records an append that Evaluate said kAppend for, at `base_offset`. Returns the entry to
  // persist, and in `*evicted` the producers forgotten to stay within `limits.max_producers`.
  ProducerEntry Record(const ProducerAppend& append, uint32_t count, int64_t base_offset,
                       int64_t now_ms, const ProducerStateLimits& limits,
                       std::vector<int64_t>* evicted);

  // Forgets producers idle for longer than `limits.expiry_ms` at `now_ms`; returns their ids.
  std::vector<int64_t> Expire(int64_t now_ms, const ProducerStateLimits& limits);

  // Loads persisted state (at recovery).
  void Restore(int64_t producer_id, ProducerEntry entry);

  // One producer's state, to put back with Reset when the write recording a change failed.
  std::optional<ProducerEntry> Find(int64_t producer_id) const;
  // Sets (or, with nullopt, forgets) one producer's state.
  void Reset(int64_t producer_id, std::optional<ProducerEntry> entry);

  // Every producer's state, for DescribeProducers.
  std::vector<std::pair<int64_t, ProducerEntry>> Snapshot() const;
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int64_t, ProducerEntry> producers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_PRODUCER_STATE_H_
