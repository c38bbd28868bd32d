// Publish and read back through Subscribe (direct mode) against the real ferryd: every field
// survives, offsets are dense, each start position starts where it should, streams tail.
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using ferry::v1::PublishResponse;
using ferry::v1::Record;
using ferry::v1::SubscribeRequest;
using ferry::v1::SubscribeResponse;

constexpr int64_t kBaseTimestampMs = 1'700'000'000'000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Records with binary keys and values, two headers and explicit timestamps.
std::vector<Record> RichRecords(int count, int64_t timestamp_step_ms = 1) {
  std::vector<Record> records;
  for (int i = 0; i < count; ++i) {
    Record record = MakeRecord(absl::StrCat("key-", i, std::string("\0\xff", 2)),
                               absl::StrCat("value-", i, std::string("\0\x01\xfe", 3)),
                               kBaseTimestampMs + i * timestamp_step_ms);
    ferry::v1::Header* trace = record.add_headers();
    trace->set_key("trace-id");
    trace->set_value(absl::StrCat("t", i));
    ferry::v1::Header* binary = record.add_headers();
    binary->set_key("binary");
    binary->set_value(std::string("\0\xff\x7f", 3));
    records.push_back(std::move(record));
  }
  return records;
}

void ExpectSameRecord(const Record& want, const Record& got, int64_t offset) {
  EXPECT_EQ(got.offset(), offset);
  EXPECT_EQ(got.key(), want.key()) << "offset " << offset;
  EXPECT_EQ(got.value(), want.value()) << "offset " << offset;
  EXPECT_EQ(got.timestamp_ms(), want.timestamp_ms()) << "offset " << offset;
  ASSERT_EQ(got.headers_size(), want.headers_size()) << "offset " << offset;
  for (int h = 0; h < want.headers_size(); ++h) {
    EXPECT_EQ(got.headers(h).key(), want.headers(h).key()) << "offset " << offset;
    EXPECT_EQ(got.headers(h).value(), want.headers(h).value()) << "offset " << offset;
  }
}

class PublishSubscribeTest : public ::testing::Test {
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

TEST_F(PublishSubscribeTest, BatchReadsBackWithEveryFieldAndDenseOffsets) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "orders", 2)));
  const std::vector<Record> batch = RichRecords(10);
  PublishResponse response;
  ASSERT_TRUE(IsOk(Publish(*broker_, "orders", 1, batch, &response)));
  ASSERT_EQ(response.acks_size(), 10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(response.acks(i).partition(), 1);
    EXPECT_EQ(response.acks(i).offset(), i);
  }
  // A second batch continues where the first ended.
  ASSERT_TRUE(IsOk(Publish(*broker_, "orders", 1, RichRecords(3), &response)));
  ASSERT_EQ(response.acks_size(), 3);
  EXPECT_EQ(response.acks(0).offset(), 10);
  EXPECT_EQ(response.acks(2).offset(), 12);

  SubscribeStream stream(*broker_,
                         SubscribeStream::Direct("orders", 1, ferry::v1::START_POSITION_EARLIEST));
  ASSERT_TRUE(stream.WaitForRecords(13));
  const std::vector<Record> records = stream.records();
  ASSERT_EQ(records.size(), 13u);
  for (int i = 0; i < 10; ++i) ExpectSameRecord(batch[i], records[i], i);
  for (const SubscribeResponse& message : stream.responses()) {
    EXPECT_EQ(message.topic(), "orders");
    EXPECT_EQ(message.partition(), 1);
    EXPECT_GE(message.end_offset(), 10);
    EXPECT_LE(message.end_offset(), 13);
  }
  EXPECT_EQ(EndOffsets(*admin_, "orders"), (std::vector<int64_t>{0, 13}));
}

TEST_F(PublishSubscribeTest, ZeroTimestampBecomesBrokerTime) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "clock", 1)));
  const int64_t before = NowMs();
  ASSERT_TRUE(IsOk(Publish(*broker_, "clock", 0, {MakeRecord("k", "v", 0)})));
  const int64_t after = NowMs();
  const std::vector<Record> records = ReadRange(*broker_, "clock", 0, 0, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_GE(records[0].timestamp_ms(), before);
  EXPECT_LE(records[0].timestamp_ms(), after);
}

TEST_F(PublishSubscribeTest, StartPositions) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "positions", 1)));
  // Timestamps base, base+10, ..., base+190.
  const std::vector<Record> batch = RichRecords(20, /*timestamp_step_ms=*/10);
  ASSERT_TRUE(IsOk(Publish(*broker_, "positions", 0, batch)));

  struct Case {
    std::string name;
    SubscribeRequest request;
    int64_t first_offset;
  };
  const std::vector<Case> cases = {
      {"EARLIEST", SubscribeStream::Direct("positions", 0, ferry::v1::START_POSITION_EARLIEST), 0},
      {"OFFSET 0", SubscribeStream::Direct("positions", 0, ferry::v1::START_POSITION_OFFSET, 0), 0},
      {"OFFSET 7", SubscribeStream::Direct("positions", 0, ferry::v1::START_POSITION_OFFSET, 7), 7},
      {"OFFSET 19", SubscribeStream::Direct("positions", 0, ferry::v1::START_POSITION_OFFSET, 19),
       19},
      {"TIMESTAMP before all",
       SubscribeStream::Direct("positions", 0, ferry::v1::START_POSITION_TIMESTAMP, 0, 1000), 0},
      {"TIMESTAMP exact",
       SubscribeStream::Direct("positions", 0, ferry::v1::START_POSITION_TIMESTAMP, 0,
                               kBaseTimestampMs + 50),
       5},
      {"TIMESTAMP between",
       SubscribeStream::Direct("positions", 0, ferry::v1::START_POSITION_TIMESTAMP, 0,
                               kBaseTimestampMs + 55),
       6},
      {"TIMESTAMP last",
       SubscribeStream::Direct("positions", 0, ferry::v1::START_POSITION_TIMESTAMP, 0,
                               kBaseTimestampMs + 190),
       19},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SubscribeStream stream(*broker_, c.request);
    const size_t want = 20 - c.first_offset;
    ASSERT_TRUE(stream.WaitForRecords(want)) << IsOk(stream.status()).message();
    const std::vector<Record> records = stream.records();
    ASSERT_EQ(records.size(), want);
    for (size_t i = 0; i < want; ++i) {
      ExpectSameRecord(batch[c.first_offset + i], records[i], c.first_offset + i);
    }
  }
}

TEST_F(PublishSubscribeTest, SubscriberAtTheEndReceivesNewRecords) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "tail", 1)));
  ASSERT_TRUE(IsOk(Publish(*broker_, "tail", 0, RichRecords(5))));
  // Offset 5 is the end: nothing to read yet, so the stream waits for appends.
  SubscribeStream stream(*broker_,
                         SubscribeStream::Direct("tail", 0, ferry::v1::START_POSITION_OFFSET, 5));
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(IsOk(Publish(*broker_, "tail", 0,
                             {MakeRecord("", absl::StrCat("new-", round, "-a")),
                              MakeRecord("", absl::StrCat("new-", round, "-b"))})));
    ASSERT_TRUE(stream.WaitForRecords(2 * (round + 1))) << "round " << round;
  }
  const std::vector<Record> records = stream.records();
  ASSERT_EQ(records.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(records[i].offset(), 5 + i);
    EXPECT_EQ(records[i].value(), absl::StrCat("new-", i / 2, i % 2 == 0 ? "-a" : "-b"));
  }
  EXPECT_FALSE(stream.ended());
}

TEST_F(PublishSubscribeTest, LatestSkipsOldRecordsAndTails) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "latest", 1)));
  ASSERT_TRUE(IsOk(Publish(*broker_, "latest", 0, RichRecords(20))));
  SubscribeStream stream(*broker_,
                         SubscribeStream::Direct("latest", 0, ferry::v1::START_POSITION_LATEST));
  // The client cannot tell when the broker resolved LATEST, so publish until the subscriber
  // sees a record; it must be one published after subscribing.
  int published = 0;
  while (!stream.WaitForRecords(1, absl::Milliseconds(100))) {
    ASSERT_FALSE(stream.ended()) << IsOk(stream.status()).message();
    ASSERT_LT(published, 100) << "a LATEST subscriber received nothing in ~10 s";
    ASSERT_TRUE(
        IsOk(Publish(*broker_, "latest", 0, {MakeRecord("", absl::StrCat("after-", published))})));
    ++published;
  }
  const int64_t first = stream.records()[0].offset();
  EXPECT_GE(first, 20) << "LATEST delivered a record published before the subscription";
  EXPECT_LT(first, 20 + published);
  // From here on the stream tails: three more records arrive in order.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        IsOk(Publish(*broker_, "latest", 0, {MakeRecord("", absl::StrCat("after-", published))})));
    ++published;
  }
  const size_t want = 20 + published - first;
  ASSERT_TRUE(stream.WaitForRecords(want));
  const std::vector<Record> records = stream.records();
  ASSERT_EQ(records.size(), want);
  for (size_t i = 0; i < want; ++i) {
    EXPECT_EQ(records[i].offset(), first + static_cast<int64_t>(i));
    EXPECT_EQ(records[i].value(), absl::StrCat("after-", first - 20 + i));
  }
}

TEST_F(PublishSubscribeTest, TryCancelEndsTheStream) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "cancel", 1)));
  ASSERT_TRUE(IsOk(Publish(*broker_, "cancel", 0, RichRecords(3))));
  SubscribeStream stream(*broker_,
                         SubscribeStream::Direct("cancel", 0, ferry::v1::START_POSITION_EARLIEST));
  ASSERT_TRUE(stream.WaitForRecords(3));
  EXPECT_FALSE(stream.ended());
  stream.Cancel();
  ASSERT_TRUE(stream.WaitForEnd(absl::Seconds(5)));
  EXPECT_TRUE(HasCode(stream.status(), grpc::StatusCode::CANCELLED));
  // The broker is fine afterwards: publishing and a new subscriber work.
  ASSERT_TRUE(IsOk(Publish(*broker_, "cancel", 0, RichRecords(1))));
  EXPECT_EQ(ReadRange(*broker_, "cancel", 0, 3, 1).size(), 1u);
}

TEST_F(PublishSubscribeTest, MaxRecordsPerMessageIsRespected) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "chunks", 1)));
  ASSERT_TRUE(IsOk(Publish(*broker_, "chunks", 0, RichRecords(25))));
  SubscribeRequest request =
      SubscribeStream::Direct("chunks", 0, ferry::v1::START_POSITION_EARLIEST);
  request.set_max_records_per_message(7);
  SubscribeStream stream(*broker_, request);
  ASSERT_TRUE(stream.WaitForRecords(25));
  size_t messages_with_records = 0;
  int64_t next = 0;
  for (const SubscribeResponse& message : stream.responses()) {
    EXPECT_LE(message.records_size(), 7);
    if (message.records_size() > 0) ++messages_with_records;
    for (const Record& record : message.records()) EXPECT_EQ(record.offset(), next++);
  }
  EXPECT_EQ(next, 25);
  EXPECT_GE(messages_with_records, 4u);
}

TEST(PublishSubscribeCapTest, BrokerCapsRecordsPerMessage) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--max-subscribe-records=10"}));
  auto broker = ferryd.broker();
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "capped", 1)));
  ASSERT_TRUE(IsOk(Publish(*broker, "capped", 0, RichRecords(35))));
  for (int asked : {0, 50}) {
    SCOPED_TRACE(absl::StrCat("max_records_per_message=", asked));
    SubscribeRequest request =
        SubscribeStream::Direct("capped", 0, ferry::v1::START_POSITION_EARLIEST);
    request.set_max_records_per_message(asked);
    SubscribeStream stream(*broker, request);
    ASSERT_TRUE(stream.WaitForRecords(35));
    for (const SubscribeResponse& message : stream.responses()) {
      EXPECT_LE(message.records_size(), 10);
    }
    EXPECT_EQ(stream.records().size(), 35u);
  }
}

TEST_F(PublishSubscribeTest, OffsetResetAppliesOutsideTheLog) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "reset", 1)));
  ASSERT_TRUE(IsOk(Publish(*broker_, "reset", 0, RichRecords(4))));

  SubscribeRequest earliest =
      SubscribeStream::Direct("reset", 0, ferry::v1::START_POSITION_OFFSET, 100);
  earliest.mutable_direct()->set_offset_reset(ferry::v1::OFFSET_RESET_EARLIEST);
  SubscribeStream from_start(*broker_, earliest);
  ASSERT_TRUE(from_start.WaitForRecords(4)) << IsOk(from_start.status()).message();
  EXPECT_EQ(from_start.records()[0].offset(), 0);

  SubscribeRequest none = SubscribeStream::Direct("reset", 0, ferry::v1::START_POSITION_OFFSET, 5);
  none.mutable_direct()->set_offset_reset(ferry::v1::OFFSET_RESET_NONE);
  SubscribeStream failing(*broker_, none);
  ASSERT_TRUE(failing.WaitForEnd());
  EXPECT_TRUE(HasCode(failing.status(), grpc::StatusCode::OUT_OF_RANGE, {"offset"}));
}

}  // namespace
}  // namespace ferry::integration
