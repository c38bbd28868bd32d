// Consumer-group rebalancing against the real ferryd: revoke before assign, session timeouts of
// members whose stream was cut, LeaveGroup, partitions added to a subscribed topic, and static
// membership. Hand-overs that the test waits for are caused by the test (a commit, a heartbeat,
// a leave); the revoke grace is long so that no timer moves a partition behind its back.
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/group_test_client.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using ferry::v1::AssignmentChange;

constexpr char kTopic[] = "orders";
constexpr char kGroup[] = "shipping";
// Long enough that a revoked partition moves only when the test makes it move.
constexpr char kLongRevokeGrace[] = "--group-revoke-grace-ms=60000";

// A member: what JoinGroup said, and its group stream.
struct Member {
  std::string id;
  int64_t generation = 0;
  PartitionSet joined_with;
  std::unique_ptr<GroupStream> stream;
};

// The first change of `changes` at `generation`, or null.
const AssignmentChange* ChangeAt(const std::vector<AssignmentChange>& changes, int64_t generation) {
  for (const AssignmentChange& change : changes) {
    if (change.generation() == generation) return &change;
  }
  return nullptr;
}

class GroupRebalanceTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags) {
    ASSERT_TRUE(ferryd_.Start(std::move(flags)));
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
  }

  // Joins kGroup on kTopic and opens the member's stream.
  Member JoinAndStream(const JoinOptions& options = {}) {
    Member m;
    ferry::v1::JoinGroupResponse joined;
    const grpc::Status status = JoinGroup(*broker_, kGroup, {kTopic}, options, &joined);
    EXPECT_TRUE(IsOk(status));
    m.id = joined.member_id();
    m.generation = joined.generation();
    m.joined_with = ToPartitionSet(joined.assignment());
    if (status.ok()) m.stream = std::make_unique<GroupStream>(*broker_, kGroup, m.id);
    return m;
  }

  // A joins and gets every partition, then B joins; A acknowledges its revocation by
  // heartbeating at B's generation, and the partitions are split evenly between them.
  void JoinTwoAndSettle(Member* a, Member* b, const PartitionSet& all, const JoinOptions& a_options,
                        const JoinOptions& b_options) {
    *a = JoinAndStream(a_options);
    ASSERT_TRUE(a->stream != nullptr);
    ASSERT_TRUE(a->stream->WaitForAssignment(all));
    *b = JoinAndStream(b_options);
    ASSERT_TRUE(b->stream != nullptr);
    ASSERT_GT(b->generation, a->generation);
    ASSERT_TRUE(a->stream->WaitUntil([&](const GroupStream::State& s) {
      return ChangeAt(s.changes, b->generation) != nullptr;
    }));
    ASSERT_TRUE(IsOk(Heartbeat(*broker_, kGroup, a->id, b->generation)));
    ferry::v1::DescribeGroupResponse group;
    ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
    ASSERT_EQ(group.state(), ferry::v1::GROUP_STATE_STABLE) << group.DebugString();
    const std::map<std::string, PartitionSet> owners = MemberAssignments(group);
    ASSERT_EQ(owners.size(), 2u);
    ASSERT_EQ(owners.at(a->id).size(), all.size() / 2) << group.DebugString();
    ASSERT_EQ(owners.at(b->id).size(), all.size() / 2) << group.DebugString();
    ASSERT_TRUE(a->stream->WaitForAssignment(owners.at(a->id)));
    ASSERT_TRUE(b->stream->WaitForAssignment(owners.at(b->id)));
  }

  FerrydProcess ferryd_;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
};

TEST_F(GroupRebalanceTest, RevokedPartitionsMoveOnlyAfterTheOldOwnersFinalCommit) {
  Start({kLongRevokeGrace});
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 4)));
  const PartitionSet all = AllPartitions(kTopic, 4);
  for (const Partition& p : all)
    ASSERT_EQ(PublishToPartition(*broker_, kTopic, p.second, 10).size(), 10u);

  Member a = JoinAndStream();
  ASSERT_TRUE(a.stream != nullptr);
  EXPECT_EQ(a.joined_with, all);
  ASSERT_TRUE(a.stream->WaitForAssignment(all));
  for (const Partition& p : all) ASSERT_TRUE(a.stream->WaitForRecords(p, 10));

  Member b = JoinAndStream();
  ASSERT_TRUE(b.stream != nullptr);
  ASSERT_GT(b.generation, a.generation);
  EXPECT_TRUE(b.joined_with.empty())
      << "B got " << PartitionNames(b.joined_with) << " before A released anything";

  // A is told first: two partitions are revoked, the other two stay.
  ASSERT_TRUE(a.stream->WaitUntil(
      [&](const GroupStream::State& s) { return ChangeAt(s.changes, b.generation) != nullptr; }));
  const AssignmentChange revoke = *ChangeAt(a.stream->changes(), b.generation);
  const PartitionSet moved = ToPartitionSet(revoke.revoked());
  const PartitionSet kept = ToPartitionSet(revoke.assignment());
  ASSERT_EQ(moved.size(), 2u) << revoke.DebugString();
  ASSERT_EQ(kept.size(), 2u) << revoke.DebugString();
  EXPECT_TRUE(revoke.added().empty()) << revoke.DebugString();
  PartitionSet both = moved;
  both.insert(kept.begin(), kept.end());
  EXPECT_EQ(both, all);

  // B's stream starts with its current assignment: nothing yet.
  ASSERT_TRUE(b.stream->WaitForChanges(1));
  EXPECT_EQ(b.stream->changes().front().generation(), b.generation);
  EXPECT_TRUE(b.stream->changes().front().added().empty());
  EXPECT_TRUE(b.stream->assignment().empty());

  ferry::v1::DescribeGroupResponse group;
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_REBALANCING);
  EXPECT_EQ(group.generation(), b.generation);
  EXPECT_EQ(Unowned(group, all), moved) << group.DebugString();
  EXPECT_EQ(MemberAssignments(group)[a.id], kept);
  EXPECT_TRUE(MemberAssignments(group)[b.id].empty());
  for (const auto& row : group.partitions()) {
    if (moved.contains({row.topic(), row.partition()})) {
      EXPECT_EQ(row.member_id(), "");
    }
  }

  // Kept partitions keep flowing to A during the rebalance; moved ones go to nobody.
  for (const Partition& p : moved)
    ASSERT_EQ(PublishToPartition(*broker_, kTopic, p.second, 5).size(), 5u);
  const Partition kept_partition = *kept.begin();
  ASSERT_EQ(PublishToPartition(*broker_, kTopic, kept_partition.second, 5).size(), 5u);
  ASSERT_TRUE(a.stream->WaitForRecords(kept_partition, 15));
  for (const Partition& p : moved) {
    EXPECT_EQ(a.stream->records(p).size(), 10u)
        << "A got records of " << p.first << "-" << p.second << " after it was revoked";
  }
  EXPECT_EQ(b.stream->state().TotalRecords(), 0u);
  EXPECT_EQ(b.stream->changes().size(), 1u);

  // A's routine commit of a moved partition at its previous generation (sent before it read
  // the revoke) is stored but hands nothing over: A may still be processing that partition.
  const Partition first = *moved.begin();
  const Partition second = *moved.rbegin();
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, a.id, a.generation, {{first, 10}})));
  group.Clear();
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(Unowned(group, all), moved);
  // Its final commit at the new generation hands that one over.
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, a.id, b.generation, {{first, 10}})));
  ASSERT_TRUE(b.stream->WaitForAssignment({first}));
  EXPECT_EQ(b.stream->changes().back().generation(), b.generation);
  EXPECT_EQ(ToPartitionSet(b.stream->changes().back().added()), PartitionSet({first}));
  group.Clear();
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_REBALANCING);
  EXPECT_EQ(Unowned(group, all), PartitionSet({second}));
  // B starts where A committed: the five records published while the partition had no owner.
  ASSERT_TRUE(b.stream->WaitForRecords(first, 5));
  EXPECT_EQ(b.stream->records(first).front().offset(), 10);
  EXPECT_EQ(b.stream->records(first).back().offset(), 14);

  // The second one, committed at the current generation.
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, a.id, b.generation, {{second, 10}})));
  ASSERT_TRUE(b.stream->WaitForAssignment(moved));
  EXPECT_EQ(ToPartitionSet(b.stream->changes().back().added()), PartitionSet({second}));
  ASSERT_TRUE(b.stream->WaitForRecords(second, 5));
  EXPECT_EQ(b.stream->records(second).front().offset(), 10);
  EXPECT_EQ(b.stream->records(first).size(), 5u);

  group.Clear();
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_STABLE);
  EXPECT_EQ(MemberAssignments(group)[a.id], kept);
  EXPECT_EQ(MemberAssignments(group)[b.id], moved);
  // The hand-over is over: A may no longer commit what it gave away.
  EXPECT_TRUE(HasCode(CommitOffsets(*broker_, kGroup, a.id, b.generation, {{first, 12}}),
                      grpc::StatusCode::FAILED_PRECONDITION, {"not assigned"}));
  EXPECT_FALSE(a.stream->state().ended);
  EXPECT_FALSE(b.stream->state().ended);
}

TEST_F(GroupRebalanceTest, RevokedPartitionsMoveWhenTheOldOwnerHeartbeatsTheNewGeneration) {
  Start({kLongRevokeGrace});
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 4)));
  const PartitionSet all = AllPartitions(kTopic, 4);
  for (const Partition& p : all)
    ASSERT_EQ(PublishToPartition(*broker_, kTopic, p.second, 3).size(), 3u);

  Member a = JoinAndStream();
  ASSERT_TRUE(a.stream != nullptr);
  ASSERT_TRUE(a.stream->WaitForAssignment(all));
  Member b = JoinAndStream();
  ASSERT_TRUE(b.stream != nullptr);
  ASSERT_TRUE(a.stream->WaitUntil(
      [&](const GroupStream::State& s) { return ChangeAt(s.changes, b.generation) != nullptr; }));
  const PartitionSet moved = ToPartitionSet(ChangeAt(a.stream->changes(), b.generation)->revoked());
  ASSERT_EQ(moved.size(), 2u);

  // A heartbeat at the old generation tells A about the rebalance but acknowledges nothing.
  ferry::v1::HeartbeatResponse beat;
  ASSERT_TRUE(IsOk(Heartbeat(*broker_, kGroup, a.id, a.generation, &beat)));
  EXPECT_EQ(beat.generation(), b.generation);
  PartitionSet kept = all;
  for (const Partition& p : moved) kept.erase(p);
  EXPECT_EQ(ToPartitionSet(beat.assignment()), kept);
  ferry::v1::DescribeGroupResponse group;
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_REBALANCING);
  EXPECT_EQ(Unowned(group, all), moved);

  // At the new generation it does; nothing was committed, so B starts at EARLIEST.
  ASSERT_TRUE(IsOk(Heartbeat(*broker_, kGroup, a.id, b.generation)));
  group.Clear();
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_STABLE);
  EXPECT_EQ(MemberAssignments(group)[b.id], moved);
  ASSERT_TRUE(b.stream->WaitForAssignment(moved));
  EXPECT_EQ(ToPartitionSet(b.stream->changes().back().added()), moved);
  for (const Partition& p : moved) {
    ASSERT_TRUE(b.stream->WaitForRecords(p, 3));
    EXPECT_EQ(b.stream->records(p).front().offset(), 0);
  }
}

TEST_F(GroupRebalanceTest, OwnerThatDoesNotAnswerWithinItsRebalanceTimeoutIsRemoved) {
  Start({kLongRevokeGrace});  // A names its own, short, rebalance timeout
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 4)));
  const PartitionSet all = AllPartitions(kTopic, 4);
  ASSERT_EQ(PublishToPartition(*broker_, kTopic, 0, 10).size(), 10u);
  JoinOptions stalls;
  stalls.rebalance_timeout_ms = 300;
  Member a = JoinAndStream(stalls);
  ASSERT_TRUE(a.stream != nullptr);
  ASSERT_TRUE(a.stream->WaitForAssignment(all));
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, a.id, a.generation, {{{kTopic, 0}, 2}})));
  // B joins; A is told of the revoke on its stream but never answers (a stalled process).
  Member b = JoinAndStream();
  ASSERT_TRUE(b.stream != nullptr);
  // A is removed: its stream ends, and only then do its partitions move, all of them.
  ASSERT_TRUE(a.stream->WaitForEnd());
  EXPECT_EQ(a.stream->state().status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << a.stream->state().status.error_message();
  ASSERT_TRUE(b.stream->WaitForAssignment(all));
  // Whatever A sends from now on is fenced.
  EXPECT_TRUE(HasCode(CommitOffsets(*broker_, kGroup, a.id, b.generation, {{{kTopic, 0}, 5}}),
                      grpc::StatusCode::FAILED_PRECONDITION, {"unknown member"}));
  const Partition first{kTopic, 0};
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, {first})[first], 2);
}

TEST_F(GroupRebalanceTest, MemberWhoseStreamIsCutLosesItsPartitionsAfterItsSessionTimeout) {
  Start({kLongRevokeGrace});
  constexpr absl::Duration kSession = absl::Milliseconds(1500);
  JoinOptions options;
  options.session_timeout_ms = absl::ToInt64Milliseconds(kSession);
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 2)));
  const PartitionSet all = AllPartitions(kTopic, 2);
  Member a, b;
  ASSERT_NO_FATAL_FAILURE(JoinTwoAndSettle(&a, &b, all, options, options));
  const Partition pa = *a.stream->assignment().begin();
  const Partition pb = *b.stream->assignment().begin();

  ASSERT_EQ(PublishToPartition(*broker_, kTopic, pa.second, 50).size(), 50u);
  ASSERT_EQ(PublishToPartition(*broker_, kTopic, pb.second, 50).size(), 50u);
  ASSERT_TRUE(a.stream->WaitForRecords(pa, 50));
  ASSERT_TRUE(b.stream->WaitForRecords(pb, 50));
  // A processed 30 of its 50 records before it went away.
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, a.id, b.generation, {{pa, 30}})));
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, b.id, b.generation, {{pb, 50}})));

  // A's connection is cut: no LeaveGroup, no heartbeat.
  const absl::Time cut = absl::Now();
  a.stream->Cancel();
  ASSERT_TRUE(a.stream->WaitForEnd());
  ASSERT_TRUE(b.stream->WaitForAssignment(all, absl::Seconds(15)));
  const absl::Duration waited = absl::Now() - cut;
  // The session timeout runs from the moment the broker saw the stream end, after `cut`.
  EXPECT_GE(waited, kSession - absl::Milliseconds(50))
      << "A's partition moved before its session ended";
  EXPECT_EQ(ToPartitionSet(b.stream->changes().back().added()), PartitionSet({pa}));

  // B resumes at A's last commit: records 30..49 again, then new ones; nothing skipped.
  ASSERT_EQ(PublishToPartition(*broker_, kTopic, pa.second, 5).size(), 5u);
  ASSERT_TRUE(b.stream->WaitForRecords(pa, 25));
  const std::vector<ferry::v1::Record> resumed = b.stream->records(pa);
  ASSERT_EQ(resumed.size(), 25u);
  for (size_t i = 0; i < resumed.size(); ++i)
    EXPECT_EQ(resumed[i].offset(), 30 + static_cast<int64_t>(i));

  ferry::v1::DescribeGroupResponse group;
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_STABLE);
  ASSERT_EQ(group.members_size(), 1);
  EXPECT_EQ(group.members(0).member_id(), b.id);
  EXPECT_TRUE(HasCode(Heartbeat(*broker_, kGroup, a.id, b.generation), grpc::StatusCode::NOT_FOUND,
                      {"unknown member"}));
}

TEST_F(GroupRebalanceTest, LeaveGroupHandsPartitionsOverAtOnce) {
  Start({kLongRevokeGrace});
  JoinOptions options;
  options.session_timeout_ms = 60'000;  // only the leave can move anything within the test
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 4)));
  const PartitionSet all = AllPartitions(kTopic, 4);
  Member a, b;
  ASSERT_NO_FATAL_FAILURE(JoinTwoAndSettle(&a, &b, all, options, options));
  const PartitionSet a_partitions = a.stream->assignment();
  std::map<Partition, int64_t> a_commits;
  for (const Partition& p : a_partitions) {
    ASSERT_EQ(PublishToPartition(*broker_, kTopic, p.second, 8).size(), 8u);
    a_commits[p] = 3;
  }
  ASSERT_TRUE(IsOk(CommitOffsets(*broker_, kGroup, a.id, b.generation, a_commits)));

  ASSERT_TRUE(IsOk(LeaveGroup(*broker_, kGroup, a.id)));
  // The broker rebalanced within the call: B owns everything, nothing waits for a timer.
  ferry::v1::DescribeGroupResponse group;
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_STABLE);
  ASSERT_EQ(group.members_size(), 1);
  EXPECT_EQ(MemberAssignments(group)[b.id], all);
  ASSERT_TRUE(b.stream->WaitForAssignment(all));
  EXPECT_EQ(ToPartitionSet(b.stream->changes().back().added()), a_partitions);
  // A's stream ends normally: the member left.
  ASSERT_TRUE(a.stream->WaitForEnd());
  EXPECT_TRUE(IsOk(a.stream->state().status));
  for (const Partition& p : a_partitions) {
    ASSERT_TRUE(b.stream->WaitForRecords(p, 5));
    EXPECT_EQ(b.stream->records(p).front().offset(), 3);
  }
}

TEST_F(GroupRebalanceTest, NewPartitionsOfASubscribedTopicGoToRunningMembers) {
  Start({kLongRevokeGrace});
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 2)));
  Member a, b;
  ASSERT_NO_FATAL_FAILURE(JoinTwoAndSettle(&a, &b, AllPartitions(kTopic, 2), {}, {}));
  const PartitionSet a_before = a.stream->assignment();
  const PartitionSet b_before = b.stream->assignment();
  const size_t a_changes = a.stream->changes().size();
  const size_t b_changes = b.stream->changes().size();

  ASSERT_TRUE(IsOk(CreatePartitions(*admin_, kTopic, 4)));
  const PartitionSet all = AllPartitions(kTopic, 4);
  const auto has_two = [](const GroupStream::State& s) { return s.assignment.size() == 2; };
  ASSERT_TRUE(a.stream->WaitUntil(has_two)) << PartitionNames(a.stream->assignment());
  ASSERT_TRUE(b.stream->WaitUntil(has_two)) << PartitionNames(b.stream->assignment());
  PartitionSet owned = a.stream->assignment();
  const PartitionSet b_owned = b.stream->assignment();
  owned.insert(b_owned.begin(), b_owned.end());
  EXPECT_EQ(owned, all);

  // Each member keeps what it had and is told of its new partition in `added`; no revocation.
  PartitionSet added;
  for (auto [stream, from, before] : {std::tuple(a.stream.get(), a_changes, a_before),
                                      std::tuple(b.stream.get(), b_changes, b_before)}) {
    const std::vector<AssignmentChange> changes = stream->changes();
    for (size_t i = from; i < changes.size(); ++i) {
      EXPECT_TRUE(changes[i].revoked().empty()) << changes[i].DebugString();
      for (const auto& tp : changes[i].added()) added.emplace(tp.topic(), tp.partition());
    }
    for (const Partition& p : before) EXPECT_TRUE(stream->assignment().contains(p));
    EXPECT_FALSE(stream->state().ended);
  }
  EXPECT_EQ(added, PartitionSet({{kTopic, 2}, {kTopic, 3}}));

  ferry::v1::DescribeGroupResponse group;
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_STABLE);
  EXPECT_EQ(MemberAssignments(group)[a.id], a.stream->assignment());
  EXPECT_EQ(MemberAssignments(group)[b.id], b.stream->assignment());

  // The new partitions deliver to their owners.
  for (int p = 2; p < 4; ++p) {
    ASSERT_EQ(PublishToPartition(*broker_, kTopic, p, 4).size(), 4u);
    GroupStream* owner =
        a.stream->assignment().contains({kTopic, p}) ? a.stream.get() : b.stream.get();
    ASSERT_TRUE(owner->WaitForRecords({kTopic, p}, 4));
    EXPECT_EQ(owner->records({kTopic, p}).front().offset(), 0);
  }
}

TEST_F(GroupRebalanceTest, StaticMemberRejoiningWithinItsSessionKeepsIdAndPartitions) {
  Start({kLongRevokeGrace});
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 2)));
  JoinOptions a_options;
  a_options.instance_id = "packer-1";
  Member a, b;
  ASSERT_NO_FATAL_FAILURE(JoinTwoAndSettle(&a, &b, AllPartitions(kTopic, 2), a_options, {}));
  ferry::v1::DescribeGroupResponse before;
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &before)));
  const int64_t generation = before.generation();
  const PartitionSet a_partitions = a.stream->assignment();
  const PartitionSet b_partitions = b.stream->assignment();
  const size_t b_changes = b.stream->changes().size();

  // The process restarts: its stream is cut, then it joins with the same instance id.
  a.stream.reset();
  ferry::v1::JoinGroupResponse rejoined;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, kGroup, {kTopic}, a_options, &rejoined)));
  EXPECT_EQ(rejoined.member_id(), a.id);
  EXPECT_EQ(rejoined.generation(), generation);
  EXPECT_EQ(ToPartitionSet(rejoined.assignment()), a_partitions);
  GroupStream restarted(*broker_, kGroup, a.id);
  ASSERT_TRUE(restarted.WaitForChanges(1));
  EXPECT_EQ(restarted.changes().front().generation(), generation);
  EXPECT_EQ(ToPartitionSet(restarted.changes().front().added()), a_partitions);
  EXPECT_EQ(restarted.assignment(), a_partitions);

  ferry::v1::DescribeGroupResponse after;
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &after)));
  EXPECT_EQ(after.generation(), generation);
  EXPECT_EQ(after.state(), ferry::v1::GROUP_STATE_STABLE);
  EXPECT_EQ(MemberAssignments(after), MemberAssignments(before));

  // B heard of no change: a record published now reaches it after anything the rejoin caused.
  const Partition pb = *b_partitions.begin();
  ASSERT_EQ(PublishToPartition(*broker_, kTopic, pb.second, 1).size(), 1u);
  ASSERT_TRUE(b.stream->WaitForRecords(pb, 1));
  EXPECT_EQ(b.stream->changes().size(), b_changes);
  EXPECT_EQ(b.stream->assignment(), b_partitions);
}

TEST_F(GroupRebalanceTest, NewerJoinOfAStaticInstanceReplacesTheOlderStream) {
  Start({kLongRevokeGrace});
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 2)));
  JoinOptions options;
  options.instance_id = "packer-2";
  Member a = JoinAndStream(options);
  ASSERT_TRUE(a.stream != nullptr);
  ASSERT_TRUE(a.stream->WaitForAssignment(AllPartitions(kTopic, 2)));

  ferry::v1::JoinGroupResponse again;
  ASSERT_TRUE(IsOk(JoinGroup(*broker_, kGroup, {kTopic}, options, &again)));
  EXPECT_EQ(again.member_id(), a.id);
  EXPECT_EQ(again.generation(), a.generation);
  ASSERT_TRUE(a.stream->WaitForEnd());
  EXPECT_TRUE(
      HasCode(a.stream->state().status, grpc::StatusCode::FAILED_PRECONDITION, {"instance"}));
}

}  // namespace
}  // namespace ferry::integration
