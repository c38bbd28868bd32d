// Kafka's default partitioner for keyed records: murmur2 of the key (seed 0x9747b28c), sign bit
// cleared, modulo the partition count. One implementation for the broker, which places keyed
// records with it, and the client library, which knows each keyed record's partition before
// sending (per-partition order across retries). Pure functions: thread-safe.
#ifndef FERRY_COMMON_PARTITIONER_H_
#define FERRY_COMMON_PARTITIONER_H_

#include <cstdint>
#include <string_view>

namespace ferry {

// Kafka's Utils.murmur2.
int32_t Murmur2(std::string_view data);

// murmur2(key) & 0x7fffffff, modulo `partitions` (which must be > 0).
int32_t PartitionForKey(std::string_view key, int32_t partitions);

}  // namespace ferry

#endif  // FERRY_COMMON_PARTITIONER_H_
