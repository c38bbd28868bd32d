// Consumer-group administration against the real ferryd: ListGroups, DescribeGroup with lag,
// DeleteGroup and ResetOffsets (validate_only: a plan), which change nothing while the group
// has members.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/group_test_client.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

constexpr char kTopic[] = "payments";
constexpr char kGroup[] = "settlement";
const Partition kP0 = {kTopic, 0};

// The summary of `group` in a ListGroups answer, or null.
const ferry::v1::GroupSummary* Find(const ferry::v1::ListGroupsResponse& list,
                                    const std::string& group) {
  for (const ferry::v1::GroupSummary& summary : list.groups()) {
    if (summary.group() == group) return &summary;
  }
  return nullptr;
}

class GroupAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start());
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
  }

  // Resets kGroup's offsets of kTopic and returns the offset the answer gives for partition 0.
  int64_t Reset(ferry::v1::StartPosition to, int64_t offset = 0, int64_t timestamp_ms = 0) {
    ferry::v1::ResetOffsetsRequest request;
    request.set_group(kGroup);
    request.set_topic(kTopic);
    request.set_to(to);
    request.set_offset(offset);
    request.set_timestamp_ms(timestamp_ms);
    ferry::v1::ResetOffsetsResponse response;
    const grpc::Status status = ResetOffsets(*admin_, request, &response);
    EXPECT_TRUE(IsOk(status));
    if (!status.ok() || response.offsets_size() != 1) {
      ADD_FAILURE() << response.DebugString();
      return -2;
    }
    EXPECT_EQ(response.offsets(0).topic(), kTopic);
    EXPECT_EQ(response.offsets(0).partition(), 0);
    return response.offsets(0).offset();
  }

  // The one lag row of kGroup's DescribeGroup answer.
  ferry::v1::GroupPartitionLag LagRow() {
    ferry::v1::DescribeGroupResponse group;
    EXPECT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
    EXPECT_EQ(group.partitions_size(), 1) << group.DebugString();
    return group.partitions_size() > 0 ? group.partitions(0) : ferry::v1::GroupPartitionLag();
  }

  FerrydProcess ferryd_;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
};

TEST_F(GroupAdminTest, ListDescribeDeleteAndResetOffsets) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 1)));
  // 100 records one second apart, in four batches, so that a timestamp names an offset.
  const int64_t base_ms = absl::ToUnixMillis(absl::Now()) - 1'000'000;
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<ferry::v1::Record> records;
    for (int i = batch * 25; i < (batch + 1) * 25; ++i) {
      records.push_back(MakeRecord("k", std::to_string(i), base_ms + i * 1000));
    }
    ASSERT_TRUE(IsOk(Publish(*broker_, kTopic, 0, records)));
  }

  ferry::v1::JoinGroupResponse member;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, kGroup, {kTopic}, {}, &member)));
  ASSERT_EQ(ToPartitionSet(member.assignment()), PartitionSet({kP0}));
  ferry::v1::JoinGroupResponse other;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, "audit", {kTopic}, {}, &other)));

  // Nothing committed: the lag counts from the log start.
  ferry::v1::GroupPartitionLag row = LagRow();
  EXPECT_EQ(row.committed_offset(), -1);
  EXPECT_EQ(row.end_offset(), 100);
  EXPECT_EQ(row.lag(), 100);

  ASSERT_TRUE(
      IsOk(CommitOffsets(*broker_, kGroup, member.member_id(), member.generation(), {{kP0, 40}})));
  ferry::v1::ListGroupsResponse list;
  ASSERT_TRUE(IsOk(ListGroups(*admin_, &list)));
  ASSERT_NE(Find(list, kGroup), nullptr) << list.DebugString();
  EXPECT_EQ(Find(list, kGroup)->members(), 1);
  EXPECT_EQ(Find(list, kGroup)->state(), ferry::v1::GROUP_STATE_STABLE);
  EXPECT_NE(Find(list, "audit"), nullptr) << list.DebugString();

  ferry::v1::DescribeGroupResponse group;
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.group(), kGroup);
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_STABLE);
  EXPECT_EQ(group.generation(), member.generation());
  ASSERT_EQ(group.members_size(), 1);
  EXPECT_EQ(group.members(0).member_id(), member.member_id());
  EXPECT_EQ(ToPartitionSet(group.members(0).assignment()), PartitionSet({kP0}));
  ASSERT_EQ(group.partitions_size(), 1);
  EXPECT_EQ(group.partitions(0).topic(), kTopic);
  EXPECT_EQ(group.partitions(0).partition(), 0);
  EXPECT_EQ(group.partitions(0).member_id(), member.member_id());
  EXPECT_EQ(group.partitions(0).committed_offset(), 40);
  EXPECT_EQ(group.partitions(0).end_offset(), 100);
  EXPECT_EQ(group.partitions(0).lag(), 60);

  // Not while the group has members.
  EXPECT_TRUE(
      HasCode(DeleteGroup(*admin_, kGroup), grpc::StatusCode::FAILED_PRECONDITION, {"members"}));
  ferry::v1::ResetOffsetsRequest reset;
  reset.set_group(kGroup);
  reset.set_topic(kTopic);
  reset.set_to(ferry::v1::START_POSITION_EARLIEST);
  EXPECT_TRUE(
      HasCode(ResetOffsets(*admin_, reset), grpc::StatusCode::FAILED_PRECONDITION, {"members"}));
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {kP0})[kP0], 40);

  // An empty group is still listed and described by its committed offsets.
  ASSERT_TRUE(IsOk(LeaveGroup(*broker_, kGroup, member.member_id())));
  list.Clear();
  ASSERT_TRUE(IsOk(ListGroups(*admin_, &list)));
  ASSERT_NE(Find(list, kGroup), nullptr) << list.DebugString();
  EXPECT_EQ(Find(list, kGroup)->members(), 0);
  EXPECT_EQ(Find(list, kGroup)->state(), ferry::v1::GROUP_STATE_EMPTY);
  group.Clear();
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_EMPTY);
  EXPECT_EQ(group.members_size(), 0);
  row = LagRow();
  EXPECT_EQ(row.member_id(), "");
  EXPECT_EQ(row.committed_offset(), 40);
  EXPECT_EQ(row.lag(), 60);

  EXPECT_EQ(Reset(ferry::v1::START_POSITION_EARLIEST), 0);
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {kP0})[kP0], 0);
  EXPECT_EQ(LagRow().lag(), 100);
  EXPECT_EQ(Reset(ferry::v1::START_POSITION_LATEST), 100);
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {kP0})[kP0], 100);
  EXPECT_EQ(LagRow().lag(), 0);
  EXPECT_EQ(Reset(ferry::v1::START_POSITION_OFFSET, 42), 42);
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {kP0})[kP0], 42);
  EXPECT_EQ(Reset(ferry::v1::START_POSITION_TIMESTAMP, 0, base_ms + 57'000), 57);
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {kP0})[kP0], 57);
  EXPECT_EQ(Reset(ferry::v1::START_POSITION_TIMESTAMP, 0, base_ms + 57'500), 58);
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {kP0})[kP0], 58);
  EXPECT_EQ(LagRow().lag(), 42);
  // validate_only answers the plan and commits nothing.
  {
    ferry::v1::ResetOffsetsRequest plan;
    plan.set_group(kGroup);
    plan.set_topic(kTopic);
    plan.set_to(ferry::v1::START_POSITION_EARLIEST);
    plan.set_validate_only(true);
    ferry::v1::ResetOffsetsResponse answer;
    ASSERT_TRUE(IsOk(ResetOffsets(*admin_, plan, &answer)));
    ASSERT_EQ(answer.offsets_size(), 1) << answer.DebugString();
    EXPECT_EQ(answer.offsets(0).offset(), 0);
    EXPECT_EQ(FetchOffsets(*broker_, kGroup, {kP0})[kP0], 58);
  }
  reset.set_to(ferry::v1::START_POSITION_OFFSET);
  reset.set_offset(101);
  EXPECT_TRUE(HasCode(ResetOffsets(*admin_, reset), grpc::StatusCode::OUT_OF_RANGE, {"101"}));
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {kP0})[kP0], 58);

  // The next member starts where the reset put the group.
  ferry::v1::JoinGroupResponse next;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, kGroup, {kTopic}, {}, &next)));
  {
    GroupStream stream(*broker_, kGroup, next.member_id());
    ASSERT_TRUE(stream.WaitForRecords(kP0, 42));
    EXPECT_EQ(stream.records(kP0).front().offset(), 58);
    EXPECT_EQ(stream.records(kP0).front().value(), "58");
  }
  ASSERT_TRUE(IsOk(LeaveGroup(*broker_, kGroup, next.member_id())));

  // Deleting the empty group forgets its offsets.
  ASSERT_TRUE(IsOk(DeleteGroup(*admin_, kGroup)));
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {kP0})[kP0], -1);
  EXPECT_TRUE(FetchOffsets(*broker_, kGroup, {}).empty());
  group.Clear();
  EXPECT_TRUE(
      HasCode(DescribeGroup(*admin_, kGroup, &group), grpc::StatusCode::NOT_FOUND, {kGroup}));
  list.Clear();
  ASSERT_TRUE(IsOk(ListGroups(*admin_, &list)));
  EXPECT_EQ(Find(list, kGroup), nullptr) << list.DebugString();
  EXPECT_NE(Find(list, "audit"), nullptr) << list.DebugString();
  EXPECT_TRUE(HasCode(DeleteGroup(*admin_, kGroup), grpc::StatusCode::NOT_FOUND, {kGroup}));
}

}  // namespace
}  // namespace ferry::integration
