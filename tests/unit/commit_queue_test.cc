#include "storage/commit_queue.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/statistics.h"
#include "storage/catalog.h"
#include "storage/database.h"
#include "storage/recovery.h"
#include "storage/rocks_options.h"
#include "tests/unit/temp_dir.h"

namespace ferry::storage {
namespace {

using ferry::testing::TempDir;

class CommitQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto recovered =
        Recover(dir_.path() + "/db", MakeRocksOptions(8 << 20, 16 << 20), &db_, &catalog_);
    ASSERT_TRUE(recovered.ok()) << recovered.status();
  }
  void TearDown() override {
    queue_.reset();  // before the database closes
    catalog_.reset();
    db_.reset();
  }

  void StartQueue(const CommitQueueOptions& options) {
    queue_ = std::make_unique<CommitQueue>(db_->db(), options);
  }

  std::vector<WriteOp> Put(const std::string& key, const std::string& value) {
    std::vector<WriteOp> ops(1);
    ops[0].cf = db_->meta_cf();
    ops[0].key = key;
    ops[0].value = value;
    return ops;
  }

  std::string Get(const std::string& key) {
    std::string value;
    rocksdb::Status s = db_->db()->Get(rocksdb::ReadOptions(), db_->meta_cf(), key, &value);
    return s.ok() ? value : "<" + s.ToString() + ">";
  }

  uint64_t WalSyncs() {
    return db_->options().statistics->getTickerCount(rocksdb::WAL_FILE_SYNCED);
  }

  // Waits (in real time) until the WAL was synced more than `count` times.
  bool WaitForWalSyncsAbove(uint64_t count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      if (WalSyncs() > count) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  TempDir dir_;
  FakeClock clock_;  // outlives the queue, whose thread reads it until Stop returns
  std::unique_ptr<Database> db_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<CommitQueue> queue_;
};

TEST_F(CommitQueueTest, WritesInQueueOrderAndCallsBackInOrder) {
  StartQueue(CommitQueueOptions());
  std::vector<int> order;
  absl::Mutex mu;
  absl::Notification last;
  for (int i = 0; i < 100; ++i) {
    queue_->Write(Put("k", std::to_string(i)), [&, i](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      absl::MutexLock lock(&mu);
      order.push_back(i);
      if (i == 99) last.Notify();
    });
  }
  last.WaitForNotification();
  EXPECT_EQ(Get("k"), "99");
  absl::MutexLock lock(&mu);
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  EXPECT_GE(queue_->commit_groups(), 1);
  EXPECT_LE(queue_->commit_groups(), 100);
}

TEST_F(CommitQueueTest, PutValueIsPrefixThenValue) {
  StartQueue(CommitQueueOptions());
  std::vector<WriteOp> ops = Put("k", "payload");
  ops[0].value_prefix = "head:";
  ASSERT_TRUE(queue_->WriteSync(std::move(ops)).ok());
  EXPECT_EQ(Get("k"), "head:payload");
}

TEST_F(CommitQueueTest, StopWritesWhatIsQueuedThenRefuses) {
  StartQueue(CommitQueueOptions());
  absl::Notification done;
  queue_->Write(Put("a", "1"), [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    done.Notify();
  });
  queue_->Stop();
  EXPECT_TRUE(done.HasBeenNotified());
  EXPECT_EQ(Get("a"), "1");
  EXPECT_TRUE(absl::IsUnavailable(queue_->WriteSync(Put("b", "2"))));
  EXPECT_TRUE(absl::IsUnavailable(queue_->Barrier()));
  queue_->Stop();  // idempotent
}

TEST_F(CommitQueueTest, SyncedWritesSyncTheWal) {
  StartQueue(CommitQueueOptions());  // sync_writes
  const uint64_t before = WalSyncs();
  ASSERT_TRUE(queue_->WriteSync(Put("a", "1")).ok());
  EXPECT_GT(WalSyncs(), before);
}

TEST_F(CommitQueueTest, IntervalSyncFollowsTheInjectedClock) {
  CommitQueueOptions options;
  options.sync_writes = false;
  options.sync_interval = absl::Hours(1);
  options.clock = &clock_;
  StartQueue(options);
  const uint64_t before = WalSyncs();

  // Less than the interval has passed on the clock: no sync, however long the real wait.
  ASSERT_TRUE(queue_->WriteSync(Put("a", "1")).ok());
  clock_.Advance(absl::Minutes(59));
  ASSERT_TRUE(queue_->WriteSync(Put("a", "2")).ok());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(WalSyncs(), before);

  // The interval has passed: the commit thread syncs after its next write.
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(queue_->WriteSync(Put("a", "3")).ok());
  EXPECT_TRUE(WaitForWalSyncsAbove(before));
}

TEST_F(CommitQueueTest, NeverSyncLeavesTheWalToTheOs) {
  CommitQueueOptions options;
  options.sync_writes = false;  // sync_interval stays infinite
  options.clock = &clock_;
  StartQueue(options);
  const uint64_t before = WalSyncs();
  ASSERT_TRUE(queue_->WriteSync(Put("a", "1")).ok());
  clock_.Advance(absl::Hours(24));
  ASSERT_TRUE(queue_->WriteSync(Put("a", "2")).ok());
  queue_->Stop();
  EXPECT_EQ(WalSyncs(), before);
}

TEST_F(CommitQueueTest, NotifyRunsOnTheNotifierThreadInOrder) {
  StartQueue(CommitQueueOptions());
  std::vector<int> order;
  absl::Mutex mu;
  std::vector<PartitionLog::Waiter> fired;
  for (int i = 0; i < 3; ++i) {
    fired.push_back([&, i] {
      absl::MutexLock lock(&mu);
      order.push_back(i);
    });
  }
  queue_->Notify(std::move(fired));
  queue_->Stop();  // runs pending notifications before it returns
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

}  // namespace
}  // namespace ferry::storage
