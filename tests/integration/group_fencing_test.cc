// Consumer-group fencing and request errors against the real ferryd: commits are checked
// against the member, its generation and its partitions; joins and streams with bad arguments
// fail with a status that says what is wrong; member and group limits hold.
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

constexpr char kTopic[] = "invoices";
constexpr char kGroup[] = "accounting";

class GroupFencingTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags = {}) {
    ASSERT_TRUE(ferryd_.Start(std::move(flags)));
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
  }

  FerrydProcess ferryd_;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
};

TEST_F(GroupFencingTest, CommitsAreCheckedAgainstMemberGenerationAndOwnership) {
  // A long grace: a revoked partition stays with its old owner until it says it is done.
  Start({"--group-revoke-grace-ms=60000"});
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 2)));
  const PartitionSet all = AllPartitions(kTopic, 2);
  for (const Partition& p : all) {
    ASSERT_EQ(PublishToPartition(*broker_, kTopic, p.second, 10).size(), 10u);
  }
  // Members that heartbeat instead of streaming; the test ends well within their sessions.
  ferry::v1::JoinGroupResponse a;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, kGroup, {kTopic}, {}, &a)));
  ASSERT_EQ(ToPartitionSet(a.assignment()), all);
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, a.member_id(), a.generation(),
                                 {{{kTopic, 0}, 1}, {{kTopic, 1}, 1}})));

  ferry::v1::JoinGroupResponse b;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, kGroup, {kTopic}, {}, &b)));
  ASSERT_GT(b.generation(), a.generation());
  ferry::v1::HeartbeatResponse beat;
  ASSERT_TRUE(IsOk(Heartbeat(*broker_, kGroup, a.member_id(), a.generation(), &beat)));
  ASSERT_EQ(beat.generation(), b.generation());
  const PartitionSet kept = ToPartitionSet(beat.assignment());
  ASSERT_EQ(kept.size(), 1u);
  const Partition kept_partition = *kept.begin();
  const Partition moved = kept_partition.second == 0 ? Partition{kTopic, 1} : Partition{kTopic, 0};

  // A partition A still owns, at the generation before the rebalance: A has owned it since
  // then, so the commit is accepted (it had not seen the rebalance yet).
  ASSERT_TRUE(
      IsOk(CommitOffsets(*broker_, kGroup, a.member_id(), a.generation(), {{kept_partition, 2}})));
  // B at a generation from before it owned anything: stale.
  EXPECT_TRUE(
      HasCode(CommitOffsets(*broker_, kGroup, b.member_id(), a.generation(), {{kept_partition, 3}}),
              grpc::StatusCode::FAILED_PRECONDITION, {"stale generation"}));
  // A generation the group never had.
  EXPECT_TRUE(HasCode(
      CommitOffsets(*broker_, kGroup, a.member_id(), b.generation() + 1, {{kept_partition, 3}}),
      grpc::StatusCode::FAILED_PRECONDITION, {"generation"}));
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, kept)[kept_partition], 2);

  // The revoked partition, at the old generation: stored (A still holds it), but it is no
  // answer to the revoke, so the partition stays with A.
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, a.member_id(), a.generation(), {{moved, 3}})));
  ASSERT_TRUE(IsOk(Heartbeat(*broker_, kGroup, b.member_id(), b.generation(), &beat)));
  EXPECT_TRUE(beat.assignment().empty());
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {moved})[moved], 3);
  // Its final commit at the new generation hands it to B.
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, a.member_id(), b.generation(), {{moved, 4}})));
  ASSERT_TRUE(IsOk(Heartbeat(*broker_, kGroup, b.member_id(), b.generation(), &beat)));
  EXPECT_EQ(ToPartitionSet(beat.assignment()), PartitionSet({moved}));

  // Now it is B's: A is fenced off it even at the current generation.
  EXPECT_TRUE(HasCode(CommitOffsets(*broker_, kGroup, a.member_id(), b.generation(), {{moved, 5}}),
                      grpc::StatusCode::FAILED_PRECONDITION, {"not assigned"}));
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {moved})[moved], 4);
  EXPECT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, b.member_id(), b.generation(), {{moved, 6}})));

  // An unknown member.
  EXPECT_TRUE(HasCode(CommitOffsets(*broker_, kGroup, "accounting-99-nobody", b.generation(),
                                    {{kept_partition, 2}}),
                      grpc::StatusCode::FAILED_PRECONDITION, {"unknown member"}));
  EXPECT_TRUE(
      HasCode(CommitOffsets(*broker_, "no-such-group", a.member_id(), b.generation(), {{moved, 2}}),
              grpc::StatusCode::FAILED_PRECONDITION, {"unknown member"}));

  // A request with one good and one fenced partition: the good one is stored, the call fails
  // and names the fenced one.
  EXPECT_TRUE(HasCode(CommitOffsets(*broker_, kGroup, a.member_id(), b.generation(),
                                    {{kept_partition, 3}, {moved, 7}}),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      {absl::StrCat(moved.first, "-", moved.second)}));
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, all),
            (std::map<Partition, int64_t>{{kept_partition, 3}, {moved, 6}}));

  // Offsets must be inside [0, end].
  EXPECT_TRUE(HasCode(
      CommitOffsets(*broker_, kGroup, a.member_id(), b.generation(), {{kept_partition, 11}}),
      grpc::StatusCode::OUT_OF_RANGE, {"end offset"}));
  EXPECT_TRUE(HasCode(
      CommitOffsets(*broker_, kGroup, a.member_id(), b.generation(), {{kept_partition, -1}}),
      grpc::StatusCode::INVALID_ARGUMENT, {">= 0"}));
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, kept)[kept_partition], 3);
}

TEST_F(GroupFencingTest, BadJoinsHeartbeatsAndStreamsAreRejected) {
  Start({"--group-min-session-timeout-ms=500", "--group-max-session-timeout-ms=60000"});
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 2)));
  ferry::v1::JoinGroupResponse joined;

  JoinOptions short_session;
  short_session.session_timeout_ms = 100;
  EXPECT_TRUE(HasCode(JoinGroup(*broker_, kGroup, {kTopic}, short_session, &joined),
                      grpc::StatusCode::INVALID_ARGUMENT, {"session timeout"}));
  JoinOptions long_session;
  long_session.session_timeout_ms = 120'000;
  EXPECT_TRUE(HasCode(JoinGroup(*broker_, kGroup, {kTopic}, long_session, &joined),
                      grpc::StatusCode::INVALID_ARGUMENT, {"session timeout"}));
  EXPECT_TRUE(HasCode(JoinGroup(*broker_, "", {kTopic}, {}, &joined),
                      grpc::StatusCode::INVALID_ARGUMENT, {"group"}));
  EXPECT_TRUE(HasCode(JoinGroup(*broker_, kGroup, {}, {}, &joined),
                      grpc::StatusCode::INVALID_ARGUMENT, {"topic"}));
  JoinOptions stranger;
  stranger.member_id = "accounting-7-stranger";
  EXPECT_TRUE(HasCode(JoinGroup(*broker_, kGroup, {kTopic}, stranger, &joined),
                      grpc::StatusCode::NOT_FOUND, {"unknown member"}));
  // None of them created a group.
  ferry::v1::ListGroupsResponse groups;
  ASSERT_TRUE(IsOk(ListGroups(*admin_, &groups)));
  EXPECT_EQ(groups.groups_size(), 0) << groups.DebugString();

  // The session timeout at the minimum is fine.
  JoinOptions minimum;
  minimum.session_timeout_ms = 500;
  minimum.assignor = ferry::v1::ASSIGNOR_ROUNDROBIN;
  ferry::v1::JoinGroupResponse a;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, kGroup, {kTopic}, minimum, &a)));
  // A member with another assignor than the group's.
  JoinOptions range;
  range.assignor = ferry::v1::ASSIGNOR_RANGE;
  EXPECT_TRUE(HasCode(JoinGroup(*broker_, kGroup, {kTopic}, range, &joined),
                      grpc::StatusCode::FAILED_PRECONDITION, {"assignor"}));
  // Keep A alive for the rest of the test with its stream.
  GroupStream a_stream(*broker_, kGroup, a.member_id());
  ASSERT_TRUE(a_stream.WaitForAssignment(AllPartitions(kTopic, 2)));

  EXPECT_TRUE(HasCode(Heartbeat(*broker_, kGroup, "accounting-7-stranger", a.generation()),
                      grpc::StatusCode::NOT_FOUND, {"unknown member"}));
  EXPECT_TRUE(HasCode(Heartbeat(*broker_, "", a.member_id(), a.generation()),
                      grpc::StatusCode::INVALID_ARGUMENT, {"group"}));
  EXPECT_TRUE(HasCode(Heartbeat(*broker_, kGroup, a.member_id(), a.generation() + 1),
                      grpc::StatusCode::FAILED_PRECONDITION, {"generation"}));
  EXPECT_TRUE(HasCode(LeaveGroup(*broker_, kGroup, "accounting-7-stranger"),
                      grpc::StatusCode::NOT_FOUND, {"unknown member"}));
  EXPECT_TRUE(HasCode(LeaveGroup(*broker_, "", a.member_id()), grpc::StatusCode::INVALID_ARGUMENT,
                      {"group"}));

  GroupStream no_group(*broker_, "", a.member_id());
  ASSERT_TRUE(no_group.WaitForEnd());
  EXPECT_TRUE(HasCode(no_group.state().status, grpc::StatusCode::INVALID_ARGUMENT, {"group"}));
  GroupStream no_member(*broker_, kGroup, "");
  ASSERT_TRUE(no_member.WaitForEnd());
  EXPECT_TRUE(HasCode(no_member.state().status, grpc::StatusCode::INVALID_ARGUMENT, {"member_id"}));
  GroupStream stranger_stream(*broker_, kGroup, "accounting-7-stranger");
  ASSERT_TRUE(stranger_stream.WaitForEnd());
  EXPECT_TRUE(
      HasCode(stranger_stream.state().status, grpc::StatusCode::NOT_FOUND, {"unknown member"}));
  EXPECT_FALSE(a_stream.state().ended);
}

TEST_F(GroupFencingTest, MemberAndGroupLimits) {
  Start({"--group-max-members=2", "--max-groups=2"});
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 2)));
  ferry::v1::JoinGroupResponse joined;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, "g1", {kTopic}, {}, &joined)));
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, "g1", {kTopic}, {}, &joined)));
  EXPECT_TRUE(HasCode(JoinGroup(*broker_, "g1", {kTopic}, {}, &joined),
                      grpc::StatusCode::RESOURCE_EXHAUSTED, {"--group-max-members"}));

  ferry::v1::JoinGroupResponse g2_member;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, "g2", {kTopic}, {}, &g2_member)));
  EXPECT_TRUE(HasCode(JoinGroup(*broker_, "g3", {kTopic}, {}, &joined),
                      grpc::StatusCode::RESOURCE_EXHAUSTED, {"--max-groups"}));
  // The limit counts groups with members.
  ASSERT_TRUE(IsOk(LeaveGroup(*broker_, "g2", g2_member.member_id())));
  EXPECT_TRUE(IsOk(JoinGroup(*broker_, "g3", {kTopic}, {}, &joined)));
}

}  // namespace
}  // namespace ferry::integration
