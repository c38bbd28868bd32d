// Consumer-group delivery against the real ferryd: groups on one topic are independent, and
// committed offsets survive a broker crash (kill -9) while membership does not.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/group_test_client.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

// The records of `partition` in `stream` are exactly offsets [from, from + count), in order.
::testing::AssertionResult HasOffsets(const GroupStream& stream, const Partition& partition,
                                      int64_t from, int64_t count) {
  const std::vector<ferry::v1::Record> records = stream.records(partition);
  if (static_cast<int64_t>(records.size()) != count) {
    return ::testing::AssertionFailure() << partition.first << "-" << partition.second << ": "
                                         << records.size() << " records, expected " << count;
  }
  for (int64_t i = 0; i < count; ++i) {
    if (records[i].offset() != from + i) {
      return ::testing::AssertionFailure()
             << partition.first << "-" << partition.second << ": record " << i << " has offset "
             << records[i].offset() << ", expected " << from + i;
    }
  }
  return ::testing::AssertionSuccess();
}

class GroupDeliveryTest : public ::testing::Test {
 protected:
  void Connect() {
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
  }

  FerrydProcess ferryd_;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
};

TEST_F(GroupDeliveryTest, TwoGroupsOnOneTopicEachReceiveEveryRecord) {
  ASSERT_TRUE(ferryd_.Start());
  Connect();
  constexpr int kPartitions = 3;
  constexpr int kPerPartition = 100;
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "clicks", kPartitions)));
  const PartitionSet all = AllPartitions("clicks", kPartitions);
  // Half before the members exist, half while they stream.
  for (int p = 0; p < kPartitions; ++p) {
    ASSERT_EQ(PublishToPartition(*broker_, "clicks", p, kPerPartition / 2).size(),
              static_cast<size_t>(kPerPartition / 2));
  }

  std::vector<std::unique_ptr<GroupStream>> streams;
  std::vector<ferry::v1::JoinGroupResponse> members(2);
  const std::vector<std::string> groups = {"analytics", "archiver"};
  for (size_t g = 0; g < groups.size(); ++g) {
    ASSERT_TRUE(IsOk(JoinGroup(*broker_, groups[g], {"clicks"}, {}, &members[g])));
    EXPECT_EQ(ToPartitionSet(members[g].assignment()), all) << groups[g];
    streams.push_back(std::make_unique<GroupStream>(*broker_, groups[g], members[g].member_id()));
    ASSERT_TRUE(streams.back()->WaitForAssignment(all)) << groups[g];
  }
  for (int p = 0; p < kPartitions; ++p) {
    ASSERT_EQ(PublishToPartition(*broker_, "clicks", p, kPerPartition / 2).size(),
              static_cast<size_t>(kPerPartition / 2));
  }

  for (size_t g = 0; g < groups.size(); ++g) {
    ASSERT_TRUE(streams[g]->WaitUntil([&](const GroupStream::State& s) {
      return s.TotalRecords() >= kPartitions * kPerPartition;
    })) << groups[g]
        << " got " << streams[g]->state().TotalRecords() << " records";
    for (const Partition& partition : all) {
      EXPECT_TRUE(HasOffsets(*streams[g], partition, 0, kPerPartition)) << groups[g];
    }
  }

  // A commit of one group is not the other's.
  std::map<Partition, int64_t> committed;
  for (const Partition& partition : all) committed[partition] = kPerPartition;
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, "analytics", members[0].member_id(),
                                 members[0].generation(), committed)));
  EXPECT_EQ(FetchOffsets(*broker_, "analytics", all), committed);
  for (const auto& [partition, offset] : FetchOffsets(*broker_, "archiver", all)) {
    EXPECT_EQ(offset, -1) << partition.first << "-" << partition.second;
  }
}

TEST_F(GroupDeliveryTest, CommittedOffsetsSurviveBrokerKill9ButMembersDoNot) {
  ASSERT_TRUE(ferryd_.Start());
  Connect();
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "ledger", 2)));
  const PartitionSet all = AllPartitions("ledger", 2);
  for (int p = 0; p < 2; ++p) ASSERT_EQ(PublishToPartition(*broker_, "ledger", p, 50).size(), 50u);

  ferry::v1::JoinGroupResponse old_member;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, "payroll", {"ledger"}, {}, &old_member)));
  ASSERT_EQ(ToPartitionSet(old_member.assignment()), all);
  const std::map<Partition, int64_t> committed = {{{"ledger", 0}, 20}, {{"ledger", 1}, 35}};
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, "payroll", old_member.member_id(),
                                 old_member.generation(), committed)));

  ferryd_.Kill9();
  ASSERT_TRUE(ferryd_.Restart());
  Connect();

  EXPECT_EQ(FetchOffsets(*broker_, "payroll", all), committed);

  // Membership lived in memory: the old member is unknown.
  EXPECT_TRUE(
      HasCode(Heartbeat(*broker_, "payroll", old_member.member_id(), old_member.generation()),
              grpc::StatusCode::NOT_FOUND, {"unknown member"}));
  {
    GroupStream stale(*broker_, "payroll", old_member.member_id());
    ASSERT_TRUE(stale.WaitForEnd());
    EXPECT_TRUE(HasCode(stale.state().status, grpc::StatusCode::NOT_FOUND, {"unknown member"}));
    EXPECT_TRUE(stale.changes().empty());
  }
  EXPECT_TRUE(HasCode(CommitOffsets(*broker_, "payroll", old_member.member_id(),
                                    old_member.generation(), {{{"ledger", 0}, 45}}),
                      grpc::StatusCode::FAILED_PRECONDITION, {"unknown member"}));
  JoinOptions rejoin;
  rejoin.member_id = old_member.member_id();
  ferry::v1::JoinGroupResponse rejected;
  EXPECT_TRUE(HasCode(JoinGroup(*broker_, "payroll", {"ledger"}, rejoin, &rejected),
                      grpc::StatusCode::NOT_FOUND, {"unknown member"}));
  EXPECT_EQ(FetchOffsets(*broker_, "payroll", all), committed);

  // A new member resumes exactly at the committed offsets (EARLIEST would mean 0).
  ferry::v1::JoinGroupResponse new_member;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, "payroll", {"ledger"}, {}, &new_member)));
  EXPECT_NE(new_member.member_id(), old_member.member_id());
  GroupStream stream(*broker_, "payroll", new_member.member_id(), ferry::v1::OFFSET_RESET_EARLIEST);
  ASSERT_TRUE(stream.WaitForAssignment(all));
  ASSERT_TRUE(stream.WaitForRecords({"ledger", 0}, 30));
  ASSERT_TRUE(stream.WaitForRecords({"ledger", 1}, 15));
  EXPECT_TRUE(HasOffsets(stream, {"ledger", 0}, 20, 30));
  EXPECT_TRUE(HasOffsets(stream, {"ledger", 1}, 35, 15));
  EXPECT_EQ(stream.records({"ledger", 0}).front().value(), "value-20");
}

}  // namespace
}  // namespace ferry::integration
