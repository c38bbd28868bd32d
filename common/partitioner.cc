#include "common/partitioner.h"

namespace ferry {

int32_t Murmur2(std::string_view data) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const uint32_t length = static_cast<uint32_t>(data.size());
  const auto byte = [&](uint32_t i) -> uint32_t { return static_cast<uint8_t>(data[i]); };

  uint32_t h = kSeed ^ length;
  for (uint32_t i = 0; i + 4 <= length; i += 4) {
    uint32_t k = byte(i) | (byte(i + 1) << 8) | (byte(i + 2) << 16) | (byte(i + 3) << 24);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  const uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= byte(tail + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byte(tail + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byte(tail);
      h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t PartitionForKey(std::string_view key, int32_t partitions) {
  // Kafka's Utils.toPositive clears the sign bit; abs() would differ for negative hashes.
  return (Murmur2(key) & 0x7fffffff) % partitions;
}

}  // namespace ferry
