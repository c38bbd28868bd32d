// LatencyHistogram: a log-linear (HDR-style) histogram of non-negative nanosecond values with
// about 1.6% relative precision, constant memory (~30 KiB) and O(1) Record, so a benchmark
// can record every record's latency without sampling. Percentiles report a bucket's upper
// bound (never optimistic), capped at the largest value recorded.
// Not thread-safe: keep one per thread and Merge them.
#ifndef FERRY_BENCH_FERRY_BENCH_HISTOGRAM_H_
#define FERRY_BENCH_FERRY_BENCH_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace ferry::bench {

class LatencyHistogram {
 public:
  void Record(int64_t value) { RecordN(value, 1); }
  void RecordN(int64_t value, int64_t count) {
    if (value < 0) value = 0;  // a clock that stepped back: count it as zero, do not drop it
    counts_[Index(static_cast<uint64_t>(value))] += count;
    total_ += count;
    max_ = std::max(max_, value);
  }
  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }
  int64_t count() const { return total_; }
  int64_t max() const { return max_; }
  // The value at quantile q (0..1): the upper bound of the bucket holding it. 0 when empty.
  int64_t Percentile(double q) const {
    if (total_ == 0) return 0;
    // The rank of the q-quantile, 1-based, so that p100 is the last value and p0 the first.
    int64_t rank = static_cast<int64_t>(q * static_cast<double>(total_) + 0.999999);
    rank = std::clamp<int64_t>(rank, 1, total_);
    int64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(UpperBound(i), max_);
    }
    return max_;
  }

 private:
  // Values below 2^kSubBits are exact; above, each power of two is split into 2^(kSubBits-1)
  // equal buckets.
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kHalf = uint64_t{1} << (kSubBits - 1);  // 64
  static constexpr size_t kBuckets = (64 - kSubBits + 2) * kHalf;

  static size_t Index(uint64_t v) {
    if (v < 2 * kHalf) return static_cast<size_t>(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - (kSubBits - 1);  // >= 1; v >> shift is in [64, 128)
    return static_cast<size_t>(shift) * kHalf + static_cast<size_t>(v >> shift);
  }
  static int64_t UpperBound(size_t index) {
    if (index < 2 * kHalf) return static_cast<int64_t>(index);
    const int shift = static_cast<int>(index / kHalf) - 1;
    const uint64_t mantissa = index % kHalf + kHalf;
    return static_cast<int64_t>(((mantissa + 1) << shift) - 1);
  }

  std::array<int64_t, kBuckets> counts_{};
  int64_t total_ = 0;
  int64_t max_ = 0;
};

}  // namespace ferry::bench

#endif  // FERRY_BENCH_FERRY_BENCH_HISTOGRAM_H_
