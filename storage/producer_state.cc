#include "storage/producer_state.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/encoding.h"

namespace ferry::storage {
namespace {

constexpr uint8_t kEntryFormatV1 = 1;
constexpr size_t kPrefixBytes = sizeof(kProducerStatePrefix) - 1;
constexpr size_t kKeyBytes = kPrefixBytes + 8 + 4 + 8;
// format, epoch, last append, batch count; then per batch first, last sequence, base offset.
constexpr size_t kEntryFixedBytes = 1 + 4 + 8 + 1;
constexpr size_t kEntryBatchBytes = 4 + 4 + 8;

bool InSequence(int32_t last, int32_t next) {
  return static_cast<int64_t>(next) == static_cast<int64_t>(last) + 1 ||
         (next == 0 && last == INT32_MAX);
}

}  // namespace

int32_t LastSequence(int32_t base, uint32_t count) {
  if (count == 0) return base;
  const int64_t last = static_cast<int64_t>(base) + count - 1;
  return static_cast<int32_t>(last > INT32_MAX ? last - INT32_MAX - 1 : last);
}

std::string ProducerStateKey(uint64_t topic_id, int32_t partition, int64_t producer_id) {
  std::string key(kProducerStatePrefix, kPrefixBytes);
  PutBigEndian64(&key, topic_id);
  PutBigEndian32(&key, static_cast<uint32_t>(partition));
  PutBigEndian64(&key, static_cast<uint64_t>(producer_id));
  return key;
}

std::string ProducerStateTopicStart(uint64_t topic_id) {
  std::string key(kProducerStatePrefix, kPrefixBytes);
  PutBigEndian64(&key, topic_id);
  return key;
}

bool ParseProducerStateKey(std::string_view key, uint64_t* topic_id, int32_t* partition,
                           int64_t* producer_id) {
  if (key.size() != kKeyBytes || key.substr(0, kPrefixBytes) != kProducerStatePrefix) return false;
  const char* p = key.data() + kPrefixBytes;
  *topic_id = GetBigEndian64(p);
  *partition = static_cast<int32_t>(GetBigEndian32(p + 8));
  *producer_id = static_cast<int64_t>(GetBigEndian64(p + 12));
  return true;
}

std::string EncodeProducerEntry(const ProducerEntry& e) {
  std::string v;
  v.reserve(kEntryFixedBytes + e.batches.size() * kEntryBatchBytes);
  v.push_back(static_cast<char>(kEntryFormatV1));
  PutFixed32(&v, static_cast<uint32_t>(static_cast<uint16_t>(e.epoch)));
  PutFixed64(&v, static_cast<uint64_t>(e.last_append_ms));
  v.push_back(static_cast<char>(e.batches.size()));
  for (const auto& b : e.batches) {
    PutFixed32(&v, static_cast<uint32_t>(b.first_sequence));
    PutFixed32(&v, static_cast<uint32_t>(b.last_sequence));
    PutFixed64(&v, static_cast<uint64_t>(b.base_offset));
  }
  return v;
}

bool DecodeProducerEntry(std::string_view v, ProducerEntry* e) {
  if (v.size() < kEntryFixedBytes || static_cast<uint8_t>(v[0]) != kEntryFormatV1) return false;
  const size_t n = static_cast<uint8_t>(v[13]);
  if (n > kMaxCachedBatches || v.size() != kEntryFixedBytes + n * kEntryBatchBytes) return false;
  e->epoch = static_cast<int16_t>(static_cast<uint16_t>(GetFixed32(v.data() + 1)));
  e->last_append_ms = static_cast<int64_t>(GetFixed64(v.data() + 5));
  e->batches.clear();
  const char* p = v.data() + kEntryFixedBytes;
  for (size_t i = 0; i < n; ++i, p += kEntryBatchBytes) {
    ProducerEntry::Batch b;
    b.first_sequence = static_cast<int32_t>(GetFixed32(p));
    b.last_sequence = static_cast<int32_t>(GetFixed32(p + 4));
    b.base_offset = static_cast<int64_t>(GetFixed64(p + 8));
    e->batches.push_back(b);
  }
  return true;
}

ProducerStateTable::Check ProducerStateTable::Evaluate(const ProducerAppend& a,
                                                       uint32_t count) const {
  Check c;
  const auto refuse = [&](absl::Status s) {
    c.kind = Check::Kind::kRefused;
    c.error = std::move(s);
    return c;
  };
  if (a.base_sequence < 0) {
    return refuse(absl::OutOfRangeError(absl::StrCat("producer ", a.producer_id,
                                                     " sent a batch with no sequence number (",
                                                     a.base_sequence, ")")));
  }
  absl::MutexLock lock(&mu_);
  auto it = producers_.find(a.producer_id);
  // No state here (a first append to this partition, or state expired): any sequence starts
  // it, as Kafka does since 2.5 (KIP-360), so a producer outliving its state goes on.
  if (it == producers_.end()) return c;
  const ProducerEntry& e = it->second;
  if (a.epoch < e.epoch) {
    return refuse(absl::AbortedError(absl::StrCat("producer ", a.producer_id, " epoch ", a.epoch,
                                                  " is older than its current epoch ", e.epoch,
                                                  ": fenced by a newer instance")));
  }
  if (a.epoch > e.epoch) {
    if (a.base_sequence != 0) {
      return refuse(absl::OutOfRangeError(absl::StrCat("producer ", a.producer_id, " starts epoch ",
                                                       a.epoch, " at sequence ", a.base_sequence,
                                                       "; a new epoch starts at 0")));
    }
    return c;
  }
  const int32_t last = LastSequence(a.base_sequence, count);
  for (const auto& b : e.batches) {
    if (b.first_sequence == a.base_sequence && b.last_sequence == last) {
      c.kind = Check::Kind::kDuplicate;
      c.duplicate_base_offset = b.base_offset;
      return c;
    }
  }
  if (e.batches.empty() || InSequence(e.batches.back().last_sequence, a.base_sequence)) return c;
  return refuse(absl::OutOfRangeError(
      absl::StrCat("producer ", a.producer_id, " epoch ", a.epoch, " sent sequence ",
                   a.base_sequence, "; expected ", LastSequence(e.batches.back().last_sequence, 2),
                   " (out of order: a batch before it is missing)")));
}

ProducerEntry ProducerStateTable::Record(const ProducerAppend& a, uint32_t count,
                                         int64_t base_offset, int64_t now_ms,
                                         const ProducerStateLimits& limits,
                                         std::vector<int64_t>* evicted) {
  absl::MutexLock lock(&mu_);
  auto it = producers_.find(a.producer_id);
  if (it == producers_.end()) {
    while (!producers_.empty() && producers_.size() >= limits.max_producers) {
      // Linear, but only at the cap, which is small.
      auto idlest = producers_.begin();
      for (auto j = producers_.begin(); j != producers_.end(); ++j) {
        if (j->second.last_append_ms < idlest->second.last_append_ms) idlest = j;
      }
      evicted->push_back(idlest->first);
      producers_.erase(idlest);
    }
    it = producers_.emplace(a.producer_id, ProducerEntry{a.epoch, now_ms, {}}).first;
  }
  ProducerEntry& e = it->second;
  if (e.epoch != a.epoch) {
    e.epoch = a.epoch;
    e.batches.clear();
  }
  e.batches.push_back({a.base_sequence, LastSequence(a.base_sequence, count), base_offset});
  if (e.batches.size() > kMaxCachedBatches) e.batches.erase(e.batches.begin());
  e.last_append_ms = now_ms;
  return e;
}

std::vector<int64_t> ProducerStateTable::Expire(int64_t now_ms, const ProducerStateLimits& limits) {
  std::vector<int64_t> expired;
  absl::MutexLock lock(&mu_);
  for (auto it = producers_.begin(); it != producers_.end();) {
    if (now_ms - it->second.last_append_ms > limits.expiry_ms) {
      expired.push_back(it->first);
      producers_.erase(it++);
    } else {
      ++it;
    }
  }
  return expired;
}

void ProducerStateTable::Restore(int64_t producer_id, ProducerEntry entry) {
  absl::MutexLock lock(&mu_);
  producers_[producer_id] = std::move(entry);
}

std::optional<ProducerEntry> ProducerStateTable::Find(int64_t producer_id) const {
  absl::MutexLock lock(&mu_);
  auto it = producers_.find(producer_id);
  if (it == producers_.end()) return std::nullopt;
  return it->second;
}

void ProducerStateTable::Reset(int64_t producer_id, std::optional<ProducerEntry> entry) {
  absl::MutexLock lock(&mu_);
  if (entry.has_value()) {
    producers_[producer_id] = *std::move(entry);
  } else {
    producers_.erase(producer_id);
  }
}

std::vector<std::pair<int64_t, ProducerEntry>> ProducerStateTable::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return {producers_.begin(), producers_.end()};
}

size_t ProducerStateTable::size() const {
  absl::MutexLock lock(&mu_);
  return producers_.size();
}

}  // namespace ferry::storage
