// Four producers publish concurrently to one topic, two with Publish and two with a pipelined
// PublishStream: every partition's offsets must come out unique, dense and complete, and
// reading the partitions back must return each record exactly once at its acknowledged offset.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using ferry::v1::PublishRequest;
using ferry::v1::PublishResponse;
using ferry::v1::Record;

constexpr int kProducers = 4;
constexpr int kRecordsPerProducer = 10'000;
constexpr int kBatchSize = 100;
constexpr int kPartitions = 3;

struct Ack {
  int partition;
  int64_t offset;
  std::string value;
};

// Batch `b` of producer `p`: records "p<p>-<i>"; every other batch is keyed.
PublishRequest MakeBatch(int producer, int batch) {
  PublishRequest request;
  request.set_topic("load");
  request.set_sequence(batch);
  for (int j = 0; j < kBatchSize; ++j) {
    const int i = batch * kBatchSize + j;
    *request.add_records() = MakeRecord(batch % 2 == 0 ? absl::StrCat("key-", i % 37) : "",
                                        absl::StrCat("p", producer, "-", i));
  }
  return request;
}

// Appends the acks of `response` to `acks`, checking they match `request` one to one.
void CollectAcks(const PublishRequest& request, const PublishResponse& response,
                 std::vector<Ack>* acks) {
  ASSERT_EQ(response.acks_size(), request.records_size());
  for (int j = 0; j < response.acks_size(); ++j) {
    acks->push_back(
        {response.acks(j).partition(), response.acks(j).offset(), request.records(j).value()});
  }
}

void PublishUnary(FerrydProcess& ferryd, int producer, std::vector<Ack>* acks) {
  auto broker = ferry::v1::Broker::NewStub(ferryd.NewChannel());
  for (int b = 0; b < kRecordsPerProducer / kBatchSize; ++b) {
    const PublishRequest request = MakeBatch(producer, b);
    PublishResponse response;
    const grpc::Status status = Publish(*broker, request, &response);
    ASSERT_TRUE(IsOk(status)) << "producer " << producer << " batch " << b;
    CollectAcks(request, response, acks);
  }
}

void PublishStreamed(FerrydProcess& ferryd, int producer, std::vector<Ack>* acks) {
  auto broker = ferry::v1::Broker::NewStub(ferryd.NewChannel());
  std::vector<PublishRequest> requests;
  for (int b = 0; b < kRecordsPerProducer / kBatchSize; ++b) {
    requests.push_back(MakeBatch(producer, b));
  }
  grpc::Status status;
  const auto responses = PublishStreamAll(*broker, requests, &status);
  ASSERT_TRUE(IsOk(status)) << "producer " << producer;
  ASSERT_EQ(responses.size(), requests.size());
  for (size_t b = 0; b < responses.size(); ++b) {
    ASSERT_EQ(responses[b].sequence(), b) << "producer " << producer;
    ASSERT_TRUE(responses[b].has_ok())
        << "producer " << producer << " batch " << b << ": " << responses[b].error().message();
    CollectAcks(requests[b], responses[b].ok(), acks);
  }
}

TEST(ConcurrentPublishTest, OffsetsAreDenseUniqueAndReadBack) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "load", kPartitions)));

  std::vector<std::vector<Ack>> acks_by_producer(kProducers);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&ferryd, &acks_by_producer, p] {
      if (p % 2 == 0) {
        PublishUnary(ferryd, p, &acks_by_producer[p]);
      } else {
        PublishStreamed(ferryd, p, &acks_by_producer[p]);
      }
    });
  }
  for (std::thread& producer : producers) producer.join();
  ASSERT_FALSE(::testing::Test::HasFailure());

  // partition -> offset -> value
  std::vector<std::map<int64_t, std::string>> acked(kPartitions);
  for (int p = 0; p < kProducers; ++p) {
    ASSERT_EQ(acks_by_producer[p].size(), static_cast<size_t>(kRecordsPerProducer));
    std::vector<int64_t> last_offset(kPartitions, -1);
    for (const Ack& ack : acks_by_producer[p]) {
      ASSERT_GE(ack.partition, 0);
      ASSERT_LT(ack.partition, kPartitions);
      const bool inserted = acked[ack.partition].emplace(ack.offset, ack.value).second;
      EXPECT_TRUE(inserted) << "offset " << ack.offset << " of partition " << ack.partition
                            << " acknowledged twice";
      // One producer's records keep their order within a partition.
      EXPECT_GT(ack.offset, last_offset[ack.partition])
          << "producer " << p << " (" << (p % 2 == 0 ? "Publish" : "PublishStream")
          << "): " << ack.value << " stored before an earlier record of the same producer";
      last_offset[ack.partition] = ack.offset;
    }
  }

  const std::vector<int64_t> ends = EndOffsets(*admin, "load");
  ASSERT_EQ(ends.size(), static_cast<size_t>(kPartitions));
  auto broker = ferryd.broker();
  std::set<std::string> seen;
  int64_t total = 0;
  for (int partition = 0; partition < kPartitions; ++partition) {
    SCOPED_TRACE(absl::StrCat("partition ", partition));
    const auto& offsets = acked[partition];
    const int64_t count = static_cast<int64_t>(offsets.size());
    total += count;
    // Dense and complete: the offsets are exactly 0..count-1.
    if (count > 0) {
      EXPECT_EQ(offsets.begin()->first, 0);
      EXPECT_EQ(offsets.rbegin()->first, count - 1);
    }
    EXPECT_EQ(ends[partition], count);

    const std::vector<Record> records = ReadRange(*broker, "load", partition, 0, count);
    ASSERT_EQ(static_cast<int64_t>(records.size()), count);
    for (int64_t o = 0; o < count; ++o) {
      ASSERT_EQ(records[o].offset(), o);
      auto it = offsets.find(o);
      ASSERT_NE(it, offsets.end()) << "offset " << o << " was never acknowledged";
      EXPECT_EQ(records[o].value(), it->second) << "offset " << o;
      EXPECT_TRUE(seen.insert(records[o].value()).second) << records[o].value() << " read twice";
    }
  }
  EXPECT_EQ(total, kProducers * kRecordsPerProducer);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kProducers * kRecordsPerProducer));
}

}  // namespace
}  // namespace ferry::integration
