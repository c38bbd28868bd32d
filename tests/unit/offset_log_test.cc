// The committed-offsets log (Kafka's __consumer_offsets, derived from the offsets column
// family): sequences dense per log partition, kept across reopen, old values read and given
// stable sequences, deletions as tombstones, and Kafka's group -> partition rule.
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/encoding.h"
#include "storage/offset_store.h"
#include "storage/store.h"
#include "tests/unit/temp_dir.h"

namespace ferry::storage {
namespace {

using ferry::testing::TempDir;

class OffsetLogTest : public ::testing::Test {
 protected:
  void Open(int32_t partitions = 50) {
    StoreOptions options;
    options.data_dir = dir_.path() + "/db";
    options.clock = &clock_;
    options.offsets_log_partitions = partitions;
    auto store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void Reopen(int32_t partitions = 50) {
    store_.reset();
    Open(partitions);
  }
  OffsetStore& offsets() { return store_->offsets(); }

  void Commit(const std::string& group, const std::string& topic, int32_t partition, int64_t offset,
              const std::string& metadata = "") {
    CommittedOffset c;
    c.topic = topic;
    c.partition = partition;
    c.offset = offset;
    c.metadata = metadata;
    ASSERT_TRUE(offsets().CommitSync(group, {c}).ok());
  }

  std::vector<OffsetLogEntry> Read(int32_t p, int64_t from = 0) {
    auto entries = offsets().ReadLog(p, from, SIZE_MAX);
    EXPECT_TRUE(entries.ok()) << entries.status();
    return entries.ok() ? entries->entries : std::vector<OffsetLogEntry>{};
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixMillis(1'700'000'000'000)};
  std::unique_ptr<Store> store_;
};

TEST(OffsetLogPartitionTest, FollowsKafkasRule) {
  // abs(String.hashCode) % 50, values computed with Java's algorithm.
  EXPECT_EQ(OffsetLogPartitionFor("my-group", 50), 12);
  EXPECT_EQ(OffsetLogPartitionFor("lag-monitor", 50), 39);
  EXPECT_EQ(OffsetLogPartitionFor("g", 50), 3);
  // UTF-8 read as UTF-16 code units (a surrogate pair for the emoji).
  EXPECT_EQ(OffsetLogPartitionFor("gr\xC3\xBCppe\xF0\x9F\x98\x80", 50), 13);
  // hashCode == Integer.MIN_VALUE: Kafka's Utils.abs gives 0.
  EXPECT_EQ(OffsetLogPartitionFor("polygenelubricants", 50), 0);
  EXPECT_EQ(OffsetLogPartitionFor("my-group", 1), 0);
}

TEST_F(OffsetLogTest, SequencesAreDensePerLogPartitionAndOnlyTheLatestCommitRemains) {
  Open();
  const int32_t p = OffsetLogPartitionFor("my-group", 50);
  const int32_t other = OffsetLogPartitionFor("lag-monitor", 50);
  ASSERT_NE(p, other);
  EXPECT_EQ(offsets().LogEnd(p), 0);
  Commit("my-group", "orders", 0, 5, "m0");
  Commit("my-group", "orders", 1, 7);
  Commit("lag-monitor", "orders", 0, 1);
  clock_.Advance(absl::Seconds(2));
  Commit("my-group", "orders", 0, 9, "m1");  // supersedes sequence 0
  EXPECT_EQ(offsets().LogEnd(p), 3);
  EXPECT_EQ(offsets().LogEnd(other), 1);

  std::vector<OffsetLogEntry> entries = Read(p);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].sequence, 1);
  EXPECT_EQ(entries[0].group, "my-group");
  EXPECT_EQ(entries[0].topic, "orders");
  EXPECT_EQ(entries[0].partition, 1);
  ASSERT_TRUE(entries[0].value.has_value());
  EXPECT_EQ(entries[0].value->offset, 7);
  EXPECT_EQ(entries[0].value->commit_timestamp_ms, 1'700'000'000'000);
  EXPECT_EQ(entries[1].sequence, 2);
  EXPECT_EQ(entries[1].partition, 0);
  EXPECT_EQ(entries[1].value->offset, 9);
  EXPECT_EQ(entries[1].value->metadata, "m1");
  EXPECT_EQ(entries[1].value->commit_timestamp_ms, 1'700'000'002'000);
  EXPECT_EQ(Read(p, 2).size(), 1u);
  EXPECT_TRUE(Read(p, 3).empty());
  // The committed offsets themselves are unchanged by the log.
  auto c = offsets().Fetch("my-group", "orders", 0);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->offset, 9);
  EXPECT_EQ((*c)->metadata, "m1");
}

TEST_F(OffsetLogTest, SequencesSurviveReopen) {
  Open();
  const int32_t p = OffsetLogPartitionFor("g", 50);
  for (int i = 0; i < 5; ++i) Commit("g", "t", 0, i);
  EXPECT_EQ(offsets().LogEnd(p), 5);
  Reopen();
  EXPECT_EQ(offsets().LogEnd(p), 5);
  std::vector<OffsetLogEntry> entries = Read(p);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].sequence, 4);
  EXPECT_EQ(entries[0].value->offset, 4);
  Commit("g", "t", 1, 1);
  EXPECT_EQ(offsets().LogEnd(p), 6);
  EXPECT_EQ(Read(p, 5).at(0).sequence, 5);
}

TEST_F(OffsetLogTest, OldFormatValuesAreReadAndGetStableSequences) {
  Open();
  // Values as Ferry stored them before the log: fixed64 offset, then the metadata.
  const auto put_old = [&](const std::string& group, const std::string& topic, int32_t partition,
                           int64_t offset, const std::string& metadata) {
    std::string key = group + '\0' + topic + '\0';
    PutBigEndian32(&key, static_cast<uint32_t>(partition));
    std::string value;
    PutFixed64(&value, static_cast<uint64_t>(offset));
    value += metadata;
    ASSERT_TRUE(store_->db()->Put(rocksdb::WriteOptions(), store_->offsets_cf(), key, value).ok());
  };
  put_old("g", "a", 0, 10, "x");
  put_old("g", "a", 1, 11, "");
  put_old("g", "b", 0, 12, "y");
  Reopen();
  const int32_t p = OffsetLogPartitionFor("g", 50);
  auto c = offsets().Fetch("g", "a", 0);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->offset, 10);
  EXPECT_EQ((*c)->metadata, "x");
  std::vector<OffsetLogEntry> first = Read(p);
  ASSERT_EQ(first.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(first[i].sequence, i);
  EXPECT_EQ(first[2].topic, "b");
  EXPECT_EQ(first[2].value->offset, 12);
  Reopen();
  std::vector<OffsetLogEntry> second = Read(p);
  ASSERT_EQ(second.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(second[i].sequence, first[i].sequence);
    EXPECT_EQ(second[i].topic, first[i].topic);
    EXPECT_EQ(second[i].partition, first[i].partition);
  }
  EXPECT_EQ(offsets().LogEnd(p), 3);
}

TEST_F(OffsetLogTest, DeletionsLeaveTombstonesAndTheEndNeverGoesBack) {
  Open();
  const int32_t p = OffsetLogPartitionFor("g", 50);
  Commit("g", "a", 0, 1);
  Commit("g", "a", 1, 2);
  Commit("g", "b", 0, 3);
  ASSERT_TRUE(offsets().DeleteOffsets("g", {{"a", 1}}).ok());
  std::vector<OffsetLogEntry> entries = Read(p);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[2].sequence, 3);
  EXPECT_EQ(entries[2].topic, "a");
  EXPECT_EQ(entries[2].partition, 1);
  EXPECT_FALSE(entries[2].value.has_value());  // tombstone
  ASSERT_TRUE(offsets().DeleteTopic("b").ok());
  ASSERT_TRUE(offsets().DeleteGroup("g").ok());
  EXPECT_EQ(offsets().LogEnd(p), 6);
  entries = Read(p);
  ASSERT_EQ(entries.size(), 3u);  // a/1, b/0, a/0: all tombstones
  for (const auto& e : entries) EXPECT_FALSE(e.value.has_value());
  EXPECT_EQ(entries[1].topic, "b");
  EXPECT_EQ(entries[2].topic, "a");
  EXPECT_EQ(entries[2].partition, 0);
  // Tombstones last until restart; the sequences they took are never given again.
  Reopen();
  EXPECT_TRUE(Read(p).empty());
  EXPECT_EQ(offsets().LogEnd(p), 6);
  Commit("g", "a", 0, 4);
  EXPECT_EQ(Read(p).at(0).sequence, 6);
  auto all = offsets().FetchAll("g");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(OffsetLogTest, ChangingThePartitionCountRenumbersAboveEverySequence) {
  Open(50);
  Commit("my-group", "t", 0, 1);
  Commit("lag-monitor", "t", 0, 1);
  Reopen(1);
  EXPECT_EQ(offsets().log_partitions(), 1);
  std::vector<OffsetLogEntry> entries = Read(0);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].group, "lag-monitor");  // key order
  EXPECT_EQ(entries[1].group, "my-group");
  EXPECT_EQ(offsets().LogEnd(0), 2);
  EXPECT_TRUE(offsets().ReadLog(1, 0, 100).status().code() == absl::StatusCode::kNotFound);
}

TEST_F(OffsetLogTest, ReadsSayHowFarTheyCovered) {
  Open();
  const int32_t p = OffsetLogPartitionFor("g", 50);
  for (int i = 0; i < 4; ++i) Commit("g", "t", i, i);
  Commit("g", "t", 0, 10);                 // sequence 0 superseded by 4
  auto read = offsets().ReadLog(p, 0, 1);  // a byte limit that stops after one entry
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->entries.size(), 1u);
  EXPECT_EQ(read->entries[0].sequence, 1);
  EXPECT_EQ(read->covered, 2);
  EXPECT_EQ(read->end, 5);
  read = offsets().ReadLog(p, 2, SIZE_MAX);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->entries.size(), 3u);
  EXPECT_EQ(read->covered, 5);
  // Tombstones gone after a restart leave a gap at the end that a read covers.
  ASSERT_TRUE(offsets().DeleteOffsets("g", {{"t", 3}}).ok());
  Reopen();
  read = offsets().ReadLog(p, 5, SIZE_MAX);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->entries.empty());
  EXPECT_EQ(read->end, 6);
  EXPECT_EQ(read->covered, 6);
}

TEST_F(OffsetLogTest, WaitersAreWokenWhenTheLogGrows) {
  Open();
  const int32_t p = OffsetLogPartitionFor("g", 50);
  Commit("g", "t", 0, 1);
  EXPECT_FALSE(offsets().WaitForLog(p, 0, [] {}).has_value());  // already past 0
  int woken = 0;
  auto id = offsets().WaitForLog(p, 1, [&] { ++woken; });
  ASSERT_TRUE(id.has_value());
  auto cancelled = offsets().WaitForLog(p, 1, [&] { woken += 100; });
  ASSERT_TRUE(cancelled.has_value());
  offsets().CancelLogWait(*cancelled);
  Commit("other-group", "t", 0, 1);  // another partition
  EXPECT_EQ(woken, 0);
  Commit("g", "t", 1, 1);  // CommitSync returns after the waiter ran (on the commit thread)
  EXPECT_EQ(woken, 1);
  Commit("g", "t", 2, 1);
  EXPECT_EQ(woken, 1);  // once
  EXPECT_FALSE(offsets().WaitForLog(p + 50, 0, [] {}).has_value());
}

TEST_F(OffsetLogTest, ConcurrentCommitsGetUniqueSequencesAndAReaderFollowingSeesTheLast) {
  Open();
  const int32_t p = OffsetLogPartitionFor("g", 50);
  constexpr int kThreads = 4;
  constexpr int kCommits = 150;
  std::atomic<bool> writing{true};
  // A reader that follows the log as a consumer would: from its position, to what it covered.
  std::map<std::tuple<std::string, int32_t>, int64_t> seen;  // (topic, partition) -> offset
  std::thread reader([&] {
    int64_t position = 0;
    int64_t last_sequence = -1;
    while (true) {
      const bool last_pass = !writing.load();
      auto read = offsets().ReadLog(p, position, 512);
      ASSERT_TRUE(read.ok()) << read.status();
      for (const auto& e : read->entries) {
        ASSERT_GT(e.sequence, last_sequence);
        ASSERT_LT(e.sequence, read->end);
        last_sequence = e.sequence;
        seen[{e.topic, e.partition}] = e.value.has_value() ? e.value->offset : -1;
      }
      ASSERT_GE(read->covered, position);
      position = read->covered;
      if (last_pass && position == offsets().LogEnd(p)) break;
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kCommits; ++i) {
        // Keys shared between threads (partition i % 5) and one per thread.
        CommittedOffset c;
        c.topic = i % 2 == 0 ? "shared" : "own-" + std::to_string(t);
        c.partition = i % 5;
        c.offset = t * 1000 + i;
        ASSERT_TRUE(offsets().CommitSync("g", {c}).ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  writing.store(false);
  reader.join();
  EXPECT_EQ(offsets().LogEnd(p), kThreads * kCommits);
  // Every key once, at its latest commit, which is what the store holds.
  std::vector<OffsetLogEntry> entries = Read(p);
  std::map<std::tuple<std::string, int32_t>, int64_t> final_state;
  for (const auto& e : entries) {
    ASSERT_TRUE(e.value.has_value());
    EXPECT_TRUE(final_state.emplace(std::make_tuple(e.topic, e.partition), e.value->offset).second);
    auto stored = offsets().Fetch("g", e.topic, e.partition);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    EXPECT_EQ((*stored)->offset, e.value->offset) << e.topic << "/" << e.partition;
  }
  EXPECT_EQ(final_state.size(), 5u + kThreads * 5u);
  EXPECT_EQ(seen, final_state);
  Reopen();
  EXPECT_EQ(offsets().LogEnd(p), kThreads * kCommits);
  EXPECT_EQ(Read(p).size(), final_state.size());
}

}  // namespace
}  // namespace ferry::storage
