#include "server/broker/broker.h"

#include <map>
#include <string>

#include "absl/synchronization/notification.h"
#include "common/partitioner.h"
#include "gtest/gtest.h"
#include "tests/unit/temp_dir.h"

namespace ferry::broker {
namespace {

using ferry::testing::TempDir;

class BrokerTest : public ::testing::Test {
 protected:
  BrokerTest() : clock_(absl::FromUnixMillis(1'700'000'000'000)) {}

  void Open(BrokerOptions options = {}) {
    options.store.data_dir = dir_.path() + "/db";
    options.retention_check_interval = absl::ZeroDuration();  // tests drive retention
    auto broker = Broker::Open(options, &clock_);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
  }

  struct Result {
    absl::Status status;
    v1::PublishResponse response;
  };
  Result Publish(v1::PublishRequest request) {
    Result result;
    absl::Notification done;
    broker_->Publish(&request, [&](absl::Status s, v1::PublishResponse* r) {
      result.status = s;
      if (r != nullptr) result.response = *r;
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  static v1::PublishRequest Request(const std::string& topic, int n, const std::string& key = "") {
    v1::PublishRequest req;
    req.set_topic(topic);
    for (int i = 0; i < n; ++i) {
      v1::Record* r = req.add_records();
      r->set_key(key);
      r->set_value("v" + std::to_string(i));
    }
    return req;
  }

  std::vector<v1::Record> ReadAll(const std::string& topic, int32_t partition, int64_t from = 0) {
    auto log = broker_->GetPartition(topic, partition);
    EXPECT_TRUE(log.ok()) << log.status();
    std::vector<v1::Record> out;
    while (true) {
      v1::SubscribeResponse resp;
      auto next = broker_->Read(**log, from, 0, 0, &resp);
      EXPECT_TRUE(next.ok()) << next.status();
      if (!next.ok() || resp.records_size() == 0) break;
      for (const auto& r : resp.records()) out.push_back(r);
      from = *next;
    }
    return out;
  }

  FakeClock clock_;
  TempDir dir_;
  std::unique_ptr<Broker> broker_;
};

TEST_F(BrokerTest, PublishAutoCreatesAndAnswersOffsetsInRequestOrder) {
  Open();
  v1::PublishRequest req = Request("orders", 3);
  req.set_partition(1);
  auto* h = req.mutable_records(0)->add_headers();
  h->set_key("trace");
  h->set_value(std::string("\0\1", 2));
  Result r = Publish(req);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.response.acks_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.response.acks(i).partition(), 1);
    EXPECT_EQ(r.response.acks(i).offset(), i);
  }
  auto topic = broker_->GetTopic("orders");
  ASSERT_TRUE(topic.ok());
  EXPECT_EQ((*topic)->meta.partitions, 3);

  auto records = ReadAll("orders", 1);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].value(), "v0");
  EXPECT_EQ(records[0].headers(0).key(), "trace");
  EXPECT_EQ(records[0].headers(0).value(), std::string("\0\1", 2));
  EXPECT_EQ(records[2].offset(), 2);
  // Timestamp 0 means the broker's clock.
  EXPECT_EQ(records[0].timestamp_ms(), clock_.NowMs());
}

TEST_F(BrokerTest, KeyedRecordsFollowKafkasPartitioner) {
  Open();
  v1::PublishRequest req;
  req.set_topic("users");
  for (int i = 0; i < 20; ++i) {
    auto* r = req.add_records();
    r->set_key("key-" + std::to_string(i));
    r->set_value(std::to_string(i));
  }
  Result r = Publish(req);
  ASSERT_TRUE(r.status.ok());
  std::map<int32_t, int64_t> next;
  for (int i = 0; i < 20; ++i) {
    const int32_t want = PartitionForKey("key-" + std::to_string(i), 3);
    EXPECT_EQ(r.response.acks(i).partition(), want) << i;
    // Offsets within a partition follow request order.
    EXPECT_EQ(r.response.acks(i).offset(), next[want]++);
  }
}

TEST_F(BrokerTest, KeylessRecordsSpreadEvenly) {
  Open();
  ASSERT_TRUE(Publish(Request("spread", 30)).status.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Publish(Request("spread", 3)).status.ok());
  for (int p = 0; p < 3; ++p) EXPECT_EQ(ReadAll("spread", p).size(), 20u) << p;
}

TEST_F(BrokerTest, RejectedPublishWritesNothing) {
  BrokerOptions options;
  options.max_record_bytes = 100;
  options.max_batch_bytes = 250;
  options.auto_create_topics = false;
  Open(options);
  ASSERT_TRUE(broker_->CreateTopic("t", 2, {}).ok());

  const auto expect = [&](v1::PublishRequest req, absl::StatusCode code) {
    Result r = Publish(std::move(req));
    EXPECT_EQ(r.status.code(), code) << r.status;
    EXPECT_FALSE(r.status.message().empty());
  };
  expect(Request("bad name", 1), absl::StatusCode::kInvalidArgument);
  expect(Request("", 1), absl::StatusCode::kInvalidArgument);
  expect(Request("..", 1), absl::StatusCode::kInvalidArgument);
  expect(Request(std::string(250, 'a'), 1), absl::StatusCode::kInvalidArgument);
  expect(Request("t", 0), absl::StatusCode::kInvalidArgument);
  expect(Request("missing", 1), absl::StatusCode::kNotFound);
  v1::PublishRequest big = Request("t", 2);
  big.mutable_records(1)->set_value(std::string(101, 'x'));
  expect(big, absl::StatusCode::kResourceExhausted);
  v1::PublishRequest header_big = Request("t", 1);
  auto* h = header_big.mutable_records(0)->add_headers();
  h->set_key("k");
  h->set_value(std::string(100, 'x'));
  expect(header_big, absl::StatusCode::kResourceExhausted);
  v1::PublishRequest batch = Request("t", 3);
  for (auto& r : *batch.mutable_records()) r.set_value(std::string(95, 'x'));
  expect(batch, absl::StatusCode::kResourceExhausted);
  v1::PublishRequest out_of_range = Request("t", 1);
  out_of_range.set_partition(2);
  expect(out_of_range, absl::StatusCode::kNotFound);
  v1::PublishRequest negative = Request("t", 1);
  negative.set_partition(-1);
  expect(negative, absl::StatusCode::kInvalidArgument);
  v1::PublishRequest bad_ts = Request("t", 1);
  bad_ts.mutable_records(0)->set_timestamp_ms(-5);
  expect(bad_ts, absl::StatusCode::kInvalidArgument);

  // A batch with one bad record among good ones: none stored.
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ((*broker_->GetPartition("t", p))->end_offset(), 0);
  }
  EXPECT_FALSE(broker_->GetTopic("missing").ok());
}

TEST_F(BrokerTest, TopicLimitsAndPartitionsValidation) {
  Open();
  EXPECT_TRUE(absl::IsInvalidArgument(broker_->CreateTopic("t", -1, {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(broker_->CreateTopic("t", 10001, {}).status()));
  v1::TopicConfig config;
  config.set_retention_ms(-1);
  EXPECT_TRUE(absl::IsInvalidArgument(broker_->CreateTopic("t", 1, config).status()));
  auto created = broker_->CreateTopic("t", 0, {});
  ASSERT_TRUE(created.ok());
  EXPECT_EQ((*created)->meta.partitions, 3);  // the default
  auto p = broker_->GetPartition("t", 3);
  EXPECT_TRUE(absl::IsNotFound(p.status()));
  EXPECT_NE(p.status().message().find("has 3 partitions"), std::string::npos);
  EXPECT_TRUE(absl::IsInvalidArgument(broker_->GetPartition("t", -1).status()));
}

TEST_F(BrokerTest, ReadHonoursRecordAndByteLimits) {
  Open();
  v1::PublishRequest req = Request("t", 10);
  req.set_partition(0);
  ASSERT_TRUE(Publish(req).status.ok());
  auto log = *broker_->GetPartition("t", 0);
  v1::SubscribeResponse resp;
  auto next = broker_->Read(*log, 3, 4, 0, &resp);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 7);
  ASSERT_EQ(resp.records_size(), 4);
  EXPECT_EQ(resp.records(0).offset(), 3);
  EXPECT_EQ(resp.records(0).value(), "v3");
  EXPECT_EQ(resp.end_offset(), 10);
  resp.Clear();
  next = broker_->Read(*log, 0, 0, 1, &resp);  // 1 byte: still one record
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(resp.records_size(), 1);
}

TEST_F(BrokerTest, StartPositions) {
  Open();
  for (int i = 0; i < 3; ++i) {
    v1::PublishRequest req = Request("t", 2);
    req.set_partition(0);
    for (auto& r : *req.mutable_records()) r.set_timestamp_ms(1000 * (i + 1));
    req.mutable_records(1)->set_timestamp_ms(1000 * (i + 1) + 500);
    ASSERT_TRUE(Publish(req).status.ok());
  }
  auto log = *broker_->GetPartition("t", 0);
  v1::DirectSubscription sub;
  sub.set_start(v1::START_POSITION_EARLIEST);
  EXPECT_EQ(*broker_->ResolveStart(*log, sub), 0);
  sub.set_start(v1::START_POSITION_LATEST);
  EXPECT_EQ(*broker_->ResolveStart(*log, sub), 6);
  sub.set_start(v1::START_POSITION_OFFSET);
  sub.set_offset(4);
  EXPECT_EQ(*broker_->ResolveStart(*log, sub), 4);
  sub.set_offset(7);
  EXPECT_TRUE(absl::IsOutOfRange(broker_->ResolveStart(*log, sub).status()));
  sub.set_offset_reset(v1::OFFSET_RESET_EARLIEST);
  EXPECT_EQ(*broker_->ResolveStart(*log, sub), 0);
  sub.set_offset(-1);
  EXPECT_TRUE(absl::IsInvalidArgument(broker_->ResolveStart(*log, sub).status()));
  sub.set_start(v1::START_POSITION_TIMESTAMP);
  sub.set_timestamp_ms(2200);  // inside the second batch: its second record (2500)
  EXPECT_EQ(*broker_->ResolveStart(*log, sub), 3);
  sub.set_timestamp_ms(9999);
  EXPECT_EQ(*broker_->ResolveStart(*log, sub), 6);
  sub.set_start(v1::START_POSITION_UNSPECIFIED);
  EXPECT_TRUE(absl::IsInvalidArgument(broker_->ResolveStart(*log, sub).status()));
  sub.set_start(static_cast<v1::StartPosition>(42));
  EXPECT_TRUE(absl::IsInvalidArgument(broker_->ResolveStart(*log, sub).status()));
}

TEST_F(BrokerTest, RetentionUsesTheInjectedClock) {
  Open();
  v1::TopicConfig config;
  config.set_retention_ms(60'000);
  ASSERT_TRUE(broker_->CreateTopic("t", 1, config).ok());
  ASSERT_TRUE(Publish(Request("t", 5)).status.ok());
  clock_.Advance(absl::Seconds(30));
  ASSERT_TRUE(Publish(Request("t", 5)).status.ok());
  auto log = *broker_->GetPartition("t", 0);

  EXPECT_EQ(*broker_->EnforceRetention(), 0);
  clock_.Advance(absl::Seconds(31));  // the first batch is now 61 s old
  EXPECT_EQ(*broker_->EnforceRetention(), 1);
  EXPECT_EQ(log->log_start_offset(), 5);
  v1::SubscribeResponse resp;
  EXPECT_TRUE(absl::IsOutOfRange(broker_->Read(*log, 0, 0, 0, &resp).status()));
  EXPECT_EQ(ReadAll("t", 0, 5).size(), 5u);
  v1::DirectSubscription sub;
  sub.set_start(v1::START_POSITION_EARLIEST);
  EXPECT_EQ(*broker_->ResolveStart(*log, sub), 5);
}

TEST_F(BrokerTest, RecoveryContinuesOffsets) {
  Open();
  ASSERT_TRUE(Publish(Request("t", 7, "same-key")).status.ok());
  const int32_t p = PartitionForKey("same-key", 3);
  broker_.reset();
  Open();
  Result r = Publish(Request("t", 1, "same-key"));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.response.acks(0).partition(), p);
  EXPECT_EQ(r.response.acks(0).offset(), 7);
  EXPECT_EQ(ReadAll("t", p).size(), 8u);
}

}  // namespace
}  // namespace ferry::broker
