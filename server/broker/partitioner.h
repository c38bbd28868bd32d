// Kafka-compatible key partitioning, so keyed data lands on the same partition numbers as with
// Kafka's default partitioner and existing per-key order carries over.
#ifndef FERRY_SERVER_BROKER_PARTITIONER_H_
#define FERRY_SERVER_BROKER_PARTITIONER_H_

#include <cstdint>
#include <string_view>

namespace ferry::broker {

// Kafka's Utils.murmur2 (seed 0x9747b28c), as a signed 32-bit value like Java's.
int32_t Murmur2(std::string_view data);

// Kafka's default partition for a non-empty key: toPositive(murmur2(key)) % partitions.
int32_t PartitionForKey(std::string_view key, int32_t partitions);

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_PARTITIONER_H_
