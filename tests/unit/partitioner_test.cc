#include "common/partitioner.h"

#include <string>

#include "gtest/gtest.h"

namespace ferry {
namespace {

// Kafka's own test vectors for Utils.murmur2 (clients/src/test/.../UtilsTest.java).
TEST(Murmur2Test, MatchesKafka) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2(std::string{'a', 'b', 'c'}), 479470107);
}

TEST(PartitionForKeyTest, PositiveModuloLikeKafka) {
  // toPositive(-973932308) = -973932308 & 0x7fffffff = 1173551340.
  EXPECT_EQ(PartitionForKey("21", 3), 1173551340 % 3);
  EXPECT_EQ(PartitionForKey("abc", 7), 479470107 % 7);
  for (int p = 1; p <= 64; ++p) {
    const int32_t got = PartitionForKey("key-" + std::to_string(p), p);
    EXPECT_GE(got, 0);
    EXPECT_LT(got, p);
  }
}

// Kafka hashes an empty (non-null) key like any other: murmur2 of no bytes is the seed mixed,
// 275646681 (0x106e08d9).
TEST(Murmur2Test, EmptyKeyHashesLikeKafka) {
  EXPECT_EQ(Murmur2(""), 275646681);
  EXPECT_EQ(PartitionForKey("", 7), 275646681 % 7);
  EXPECT_EQ(PartitionForKey("", 3), 275646681 % 3);
}

TEST(PartitionForKeyTest, SameKeySamePartition) {
  EXPECT_EQ(PartitionForKey("user-42", 12), PartitionForKey("user-42", 12));
}

}  // namespace
}  // namespace ferry
