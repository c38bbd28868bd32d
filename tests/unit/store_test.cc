#include "storage/store.h"

#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/catalog.h"
#include "storage/offset_store.h"
#include "tests/unit/temp_dir.h"

namespace ferry::storage {
namespace {

using ferry::testing::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  void Open() {
    StoreOptions options;
    options.data_dir = dir_.path() + "/db";
    auto store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void Reopen() {
    store_.reset();
    Open();
  }

  std::shared_ptr<const Topic> Create(const std::string& name, int32_t partitions,
                                      int64_t retention_ms = 0, int64_t retention_bytes = 0) {
    TopicMeta meta;
    meta.name = name;
    meta.partitions = partitions;
    meta.retention_ms = retention_ms;
    meta.retention_bytes = retention_bytes;
    auto topic = store_->CreateTopic(meta);
    EXPECT_TRUE(topic.ok()) << topic.status();
    return topic.ok() ? *topic : nullptr;
  }

  // Appends one batch of `count` records with payload `payload` and waits for its base offset.
  absl::StatusOr<int64_t> Append(const std::shared_ptr<PartitionLog>& log, uint32_t count,
                                 const std::string& payload, int64_t max_ts = 1000) {
    std::vector<Store::AppendPart> parts(1);
    parts[0].log = log;
    parts[0].count = count;
    parts[0].max_timestamp_ms = max_ts;
    parts[0].payload = payload;
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
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, OffsetsAreDenseAcrossBatches) {
  Open();
  auto topic = Create("orders", 2);
  auto log = topic->partitions[0];
  EXPECT_EQ(*Append(log, 3, "aaa"), 0);
  EXPECT_EQ(*Append(log, 5, "bbbbb"), 3);
  EXPECT_EQ(*Append(log, 1, "c"), 8);
  EXPECT_EQ(log->end_offset(), 9);
  EXPECT_EQ(topic->partitions[1]->end_offset(), 0);
}

TEST_F(StoreTest, ReadFindsTheBatchHoldingAnOffset) {
  Open();
  auto log = Create("orders", 1)->partitions[0];
  ASSERT_TRUE(Append(log, 3, "first").ok());
  ASSERT_TRUE(Append(log, 5, "second").ok());
  ASSERT_TRUE(Append(log, 2, "third").ok());

  // Offset 4 lies inside the second batch [3, 8).
  std::vector<StoredBatch> batches;
  ASSERT_TRUE(log->Read(4, 1, 1 << 20, &batches).ok());
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].base_offset, 3);
  EXPECT_EQ(batches[0].count, 5u);
  EXPECT_EQ(batches[0].payload, "second");

  // Enough records asked for: the read continues across the batch boundary.
  batches.clear();
  ASSERT_TRUE(log->Read(4, 100, 1 << 20, &batches).ok());
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1].base_offset, 8);
  EXPECT_EQ(batches[1].payload, "third");

  // A batch boundary exactly.
  batches.clear();
  ASSERT_TRUE(log->Read(8, 100, 1 << 20, &batches).ok());
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].base_offset, 8);

  // At the end: nothing yet, not an error. Past it: out of range.
  batches.clear();
  EXPECT_TRUE(log->Read(10, 100, 1 << 20, &batches).ok());
  EXPECT_TRUE(batches.empty());
  EXPECT_TRUE(absl::IsOutOfRange(log->Read(11, 100, 1 << 20, &batches)));
}

TEST_F(StoreTest, ReadStopsAtByteLimitButReturnsAtLeastOneBatch) {
  Open();
  auto log = Create("orders", 1)->partitions[0];
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Append(log, 1, std::string(100, 'x')).ok());
  std::vector<StoredBatch> batches;
  ASSERT_TRUE(log->Read(0, 1000, 1, &batches).ok());
  EXPECT_EQ(batches.size(), 1u);
  batches.clear();
  ASSERT_TRUE(log->Read(0, 1000, 250, &batches).ok());
  EXPECT_EQ(batches.size(), 3u);
}

TEST_F(StoreTest, RecoveryKeepsTopicsRecordsAndNextOffset) {
  Open();
  auto topic = Create("orders", 3);
  ASSERT_TRUE(Append(topic->partitions[1], 4, "abcd").ok());
  ASSERT_TRUE(Append(topic->partitions[1], 2, "ef").ok());
  ASSERT_TRUE(Append(topic->partitions[2], 1, "g").ok());
  const int64_t size = topic->partitions[1]->size_bytes();
  topic.reset();
  Reopen();

  auto recovered = store_->FindTopic("orders");
  ASSERT_NE(recovered, nullptr);
  EXPECT_EQ(recovered->meta.partitions, 3);
  EXPECT_EQ(recovered->partitions[0]->end_offset(), 0);
  EXPECT_EQ(recovered->partitions[1]->end_offset(), 6);
  EXPECT_EQ(recovered->partitions[1]->size_bytes(), size);
  EXPECT_EQ(recovered->partitions[2]->end_offset(), 1);
  EXPECT_EQ(store_->recovery().topics, 1);
  EXPECT_EQ(store_->recovery().partitions, 3);
  EXPECT_EQ(store_->recovery().records, 7);

  // Appends continue at last + 1, and old records are still there.
  EXPECT_EQ(*Append(recovered->partitions[1], 1, "h"), 6);
  std::vector<StoredBatch> batches;
  ASSERT_TRUE(recovered->partitions[1]->Read(0, 100, 1 << 20, &batches).ok());
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].payload, "abcd");
  EXPECT_EQ(batches[2].payload, "h");
}

TEST_F(StoreTest, TopicUuidIsPersistedAndGivenToTopicsOfOlderFerry) {
  Open();
  auto created = Create("fresh", 1);
  ASSERT_NE(created, nullptr);
  EXPECT_FALSE(IsZeroUuid(created->meta.uuid));
  auto old = Create("old", 2);
  ASSERT_NE(old, nullptr);
  // Rewrite "old" as a Ferry before topic UUIDs stored it: the first 32 bytes only.
  TopicMeta legacy = old->meta;
  legacy.uuid = {};
  const std::string value = EncodeTopicMeta(legacy).substr(0, 32);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ASSERT_TRUE(store_->db()->Put(wo, store_->meta_cf(), TopicKey("old"), value).ok());

  Reopen();
  EXPECT_EQ(store_->FindTopic("fresh")->meta.uuid, created->meta.uuid);
  const TopicUuid given = store_->FindTopic("old")->meta.uuid;
  EXPECT_FALSE(IsZeroUuid(given));
  EXPECT_NE(given, created->meta.uuid);
  EXPECT_EQ(store_->FindTopic("old")->meta.partitions, 2);
  std::string stored;
  ASSERT_TRUE(
      store_->db()->Get(rocksdb::ReadOptions(), store_->meta_cf(), TopicKey("old"), &stored).ok());
  EXPECT_EQ(stored.size(), 48u);  // persisted once, in the current format

  Reopen();
  EXPECT_EQ(store_->FindTopic("old")->meta.uuid, given);
  ASSERT_NE(store_->FindTopicByUuid(given), nullptr);
  EXPECT_EQ(store_->FindTopicByUuid(given)->meta.name, "old");
  EXPECT_EQ(store_->FindTopicByUuid(TopicUuid{}), nullptr);
}

TEST_F(StoreTest, CreateDuplicateTopicFails) {
  Open();
  Create("orders", 1);
  TopicMeta meta;
  meta.name = "orders";
  meta.partitions = 2;
  EXPECT_TRUE(absl::IsAlreadyExists(store_->CreateTopic(meta).status()));
}

TEST_F(StoreTest, AddPartitionsGrowsOnlyAndSurvivesRestart) {
  Open();
  Create("orders", 2);
  EXPECT_TRUE(absl::IsInvalidArgument(store_->AddPartitions("orders", 2).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->AddPartitions("orders", 1).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->AddPartitions("nope", 3).status()));
  auto grown = store_->AddPartitions("orders", 5);
  ASSERT_TRUE(grown.ok()) << grown.status();
  EXPECT_EQ((*grown)->partitions.size(), 5u);
  ASSERT_TRUE(Append((*grown)->partitions[4], 2, "xy").ok());
  grown = absl::StatusOr<std::shared_ptr<const Topic>>();
  Reopen();
  auto topic = store_->FindTopic("orders");
  ASSERT_NE(topic, nullptr);
  EXPECT_EQ(topic->meta.partitions, 5);
  EXPECT_EQ(topic->partitions[4]->end_offset(), 2);
}

TEST_F(StoreTest, DeleteTopicThenRecreateStartsAtZero) {
  Open();
  auto old_log = Create("orders", 1)->partitions[0];
  ASSERT_TRUE(Append(old_log, 5, "abcde").ok());
  ASSERT_TRUE(store_->offsets().CommitSync("g", {{"orders", 0, 3, ""}}).ok());

  bool woke = false;
  const uint64_t waiter = old_log->AddWaiter(5, [&] { woke = true; });
  ASSERT_NE(waiter, 0u);
  ASSERT_TRUE(store_->DeleteTopic("orders").ok());
  EXPECT_EQ(store_->FindTopic("orders"), nullptr);
  EXPECT_TRUE(old_log->deleted());
  std::vector<StoredBatch> batches;
  EXPECT_TRUE(absl::IsNotFound(old_log->Read(0, 10, 1 << 20, &batches)));
  EXPECT_TRUE(absl::IsNotFound(Append(old_log, 1, "z").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->DeleteTopic("orders")));
  // Committed offsets of the deleted topic are gone too.
  auto committed = store_->offsets().Fetch("g", "orders", 0);
  ASSERT_TRUE(committed.ok());
  EXPECT_FALSE(committed->has_value());

  auto log = Create("orders", 1)->partitions[0];
  EXPECT_EQ(log->end_offset(), 0);
  EXPECT_EQ(*Append(log, 1, "new"), 0);
  Reopen();
  auto topic = store_->FindTopic("orders");
  ASSERT_NE(topic, nullptr);
  EXPECT_EQ(topic->partitions[0]->end_offset(), 1);
  EXPECT_TRUE(woke);  // the waiter fired on deletion (its notifier ran before Close returned)
}

TEST_F(StoreTest, WaiterFiresWhenRecordsArrive) {
  Open();
  auto log = Create("orders", 1)->partitions[0];
  absl::Notification woke;
  const uint64_t id = log->AddWaiter(0, [&] { woke.Notify(); });
  ASSERT_NE(id, 0u);
  EXPECT_FALSE(woke.HasBeenNotified());
  ASSERT_TRUE(Append(log, 1, "a").ok());
  EXPECT_TRUE(woke.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Data already there: no registration.
  EXPECT_EQ(log->AddWaiter(0, [] {}), 0u);
  // A removed waiter never fires.
  bool fired = false;
  const uint64_t other = log->AddWaiter(1, [&] { fired = true; });
  EXPECT_TRUE(log->RemoveWaiter(other));
  ASSERT_TRUE(Append(log, 1, "b").ok());
  store_.reset();  // drains the notifier
  EXPECT_FALSE(fired);
}

TEST_F(StoreTest, RetentionByTimeRemovesOldBatches) {
  Open();
  auto log = Create("orders", 1, /*retention_ms=*/1000)->partitions[0];
  ASSERT_TRUE(Append(log, 2, "old", /*max_ts=*/10'000).ok());
  ASSERT_TRUE(Append(log, 3, "mid", /*max_ts=*/20'000).ok());
  ASSERT_TRUE(Append(log, 1, "new", /*max_ts=*/30'000).ok());
  const int64_t size_before = log->size_bytes();

  // At t=20,500 only the first batch (max ts 10,000) is older than 1 s.
  auto removed = store_->EnforceRetention(20'500);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(log->log_start_offset(), 2);
  EXPECT_LT(log->size_bytes(), size_before);
  std::vector<StoredBatch> batches;
  EXPECT_TRUE(absl::IsOutOfRange(log->Read(0, 10, 1 << 20, &batches)));
  ASSERT_TRUE(log->Read(2, 10, 1 << 20, &batches).ok());
  EXPECT_EQ(batches.front().payload, "mid");

  // Nothing more is old enough; later everything goes, but the next offset stays.
  EXPECT_EQ(*store_->EnforceRetention(20'500), 0);
  EXPECT_EQ(*store_->EnforceRetention(100'000), 2);
  EXPECT_EQ(log->log_start_offset(), 6);
  EXPECT_EQ(log->end_offset(), 6);
  Reopen();
  auto topic = store_->FindTopic("orders");
  EXPECT_EQ(topic->partitions[0]->log_start_offset(), 6);
  EXPECT_EQ(topic->partitions[0]->end_offset(), 6);
  EXPECT_EQ(topic->partitions[0]->size_bytes(), 0);
  EXPECT_EQ(*Append(topic->partitions[0], 1, "again"), 6);
}

TEST_F(StoreTest, RetentionByBytesKeepsTheNewest) {
  Open();
  auto log = Create("orders", 1, 0, /*retention_bytes=*/250)->partitions[0];
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Append(log, 1, std::string(100, 'a' + i)).ok());
  auto removed = store_->EnforceRetention(0);
  ASSERT_TRUE(removed.ok());
  // Each stored batch is 113 bytes: two fit in 250.
  EXPECT_EQ(*removed, 3);
  EXPECT_EQ(log->log_start_offset(), 3);
  EXPECT_LE(log->size_bytes(), 250);
}

TEST_F(StoreTest, FindBatchByTimestamp) {
  Open();
  auto log = Create("orders", 1)->partitions[0];
  ASSERT_TRUE(Append(log, 2, "a", 100).ok());
  ASSERT_TRUE(Append(log, 2, "b", 200).ok());
  EXPECT_EQ(*log->FindBatchByTimestamp(0), 0);
  EXPECT_EQ(*log->FindBatchByTimestamp(150), 2);
  EXPECT_EQ(*log->FindBatchByTimestamp(201), 4);
}

TEST_F(StoreTest, FindMaxTimestampBatch) {
  Open();
  auto log = Create("orders", 1)->partitions[0];
  EXPECT_EQ(log->FindMaxTimestampBatch()->count, 0u);
  ASSERT_TRUE(Append(log, 2, "a", 100).ok());
  ASSERT_TRUE(Append(log, 3, "b", 300).ok());
  ASSERT_TRUE(Append(log, 2, "c", 300).ok());  // ties: the first batch wins
  ASSERT_TRUE(Append(log, 1, "d", 200).ok());
  auto best = log->FindMaxTimestampBatch();
  ASSERT_TRUE(best.ok());
  EXPECT_EQ(best->base_offset, 2);
  EXPECT_EQ(best->count, 3u);
  EXPECT_EQ(best->max_timestamp_ms, 300);
}

TEST_F(StoreTest, CommittedOffsetsSurviveRestart) {
  Open();
  OffsetStore& offsets = store_->offsets();
  ASSERT_TRUE(offsets.CommitSync("g1", {{"a", 0, 10, "m"}, {"a", 1, 20, ""}}).ok());
  ASSERT_TRUE(offsets.CommitSync("g2", {{"a", 0, 5, ""}}).ok());
  ASSERT_TRUE(offsets.CommitSync("g1", {{"a", 0, 11, "n"}}).ok());
  Reopen();
  auto c = store_->offsets().Fetch("g1", "a", 0);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->offset, 11);
  EXPECT_EQ((*c)->metadata, "n");
  auto all = store_->offsets().FetchAll("g1");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  auto groups = store_->offsets().ListGroups();
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(*groups, (std::vector<std::string>{"g1", "g2"}));
  ASSERT_TRUE(store_->offsets().DeleteGroup("g1").ok());
  EXPECT_TRUE(store_->offsets().FetchAll("g1")->empty());
  EXPECT_EQ(store_->offsets().FetchAll("g2")->size(), 1u);
}

TEST_F(StoreTest, AppendsAfterCloseAreRefused) {
  Open();
  auto log = Create("orders", 1)->partitions[0];
  store_->CloseReaders();
  EXPECT_TRUE(absl::IsUnavailable(Append(log, 1, "x").status()));
}

}  // namespace
}  // namespace ferry::storage
