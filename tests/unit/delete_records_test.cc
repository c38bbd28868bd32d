// Store::DeleteRecordsBefore (Kafka's DeleteRecords) and Store::UpdateTopicSettings: the log start
// moves inside or across batches, stored bytes are released exactly once (also when retention
// later removes a batch the cut went into), and both survive a reopen.
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "storage/store.h"
#include "tests/unit/temp_dir.h"

namespace ferry::storage {
namespace {

using ferry::testing::TempDir;

class DeleteRecordsTest : public ::testing::Test {
 protected:
  void Open() {
    StoreOptions options;
    options.data_dir = dir_.path() + "/db";
    auto store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  std::shared_ptr<PartitionLog> Log(const std::string& topic) {
    auto t = store_->FindTopic(topic);
    return t == nullptr ? nullptr : t->partitions[0];
  }

  // One batch of `count` records, `payload` bytes, max timestamp `ts`.
  void Append(const std::shared_ptr<PartitionLog>& log, uint32_t count, const std::string& payload,
              int64_t ts) {
    std::vector<Store::AppendPart> parts(1);
    parts[0].log = log;
    parts[0].count = count;
    parts[0].max_timestamp_ms = ts;
    parts[0].payload = payload;
    absl::Notification done;
    absl::Status status;
    store_->Append(std::move(parts), [&](absl::Status s, const std::vector<int64_t>&) {
      status = s;
      done.Notify();
    });
    done.WaitForNotification();
    ASSERT_TRUE(status.ok()) << status;
  }

  // The base offsets of the stored batches read from `from`.
  std::vector<int64_t> Bases(const PartitionLog& log, int64_t from) {
    std::vector<StoredBatch> batches;
    absl::Status s = log.Read(from, 1000, 1 << 20, &batches);
    EXPECT_TRUE(s.ok()) << s;
    std::vector<int64_t> out;
    for (const auto& b : batches) out.push_back(b.base_offset);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(DeleteRecordsTest, CutsInsideAndAcrossBatchesAndSurvivesReopen) {
  Open();
  TopicMeta meta;
  meta.name = "t";
  meta.partitions = 1;
  ASSERT_TRUE(store_->CreateTopic(meta).ok());
  auto log = Log("t");
  Append(log, 3, "aaa", 1000);    // 0..2
  Append(log, 3, "bbb", 1000);    // 3..5
  Append(log, 3, "ccc", 900000);  // 6..8
  const int64_t batch_bytes = kBatchHeaderBytes + 3;
  ASSERT_EQ(log->size_bytes(), 3 * batch_bytes);

  // Inside the second batch: the first goes, the second stays for offsets 4 and 5.
  auto start = store_->DeleteRecordsBefore(*log, 4);
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(*start, 4);
  EXPECT_EQ(log->log_start_offset(), 4);
  EXPECT_EQ(log->size_bytes(), 2 * batch_bytes);
  EXPECT_EQ(Bases(*log, 4), (std::vector<int64_t>{3, 6}));
  std::vector<StoredBatch> below;
  EXPECT_TRUE(absl::IsOutOfRange(log->Read(3, 10, 1 << 20, &below)));

  // At or below the start: nothing; past the end: OUT_OF_RANGE.
  EXPECT_EQ(*store_->DeleteRecordsBefore(*log, 2), 4);
  EXPECT_TRUE(absl::IsOutOfRange(store_->DeleteRecordsBefore(*log, 10).status()));

  // Settings change and persist.
  const auto set_retention = [](TopicMeta* m) {
    m->retention_ms = 60000;
    return absl::OkStatus();
  };
  auto preview = store_->UpdateTopicSettings("t", set_retention, /*dry_run=*/true);
  ASSERT_TRUE(preview.ok()) << preview.status();
  EXPECT_EQ((*preview)->meta.retention_ms, 60000);
  EXPECT_EQ(store_->FindTopic("t")->meta.retention_ms, 0);
  EXPECT_TRUE(absl::IsInvalidArgument(
      store_->UpdateTopicSettings("t", [](TopicMeta*) { return absl::InvalidArgumentError("no"); })
          .status()));
  ASSERT_TRUE(store_->UpdateTopicSettings("t", set_retention).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->UpdateTopicSettings("nope", set_retention).status()));

  store_.reset();
  Open();
  log = Log("t");
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(store_->FindTopic("t")->meta.retention_ms, 60000);
  EXPECT_EQ(log->log_start_offset(), 4);
  EXPECT_EQ(log->end_offset(), 9);
  EXPECT_EQ(log->size_bytes(), 2 * batch_bytes);
  EXPECT_EQ(Bases(*log, 4), (std::vector<int64_t>{3, 6}));

  // Retention removes the batch the cut went into (old), bytes counted once; the new one stays.
  auto removed = store_->EnforceRetention(900000 + 30000);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(log->log_start_offset(), 6);
  EXPECT_EQ(log->size_bytes(), batch_bytes);
  EXPECT_EQ(Bases(*log, 6), std::vector<int64_t>{6});

  // Everything: the end offset.
  EXPECT_EQ(*store_->DeleteRecordsBefore(*log, 9), 9);
  EXPECT_EQ(log->size_bytes(), 0);
  Append(log, 1, "d", 900000);
  EXPECT_EQ(Bases(*log, 9), std::vector<int64_t>{9});
}

}  // namespace
}  // namespace ferry::storage
