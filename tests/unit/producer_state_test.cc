// Idempotent producer state: the per-partition sequence rules (duplicates of the last 5
// batches, gaps, epochs, wrap), expiry on an injected clock, the per-partition cap, the
// persisted encoding, and through a real Store: duplicates detected after a reopen, expired
// state gone for good, producer ids never reused.
#include "storage/producer_state.h"

#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "storage/clock.h"
#include "storage/store.h"
#include "tests/unit/temp_dir.h"

namespace ferry::storage {
namespace {

using Kind = ProducerStateTable::Check::Kind;
using ferry::testing::TempDir;

ProducerAppend From(int64_t id, int16_t epoch, int32_t sequence) { return {id, epoch, sequence}; }

TEST(ProducerStateTest, SequenceRules) {
  ProducerStateTable table;
  ProducerStateLimits limits;
  std::vector<int64_t> evicted;
  // No state yet: any sequence starts it (Kafka 2.5+).
  EXPECT_EQ(table.Evaluate(From(7, 0, 40), 2).kind, Kind::kAppend);
  int64_t offset = 0;
  for (int b = 0; b < 7; ++b, offset += 2) {
    ASSERT_EQ(table.Evaluate(From(7, 0, b * 2), 2).kind, b == 0 ? Kind::kAppend : Kind::kAppend);
    table.Record(From(7, 0, b * 2), 2, offset, 1000, limits, &evicted);
  }
  // The last 5 batches (sequences 4..13) are duplicates with their offsets; older ones are not.
  for (int b = 2; b < 7; ++b) {
    auto c = table.Evaluate(From(7, 0, b * 2), 2);
    EXPECT_EQ(c.kind, Kind::kDuplicate) << b;
    EXPECT_EQ(c.duplicate_base_offset, b * 2) << b;
  }
  EXPECT_EQ(table.Evaluate(From(7, 0, 2), 2).error.code(), absl::StatusCode::kOutOfRange);
  // Same first sequence, different length: not a duplicate, and not next either.
  EXPECT_EQ(table.Evaluate(From(7, 0, 12), 1).kind, Kind::kRefused);
  EXPECT_EQ(table.Evaluate(From(7, 0, 14), 3).kind, Kind::kAppend);
  EXPECT_EQ(table.Evaluate(From(7, 0, 15), 1).error.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(table.Evaluate(From(7, 0, -1), 1).kind, Kind::kRefused);
  // Epochs: older fenced; newer starts at 0 and forgets the old batches.
  table.Record(From(7, 1, 0), 1, 100, 1000, limits, &evicted);
  EXPECT_EQ(table.Evaluate(From(7, 0, 14), 1).error.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(table.Evaluate(From(7, 2, 5), 1).error.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(table.Evaluate(From(7, 2, 0), 1).kind, Kind::kAppend);
  EXPECT_EQ(table.Evaluate(From(7, 1, 0), 1).kind, Kind::kDuplicate);
  EXPECT_EQ(table.Evaluate(From(7, 1, 1), 1).kind, Kind::kAppend);
  EXPECT_TRUE(evicted.empty());
}

TEST(ProducerStateTest, SequenceWrapsAtInt32Max) {
  EXPECT_EQ(LastSequence(INT32_MAX - 1, 2), INT32_MAX);
  EXPECT_EQ(LastSequence(INT32_MAX, 2), 0);
  EXPECT_EQ(LastSequence(INT32_MAX - 1, 4), 1);
  ProducerStateTable table;
  std::vector<int64_t> evicted;
  table.Record(From(1, 0, INT32_MAX - 1), 2, 0, 0, {}, &evicted);
  EXPECT_EQ(table.Evaluate(From(1, 0, 0), 1).kind, Kind::kAppend);
  EXPECT_EQ(table.Evaluate(From(1, 0, 1), 1).kind, Kind::kRefused);
  table.Record(From(1, 0, INT32_MAX), 3, 2, 0, {}, &evicted);  // INT32_MAX, 0, 1
  EXPECT_EQ(table.Evaluate(From(1, 0, 2), 1).kind, Kind::kAppend);
  EXPECT_EQ(table.Evaluate(From(1, 0, INT32_MAX), 3).kind, Kind::kDuplicate);
}

TEST(ProducerStateTest, IdleProducersExpireAndTheCapEvictsTheIdlest) {
  ProducerStateTable table;
  ProducerStateLimits limits;
  limits.expiry_ms = 1000;
  limits.max_producers = 2;
  std::vector<int64_t> evicted;
  table.Record(From(1, 0, 0), 1, 0, /*now_ms=*/100, limits, &evicted);
  table.Record(From(2, 0, 0), 1, 1, /*now_ms=*/200, limits, &evicted);
  table.Record(From(1, 0, 1), 1, 2, /*now_ms=*/300, limits, &evicted);  // 1 is active again
  EXPECT_TRUE(evicted.empty());
  table.Record(From(3, 0, 0), 1, 3, /*now_ms=*/400, limits, &evicted);
  EXPECT_EQ(evicted, std::vector<int64_t>{2});
  EXPECT_EQ(table.size(), 2u);
  EXPECT_TRUE(table.Expire(1300, limits).empty());  // 1 idle for exactly 1000 ms: kept
  EXPECT_EQ(table.Expire(1301, limits), std::vector<int64_t>{1});
  EXPECT_EQ(table.Expire(5000, limits), std::vector<int64_t>{3});
  EXPECT_EQ(table.size(), 0u);
  // Forgotten: the next append starts it again at any sequence.
  EXPECT_EQ(table.Evaluate(From(1, 0, 99), 1).kind, Kind::kAppend);
}

TEST(ProducerStateTest, EncodingRoundTrips) {
  ProducerEntry e;
  e.epoch = 32000;
  e.last_append_ms = 1'700'000'000'000;
  e.batches = {{0, 4, 10}, {5, 5, 15}, {INT32_MAX, 1, 1LL << 40}};
  ProducerEntry d;
  ASSERT_TRUE(DecodeProducerEntry(EncodeProducerEntry(e), &d));
  EXPECT_EQ(d.epoch, e.epoch);
  EXPECT_EQ(d.last_append_ms, e.last_append_ms);
  ASSERT_EQ(d.batches.size(), 3u);
  EXPECT_EQ(d.batches[2].first_sequence, INT32_MAX);
  EXPECT_EQ(d.batches[2].base_offset, 1LL << 40);
  EXPECT_FALSE(DecodeProducerEntry("junk", &d));
  uint64_t topic;
  int32_t partition;
  int64_t id;
  ASSERT_TRUE(ParseProducerStateKey(ProducerStateKey(9, 3, 12345), &topic, &partition, &id));
  EXPECT_EQ(topic, 9u);
  EXPECT_EQ(partition, 3);
  EXPECT_EQ(id, 12345);
  EXPECT_LT(ProducerStateKey(9, 3, 12345), ProducerStateTopicStart(10));
  EXPECT_GE(ProducerStateKey(9, 0, 0), ProducerStateTopicStart(9));
}

class ProducerStoreTest : public ::testing::Test {
 protected:
  void Open() {
    StoreOptions options;
    options.data_dir = dir_.path() + "/db";
    options.clock = &clock_;
    options.producer_limits.expiry_ms = 60'000;
    auto store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void Reopen() {
    store_.reset();
    Open();
  }
  std::shared_ptr<PartitionLog> Log() { return store_->FindTopic("t")->partitions[0]; }

  absl::StatusOr<int64_t> Append(ProducerAppend producer, uint32_t count) {
    std::vector<Store::AppendPart> parts(1);
    parts[0].log = Log();
    parts[0].count = count;
    parts[0].max_timestamp_ms = 1000;
    parts[0].payload = std::string(count, 'x');
    parts[0].producer = producer;
    absl::Notification done;
    absl::Status status;
    int64_t base = -1;
    store_->Append(std::move(parts), [&](absl::Status s, const std::vector<int64_t>& bases) {
      status = s;
      if (s.ok()) base = bases[0];
      done.Notify();
    });
    done.WaitForNotification();
    if (!status.ok()) return status;
    return base;
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(ProducerStoreTest, DuplicatesAreDetectedAfterReopenAndIdsNeverRepeat) {
  Open();
  TopicMeta meta;
  meta.name = "t";
  meta.partitions = 1;
  ASSERT_TRUE(store_->CreateTopic(meta).ok());
  auto id = store_->AllocateProducerId();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*Append(From(*id, 0, 0), 3), 0);
  EXPECT_EQ(*Append(From(*id, 0, 3), 2), 3);
  EXPECT_EQ(*Append(From(*id, 0, 0), 3), 0);  // duplicate
  EXPECT_EQ(Log()->end_offset(), 5);
  EXPECT_EQ(Append(From(*id + 5000, 0, 0), 1).status().code(),
            absl::StatusCode::kFailedPrecondition);

  Reopen();
  EXPECT_EQ(Log()->end_offset(), 5);
  EXPECT_EQ(*Append(From(*id, 0, 3), 2), 3);  // still a duplicate after the restart
  EXPECT_EQ(Append(From(*id, 0, 9), 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*Append(From(*id, 0, 5), 1), 5);
  auto next = store_->AllocateProducerId();
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, *id);

  // Idle past the expiry: forgotten, on disk too.
  clock_.Advance(absl::Minutes(2));
  ASSERT_TRUE(store_->EnforceRetention(clock_.NowMs()).ok());
  EXPECT_EQ(Log()->producers().size(), 0u);
  Reopen();
  EXPECT_EQ(Log()->producers().size(), 0u);
  EXPECT_EQ(*Append(From(*id, 0, 3), 2), 6);  // no state: taken as a first append
}

TEST_F(ProducerStoreTest, RetentionKeepsALiveProducersState) {
  Open();
  TopicMeta meta;
  meta.name = "t";
  meta.partitions = 1;
  meta.retention_bytes = 1;  // keeps no batch
  ASSERT_TRUE(store_->CreateTopic(meta).ok());
  auto id = store_->AllocateProducerId();
  ASSERT_TRUE(id.ok());
  for (int b = 0; b < 4; ++b) ASSERT_EQ(*Append(From(*id, 0, b * 2), 2), b * 2);
  auto removed = store_->EnforceRetention(clock_.NowMs());
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 4);
  EXPECT_EQ(Log()->log_start_offset(), 8);
  // The batches are gone, the producer's sequence is not: a retry is still a duplicate, a gap
  // is still refused, and the next batch follows on.
  EXPECT_EQ(*Append(From(*id, 0, 2), 2), 2);
  EXPECT_EQ(Append(From(*id, 0, 12), 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*Append(From(*id, 0, 8), 1), 8);
}

}  // namespace
}  // namespace ferry::storage
