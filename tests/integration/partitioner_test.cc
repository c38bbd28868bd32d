// The default partitioner against the real ferryd: keyed records land where Kafka's default
// partitioner puts them, keyless records are spread evenly, an explicit partition wins.
#include "common/partitioner.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using ferry::v1::PublishRequest;
using ferry::v1::PublishResponse;

// The shared partitioner (common/), checked against Kafka's test vectors below; the broker
// must place keyed records exactly where it says.
int32_t KafkaMurmur2(const std::string& data) { return Murmur2(data); }

int KafkaPartition(const std::string& key, int partitions) {
  return PartitionForKey(key, partitions);
}

// The partitioner first: the expectations below are only as good as it is.
TEST(KafkaMurmur2Test, MatchesKafkaTestVectors) {
  EXPECT_EQ(KafkaMurmur2("21"), -973932308);
  EXPECT_EQ(KafkaMurmur2("foobar"), -790332482);
  EXPECT_EQ(KafkaMurmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(KafkaMurmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(KafkaMurmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(KafkaMurmur2("abc"), 479470107);
}

class PartitionerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start());
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
  }

  FerrydProcess ferryd_;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
};

TEST_F(PartitionerTest, KeyedRecordsGoToKafkasPartition) {
  std::vector<std::string> keys = {"21",
                                   "foobar",
                                   "a-little-bit-long-string",
                                   "a-little-bit-longer-string",
                                   "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                                   "abc",
                                   std::string("\0\xff\x80", 3)};
  for (int i = 0; i < 100; ++i) keys.push_back(absl::StrCat("user-", i));

  for (int partitions : {3, 7}) {
    SCOPED_TRACE(absl::StrCat(partitions, " partitions"));
    const std::string topic = absl::StrCat("keyed-", partitions);
    ASSERT_TRUE(IsOk(CreateTopic(*admin_, topic, partitions)));
    std::map<int, int> per_partition;
    // One batch holding every key: each record is placed by its own key.
    PublishRequest batch;
    batch.set_topic(topic);
    for (const std::string& key : keys) *batch.add_records() = MakeRecord(key, "batched");
    PublishResponse response;
    ASSERT_TRUE(IsOk(Publish(*broker_, batch, &response)));
    ASSERT_EQ(response.acks_size(), static_cast<int>(keys.size()));
    for (size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ(response.acks(i).partition(), KafkaPartition(keys[i], partitions))
          << "key " << keys[i];
      ++per_partition[response.acks(i).partition()];
    }
    // One request per key, twice: the same key always lands on the same partition.
    for (int round = 0; round < 2; ++round) {
      for (size_t i = 0; i < 10; ++i) {
        ASSERT_TRUE(IsOk(Publish(*broker_, topic, -1, {MakeRecord(keys[i], "single")}, &response)));
        EXPECT_EQ(response.acks(0).partition(), KafkaPartition(keys[i], partitions))
            << "key " << keys[i];
      }
    }
    EXPECT_EQ(per_partition.size(), static_cast<size_t>(partitions))
        << "107 keys should reach every partition";
  }
}

TEST_F(PartitionerTest, KeylessRecordsAreSpreadEvenly) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "even", 3)));
  std::map<int, int> per_partition;
  for (int i = 0; i < 300; ++i) {
    PublishResponse response;
    ASSERT_TRUE(IsOk(Publish(*broker_, "even", -1, {MakeRecord("", absl::StrCat(i))}, &response)));
    ++per_partition[response.acks(0).partition()];
  }
  EXPECT_EQ(per_partition, (std::map<int, int>{{0, 100}, {1, 100}, {2, 100}}));
  EXPECT_EQ(EndOffsets(*admin_, "even"), (std::vector<int64_t>{100, 100, 100}));

  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "even-batch", 3)));
  std::vector<ferry::v1::Record> batch;
  for (int i = 0; i < 30; ++i) batch.push_back(MakeRecord("", absl::StrCat(i)));
  PublishResponse response;
  ASSERT_TRUE(IsOk(Publish(*broker_, "even-batch", -1, batch, &response)));
  ASSERT_EQ(response.acks_size(), 30);
  per_partition.clear();
  for (const auto& ack : response.acks()) ++per_partition[ack.partition()];
  EXPECT_EQ(per_partition, (std::map<int, int>{{0, 10}, {1, 10}, {2, 10}}));
  EXPECT_EQ(EndOffsets(*admin_, "even-batch"), (std::vector<int64_t>{10, 10, 10}));
}

TEST_F(PartitionerTest, ExplicitPartitionWins) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "explicit", 3)));
  const std::string key = "foobar";
  const int natural = KafkaPartition(key, 3);
  for (int partition = 0; partition < 3; ++partition) {
    PublishResponse response;
    ASSERT_TRUE(IsOk(Publish(*broker_, "explicit", partition,
                             {MakeRecord(key, "a"), MakeRecord("", "b")}, &response)));
    ASSERT_EQ(response.acks_size(), 2);
    EXPECT_EQ(response.acks(0).partition(), partition) << "key's own partition is " << natural;
    EXPECT_EQ(response.acks(1).partition(), partition);
  }
  EXPECT_EQ(EndOffsets(*admin_, "explicit"), (std::vector<int64_t>{2, 2, 2}));
}

}  // namespace
}  // namespace ferry::integration
