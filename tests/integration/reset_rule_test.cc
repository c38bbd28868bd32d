// The one reset rule (docs/architecture.md, "The reset rule") through the gRPC door's readers:
// a direct subscription that starts below the log start and a group member whose committed
// offset retention has passed both go to the log start (EARLIEST) or end (LATEST), or end with
// OUT_OF_RANGE (NONE). The Kafka door's Fetch answers OFFSET_OUT_OF_RANGE there
// (kafka_integration_test.cc); the reader passed while it reads is the unit test's
// (broker_test.cc, ResetRuleWhenRetentionPassesAReader).
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/group_test_client.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using ferry::v1::SubscribeRequest;

constexpr char kTopic[] = "aged";

class ResetRuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start({"--retention-check-interval-ms=50"}));
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
    ferry::v1::CreateTopicRequest create;
    create.set_topic(kTopic);
    create.set_partitions(1);
    create.mutable_config()->set_retention_ms(60'000);
    ferry::v1::CreateTopicResponse created;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(IsOk(admin_->CreateTopic(&context, create, &created)));
    // Offsets 0-4 are ten minutes old, 5-9 new: retention removes the first five.
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    std::vector<ferry::v1::Record> old_records, new_records;
    for (int i = 0; i < 5; ++i) {
      old_records.push_back(MakeRecord("", "old-" + std::to_string(i), now_ms - 600'000));
      new_records.push_back(MakeRecord("", "new-" + std::to_string(i), now_ms));
    }
    ASSERT_TRUE(IsOk(Publish(*broker_, kTopic, 0, old_records)));
    ASSERT_TRUE(IsOk(Publish(*broker_, kTopic, 0, new_records)));
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (LogStart() != 5 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
    ASSERT_EQ(LogStart(), 5) << "retention did not pass offsets 0-4";
  }

  int64_t LogStart() {
    ferry::v1::DescribeTopicResponse d;
    if (!Describe(*admin_, kTopic, &d).ok() || d.partitions_size() == 0) return -1;
    return d.partitions(0).log_start_offset();
  }

  FerrydProcess ferryd_;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
};

TEST_F(ResetRuleTest, DirectSubscriptionBelowTheLogStart) {
  SubscribeRequest earliest =
      SubscribeStream::Direct(kTopic, 0, ferry::v1::START_POSITION_OFFSET, 0);
  earliest.mutable_direct()->set_offset_reset(ferry::v1::OFFSET_RESET_EARLIEST);
  SubscribeStream from_start(*broker_, earliest);
  ASSERT_TRUE(from_start.WaitForRecords(5));
  EXPECT_EQ(from_start.records().front().offset(), 5);

  SubscribeRequest latest = SubscribeStream::Direct(kTopic, 0, ferry::v1::START_POSITION_OFFSET, 0);
  latest.mutable_direct()->set_offset_reset(ferry::v1::OFFSET_RESET_LATEST);
  SubscribeStream from_end(*broker_, latest);
  // The stream starts at the end: the next record published is the first it gets.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (from_end.records().empty() && absl::Now() < deadline) {
    ASSERT_TRUE(IsOk(Publish(*broker_, kTopic, 0, {MakeRecord("", "later")})));
    from_end.WaitForRecords(1, absl::Milliseconds(200));
  }
  ASSERT_FALSE(from_end.records().empty());
  EXPECT_GE(from_end.records().front().offset(), 10);
  EXPECT_EQ(from_end.records().front().value(), "later");

  SubscribeRequest none = SubscribeStream::Direct(kTopic, 0, ferry::v1::START_POSITION_OFFSET, 0);
  none.mutable_direct()->set_offset_reset(ferry::v1::OFFSET_RESET_NONE);
  SubscribeStream failing(*broker_, none);
  ASSERT_TRUE(failing.WaitForEnd());
  EXPECT_TRUE(HasCode(failing.status(), grpc::StatusCode::OUT_OF_RANGE, {"offset"}));
}

TEST_F(ResetRuleTest, GroupMemberWhoseCommittedOffsetRetentionPassed) {
  struct Case {
    std::string group;
    ferry::v1::OffsetReset reset;
  };
  const Partition p{kTopic, 0};
  for (const Case& c : {Case{"g-earliest", ferry::v1::OFFSET_RESET_EARLIEST},
                        Case{"g-latest", ferry::v1::OFFSET_RESET_LATEST},
                        Case{"g-none", ferry::v1::OFFSET_RESET_NONE}}) {
    SCOPED_TRACE(c.group);
    ferry::v1::JoinGroupResponse joined;
    ASSERT_TRUE(IsOk(JoinGroup(*broker_, c.group, {kTopic}, {}, &joined)));
    // Offset 2 was read once; retention has removed it since.
    ASSERT_TRUE(
        IsOk(CommitOffsets(*broker_, c.group, joined.member_id(), joined.generation(), {{p, 2}})));
    GroupStream stream(*broker_, c.group, joined.member_id(), c.reset);
    if (c.reset == ferry::v1::OFFSET_RESET_NONE) {
      ASSERT_TRUE(stream.WaitForEnd());
      EXPECT_TRUE(HasCode(stream.state().status, grpc::StatusCode::OUT_OF_RANGE, {"offset"}));
      continue;
    }
    ASSERT_TRUE(stream.WaitForAssignment({p}));
    if (c.reset == ferry::v1::OFFSET_RESET_EARLIEST) {
      ASSERT_TRUE(stream.WaitForRecords(p, 5));
      EXPECT_EQ(stream.records(p).front().offset(), 5);
      continue;
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (stream.records(p).empty() && absl::Now() < deadline) {
      ASSERT_TRUE(IsOk(Publish(*broker_, kTopic, 0, {MakeRecord("", "later")})));
      stream.WaitForRecords(p, 1, absl::Milliseconds(200));
    }
    ASSERT_FALSE(stream.records(p).empty());
    EXPECT_GE(stream.records(p).front().offset(), 10);
    EXPECT_EQ(stream.records(p).front().value(), "later");
  }
}

}  // namespace
}  // namespace ferry::integration
