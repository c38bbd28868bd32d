// Idempotent producers against a real ferryd, over raw Kafka requests: InitProducerId in every
// version (new ids, epoch bumps, fencing, transactional ids refused), duplicates acknowledged
// with their original offsets and stored once, sequence gaps and stale epochs refused, the
// transaction APIs answered with error codes, and a kill -9 while a producer has batches in
// flight: after the restart its retries store nothing twice and lose nothing.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "kafka/kafka_conn.h"
#include "kafka/kafka_requests.h"
#include "server/broker/types.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/records.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using ktest::KafkaConn;
using ktest::ParseProduce;
using ktest::ProduceBody;
using ktest::ProduceResult;

constexpr char kTopic[] = "idem";

struct ProducerId {
  int16_t error = -100;
  int64_t id = -1;
  int16_t epoch = -1;
};

std::string InitProducerIdBody(int16_t version, std::optional<std::string> transactional_id,
                               int64_t producer_id = -1, int16_t epoch = -1) {
  std::string body;
  Writer w(&body, version >= 2);
  w.NullableString(transactional_id);
  w.Int32(60000);
  if (version >= 3) {
    w.Int64(producer_id);
    w.Int16(epoch);
  }
  w.TaggedFields();
  return body;
}

ProducerId ParseInitProducerId(int16_t version, const std::string& body) {
  Reader r(body, version >= 2);
  ProducerId out;
  r.Int32();  // throttle
  out.error = r.Int16();
  out.id = r.Int64();
  out.epoch = r.Int16();
  r.TaggedFields();
  EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
  return out;
}

// `count` records "<prefix>-<i>" as one record batch v2 from producer `id` at `epoch`, first
// sequence `sequence`; `attributes` 0x10 marks it transactional.
std::string IdempotentBatch(const std::string& prefix, int count, int64_t id, int16_t epoch,
                            int32_t sequence, int16_t attributes = 0) {
  std::vector<std::string> values;
  for (int i = 0; i < count; ++i) values.push_back(absl::StrCat(prefix, "-", i));
  std::vector<FetchedRecord> records;
  for (int i = 0; i < count; ++i) {
    FetchedRecord& f = records.emplace_back();
    f.fields.value = values[i];
    f.fields.timestamp_ms = 1000;
    f.offset = i;
  }
  std::string out;
  EncodeRecordBatch(records, &out);
  std::string patch;
  Writer w(&patch);
  w.Int16(attributes);
  out.replace(21, 2, patch);
  patch.clear();
  w.Int64(id);
  w.Int16(epoch);
  w.Int32(sequence);
  out.replace(43, 14, patch);
  patch.clear();
  w.Uint32(Crc32c(std::string_view(out).substr(21)));
  out.replace(17, 4, patch);
  return out;
}

class KafkaIdempotenceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(StartBroker()); }

  void StartBroker() {
    ASSERT_TRUE(ferryd_.Start({"--log-level=debug"}));
    Connect();
  }

  void Connect() {
    conn_ = std::make_unique<KafkaConn>();
    ASSERT_TRUE(conn_->Connect(ferryd_.kafka_port()));
  }

  ProducerId Init(int16_t version, std::optional<std::string> transactional_id = std::nullopt,
                  int64_t id = -1, int16_t epoch = -1) {
    auto body = conn_->Call(kInitProducerId, version,
                            InitProducerIdBody(version, transactional_id, id, epoch));
    EXPECT_TRUE(body.has_value()) << "InitProducerId v" << version << " got no answer";
    if (!body) return {};
    return ParseInitProducerId(version, *body);
  }

  ProduceResult Produce(const std::string& records,
                        std::optional<std::string> transactional_id = std::nullopt) {
    auto body = conn_->Call(kProduce, 3, ProduceBody(3, kTopic, 0, records, -1, transactional_id));
    EXPECT_TRUE(body.has_value()) << "Produce got no answer";
    if (!body) return {};
    return ParseProduce(3, *body);
  }

  // Every record of partition 0 from offset 0, as (offset, value), by Fetch v4.
  std::vector<std::pair<int64_t, std::string>> ReadAll() {
    std::vector<std::pair<int64_t, std::string>> out;
    int64_t next = 0;
    while (true) {
      std::string body;
      Writer w(&body);
      w.Int32(-1);
      w.Int32(0);
      w.Int32(0);
      w.Int32(1 << 20);
      w.Int8(0);
      w.ArrayCount(1);
      w.String(kTopic);
      w.ArrayCount(1);
      w.Int32(0);
      w.Int64(next);
      w.Int32(1 << 20);
      auto resp = conn_->Call(kFetch, 4, body);
      EXPECT_TRUE(resp.has_value());
      if (!resp) return out;
      Reader r(*resp);
      r.Int32();
      r.ArrayCount();
      r.String();
      r.ArrayCount();
      r.Int32();
      EXPECT_EQ(r.Int16(), 0);
      const int64_t high_watermark = r.Int64();
      r.Int64();
      r.Int32();
      const std::string_view records = r.BytesField();
      // Fetched batches carry their base offsets; the records' values say which they are.
      size_t at = 0;
      while (at + 12 <= records.size()) {
        Reader h(records.substr(at));
        const int64_t base = h.Int64();
        const int32_t size = h.Int32();
        const std::string_view batch = records.substr(at, 12 + static_cast<size_t>(size));
        std::vector<broker::RecordFields> decoded;
        absl::Status s = DecodeProduceRecords(batch, &decoded);
        EXPECT_TRUE(s.ok()) << s;
        for (size_t i = 0; i < decoded.size(); ++i) {
          const int64_t offset = base + static_cast<int64_t>(i);
          if (offset >= next) out.emplace_back(offset, std::string(decoded[i].value));
        }
        at += batch.size();
      }
      if (!out.empty()) next = out.back().first + 1;
      if (next >= high_watermark || records.empty()) return out;
    }
  }

  // Partition 0's end offset by ListOffsets v1 on `conn`; -1 on failure.
  static int64_t EndOffset(KafkaConn& conn) {
    std::string body;
    Writer w(&body);
    w.Int32(-1);
    w.ArrayCount(1);
    w.String(kTopic);
    w.ArrayCount(1);
    w.Int32(0);
    w.Int64(-1);  // latest
    auto resp = conn.Call(kListOffsets, 1, body);
    if (!resp) return -1;
    Reader r(*resp);
    r.ArrayCount();
    r.String();
    r.ArrayCount();
    r.Int32();
    if (r.Int16() != 0) return -1;
    r.Int64();
    const int64_t offset = r.Int64();
    return r.ok() ? offset : -1;
  }

  void EnsureTopic() {
    std::string body;
    Writer w(&body);
    w.ArrayCount(1);
    w.String(kTopic);
    w.Bool(true);
    ASSERT_TRUE(conn_->Call(kMetadata, 4, body).has_value());
  }

  FerrydProcess ferryd_;
  std::unique_ptr<KafkaConn> conn_;
};

TEST_F(KafkaIdempotenceTest, InitProducerIdInEveryVersion) {
  std::set<int64_t> ids;
  for (int16_t v = 0; v <= 4; ++v) {
    ProducerId p = Init(v);
    EXPECT_EQ(p.error, 0) << "v" << v;
    EXPECT_GE(p.id, 0) << "v" << v;
    EXPECT_EQ(p.epoch, 0) << "v" << v;
    EXPECT_TRUE(ids.insert(p.id).second) << "id " << p.id << " given twice";
  }
  // v3+: the id and epoch a producer holds get the next epoch of the same id.
  for (int16_t v = 3; v <= 4; ++v) {
    ProducerId p = Init(v);
    ProducerId bumped = Init(v, std::nullopt, p.id, p.epoch);
    EXPECT_EQ(bumped.error, 0);
    EXPECT_EQ(bumped.id, p.id);
    EXPECT_EQ(bumped.epoch, 1);
    // A retry of that bump (its answer lost) gets the same answer.
    ProducerId retried = Init(v, std::nullopt, p.id, 0);
    EXPECT_EQ(retried.error, 0);
    EXPECT_EQ(retried.epoch, 1);
    ProducerId again = Init(v, std::nullopt, p.id, 1);
    EXPECT_EQ(again.epoch, 2);
    // Epoch 0 is now two bumps old: fenced (INVALID_PRODUCER_EPOCH before v4).
    ProducerId fenced = Init(v, std::nullopt, p.id, 0);
    EXPECT_EQ(fenced.error, v >= 4 ? error::kProducerFenced : error::kInvalidProducerEpoch);
    // Only one of id and epoch set: a malformed request.
    EXPECT_EQ(Init(v, std::nullopt, p.id, -1).error, error::kInvalidRequest);
  }
  // Transactional ids: a clear refusal in every version, the connection kept.
  for (int16_t v = 0; v <= 4; ++v) {
    ProducerId t = Init(v, "tx-1");
    EXPECT_EQ(t.error, error::kTransactionalIdAuthorizationFailed) << "v" << v;
    EXPECT_EQ(t.id, -1);
  }
}

TEST_F(KafkaIdempotenceTest, ProducerIdsAreNeverReusedAfterKill9) {
  int64_t highest = -1;
  for (int i = 0; i < 3; ++i) highest = std::max(highest, Init(4).id);
  ferryd_.Kill9();
  ASSERT_TRUE(ferryd_.Restart());
  Connect();
  ProducerId after = Init(4);
  EXPECT_EQ(after.error, 0);
  EXPECT_GT(after.id, highest);
}

TEST_F(KafkaIdempotenceTest, DuplicateIsAcknowledgedWithItsOriginalOffsetAndStoredOnce) {
  EnsureTopic();
  ProducerId p = Init(4);
  ASSERT_EQ(p.error, 0);
  const std::string first = IdempotentBatch("a", 3, p.id, p.epoch, 0);
  const std::string second = IdempotentBatch("b", 2, p.id, p.epoch, 3);
  ProduceResult r1 = Produce(first);
  ASSERT_EQ(r1.error, 0);
  EXPECT_EQ(r1.base_offset, 0);
  ProduceResult r2 = Produce(second);
  ASSERT_EQ(r2.error, 0);
  EXPECT_EQ(r2.base_offset, 3);
  // Retries of either: acknowledged where the originals went.
  ProduceResult d1 = Produce(first);
  EXPECT_EQ(d1.error, 0);
  EXPECT_EQ(d1.base_offset, 0);
  ProduceResult d2 = Produce(second);
  EXPECT_EQ(d2.error, 0);
  EXPECT_EQ(d2.base_offset, 3);
  // The next batch follows on.
  ProduceResult r3 = Produce(IdempotentBatch("c", 1, p.id, p.epoch, 5));
  EXPECT_EQ(r3.error, 0);
  EXPECT_EQ(r3.base_offset, 5);
  auto stored = ReadAll();
  std::vector<std::string> values;
  for (const auto& [offset, value] : stored) values.push_back(value);
  EXPECT_EQ(values, (std::vector<std::string>{"a-0", "a-1", "a-2", "b-0", "b-1", "c-0"}));
}

TEST_F(KafkaIdempotenceTest, SequenceGapIsOutOfOrderAndNothingIsStored) {
  EnsureTopic();
  ProducerId p = Init(4);
  ASSERT_EQ(Produce(IdempotentBatch("a", 2, p.id, p.epoch, 0)).error, 0);
  // Sequence 2 is next; 4 leaves a gap.
  EXPECT_EQ(Produce(IdempotentBatch("x", 1, p.id, p.epoch, 4)).error,
            error::kOutOfOrderSequenceNumber);
  // An older sequence that is no duplicate of a recent batch is out of order too.
  EXPECT_EQ(Produce(IdempotentBatch("y", 1, p.id, p.epoch, 1)).error,
            error::kOutOfOrderSequenceNumber);
  ProduceResult next = Produce(IdempotentBatch("b", 1, p.id, p.epoch, 2));
  EXPECT_EQ(next.error, 0);
  EXPECT_EQ(next.base_offset, 2);
  EXPECT_EQ(ReadAll().size(), 3u);
}

TEST_F(KafkaIdempotenceTest, OlderEpochIsFencedAndNewEpochStartsAtZero) {
  EnsureTopic();
  ProducerId p = Init(4);
  ASSERT_EQ(Produce(IdempotentBatch("a", 1, p.id, 0, 0)).error, 0);
  ProducerId bumped = Init(4, std::nullopt, p.id, 0);
  ASSERT_EQ(bumped.epoch, 1);
  // A new epoch must start its sequences at 0.
  EXPECT_EQ(Produce(IdempotentBatch("x", 1, p.id, 1, 7)).error, error::kOutOfOrderSequenceNumber);
  ASSERT_EQ(Produce(IdempotentBatch("b", 1, p.id, 1, 0)).error, 0);
  // The old epoch is fenced, even with its next sequence.
  EXPECT_EQ(Produce(IdempotentBatch("z", 1, p.id, 0, 1)).error, error::kInvalidProducerEpoch);
  EXPECT_EQ(ReadAll().size(), 2u);
}

TEST_F(KafkaIdempotenceTest, UnknownProducerIdAndSequenceWrap) {
  EnsureTopic();
  // An id this broker never gave out.
  EXPECT_EQ(Produce(IdempotentBatch("x", 1, 1'000'000'000, 0, 0)).error, error::kUnknownProducerId);
  // A known id with no state on the partition starts anywhere (Kafka 2.5+); the sequence
  // wraps from INT32_MAX to 0.
  ProducerId p = Init(4);
  ASSERT_EQ(Produce(IdempotentBatch("a", 2, p.id, 0, INT32_MAX - 1)).error, 0);
  ProduceResult wrapped = Produce(IdempotentBatch("b", 1, p.id, 0, 0));
  EXPECT_EQ(wrapped.error, 0);
  EXPECT_EQ(wrapped.base_offset, 2);
  EXPECT_EQ(Produce(IdempotentBatch("b", 1, p.id, 0, 0)).base_offset, 2);  // its duplicate
}

TEST_F(KafkaIdempotenceTest, TransactionalProduceAndTransactionApisAnswerErrors) {
  EnsureTopic();
  ProducerId p = Init(4);
  EXPECT_EQ(Produce(IdempotentBatch("t", 1, p.id, 0, 0, /*attributes=*/0x10)).error,
            error::kTransactionalIdAuthorizationFailed);
  EXPECT_EQ(Produce(IdempotentBatch("t", 1, p.id, 0, 0), "tx-1").error,
            error::kTransactionalIdAuthorizationFailed);

  for (int16_t v : {0, 3}) {
    const bool flexible = v >= 3;
    {  // AddPartitionsToTxn
      std::string body;
      Writer w(&body, flexible);
      w.String("tx-1");
      w.Int64(p.id);
      w.Int16(0);
      w.ArrayCount(1);
      w.String(kTopic);
      w.ArrayCount(1);
      w.Int32(0);
      w.TaggedFields();
      w.TaggedFields();
      auto resp = conn_->Call(kAddPartitionsToTxn, v, body);
      ASSERT_TRUE(resp.has_value()) << "AddPartitionsToTxn v" << v;
      Reader r(*resp, flexible);
      r.Int32();
      EXPECT_EQ(r.ArrayCount(), 1);
      EXPECT_EQ(r.String(), kTopic);
      EXPECT_EQ(r.ArrayCount(), 1);
      EXPECT_EQ(r.Int32(), 0);
      EXPECT_EQ(r.Int16(), error::kTransactionalIdAuthorizationFailed);
      EXPECT_TRUE(r.ok()) << r.error();
    }
    {  // EndTxn
      std::string body;
      Writer w(&body, flexible);
      w.String("tx-1");
      w.Int64(p.id);
      w.Int16(0);
      w.Bool(true);
      w.TaggedFields();
      auto resp = conn_->Call(kEndTxn, v, body);
      ASSERT_TRUE(resp.has_value()) << "EndTxn v" << v;
      Reader r(*resp, flexible);
      r.Int32();
      EXPECT_EQ(r.Int16(), error::kTransactionalIdAuthorizationFailed);
    }
    {  // AddOffsetsToTxn
      std::string body;
      Writer w(&body, flexible);
      w.String("tx-1");
      w.Int64(p.id);
      w.Int16(0);
      w.String("g");
      w.TaggedFields();
      auto resp = conn_->Call(kAddOffsetsToTxn, v, body);
      ASSERT_TRUE(resp.has_value()) << "AddOffsetsToTxn v" << v;
      Reader r(*resp, flexible);
      r.Int32();
      EXPECT_EQ(r.Int16(), error::kTransactionalIdAuthorizationFailed);
    }
    {  // TxnOffsetCommit
      std::string body;
      Writer w(&body, flexible);
      w.String("tx-1");
      w.String("g");
      w.Int64(p.id);
      w.Int16(0);
      if (v >= 3) {
        w.Int32(-1);
        w.String("");
        w.NullableString(std::nullopt);
      }
      w.ArrayCount(1);
      w.String(kTopic);
      w.ArrayCount(1);
      w.Int32(0);
      w.Int64(5);
      if (v >= 2) w.Int32(-1);
      w.NullableString(std::nullopt);
      w.TaggedFields();
      w.TaggedFields();
      w.TaggedFields();
      auto resp = conn_->Call(kTxnOffsetCommit, v, body);
      ASSERT_TRUE(resp.has_value()) << "TxnOffsetCommit v" << v;
      Reader r(*resp, flexible);
      r.Int32();
      EXPECT_EQ(r.ArrayCount(), 1);
      r.String();
      EXPECT_EQ(r.ArrayCount(), 1);
      r.Int32();
      EXPECT_EQ(r.Int16(), error::kTransactionalIdAuthorizationFailed);
    }
  }
  {  // ListTransactions v1: none.
    std::string body;
    Writer w(&body, true);
    w.ArrayCount(0);
    w.ArrayCount(0);
    w.Int64(-1);
    w.TaggedFields();
    auto resp = conn_->Call(kListTransactions, 1, body);
    ASSERT_TRUE(resp.has_value());
    Reader r(*resp, true);
    r.Int32();
    EXPECT_EQ(r.Int16(), 0);
    EXPECT_EQ(r.ArrayCount(), 0);
    EXPECT_EQ(r.ArrayCount(), 0);
  }
  {  // DescribeTransactions: not found.
    std::string body;
    Writer w(&body, true);
    w.ArrayCount(1);
    w.String("tx-1");
    w.TaggedFields();
    auto resp = conn_->Call(kDescribeTransactions, 0, body);
    ASSERT_TRUE(resp.has_value());
    Reader r(*resp, true);
    r.Int32();
    EXPECT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.Int16(), error::kTransactionalIdNotFound);
  }
  // Nothing was stored, and the connection still serves.
  EXPECT_EQ(ReadAll().size(), 0u);
}

TEST_F(KafkaIdempotenceTest, DescribeProducersShowsEachProducersState) {
  EnsureTopic();
  ProducerId p = Init(4);
  ASSERT_EQ(Produce(IdempotentBatch("a", 4, p.id, 0, 0)).error, 0);
  std::string body;
  Writer w(&body, true);
  w.ArrayCount(1);
  w.String(kTopic);
  w.ArrayCount(2);
  w.Int32(0);
  w.Int32(99);
  w.TaggedFields();
  w.TaggedFields();
  auto resp = conn_->Call(kDescribeProducers, 0, body);
  ASSERT_TRUE(resp.has_value());
  Reader r(*resp, true);
  r.Int32();
  ASSERT_EQ(r.ArrayCount(), 1);
  EXPECT_EQ(r.String(), kTopic);
  ASSERT_EQ(r.ArrayCount(), 2);
  EXPECT_EQ(r.Int32(), 0);
  EXPECT_EQ(r.Int16(), 0);
  r.NullableString();
  ASSERT_EQ(r.ArrayCount(), 1);
  EXPECT_EQ(r.Int64(), p.id);
  EXPECT_EQ(r.Int32(), 0);  // epoch
  EXPECT_EQ(r.Int32(), 3);  // last sequence
  EXPECT_GT(r.Int64(), 0);  // last timestamp
  r.Int32();
  r.Int64();
  r.TaggedFields();
  r.TaggedFields();
  EXPECT_EQ(r.Int32(), 99);
  EXPECT_EQ(r.Int16(), error::kUnknownTopicOrPartition);
  EXPECT_TRUE(r.ok()) << r.error();
}

// A producer keeps 5 batches in flight; ferryd is killed with some acknowledged and some not.
// After the restart, on the same data dir, it retries every unacknowledged batch in order: the
// ones stored before the crash are acknowledged with their original offsets, the others are
// appended, so every record is stored exactly once, offsets dense, in sequence order.
TEST_F(KafkaIdempotenceTest, RetriesAfterKill9StoreEveryRecordOnce) {
  EnsureTopic();
  ProducerId p = Init(4);
  ASSERT_EQ(p.error, 0);
  constexpr int kBatches = 200;
  constexpr int kPerBatch = 3;
  constexpr int kInFlight = 5;
  constexpr int kKillAfterAcks = 60;
  std::vector<std::string> batches;
  for (int b = 0; b < kBatches; ++b) {
    batches.push_back(
        IdempotentBatch(absl::StrCat("r", b), kPerBatch, p.id, p.epoch, b * kPerBatch));
  }
  std::vector<int64_t> acked(kBatches, -1);
  std::vector<int32_t> correlation(kBatches, 0);
  int sent = 0;
  int answered = 0;
  while (answered < kKillAfterAcks) {
    while (sent < kBatches && sent - answered < kInFlight) {
      correlation[sent] = conn_->Send(kProduce, 3, ProduceBody(3, kTopic, 0, batches[sent]));
      ++sent;
    }
    auto resp = conn_->Receive(correlation[answered]);
    ASSERT_TRUE(resp.has_value());
    ProduceResult r = ParseProduce(3, *resp);
    ASSERT_EQ(r.error, 0) << "batch " << answered;
    acked[answered] = r.base_offset;
    ++answered;
  }
  // Top up the window so batches are in flight at the kill, and kill once at least 3 of them
  // are stored (seen on another connection) but none of their answers has been read.
  while (sent < kBatches && sent - answered < kInFlight) {
    correlation[sent] = conn_->Send(kProduce, 3, ProduceBody(3, kTopic, 0, batches[sent]));
    ++sent;
  }
  KafkaConn watcher;
  ASSERT_TRUE(watcher.Connect(ferryd_.kafka_port()));
  ASSERT_TRUE(integration::WaitFor([&] { return EndOffset(watcher) >= (answered + 3) * kPerBatch; },
                                   absl::Seconds(30)));
  ferryd_.Kill9();
  ASSERT_TRUE(ferryd_.Restart());
  Connect();
  for (int b = answered; b < kBatches; ++b) {
    ProduceResult r = Produce(batches[b]);
    ASSERT_EQ(r.error, 0) << "retry of batch " << b;
    acked[b] = r.base_offset;
    if (b == answered) {
      // Its answer lost once more: the same offset again.
      ProduceResult again = Produce(batches[b]);
      EXPECT_EQ(again.error, 0);
      EXPECT_EQ(again.base_offset, r.base_offset);
    }
  }

  auto stored = ReadAll();
  ASSERT_EQ(stored.size(), static_cast<size_t>(kBatches * kPerBatch));
  for (int b = 0; b < kBatches; ++b) {
    EXPECT_EQ(acked[b], b * kPerBatch) << "batch " << b;
    for (int i = 0; i < kPerBatch; ++i) {
      const auto& [offset, value] = stored[b * kPerBatch + i];
      EXPECT_EQ(offset, b * kPerBatch + i);
      EXPECT_EQ(value, absl::StrCat("r", b, "-", i));
    }
  }
}

}  // namespace
}  // namespace ferry::kafka
