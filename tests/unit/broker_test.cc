#include "server/broker/broker.h"

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/partitioner.h"
#include "ferry/v1/ferry.pb.h"
#include "gtest/gtest.h"
#include "server/grpc/convert.h"
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
  // Publishes `request` as the gRPC door does: walked in wire format, acks back as a message.
  Result Publish(const v1::PublishRequest& request) {
    Result result;
    const std::string encoded = request.SerializeAsString();
    PublishBatch batch;
    uint64_t sequence = 0;
    result.status = ParsePublishRequest(encoded, &batch, &sequence);
    if (!result.status.ok()) return result;
    absl::Notification done;
    broker_->Publish(batch, [&](absl::Status s, const PublishAcks* acks) {
      result.status = s;
      for (size_t i = 0; acks != nullptr && i < acks->size(); ++i) {
        v1::RecordAck* ack = result.response.add_acks();
        ack->set_partition(acks->partition(i));
        ack->set_offset(acks->offset(i));
      }
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
      if (!key.empty()) r->set_key(key);  // "": a null key (keyless)
      r->set_value("v" + std::to_string(i));
    }
    return req;
  }

  // Reads what `reader` gives in one Read into `out` (records with offsets, end_offset).
  static absl::StatusOr<int32_t> ReadInto(TailReader& reader, int32_t max_records,
                                          int32_t max_bytes, v1::SubscribeResponse* out) {
    auto n = reader.Read(max_records, max_bytes, [&](std::string_view encoded, int64_t offset) {
      v1::Record* r = out->add_records();
      if (!r->ParseFromArray(encoded.data(), static_cast<int>(encoded.size()))) {
        return absl::DataLossError("stored record does not parse");
      }
      r->set_offset(offset);
      return absl::OkStatus();
    });
    out->set_end_offset(reader.end_offset());
    return n;
  }

  // One read from `from`: the offset after the records read.
  absl::StatusOr<int64_t> Read(const std::string& topic, int32_t partition, int64_t from,
                               int32_t max_records, int32_t max_bytes, v1::SubscribeResponse* out) {
    auto reader =
        broker_->OpenReader(topic, partition, StartPosition::AtOffset(from), OffsetReset::kNone);
    if (!reader.ok()) return reader.status();
    auto n = ReadInto(*reader, max_records, max_bytes, out);
    if (!n.ok()) return n.status();
    return reader->next();
  }

  std::vector<v1::Record> ReadAll(const std::string& topic, int32_t partition, int64_t from = 0) {
    std::vector<v1::Record> out;
    while (true) {
      v1::SubscribeResponse resp;
      auto next = Read(topic, partition, from, 0, 0, &resp);
      EXPECT_TRUE(next.ok()) << next.status();
      if (!next.ok() || resp.records_size() == 0) break;
      for (const auto& r : resp.records()) out.push_back(r);
      from = *next;
    }
    return out;
  }

  // Topic "t" (1 partition, retention 60 s): offsets 0-4, then 30 s later offsets 5-9.
  void PublishTwoBatches30sApart() {
    TopicConfig config;
    config.retention_ms = 60'000;
    ASSERT_TRUE(broker_->CreateTopic("t", 1, config).ok());
    ASSERT_TRUE(Publish(Request("t", 5)).status.ok());
    clock_.Advance(absl::Seconds(30));
    ASSERT_TRUE(Publish(Request("t", 5)).status.ok());
  }

  // A direct subscription's start, converted as the gRPC door does, resolved by the engine.
  absl::StatusOr<int64_t> Resolve(const storage::PartitionLog& log,
                                  const v1::DirectSubscription& sub) {
    auto start = grpc_server::FromProto(sub);
    if (!start.ok()) return start.status();
    return broker_->ResolveStart(log, start->start, start->reset);
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

// As Kafka's default partitioner: an empty key is a key (murmur2("") places every such
// record on one partition), a null key is spread; both read back as they were sent.
TEST_F(BrokerTest, EmptyKeyIsHashedAndNullKeyIsSpread) {
  Open();  // 3 partitions by default
  v1::PublishRequest req;
  req.set_topic("keys");
  for (int i = 0; i < 6; ++i) {
    v1::Record* empty_key = req.add_records();
    empty_key->set_key("");
    if (i % 2 == 0) empty_key->set_value("");  // else a null value
    req.add_records()->set_value("spread");    // null key
  }
  Result r = Publish(req);
  ASSERT_TRUE(r.status.ok());
  const int32_t hashed = PartitionForKey("", 3);
  std::map<int32_t, int> spread;
  for (int i = 0; i < 12; ++i) {
    if (i % 2 == 0) {
      EXPECT_EQ(r.response.acks(i).partition(), hashed) << i;
    } else {
      ++spread[r.response.acks(i).partition()];
    }
  }
  EXPECT_EQ(spread, (std::map<int32_t, int>{{0, 2}, {1, 2}, {2, 2}}));
  int empty_keys = 0;
  for (int32_t p = 0; p < 3; ++p) {
    for (const v1::Record& rec : ReadAll("keys", p)) {
      if (rec.has_key()) {
        ++empty_keys;
        EXPECT_EQ(p, hashed);
        EXPECT_TRUE(rec.key().empty());
      } else {
        EXPECT_TRUE(rec.has_value());
        EXPECT_EQ(rec.value(), "spread");
      }
    }
  }
  EXPECT_EQ(empty_keys, 6);
  // Null and empty values of the hashed partition, in publish order.
  int n = 0;
  for (const v1::Record& rec : ReadAll("keys", hashed)) {
    if (!rec.has_key()) continue;
    EXPECT_EQ(rec.has_value(), n % 2 == 0) << n;
    ++n;
  }
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
  TopicConfig config;
  config.retention_ms = -1;
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
  v1::SubscribeResponse resp;
  auto next = Read("t", 0, 3, 4, 0, &resp);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 7);
  ASSERT_EQ(resp.records_size(), 4);
  EXPECT_EQ(resp.records(0).offset(), 3);
  EXPECT_EQ(resp.records(0).value(), "v3");
  EXPECT_EQ(resp.end_offset(), 10);
  resp.Clear();
  next = Read("t", 0, 0, 0, 1, &resp);  // 1 byte: still one record
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
  EXPECT_EQ(*Resolve(*log, sub), 0);
  sub.set_start(v1::START_POSITION_LATEST);
  EXPECT_EQ(*Resolve(*log, sub), 6);
  sub.set_start(v1::START_POSITION_OFFSET);
  sub.set_offset(4);
  EXPECT_EQ(*Resolve(*log, sub), 4);
  sub.set_offset(7);
  EXPECT_TRUE(absl::IsOutOfRange(Resolve(*log, sub).status()));
  sub.set_offset_reset(v1::OFFSET_RESET_EARLIEST);
  EXPECT_EQ(*Resolve(*log, sub), 0);
  sub.set_offset(-1);
  EXPECT_TRUE(absl::IsInvalidArgument(Resolve(*log, sub).status()));
  sub.set_start(v1::START_POSITION_TIMESTAMP);
  sub.set_timestamp_ms(2200);  // inside the second batch: its second record (2500)
  EXPECT_EQ(*Resolve(*log, sub), 3);
  sub.set_timestamp_ms(9999);
  EXPECT_EQ(*Resolve(*log, sub), 6);
  sub.set_start(v1::START_POSITION_UNSPECIFIED);
  EXPECT_TRUE(absl::IsInvalidArgument(Resolve(*log, sub).status()));
  sub.set_start(static_cast<v1::StartPosition>(42));
  EXPECT_TRUE(absl::IsInvalidArgument(Resolve(*log, sub).status()));
}

TEST_F(BrokerTest, FindMaxTimestampGivesTheFirstRecordWithTheLargestTimestamp) {
  Open();
  ASSERT_TRUE(broker_->CreateTopic("t", 1, {}).ok());
  auto log = *broker_->GetPartition("t", 0);
  auto none = broker_->FindMaxTimestamp(*log);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->offset, -1);
  EXPECT_EQ(none->timestamp_ms, -1);
  // Timestamps out of offset order: 1000 1500 | 5000 4000 5000 | 2000.
  const std::vector<std::vector<int64_t>> batches = {{1000, 1500}, {5000, 4000, 5000}, {2000}};
  for (const auto& ts : batches) {
    v1::PublishRequest req = Request("t", static_cast<int>(ts.size()));
    req.set_partition(0);
    for (size_t i = 0; i < ts.size(); ++i)
      req.mutable_records(static_cast<int>(i))->set_timestamp_ms(ts[i]);
    ASSERT_TRUE(Publish(req).status.ok());
  }
  auto max = broker_->FindMaxTimestamp(*log);
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(max->offset, 2);
  EXPECT_EQ(max->timestamp_ms, 5000);
}

TEST_F(BrokerTest, RetentionUsesTheInjectedClock) {
  Open();
  ASSERT_NO_FATAL_FAILURE(PublishTwoBatches30sApart());
  auto log = *broker_->GetPartition("t", 0);

  EXPECT_EQ(*broker_->EnforceRetention(), 0);
  clock_.Advance(absl::Seconds(31));  // the first batch is now 61 s old
  EXPECT_EQ(*broker_->EnforceRetention(), 1);
  EXPECT_EQ(log->log_start_offset(), 5);
  v1::SubscribeResponse resp;
  EXPECT_TRUE(absl::IsOutOfRange(Read("t", 0, 0, 0, 0, &resp).status()));
  EXPECT_EQ(ReadAll("t", 0, 5).size(), 5u);
  v1::DirectSubscription sub;
  sub.set_start(v1::START_POSITION_EARLIEST);
  EXPECT_EQ(*Resolve(*log, sub), 5);
}

// The one reset rule (types.h: OffsetReset), as every reader applies it through TailReader:
// retention passing a reader sends it to the log start (kEarliest) or end (kLatest), or ends
// it with OUT_OF_RANGE (kNone).
TEST_F(BrokerTest, ResetRuleWhenRetentionPassesAReader) {
  Open();
  ASSERT_NO_FATAL_FAILURE(PublishTwoBatches30sApart());
  const auto open = [&](OffsetReset reset) {
    auto r = broker_->OpenReader("t", 0, StartPosition::AtOffset(1), reset);
    EXPECT_TRUE(r.ok()) << r.status();
    return *std::move(r);
  };
  TailReader none = open(OffsetReset::kNone);
  TailReader earliest = open(OffsetReset::kEarliest);
  TailReader latest = open(OffsetReset::kLatest);
  clock_.Advance(absl::Seconds(31));
  ASSERT_EQ(*broker_->EnforceRetention(), 1);  // offsets 0-4 are gone; every reader is at 1

  v1::SubscribeResponse resp;
  EXPECT_TRUE(absl::IsOutOfRange(ReadInto(none, 0, 0, &resp).status()));
  EXPECT_EQ(none.next(), 1);

  resp.Clear();
  ASSERT_EQ(*ReadInto(earliest, 0, 0, &resp), 5);
  EXPECT_EQ(resp.records(0).offset(), 5);
  EXPECT_EQ(earliest.next(), 10);

  resp.Clear();
  ASSERT_EQ(*ReadInto(latest, 0, 0, &resp), 0);
  EXPECT_EQ(latest.next(), 10);
  ASSERT_TRUE(Publish(Request("t", 1)).status.ok());
  ASSERT_EQ(*ReadInto(latest, 0, 0, &resp), 1);
  EXPECT_EQ(resp.records(0).offset(), 10);
}

// A start outside the log follows the same rule when a reader opens.
TEST_F(BrokerTest, ResetRuleWhenAReaderStartsOutsideTheLog) {
  Open();
  ASSERT_TRUE(broker_->CreateTopic("t", 1, {}).ok());
  ASSERT_TRUE(Publish(Request("t", 3)).status.ok());
  const StartPosition past_end = StartPosition::AtOffset(7);
  EXPECT_TRUE(
      absl::IsOutOfRange(broker_->OpenReader("t", 0, past_end, OffsetReset::kNone).status()));
  EXPECT_EQ(broker_->OpenReader("t", 0, past_end, OffsetReset::kEarliest)->next(), 0);
  EXPECT_EQ(broker_->OpenReader("t", 0, past_end, OffsetReset::kLatest)->next(), 3);
}

// A waiting reader is woken by the next append past its position, not before.
TEST_F(BrokerTest, TailReaderWaitsForAppends) {
  Open();
  ASSERT_TRUE(broker_->CreateTopic("t", 1, {}).ok());
  auto reader = broker_->OpenReader("t", 0, StartPosition::Latest(), OffsetReset::kNone);
  ASSERT_TRUE(reader.ok());
  absl::Notification woken;
  ASSERT_TRUE(reader->WaitAsync([&] { woken.Notify(); }));
  EXPECT_FALSE(woken.HasBeenNotified());
  ASSERT_TRUE(Publish(Request("t", 1)).status.ok());
  EXPECT_TRUE(woken.WaitForNotificationWithTimeout(absl::Seconds(30)));
  v1::SubscribeResponse resp;
  EXPECT_EQ(*ReadInto(*reader, 0, 0, &resp), 1);
  // Caught up again: a new wait registers; cancelled before any append, it never fires.
  ASSERT_TRUE(reader->WaitAsync([] { ADD_FAILURE() << "fired after cancel"; }));
  EXPECT_TRUE(reader->CancelWait());
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
