#include "server/group/group_coordinator.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/broker/clock.h"
#include "server/log.h"

namespace ferry::group {
namespace {

using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAreArray;

using TpSet = std::set<TopicPartition>;

// Topics as the test says they are: change the map, then call TopicsChanged().
class FakeTopics : public TopicView {
 public:
  int32_t PartitionCount(const std::string& topic) const override {
    auto it = counts_.find(topic);
    return it == counts_.end() ? 0 : it->second;
  }
  void Set(const std::string& topic, int32_t count) { counts_[topic] = count; }

 private:
  std::map<std::string, int32_t> counts_;
};

// Records what the coordinator tells one stream, in order, and the assignment those changes
// add up to.
class RecordingStream : public MemberStream {
 public:
  struct Event {
    bool removed = false;
    AssignmentChange change;
    absl::Status why;
  };

  void OnAssignmentChange(const AssignmentChange& change) override {
    // A stream's first message lists as revoked what still waits for the member's answer,
    // which that stream never owned.
    const bool first = events.empty();
    events.push_back(Event{false, change, absl::OkStatus()});
    for (const auto& tp : change.revoked) {
      EXPECT_TRUE(owned.erase(tp) || first)
          << "revoked " << tp.first << "-" << tp.second << ", which the stream did not own";
    }
    for (const auto& tp : change.added) {
      EXPECT_TRUE(owned.insert(tp).second)
          << "added " << tp.first << "-" << tp.second << ", which the stream already owned";
    }
    EXPECT_EQ(TpSet(change.assignment.begin(), change.assignment.end()), owned)
        << "the change's assignment is not what its additions and revocations add up to";
  }
  void OnRemoved(const absl::Status& why) override { events.push_back(Event{true, {}, why}); }

  std::vector<AssignmentChange> Changes() const {
    std::vector<AssignmentChange> out;
    for (const auto& e : events) {
      if (!e.removed) out.push_back(e.change);
    }
    return out;
  }
  AssignmentChange LastChange() const {
    std::vector<AssignmentChange> changes = Changes();
    return changes.empty() ? AssignmentChange{} : changes.back();
  }
  std::vector<absl::Status> Removals() const {
    std::vector<absl::Status> out;
    for (const auto& e : events) {
      if (e.removed) out.push_back(e.why);
    }
    return out;
  }
  // Every partition ever revoked from this stream.
  TpSet AllRevoked() const {
    TpSet out;
    for (const auto& e : events) out.insert(e.change.revoked.begin(), e.change.revoked.end());
    return out;
  }

  std::vector<Event> events;
  TpSet owned;
};

std::vector<TopicPartition> Tps(const std::string& topic, int32_t count) {
  std::vector<TopicPartition> out;
  for (int32_t p = 0; p < count; ++p) out.emplace_back(topic, p);
  return out;
}

TpSet TpSetOf(const std::string& topic, int32_t count) {
  const std::vector<TopicPartition> tps = Tps(topic, count);
  return TpSet(tps.begin(), tps.end());
}

TpSet Intersect(const TpSet& a, const TpSet& b) {
  TpSet out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

struct Member {
  std::string id;
  std::shared_ptr<RecordingStream> stream;
  uint64_t stream_id = 0;
};

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  GroupCoordinatorTest() : clock_(absl::FromUnixSeconds(1'700'000'000)) {
    log::SetLevel(log::Level::kError);
    topics_.Set("orders", 6);
    Restart();
  }

  // A fresh coordinator, as after a broker restart.
  void Restart(const CoordinatorOptions& options = {}) {
    coord_ = std::make_unique<GroupCoordinator>(options, &clock_, &topics_);
    streams_.clear();
  }

  static JoinRequest Request(const std::string& group,
                             std::vector<std::string> topics = {"orders"}) {
    JoinRequest r;
    r.group = group;
    r.topics = std::move(topics);
    return r;
  }

  JoinResult Join(const JoinRequest& request) {
    absl::StatusOr<JoinResult> r = coord_->Join(request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : JoinResult{};
  }

  std::shared_ptr<RecordingStream> Open(const std::string& group, const std::string& member_id,
                                        uint64_t* stream_id = nullptr) {
    auto stream = std::make_shared<RecordingStream>();
    absl::StatusOr<uint64_t> id = coord_->OpenStream(group, member_id, stream);
    EXPECT_TRUE(id.ok()) << id.status();
    if (stream_id != nullptr) *stream_id = id.value_or(0);
    streams_[{group, member_id}] = stream;
    return stream;
  }

  void Close(const std::string& group, const std::string& member_id, uint64_t stream_id) {
    coord_->CloseStream(group, member_id, stream_id);
    streams_.erase({group, member_id});
  }

  // Joins and opens a stream.
  Member JoinStreaming(const JoinRequest& request) {
    Member m;
    m.id = Join(request).member_id;
    m.stream = Open(request.group, m.id, &m.stream_id);
    return m;
  }

  // A group without members is forgotten by the coordinator: it describes as empty.
  GroupInfo Describe(const std::string& group) {
    absl::StatusOr<GroupInfo> info = coord_->Describe(group);
    EXPECT_TRUE(info.ok() || absl::IsNotFound(info.status())) << info.status();
    return info.ok() ? *info : GroupInfo{};
  }

  const MemberInfo* FindMember(const GroupInfo& info, const std::string& member_id) {
    for (const auto& m : info.members) {
      if (m.member_id == member_id) return &m;
    }
    return nullptr;
  }

  bool IsMember(const std::string& group, const std::string& member_id) {
    return FindMember(Describe(group), member_id) != nullptr;
  }

  TpSet Owned(const std::string& group, const std::string& member_id) {
    GroupInfo info = Describe(group);
    const MemberInfo* m = FindMember(info, member_id);
    EXPECT_NE(m, nullptr) << member_id << " is not a member of " << group;
    return m == nullptr ? TpSet{} : TpSet(m->assignment.begin(), m->assignment.end());
  }

  TpSet Revoking(const std::string& group, const std::string& member_id) {
    GroupInfo info = Describe(group);
    const MemberInfo* m = FindMember(info, member_id);
    EXPECT_NE(m, nullptr) << member_id << " is not a member of " << group;
    return m == nullptr ? TpSet{} : TpSet(m->revoking.begin(), m->revoking.end());
  }

  int64_t Generation(const std::string& group) { return Describe(group).generation; }
  GroupState State(const std::string& group) { return Describe(group).state; }

  // The invariants that hold after every step: no partition is owned, or still being revoked,
  // by two members; members own only existing partitions of topics they subscribe to; each open
  // stream was told exactly what its member owns.
  void ExpectConsistent(const std::string& group) {
    GroupInfo info = Describe(group);
    std::map<TopicPartition, std::string> holder;
    for (const auto& m : info.members) {
      std::set<std::string> topics(m.topics.begin(), m.topics.end());
      for (const auto* list : {&m.assignment, &m.revoking}) {
        for (const auto& tp : *list) {
          auto [it, inserted] = holder.emplace(tp, m.member_id);
          EXPECT_TRUE(inserted) << tp.first << "-" << tp.second << " held by both " << it->second
                                << " and " << m.member_id;
        }
      }
      for (const auto& tp : m.assignment) {
        EXPECT_TRUE(topics.contains(tp.first)) << m.member_id << " owns " << tp.first;
        EXPECT_LT(tp.second, topics_.PartitionCount(tp.first)) << tp.first << "-" << tp.second;
      }
      auto s = streams_.find({group, m.member_id});
      if (m.streaming && s != streams_.end()) {
        EXPECT_EQ(s->second->owned, TpSet(m.assignment.begin(), m.assignment.end()))
            << "stream of " << m.member_id << " disagrees with Describe()";
      }
    }
  }

  struct Pair {
    Member a;
    Member b;
    TpSet kept;    // stay with A
    TpSet moving;  // revoked from A, going to B
  };
  // A joins `group` and owns all 6 partitions of orders; then B joins, which revokes half of
  // them from A. Nothing handed off yet.
  Pair JoinTwo(const std::string& group = "g") {
    Pair p;
    p.a = JoinStreaming(Request(group));
    EXPECT_EQ(Owned(group, p.a.id).size(), 6u);
    p.b = JoinStreaming(Request(group));
    AssignmentChange revoke = p.a.stream->LastChange();
    EXPECT_EQ(revoke.generation, 2);
    EXPECT_THAT(revoke.added, IsEmpty());
    p.moving = TpSet(revoke.revoked.begin(), revoke.revoked.end());
    p.kept = TpSet(revoke.assignment.begin(), revoke.assignment.end());
    EXPECT_EQ(p.moving.size(), 3u);
    EXPECT_EQ(p.kept.size(), 3u);
    ExpectConsistent(group);
    return p;
  }
  // JoinTwo, then A acknowledges with a heartbeat at the current generation.
  Pair JoinTwoSettled(const std::string& group = "g") {
    Pair p = JoinTwo(group);
    EXPECT_TRUE(coord_->Heartbeat(group, p.a.id, Generation(group)).ok());
    EXPECT_EQ(State(group), GroupState::kStable);
    ExpectConsistent(group);
    return p;
  }

  broker::FakeClock clock_;
  FakeTopics topics_;
  std::unique_ptr<GroupCoordinator> coord_;
  // (group, member id) -> the member's open stream.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<RecordingStream>> streams_;
};

TEST_F(GroupCoordinatorTest, FirstJoinGetsEveryPartitionAtGenerationOne) {
  JoinResult a = Join(Request("g"));
  EXPECT_FALSE(a.member_id.empty());
  EXPECT_EQ(a.generation, 1);
  EXPECT_THAT(a.assignment, ElementsAreArray(Tps("orders", 6)));

  auto stream = Open("g", a.member_id);
  ASSERT_THAT(stream->events, SizeIs(1));
  const AssignmentChange& first = stream->events[0].change;
  EXPECT_EQ(first.generation, 1);
  EXPECT_THAT(first.added, ElementsAreArray(Tps("orders", 6)));
  EXPECT_THAT(first.revoked, IsEmpty());
  EXPECT_THAT(first.assignment, ElementsAreArray(Tps("orders", 6)));

  GroupInfo info = Describe("g");
  EXPECT_EQ(info.group, "g");
  EXPECT_EQ(info.state, GroupState::kStable);
  EXPECT_EQ(info.generation, 1);
  EXPECT_EQ(info.assignor, "sticky");
  ASSERT_THAT(info.members, SizeIs(1));
  EXPECT_TRUE(info.members[0].streaming);
  EXPECT_THAT(info.members[0].topics, ElementsAreArray({"orders"}));
  EXPECT_THAT(info.members[0].revoking, IsEmpty());
  EXPECT_EQ(coord_->Rebalances("g"), 1);
  EXPECT_TRUE(coord_->HasMembers("g"));
  ExpectConsistent("g");
}

TEST_F(GroupCoordinatorTest, SecondJoinRevokesFirstAndHandsOffOnFinalCommit) {
  Pair p = JoinTwo();
  EXPECT_EQ(Generation("g"), 2);
  EXPECT_EQ(State("g"), GroupState::kRebalancing);
  // Revoked from A and not yet B's.
  EXPECT_EQ(Owned("g", p.a.id), p.kept);
  EXPECT_EQ(Revoking("g", p.a.id), p.moving);
  EXPECT_THAT(Owned("g", p.b.id), IsEmpty());
  ASSERT_THAT(p.b.stream->events, SizeIs(1));
  EXPECT_EQ(p.b.stream->events[0].change.generation, 2);
  EXPECT_THAT(p.b.stream->events[0].change.added, IsEmpty());

  const std::vector<TopicPartition> moving(p.moving.begin(), p.moving.end());
  // Commits by anyone but the revoked owner, or of partitions that are not moving, hand off
  // nothing.
  coord_->Committed("g", p.b.id, 2, moving);
  coord_->Committed("g", p.a.id, 2, std::vector<TopicPartition>(p.kept.begin(), p.kept.end()));
  coord_->Committed("g", "stranger", 2, moving);
  EXPECT_THAT(Owned("g", p.b.id), IsEmpty());
  EXPECT_EQ(Revoking("g", p.a.id), p.moving);
  ExpectConsistent("g");
  // Nor does A's routine commit at the generation it had before it saw the revoke: it may
  // still be processing those partitions (the bug this rule fixes).
  coord_->Committed("g", p.a.id, 1, moving);
  EXPECT_THAT(Owned("g", p.b.id), IsEmpty());
  EXPECT_EQ(Revoking("g", p.a.id), p.moving);

  // A's final commit of one partition, at the revoke's generation, passes that one to B.
  coord_->Committed("g", p.a.id, 2, {moving[0]});
  ExpectConsistent("g");
  EXPECT_EQ(Owned("g", p.b.id), TpSet({moving[0]}));
  EXPECT_EQ(Revoking("g", p.a.id), TpSet({moving[1], moving[2]}));
  AssignmentChange added = p.b.stream->LastChange();
  EXPECT_EQ(added.generation, 2);
  EXPECT_THAT(added.added, ElementsAreArray({moving[0]}));
  EXPECT_THAT(added.revoked, IsEmpty());
  EXPECT_EQ(State("g"), GroupState::kRebalancing);

  coord_->Committed("g", p.a.id, 2, {moving[1], moving[2]});
  ExpectConsistent("g");
  EXPECT_EQ(Owned("g", p.b.id), p.moving);
  EXPECT_EQ(Owned("g", p.a.id), p.kept);
  EXPECT_THAT(Revoking("g", p.a.id), IsEmpty());
  EXPECT_THAT(p.b.stream->LastChange().added, ElementsAreArray({moving[1], moving[2]}));
  EXPECT_EQ(State("g"), GroupState::kStable);
  EXPECT_EQ(Generation("g"), 2);
}

TEST_F(GroupCoordinatorTest, HeartbeatAtCurrentGenerationAcknowledgesRevocation) {
  Pair p = JoinTwo();
  // At the old generation the member has not seen the revocation yet.
  absl::StatusOr<MemberView> view = coord_->Heartbeat("g", p.a.id, 1);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->generation, 2);
  EXPECT_EQ(TpSet(view->assignment.begin(), view->assignment.end()), p.kept);
  EXPECT_THAT(Owned("g", p.b.id), IsEmpty());
  EXPECT_EQ(Revoking("g", p.a.id), p.moving);
  ExpectConsistent("g");

  // A generation the group has not reached is refused and acknowledges nothing.
  EXPECT_TRUE(absl::IsFailedPrecondition(coord_->Heartbeat("g", p.a.id, 3).status()));
  EXPECT_THAT(Owned("g", p.b.id), IsEmpty());

  const size_t b_events = p.b.stream->events.size();
  view = coord_->Heartbeat("g", p.a.id, 2);
  ASSERT_TRUE(view.ok()) << view.status();
  ExpectConsistent("g");
  EXPECT_EQ(Owned("g", p.b.id), p.moving);
  ASSERT_THAT(p.b.stream->events, SizeIs(b_events + 1));
  EXPECT_THAT(p.b.stream->LastChange().added, UnorderedElementsAreArray(p.moving));
  EXPECT_EQ(State("g"), GroupState::kStable);
}

TEST_F(GroupCoordinatorTest, OwnerSilentPastItsRebalanceTimeoutIsRemovedBeforeHandOff) {
  Pair p = JoinTwo();
  const absl::Duration grace = coord_->options().revoke_grace;
  // Heartbeats at the old generation keep A alive but answer nothing.
  clock_.Advance(grace - absl::Milliseconds(1));
  ASSERT_TRUE(coord_->Heartbeat("g", p.a.id, 1).ok());
  coord_->Tick();
  EXPECT_THAT(Owned("g", p.b.id), IsEmpty());
  clock_.Advance(absl::Milliseconds(1));  // exactly at the end of its rebalance timeout
  coord_->Tick();
  EXPECT_THAT(Owned("g", p.b.id), IsEmpty());
  ExpectConsistent("g");
  // Past it, A is removed (its stream ends, its commits are fenced), and only then do its
  // partitions move: all of them, since A is gone.
  clock_.Advance(absl::Milliseconds(1));
  coord_->Tick();
  ExpectConsistent("g");
  EXPECT_FALSE(IsMember("g", p.a.id));
  ASSERT_THAT(p.a.stream->Removals(), SizeIs(1));
  EXPECT_TRUE(absl::IsDeadlineExceeded(p.a.stream->Removals()[0]));
  EXPECT_EQ(Owned("g", p.b.id), TpSetOf("orders", 6));
  EXPECT_EQ(Generation("g"), 3);
  EXPECT_EQ(State("g"), GroupState::kStable);
  EXPECT_EQ(GroupErrorOf(coord_->CheckCommit("g", p.a.id, 2, {*p.kept.begin()})[0]),
            GroupError::kUnknownMember);
  EXPECT_EQ(coord_->NextDeadline(), absl::InfiniteFuture());
}

TEST_F(GroupCoordinatorTest, StreamOpenedAfterARevokeIsToldWhatAwaitsItsAnswer) {
  const std::string a = Join(Request("g")).member_id;  // its stream opens later
  Member b = JoinStreaming(Request("g"));
  const TpSet moving = Revoking("g", a);
  ASSERT_THAT(moving, SizeIs(3));
  auto stream = Open("g", a);
  ASSERT_THAT(stream->events, SizeIs(1));
  const AssignmentChange& first = stream->events[0].change;
  EXPECT_EQ(first.generation, 2);
  EXPECT_EQ(TpSet(first.revoked.begin(), first.revoked.end()), moving);
  EXPECT_THAT(Intersect(TpSet(first.assignment.begin(), first.assignment.end()), moving),
              IsEmpty());
  ASSERT_TRUE(coord_->Heartbeat("g", a, 2).ok());
  EXPECT_EQ(b.stream->owned, moving);
}

TEST_F(GroupCoordinatorTest, OwnerLeavingHandsOff) {
  Pair p = JoinTwo();
  ASSERT_TRUE(coord_->Leave("g", p.a.id).ok());
  ExpectConsistent("g");
  EXPECT_FALSE(IsMember("g", p.a.id));
  EXPECT_EQ(Owned("g", p.b.id), TpSetOf("orders", 6));
  EXPECT_EQ(Generation("g"), 3);
  EXPECT_EQ(State("g"), GroupState::kStable);
  ASSERT_THAT(p.a.stream->Removals(), SizeIs(1));
  EXPECT_TRUE(p.a.stream->Removals()[0].ok());
  EXPECT_TRUE(p.a.stream->events.back().removed);
  AssignmentChange last = p.b.stream->LastChange();
  EXPECT_EQ(last.generation, 3);
  EXPECT_THAT(last.assignment, ElementsAreArray(Tps("orders", 6)));
}

TEST_F(GroupCoordinatorTest, PartitionsThatStayAreNeverRevoked) {
  topics_.Set("orders", 12);
  Member a = JoinStreaming(Request("g"));
  Member b = JoinStreaming(Request("g"));
  ExpectConsistent("g");
  ASSERT_TRUE(coord_->Heartbeat("g", a.id, Generation("g")).ok());
  ExpectConsistent("g");
  Member c = JoinStreaming(Request("g"));
  ExpectConsistent("g");
  ASSERT_TRUE(coord_->Heartbeat("g", a.id, Generation("g")).ok());
  ExpectConsistent("g");
  ASSERT_TRUE(coord_->Heartbeat("g", b.id, Generation("g")).ok());
  ExpectConsistent("g");
  EXPECT_EQ(State("g"), GroupState::kStable);
  EXPECT_EQ(Generation("g"), 3);

  for (const Member* m : {&a, &b, &c}) {
    const TpSet owned = Owned("g", m->id);
    EXPECT_EQ(owned.size(), 4u);
    EXPECT_THAT(Intersect(owned, m->stream->AllRevoked()), IsEmpty()) << m->id;
  }
  // Fewest moves: A gave 6 to B, then A and B gave 2 each to C.
  EXPECT_EQ(a.stream->AllRevoked().size(), 8u);
  EXPECT_EQ(b.stream->AllRevoked().size(), 2u);
  EXPECT_THAT(c.stream->AllRevoked(), IsEmpty());
}

TEST_F(GroupCoordinatorTest, SilentMemberWithoutStreamTimesOut) {
  JoinRequest ra = Request("g");
  ra.session_timeout = absl::Seconds(2);
  const std::string a = Join(ra).member_id;  // no stream: lives on heartbeats
  Member b = JoinStreaming(Request("g"));
  ASSERT_TRUE(coord_->Heartbeat("g", a, 2).ok());
  ExpectConsistent("g");
  const TpSet a_owned = Owned("g", a);
  ASSERT_EQ(a_owned.size(), 3u);
  EXPECT_EQ(coord_->NextDeadline(), clock_.Now() + absl::Seconds(2));

  clock_.Advance(absl::Seconds(1));
  coord_->Tick();
  EXPECT_TRUE(IsMember("g", a));
  clock_.Advance(absl::Seconds(1));
  coord_->Tick();
  EXPECT_TRUE(IsMember("g", a));
  clock_.Advance(absl::Milliseconds(1));
  coord_->Tick();
  ExpectConsistent("g");
  EXPECT_FALSE(IsMember("g", a));
  EXPECT_EQ(Owned("g", b.id), TpSetOf("orders", 6));
  EXPECT_EQ(Generation("g"), 3);
  EXPECT_EQ(State("g"), GroupState::kStable);
  EXPECT_THAT(b.stream->LastChange().added, UnorderedElementsAreArray(a_owned));
  EXPECT_TRUE(absl::IsNotFound(coord_->Heartbeat("g", a, 3).status()));
}

TEST_F(GroupCoordinatorTest, HeartbeatsKeepAMemberWithoutStreamAlive) {
  JoinRequest ra = Request("g");
  ra.session_timeout = absl::Seconds(2);
  const std::string a = Join(ra).member_id;
  for (int i = 0; i < 20; ++i) {
    clock_.Advance(absl::Milliseconds(1500));
    coord_->Tick();
    ASSERT_TRUE(coord_->Heartbeat("g", a, 1).ok());
  }
  EXPECT_EQ(Owned("g", a).size(), 6u);
  EXPECT_EQ(Generation("g"), 1);
}

TEST_F(GroupCoordinatorTest, MemberWithOpenStreamNeverTimesOut) {
  JoinRequest ra = Request("g");
  ra.session_timeout = absl::Seconds(1);
  Member a = JoinStreaming(ra);
  EXPECT_EQ(coord_->NextDeadline(), absl::InfiniteFuture());
  for (int i = 0; i < 100; ++i) {
    clock_.Advance(absl::Minutes(1));
    coord_->Tick();
  }
  EXPECT_TRUE(IsMember("g", a.id));
  EXPECT_EQ(Owned("g", a.id).size(), 6u);

  // Closing a stream that is no longer the member's changes nothing.
  coord_->CloseStream("g", a.id, a.stream_id + 100);
  EXPECT_TRUE(Describe("g").members[0].streaming);
  EXPECT_EQ(coord_->NextDeadline(), absl::InfiniteFuture());

  // Closing its stream starts the session timeout.
  Close("g", a.id, a.stream_id);
  EXPECT_FALSE(Describe("g").members[0].streaming);
  EXPECT_EQ(coord_->NextDeadline(), clock_.Now() + absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  coord_->Tick();
  EXPECT_TRUE(IsMember("g", a.id));
  clock_.Advance(absl::Milliseconds(1));
  coord_->Tick();
  EXPECT_FALSE(IsMember("g", a.id));
  EXPECT_EQ(State("g"), GroupState::kEmpty);
  EXPECT_FALSE(coord_->HasMembers("g"));
  // A closed stream is not told about the removal.
  EXPECT_THAT(a.stream->Removals(), IsEmpty());
}

TEST_F(GroupCoordinatorTest, NewerStreamReplacesOlder) {
  Member a = JoinStreaming(Request("g"));
  uint64_t second_id = 0;
  auto second = Open("g", a.id, &second_id);
  EXPECT_NE(second_id, a.stream_id);
  ASSERT_THAT(a.stream->Removals(), SizeIs(1));
  EXPECT_TRUE(absl::IsFailedPrecondition(a.stream->Removals()[0]));
  EXPECT_THAT(second->LastChange().added, ElementsAreArray(Tps("orders", 6)));
  // The old stream's close does not close the new one.
  coord_->CloseStream("g", a.id, a.stream_id);
  EXPECT_TRUE(Describe("g").members[0].streaming);
  clock_.Advance(absl::Hours(1));
  coord_->Tick();
  EXPECT_TRUE(IsMember("g", a.id));
}

TEST_F(GroupCoordinatorTest, LeaveRebalancesAtOnce) {
  Pair p = JoinTwoSettled();
  const TpSet b_owned = Owned("g", p.b.id);
  ASSERT_TRUE(coord_->Leave("g", p.b.id).ok());
  ExpectConsistent("g");
  EXPECT_EQ(Generation("g"), 3);
  EXPECT_EQ(State("g"), GroupState::kStable);
  EXPECT_EQ(Owned("g", p.a.id).size(), 6u);
  EXPECT_THAT(p.a.stream->LastChange().added, UnorderedElementsAreArray(b_owned));
  ASSERT_THAT(p.b.stream->Removals(), SizeIs(1));
  EXPECT_TRUE(p.b.stream->Removals()[0].ok());
  EXPECT_TRUE(absl::IsNotFound(coord_->Leave("g", p.b.id)));

  ASSERT_TRUE(coord_->Leave("g", p.a.id).ok());
  EXPECT_EQ(State("g"), GroupState::kEmpty);
  EXPECT_THAT(Describe("g").members, IsEmpty());
}

TEST_F(GroupCoordinatorTest, CheckCommit) {
  Pair p = JoinTwo();
  const std::vector<TopicPartition> kept(p.kept.begin(), p.kept.end());
  const std::vector<TopicPartition> moving(p.moving.begin(), p.moving.end());
  const auto all_ok = [](const std::vector<absl::Status>& statuses) {
    return std::all_of(statuses.begin(), statuses.end(),
                       [](const absl::Status& s) { return s.ok(); });
  };
  const auto all_refused = [](const std::vector<absl::Status>& statuses) {
    return std::all_of(statuses.begin(), statuses.end(), [](const absl::Status& s) {
      return absl::IsFailedPrecondition(s) && !s.message().empty();
    });
  };

  EXPECT_THAT(coord_->CheckCommit("g", p.a.id, 2, kept), SizeIs(3));
  EXPECT_TRUE(all_ok(coord_->CheckCommit("g", p.a.id, 2, kept)));
  // A has owned these since generation 1: it may commit them with the generation it had
  // before it saw the rebalance.
  EXPECT_TRUE(all_ok(coord_->CheckCommit("g", p.a.id, 1, kept)));
  EXPECT_TRUE(all_refused(coord_->CheckCommit("g", p.a.id, 3, kept)));  // future
  EXPECT_TRUE(all_refused(coord_->CheckCommit("g", "nobody", 2, kept)));
  EXPECT_TRUE(all_refused(coord_->CheckCommit("other-group", p.a.id, 2, kept)));
  EXPECT_TRUE(all_refused(coord_->CheckCommit("g", p.b.id, 2, kept)));    // A's
  EXPECT_TRUE(all_refused(coord_->CheckCommit("g", p.b.id, 2, moving)));  // not B's yet
  EXPECT_TRUE(all_refused(coord_->CheckCommit("g", p.a.id, 2, {{"orders", 6}})));
  // One status per partition, in order.
  std::vector<absl::Status> mixed =
      coord_->CheckCommit("g", p.a.id, 2, {kept[0], {"orders", 6}, kept[1]});
  ASSERT_THAT(mixed, SizeIs(3));
  EXPECT_TRUE(mixed[0].ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(mixed[1]));
  EXPECT_TRUE(mixed[2].ok());

  // A partition being revoked is still the old owner's to commit (it processes it until it
  // answers), at any generation since it got it; never at a future one.
  EXPECT_TRUE(all_ok(coord_->CheckCommit("g", p.a.id, 1, moving)));
  EXPECT_TRUE(all_ok(coord_->CheckCommit("g", p.a.id, 2, moving)));
  EXPECT_TRUE(all_refused(coord_->CheckCommit("g", p.a.id, 3, moving)));
  // Once A answers, the partitions are B's since generation 2: A is fenced, and so is a
  // commit of B's from before it got them.
  ASSERT_TRUE(coord_->Heartbeat("g", p.a.id, 2).ok());
  EXPECT_TRUE(all_refused(coord_->CheckCommit("g", p.a.id, 1, moving)));
  EXPECT_TRUE(all_refused(coord_->CheckCommit("g", p.a.id, 2, moving)));
  EXPECT_TRUE(all_ok(coord_->CheckCommit("g", p.b.id, 2, moving)));
  EXPECT_TRUE(all_refused(coord_->CheckCommit("g", p.b.id, 1, moving)));
  EXPECT_TRUE(all_ok(coord_->CheckCommit("g", p.a.id, 2, kept)));
}

TEST_F(GroupCoordinatorTest, FinalCommitIsAllowedOnlyOnce) {
  Pair p = JoinTwo();
  const TopicPartition tp = *p.moving.begin();
  ASSERT_TRUE(coord_->CheckCommit("g", p.a.id, 2, {tp})[0].ok());
  coord_->Committed("g", p.a.id, 2, {tp});
  // Handed off: now B commits it, and A no longer may.
  EXPECT_TRUE(absl::IsFailedPrecondition(coord_->CheckCommit("g", p.a.id, 1, {tp})[0]));
  EXPECT_TRUE(absl::IsFailedPrecondition(coord_->CheckCommit("g", p.a.id, 2, {tp})[0]));
  EXPECT_TRUE(coord_->CheckCommit("g", p.b.id, 2, {tp})[0].ok());
}

TEST_F(GroupCoordinatorTest, UnknownMemberIsNotFound) {
  // As after a broker restart: a fresh coordinator knows nothing of the member.
  Member a = JoinStreaming(Request("g"));
  Restart();
  JoinRequest rejoin = Request("g");
  rejoin.member_id = a.id;
  EXPECT_TRUE(absl::IsNotFound(coord_->Join(rejoin).status()));
  EXPECT_TRUE(absl::IsNotFound(coord_->Heartbeat("g", a.id, 1).status()));
  EXPECT_TRUE(absl::IsNotFound(coord_->Leave("g", a.id)));
  EXPECT_TRUE(absl::IsNotFound(
      coord_->OpenStream("g", a.id, std::make_shared<RecordingStream>()).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(coord_->CheckCommit("g", a.id, 1, {{"orders", 0}})[0]));
  EXPECT_TRUE(absl::IsNotFound(coord_->Describe("g").status()));
  // The failed rejoin did not create the group.
  EXPECT_THAT(coord_->ListGroups(), IsEmpty());

  // The same in a group that exists but does not know the id.
  Member b = JoinStreaming(Request("g"));
  EXPECT_TRUE(absl::IsNotFound(coord_->Join(rejoin).status()));
  EXPECT_TRUE(absl::IsNotFound(coord_->Heartbeat("g", a.id, 1).status()));
  EXPECT_TRUE(absl::IsNotFound(coord_->Leave("g", a.id)));
  EXPECT_TRUE(absl::IsNotFound(
      coord_->OpenStream("g", a.id, std::make_shared<RecordingStream>()).status()));
  EXPECT_EQ(Generation("g"), 1);
  EXPECT_EQ(Owned("g", b.id).size(), 6u);

  // A rejoin with its member id works for a known member.
  rejoin.member_id = b.id;
  absl::StatusOr<JoinResult> again = coord_->Join(rejoin);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->member_id, b.id);
  EXPECT_EQ(again->generation, 1);
  EXPECT_THAT(again->assignment, ElementsAreArray(Tps("orders", 6)));
}

TEST_F(GroupCoordinatorTest, StaticMemberRejoinsWithinSessionTimeout) {
  JoinRequest ra = Request("g");
  ra.instance_id = "host-a";
  ra.session_timeout = absl::Seconds(5);
  Member a = JoinStreaming(ra);
  Member b = JoinStreaming(Request("g"));
  ASSERT_TRUE(coord_->Heartbeat("g", a.id, 2).ok());
  ASSERT_EQ(State("g"), GroupState::kStable);
  const TpSet a_owned = Owned("g", a.id);
  const TpSet b_owned = Owned("g", b.id);
  const int64_t rebalances = coord_->Rebalances("g");
  const size_t b_events = b.stream->events.size();

  Close("g", a.id, a.stream_id);
  clock_.Advance(absl::Seconds(4));
  coord_->Tick();
  ASSERT_TRUE(IsMember("g", a.id));

  absl::StatusOr<JoinResult> back = coord_->Join(ra);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->member_id, a.id);
  EXPECT_EQ(back->generation, 2);
  EXPECT_EQ(TpSet(back->assignment.begin(), back->assignment.end()), a_owned);
  auto a_stream = Open("g", a.id);
  EXPECT_EQ(TpSet(a_stream->owned), a_owned);
  EXPECT_EQ(Generation("g"), 2);
  EXPECT_EQ(coord_->Rebalances("g"), rebalances);
  EXPECT_EQ(Owned("g", b.id), b_owned);
  EXPECT_EQ(b.stream->events.size(), b_events);
  EXPECT_EQ(State("g"), GroupState::kStable);
  ExpectConsistent("g");
}

TEST_F(GroupCoordinatorTest, StaticRejoinWithoutStreamRestartsSession) {
  JoinRequest ra = Request("g");
  ra.instance_id = "host-a";
  ra.session_timeout = absl::Seconds(5);
  const std::string a = Join(ra).member_id;
  clock_.Advance(absl::Seconds(4));
  coord_->Tick();
  ASSERT_EQ(Join(ra).member_id, a);
  clock_.Advance(absl::Seconds(4));  // 8 s after the first join, 4 s after the rejoin
  coord_->Tick();
  EXPECT_TRUE(IsMember("g", a));
  EXPECT_EQ(Generation("g"), 1);
}

TEST_F(GroupCoordinatorTest, StaticRejoinReplacesTheOldStream) {
  JoinRequest ra = Request("g");
  ra.instance_id = "host-a";
  Member a = JoinStreaming(ra);
  ASSERT_EQ(Join(ra).member_id, a.id);
  ASSERT_THAT(a.stream->Removals(), SizeIs(1));
  EXPECT_TRUE(absl::IsFailedPrecondition(a.stream->Removals()[0]));
  EXPECT_FALSE(Describe("g").members[0].streaming);
  EXPECT_EQ(Generation("g"), 1);
}

TEST_F(GroupCoordinatorTest, StaticMemberIsGoneAfterSessionTimeout) {
  JoinRequest ra = Request("g");
  ra.instance_id = "host-a";
  ra.session_timeout = absl::Seconds(5);
  Member a = JoinStreaming(ra);
  Member b = JoinStreaming(Request("g"));
  ASSERT_TRUE(coord_->Heartbeat("g", a.id, 2).ok());
  Close("g", a.id, a.stream_id);
  clock_.Advance(absl::Seconds(5) + absl::Milliseconds(1));
  coord_->Tick();
  ExpectConsistent("g");
  EXPECT_FALSE(IsMember("g", a.id));
  EXPECT_EQ(Owned("g", b.id).size(), 6u);
  EXPECT_EQ(Generation("g"), 3);

  absl::StatusOr<JoinResult> again = coord_->Join(ra);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->member_id, a.id);
  EXPECT_EQ(again->generation, 4);
  EXPECT_THAT(again->assignment, IsEmpty());  // B must give up half first
  EXPECT_EQ(Revoking("g", b.id).size(), 3u);
  EXPECT_EQ(FindMember(Describe("g"), again->member_id)->instance_id, "host-a");
  ExpectConsistent("g");
}

TEST_F(GroupCoordinatorTest, AddedPartitionsAreAssignedWithoutRejoin) {
  Pair p = JoinTwoSettled();
  const size_t a_events = p.a.stream->events.size();
  const size_t b_events = p.b.stream->events.size();
  // Nothing changed: no rebalance.
  coord_->TopicsChanged();
  EXPECT_EQ(Generation("g"), 2);

  topics_.Set("orders", 8);
  coord_->TopicsChanged();
  ExpectConsistent("g");
  EXPECT_EQ(Generation("g"), 3);
  EXPECT_EQ(State("g"), GroupState::kStable);
  EXPECT_EQ(Owned("g", p.a.id).size(), 4u);
  EXPECT_EQ(Owned("g", p.b.id).size(), 4u);
  TpSet added;
  for (const Member* m : {&p.a, &p.b}) {
    const size_t before = m == &p.a ? a_events : b_events;
    for (size_t i = before; i < m->stream->events.size(); ++i) {
      const auto& e = m->stream->events[i];
      EXPECT_FALSE(e.removed);
      EXPECT_THAT(e.change.revoked, IsEmpty());
      added.insert(e.change.added.begin(), e.change.added.end());
    }
  }
  EXPECT_EQ(added, TpSet({{"orders", 6}, {"orders", 7}}));
}

TEST_F(GroupCoordinatorTest, DeletedTopicIsRevokedWithoutHandOff) {
  topics_.Set("payments", 4);
  Member a = JoinStreaming(Request("g", {"orders", "payments"}));
  EXPECT_EQ(Owned("g", a.id).size(), 10u);
  topics_.Set("payments", 0);
  coord_->TopicsChanged();
  ExpectConsistent("g");
  EXPECT_EQ(Generation("g"), 2);
  AssignmentChange last = a.stream->LastChange();
  EXPECT_THAT(last.revoked, UnorderedElementsAreArray(Tps("payments", 4)));
  EXPECT_THAT(last.assignment, ElementsAreArray(Tps("orders", 6)));
  EXPECT_EQ(Owned("g", a.id), TpSetOf("orders", 6));
  EXPECT_THAT(Revoking("g", a.id), IsEmpty());
  EXPECT_EQ(State("g"), GroupState::kStable);
  EXPECT_EQ(coord_->NextDeadline(), absl::InfiniteFuture());
  // The deleted topic's partitions are not committable any more.
  EXPECT_TRUE(absl::IsFailedPrecondition(coord_->CheckCommit("g", a.id, 1, {{"payments", 0}})[0]));
}

TEST_F(GroupCoordinatorTest, DeletedTopicWithTwoMembers) {
  topics_.Set("payments", 4);
  Member a = JoinStreaming(Request("g", {"orders", "payments"}));
  Member b = JoinStreaming(Request("g", {"orders", "payments"}));
  ASSERT_TRUE(coord_->Heartbeat("g", a.id, 2).ok());
  ASSERT_EQ(State("g"), GroupState::kStable);
  topics_.Set("payments", 0);
  coord_->TopicsChanged();
  ExpectConsistent("g");
  for (const Member* m : {&a, &b}) {
    for (const auto& tp : Owned("g", m->id)) EXPECT_EQ(tp.first, "orders");
    for (const auto& tp : Revoking("g", m->id)) EXPECT_EQ(tp.first, "orders");
  }
  // Settle: both members acknowledge; orders is balanced between them.
  ASSERT_TRUE(coord_->Heartbeat("g", a.id, Generation("g")).ok());
  ASSERT_TRUE(coord_->Heartbeat("g", b.id, Generation("g")).ok());
  ExpectConsistent("g");
  EXPECT_EQ(State("g"), GroupState::kStable);
  EXPECT_EQ(Owned("g", a.id).size(), 3u);
  EXPECT_EQ(Owned("g", b.id).size(), 3u);
}

TEST_F(GroupCoordinatorTest, RejectsSessionTimeoutOutOfRange) {
  const CoordinatorOptions& o = coord_->options();
  JoinRequest r = Request("g");
  r.session_timeout = o.min_session_timeout - absl::Milliseconds(1);
  EXPECT_TRUE(absl::IsInvalidArgument(coord_->Join(r).status()));
  r.session_timeout = o.max_session_timeout + absl::Milliseconds(1);
  EXPECT_TRUE(absl::IsInvalidArgument(coord_->Join(r).status()));
  r.session_timeout = -absl::Seconds(1);
  EXPECT_TRUE(absl::IsInvalidArgument(coord_->Join(r).status()));
  EXPECT_THAT(coord_->ListGroups(), IsEmpty());
  r.session_timeout = o.min_session_timeout;
  EXPECT_TRUE(coord_->Join(r).ok());
  r.session_timeout = o.max_session_timeout;
  EXPECT_TRUE(coord_->Join(r).ok());
}

TEST_F(GroupCoordinatorTest, RejectsBadGroupNamesAndTopics) {
  CoordinatorOptions o;
  o.max_topics_per_member = 2;
  Restart(o);
  for (const std::string& group :
       {std::string(""), std::string("a\tb"), std::string("a\0b", 3), std::string(250, 'g')}) {
    EXPECT_TRUE(absl::IsInvalidArgument(coord_->Join(Request(group)).status()));
  }
  EXPECT_TRUE(absl::IsInvalidArgument(coord_->Join(Request("g", {})).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(coord_->Join(Request("g", {"bad topic"})).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(coord_->Join(Request("g", {"orders", ""})).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(coord_->Join(Request("g", {"a", "b", "c"})).status()));
  EXPECT_THAT(coord_->ListGroups(), IsEmpty());
  EXPECT_TRUE(coord_->Join(Request("g", {"a", "b"})).ok());
}

TEST_F(GroupCoordinatorTest, LimitsMembersPerGroup) {
  CoordinatorOptions o;
  o.max_members_per_group = 2;
  Restart(o);
  JoinRequest ra = Request("g");
  ra.instance_id = "host-a";
  const std::string a = Join(ra).member_id;
  const std::string b = Join(Request("g")).member_id;
  absl::StatusOr<JoinResult> third = coord_->Join(Request("g"));
  EXPECT_TRUE(absl::IsResourceExhausted(third.status())) << third.status();
  EXPECT_FALSE(third.status().message().empty());
  EXPECT_THAT(Describe("g").members, SizeIs(2));
  // Members already in keep rejoining.
  EXPECT_EQ(Join(ra).member_id, a);
  JoinRequest rb = Request("g");
  rb.member_id = b;
  EXPECT_EQ(Join(rb).member_id, b);
  // Other groups are not affected; a leave makes room.
  EXPECT_TRUE(coord_->Join(Request("h")).ok());
  ASSERT_TRUE(coord_->Leave("g", b).ok());
  EXPECT_TRUE(coord_->Join(Request("g")).ok());
}

TEST_F(GroupCoordinatorTest, LimitsGroups) {
  CoordinatorOptions o;
  o.max_groups = 2;
  Restart(o);
  const std::string g1 = Join(Request("g1")).member_id;
  const std::string g2 = Join(Request("g2")).member_id;
  absl::StatusOr<JoinResult> g3 = coord_->Join(Request("g3"));
  EXPECT_TRUE(absl::IsResourceExhausted(g3.status())) << g3.status();
  EXPECT_FALSE(coord_->Describe("g3").ok());
  EXPECT_TRUE(coord_->Join(Request("g1")).ok());  // existing groups take more members
  // A group that loses its last member no longer counts (its offsets live in storage).
  ASSERT_TRUE(coord_->Leave("g2", g2).ok());
  EXPECT_FALSE(coord_->Describe("g2").ok());
  EXPECT_TRUE(coord_->Join(Request("g3")).ok());
  EXPECT_THAT(coord_->ListGroups(), SizeIs(2));
}

TEST_F(GroupCoordinatorTest, AssignorMustMatchTheGroups) {
  JoinRequest range = Request("g");
  range.assignor = AssignorKind::kRange;
  const std::string a = Join(range).member_id;
  EXPECT_EQ(Describe("g").assignor, "range");
  JoinRequest sticky = Request("g");
  sticky.assignor = AssignorKind::kSticky;
  absl::StatusOr<JoinResult> r = coord_->Join(sticky);
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_THAT(Describe("g").members, SizeIs(1));
  // Once empty, the group takes the next member's assignor.
  ASSERT_TRUE(coord_->Leave("g", a).ok());
  EXPECT_TRUE(coord_->Join(sticky).ok());
  EXPECT_EQ(Describe("g").assignor, "sticky");
}

TEST_F(GroupCoordinatorTest, MemberNamingNoAssignorAdoptsTheGroups) {
  JoinRequest range = Request("g");
  range.assignor = AssignorKind::kRange;
  Join(range);
  // No assignor named: it joins whatever the group uses, and the group keeps it.
  absl::StatusOr<JoinResult> r = coord_->Join(Request("g"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->assignor, AssignorKind::kRange);
  EXPECT_EQ(Describe("g").assignor, "range");
  EXPECT_THAT(Describe("g").members, SizeIs(2));
  // A new group without a named assignor is sticky.
  ASSERT_TRUE(coord_->Join(Request("fresh")).ok());
  EXPECT_EQ(Describe("fresh").assignor, "sticky");
}

TEST_F(GroupCoordinatorTest, DeleteOnlyAnEmptyGroup) {
  const std::string a = Join(Request("g")).member_id;
  absl::Status s = coord_->Delete("g");
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(coord_->Describe("g").ok());
  ASSERT_TRUE(coord_->Leave("g", a).ok());
  EXPECT_EQ(State("g"), GroupState::kEmpty);
  EXPECT_TRUE(absl::IsNotFound(coord_->Describe("g").status()));
  EXPECT_TRUE(coord_->Delete("g").ok());
  EXPECT_EQ(coord_->Rebalances("g"), 0);
  EXPECT_TRUE(coord_->Delete("never-existed").ok());
}

TEST_F(GroupCoordinatorTest, DescribeStates) {
  EXPECT_TRUE(absl::IsNotFound(coord_->Describe("g").status()));
  Pair p = JoinTwo();
  EXPECT_EQ(State("g"), GroupState::kRebalancing);
  EXPECT_STREQ(GroupStateName(State("g")), "rebalancing");
  ASSERT_TRUE(coord_->Heartbeat("g", p.a.id, 2).ok());
  EXPECT_EQ(State("g"), GroupState::kStable);
  EXPECT_STREQ(GroupStateName(State("g")), "stable");
  ASSERT_TRUE(coord_->Leave("g", p.a.id).ok());
  ASSERT_TRUE(coord_->Leave("g", p.b.id).ok());
  EXPECT_EQ(State("g"), GroupState::kEmpty);
  EXPECT_STREQ(GroupStateName(State("g")), "empty");
}

TEST_F(GroupCoordinatorTest, NextDeadlineIsTheEarliestSessionOrGraceDeadline) {
  EXPECT_EQ(coord_->NextDeadline(), absl::InfiniteFuture());
  const absl::Time t0 = clock_.Now();
  JoinRequest ra = Request("g");
  ra.session_timeout = absl::Seconds(10);
  ra.revoke_grace = absl::Seconds(3);
  const std::string a = Join(ra).member_id;  // no stream
  EXPECT_EQ(coord_->NextDeadline(), t0 + absl::Seconds(10));

  clock_.Advance(absl::Seconds(1));
  Member b = JoinStreaming(Request("g"));  // revokes from A, which must answer by t0 + 4 s
  const absl::Time grace_end = t0 + absl::Seconds(4);
  EXPECT_EQ(coord_->NextDeadline(), grace_end);

  // Another group's earlier session deadline comes first.
  JoinRequest rx = Request("h");
  rx.session_timeout = absl::Seconds(1);
  const std::string x = Join(rx).member_id;
  EXPECT_EQ(coord_->NextDeadline(), t0 + absl::Seconds(2));
  ASSERT_TRUE(coord_->Leave("h", x).ok());
  EXPECT_EQ(coord_->NextDeadline(), grace_end);

  ASSERT_TRUE(coord_->Heartbeat("g", a, 2).ok());
  EXPECT_EQ(coord_->NextDeadline(), t0 + absl::Seconds(11));
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(coord_->Heartbeat("g", a, 2).ok());
  EXPECT_EQ(coord_->NextDeadline(), t0 + absl::Seconds(16));

  // Ticking at the deadline does nothing; just past it, A is gone.
  clock_.Advance(coord_->NextDeadline() - clock_.Now());
  coord_->Tick();
  EXPECT_TRUE(IsMember("g", a));
  clock_.Advance(absl::Milliseconds(1));
  coord_->Tick();
  EXPECT_FALSE(IsMember("g", a));
  EXPECT_EQ(coord_->NextDeadline(), absl::InfiniteFuture());
  EXPECT_EQ(Owned("g", b.id).size(), 6u);
}

TEST_F(GroupCoordinatorTest, TwoGroupsOnOneTopicAreIndependent) {
  Member a = JoinStreaming(Request("g1"));
  Member x = JoinStreaming(Request("g2"));
  EXPECT_EQ(Owned("g1", a.id).size(), 6u);
  EXPECT_EQ(Owned("g2", x.id).size(), 6u);
  Member y = JoinStreaming(Request("g2"));
  ASSERT_TRUE(coord_->Heartbeat("g2", x.id, 2).ok());
  EXPECT_EQ(Generation("g1"), 1);
  EXPECT_EQ(Generation("g2"), 2);
  EXPECT_THAT(a.stream->events, SizeIs(1));
  EXPECT_EQ(Owned("g1", a.id).size(), 6u);
  EXPECT_EQ(Owned("g2", x.id).size() + Owned("g2", y.id).size(), 6u);
  for (const auto& status : coord_->CheckCommit("g1", a.id, 1, Tps("orders", 6))) {
    EXPECT_TRUE(status.ok()) << status;
  }
  // A member id means nothing in the other group.
  EXPECT_TRUE(absl::IsNotFound(coord_->Heartbeat("g2", a.id, 2).status()));
  EXPECT_THAT(coord_->ListGroups(), SizeIs(2));
  ExpectConsistent("g1");
  ExpectConsistent("g2");
}

// Random joins, rejoins, leaves, commits, heartbeats, stream opens and closes, topic changes and
// clock ticks: after every step no partition has two holders and every stream agrees with
// Describe(); at the end, once every member acknowledges, the group is stable and owns every
// partition of its topics.
TEST_F(GroupCoordinatorTest, RandomOperationsKeepOwnershipExclusive) {
  topics_.Set("payments", 4);
  std::mt19937 rng(20240611);
  const auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::vector<std::string>> subscriptions = {
      {"orders"}, {"payments"}, {"orders", "payments"}};
  std::map<std::string, uint64_t> stream_ids;
  for (int step = 0; step < 3000; ++step) {
    SCOPED_TRACE(absl::StrCat("step ", step));
    std::vector<std::string> members;
    int64_t generation = 0;
    if (auto info = coord_->Describe("g"); info.ok()) {
      for (const auto& m : info->members) members.push_back(m.member_id);
      generation = info->generation;
    }
    const std::string some =
        members.empty() ? "none" : members[pick(static_cast<int>(members.size()))];
    switch (pick(10)) {
      case 0: {  // join (sometimes static)
        if (members.size() >= 6) break;
        JoinRequest r = Request("g", subscriptions[pick(3)]);
        r.session_timeout = absl::Seconds(1 + pick(5));
        if (pick(2) == 0) r.instance_id = absl::StrCat("host-", pick(3));
        absl::StatusOr<JoinResult> j = coord_->Join(r);
        ASSERT_TRUE(j.ok()) << j.status();
        if (pick(2) == 0) Open("g", j->member_id, &stream_ids[j->member_id]);
        break;
      }
      case 1: {  // rejoin with a new subscription
        if (members.empty()) break;
        JoinRequest r = Request("g", subscriptions[pick(3)]);
        r.member_id = some;
        ASSERT_TRUE(coord_->Join(r).ok());
        break;
      }
      case 2:
        if (!members.empty() && pick(3) == 0) {
          ASSERT_TRUE(coord_->Leave("g", some).ok());
        }
        break;
      case 3:  // heartbeat at the current or an older generation
        if (!members.empty()) {
          ASSERT_TRUE(coord_->Heartbeat("g", some, generation - pick(2)).ok());
        }
        break;
      case 4: {  // final commits of some revoked partitions
        if (members.empty()) break;
        const TpSet revoking = Revoking("g", some);
        std::vector<TopicPartition> commit;
        for (const auto& tp : revoking) {
          if (pick(2) == 0) commit.push_back(tp);
        }
        // At the current generation (the answer) or the one before (a routine commit).
        const int64_t at = generation - pick(2);
        for (const auto& s : coord_->CheckCommit("g", some, at, commit)) {
          EXPECT_TRUE(s.ok()) << s;
        }
        coord_->Committed("g", some, at, commit);
        break;
      }
      case 5:
        if (!members.empty()) Open("g", some, &stream_ids[some]);
        break;
      case 6:
        if (!members.empty() && stream_ids.contains(some)) {
          Close("g", some, stream_ids[some]);
          stream_ids.erase(some);
        }
        break;
      case 7: {  // partitions grow; payments sometimes deleted and recreated
        const std::string topic = pick(2) == 0 ? "orders" : "payments";
        const int32_t now = topics_.PartitionCount(topic);
        if (topic == "payments" && pick(4) == 0) {
          topics_.Set(topic, now == 0 ? 4 : 0);
        } else if (now > 0 && now < 16) {
          topics_.Set(topic, now + 1);
        }
        coord_->TopicsChanged();
        break;
      }
      default:
        clock_.Advance(absl::Milliseconds(pick(2500)));
        coord_->Tick();
        break;
    }
    if (coord_->Describe("g").ok()) ExpectConsistent("g");
    if (HasFailure()) return;
    // Forget the streams of members that are gone.
    for (auto it = stream_ids.begin(); it != stream_ids.end();) {
      if (coord_->Describe("g").ok() && IsMember("g", it->first)) {
        ++it;
      } else {
        streams_.erase({"g", it->first});
        it = stream_ids.erase(it);
      }
    }
  }

  // Settle.
  GroupInfo info = Describe("g");
  for (const auto& m : info.members) {
    ASSERT_TRUE(coord_->Heartbeat("g", m.member_id, info.generation).ok());
  }
  ExpectConsistent("g");
  info = Describe("g");
  if (info.members.empty()) return;
  EXPECT_EQ(info.state, GroupState::kStable);
  TpSet expected, owned;
  for (const auto& m : info.members) {
    for (const auto& t : m.topics) {
      for (const auto& tp : Tps(t, topics_.PartitionCount(t))) expected.insert(tp);
    }
    owned.insert(m.assignment.begin(), m.assignment.end());
    EXPECT_THAT(m.revoking, IsEmpty());
  }
  EXPECT_EQ(owned, expected);
}

// Polls `condition` (another thread's progress) until it holds; false after 10 s.
template <typename F>
bool WaitFor(F condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// --- Kafka classic-protocol members ------------------------------------------------------------

JoinRequest Classic(const std::string& group, absl::Duration rebalance_timeout,
                    const std::string& member_id = "") {
  JoinRequest r;
  r.group = group;
  r.topics = {"orders"};
  r.member_id = member_id;
  r.classic = true;
  r.revoke_grace = rebalance_timeout;
  return r;
}

// Classic Joins wait for partitions moving from streaming members; these tests answer such
// moves themselves, so the wait is off unless a test turns it on.
CoordinatorOptions NoJoinWait() {
  CoordinatorOptions o;
  o.max_join_wait = absl::ZeroDuration();
  return o;
}

TEST_F(GroupCoordinatorTest, ClassicMemberTakesTheGroupsAssignor) {
  Restart(NoJoinWait());
  JoinRequest grpc_member = Request("g");
  grpc_member.assignor = AssignorKind::kRoundRobin;
  Join(grpc_member);
  JoinRequest classic = Classic("g", absl::Seconds(30));
  classic.assignor = AssignorKind::kRange;  // its first choice; the group's wins
  JoinResult k = Join(classic);
  EXPECT_EQ(k.assignor, AssignorKind::kRoundRobin);
  EXPECT_EQ(Describe("g").members.size(), 2u);
}

TEST_F(GroupCoordinatorTest, ClassicJoinWaitsUntilEveryKnownMemberRejoined) {
  Restart(NoJoinWait());
  JoinResult k1 = Join(Classic("g", absl::Seconds(30)));
  ASSERT_TRUE(coord_->Sync("g", k1.member_id, k1.generation).ok());
  EXPECT_EQ(Owned("g", k1.member_id), TpSetOf("orders", 6));
  // K2's join starts generation 2 and waits there: K1 has not rejoined.
  absl::Notification k2_done;
  absl::StatusOr<JoinResult> k2;
  std::thread joiner([&] {
    k2 = coord_->Join(Classic("g", absl::Seconds(30)));
    k2_done.Notify();
  });
  ASSERT_TRUE(WaitFor([&] { return Describe("g").members.size() == 2; }));
  EXPECT_EQ(Generation("g"), 2);
  EXPECT_EQ(State("g"), GroupState::kRebalancing);
  EXPECT_FALSE(k2_done.HasBeenNotified());
  // K1 goes on heartbeating and committing at generation 1 (told the group moved on); neither
  // releases anything, and its commits are accepted.
  absl::StatusOr<MemberView> beat = coord_->Heartbeat("g", k1.member_id, 1);
  ASSERT_TRUE(beat.ok());
  EXPECT_EQ(beat->generation, 2);
  for (const auto& c : coord_->CheckCommit("g", k1.member_id, 1, Tps("orders", 6))) {
    EXPECT_TRUE(c.ok()) << c;
  }
  coord_->Committed("g", k1.member_id, 1, Tps("orders", 6));
  coord_->Committed("g", k1.member_id, 2, Tps("orders", 6));
  EXPECT_THAT(Revoking("g", k1.member_id), SizeIs(3));
  EXPECT_FALSE(k2_done.HasBeenNotified());
  ExpectConsistent("g");
  // K1 rejoins (eager: it gave everything up): the barrier is complete and both start
  // generation 2 with disjoint halves.
  JoinResult again = Join(Classic("g", absl::Seconds(30), k1.member_id));
  joiner.join();
  ASSERT_TRUE(k2.ok()) << k2.status();
  EXPECT_EQ(again.generation, 2);
  EXPECT_EQ(k2->generation, 2);
  absl::StatusOr<MemberView> s1 = coord_->Sync("g", k1.member_id, 2);
  absl::StatusOr<MemberView> s2 = coord_->Sync("g", k2->member_id, 2);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_THAT(s1->assignment, SizeIs(3));
  EXPECT_THAT(s2->assignment, SizeIs(3));
  EXPECT_THAT(Intersect(TpSet(s1->assignment.begin(), s1->assignment.end()),
                        TpSet(s2->assignment.begin(), s2->assignment.end())),
              IsEmpty());
  EXPECT_EQ(State("g"), GroupState::kStable);
  ExpectConsistent("g");
}

TEST_F(GroupCoordinatorTest, RevokesFromAnEagerMemberWaitingAtTheBarrierAreFreeAtOnce) {
  Restart(NoJoinWait());
  topics_.Set("orders", 12);
  JoinResult k1 = Join(Classic("g", absl::Seconds(30)));
  ASSERT_TRUE(coord_->Sync("g", k1.member_id, k1.generation).ok());
  Member s = JoinStreaming(Request("g"));  // both owe: K1 a rejoin
  absl::StatusOr<JoinResult> again;
  // K1 rejoins and waits for nobody... so let a second classic member owe a rejoin first.
  JoinResult k2;
  {
    std::thread joiner([&] { again = coord_->Join(Classic("g", absl::Seconds(30))); });
    ASSERT_TRUE(WaitFor([&] { return Describe("g").members.size() == 3; }));
    Join(Classic("g", absl::Seconds(30), k1.member_id));
    joiner.join();
    ASSERT_TRUE(again.ok()) << again.status();
    k2 = *again;
  }
  ASSERT_TRUE(coord_->Sync("g", k1.member_id, k2.generation).ok());
  ASSERT_TRUE(coord_->Sync("g", k2.member_id, k2.generation).ok());
  ASSERT_TRUE(coord_->Heartbeat("g", s.id, k2.generation).ok());
  // A streaming member joins: K1 and K2 owe a rejoin. K1 rejoins and waits for K2.
  Member t = JoinStreaming(Request("g"));
  std::thread waiting([&] { again = coord_->Join(Classic("g", absl::Seconds(30), k1.member_id)); });
  ASSERT_TRUE(WaitFor([&] { return Revoking("g", k1.member_id).empty(); }));
  // Another rebalance while K1 waits: what it takes from K1 is free at once (K1 gave
  // everything up to rejoin), not held until K1's rebalance timeout.
  const TpSet before = Owned("g", k1.member_id);
  std::vector<Member> more;
  while (Owned("g", k1.member_id) == before && more.size() < 8) {
    more.push_back(JoinStreaming(Request("g")));
  }
  ASSERT_NE(Owned("g", k1.member_id), before) << "the rebalances must take something from K1";
  EXPECT_THAT(Revoking("g", k1.member_id), IsEmpty());
  ExpectConsistent("g");
  Join(Classic("g", absl::Seconds(30), k2.member_id));
  waiting.join();
  ASSERT_TRUE(again.ok()) << again.status();
  ExpectConsistent("g");
}

TEST_F(GroupCoordinatorTest, ClassicMemberThatDoesNotRejoinIsRemovedAtItsRebalanceTimeout) {
  Restart(NoJoinWait());
  JoinResult k = Join(Classic("g", absl::Seconds(30)));
  ASSERT_TRUE(coord_->Sync("g", k.member_id, k.generation).ok());
  EXPECT_EQ(Owned("g", k.member_id), TpSetOf("orders", 6));
  Member other = JoinStreaming(Request("g"));
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(8));  // within its 10 s session: it heartbeats, at its old
    coord_->Tick();                    // generation, which answers nothing
    ASSERT_TRUE(coord_->Heartbeat("g", k.member_id, k.generation).ok());
  }
  ASSERT_TRUE(IsMember("g", k.member_id));
  EXPECT_THAT(Revoking("g", k.member_id), SizeIs(3));
  EXPECT_THAT(other.stream->owned, IsEmpty());
  ExpectConsistent("g");
  // It kept heartbeating without rejoining: at the end of its rebalance timeout it leaves the
  // group, as in Kafka, and only then do its partitions move.
  clock_.Advance(absl::Seconds(7));
  coord_->Tick();
  EXPECT_FALSE(IsMember("g", k.member_id));
  EXPECT_EQ(other.stream->owned, TpSetOf("orders", 6));
  ExpectConsistent("g");
  EXPECT_EQ(GroupErrorOf(coord_->Heartbeat("g", k.member_id, k.generation).status()),
            GroupError::kUnknownMember);
}

TEST_F(GroupCoordinatorTest, ClassicRejoinHandsRevokedPartitionsOverAtOnce) {
  Restart(NoJoinWait());
  JoinResult k = Join(Classic("g", absl::Seconds(30)));
  ASSERT_TRUE(coord_->Sync("g", k.member_id, k.generation).ok());
  Member other = JoinStreaming(Request("g"));
  // The heartbeat at the old generation says the group moved on (the Kafka front door answers
  // REBALANCE_IN_PROGRESS) and does not acknowledge anything.
  absl::StatusOr<MemberView> beat = coord_->Heartbeat("g", k.member_id, k.generation);
  ASSERT_TRUE(beat.ok());
  EXPECT_GT(beat->generation, k.generation);
  EXPECT_THAT(Revoking("g", k.member_id), SizeIs(3));
  // Its final commit at the old generation: it still owns some, and revokes the rest.
  std::vector<absl::Status> checks =
      coord_->CheckCommit("g", k.member_id, k.generation, Tps("orders", 6));
  for (const auto& c : checks) EXPECT_TRUE(c.ok()) << c;
  // Rejoining (an eager member has given everything up) hands over.
  JoinResult again = Join(Classic("g", absl::Seconds(30), k.member_id));
  EXPECT_EQ(again.member_id, k.member_id);
  EXPECT_THAT(other.stream->owned, SizeIs(3));
  absl::StatusOr<MemberView> synced = coord_->Sync("g", k.member_id, again.generation);
  ASSERT_TRUE(synced.ok());
  EXPECT_THAT(synced->assignment, SizeIs(3));
  EXPECT_THAT(
      Intersect(other.stream->owned, TpSet(synced->assignment.begin(), synced->assignment.end())),
      IsEmpty());
  ExpectConsistent("g");
  beat = coord_->Heartbeat("g", k.member_id, again.generation);
  ASSERT_TRUE(beat.ok());
  EXPECT_FALSE(beat->resync);
  // A stale generation can no longer commit what moved; a future one is refused too.
  const TopicPartition moved = *other.stream->owned.begin();
  EXPECT_EQ(GroupErrorOf(coord_->CheckCommit("g", k.member_id, k.generation, {moved})[0]),
            GroupError::kStaleGeneration);
  EXPECT_EQ(GroupErrorOf(coord_->CheckCommit("g", k.member_id, again.generation, {moved})[0]),
            GroupError::kNotOwner);
  EXPECT_EQ(GroupErrorOf(coord_->Heartbeat("g", k.member_id, again.generation + 1).status()),
            GroupError::kFutureGeneration);
  EXPECT_EQ(GroupErrorOf(coord_->Sync("g", k.member_id, k.generation).status()),
            GroupError::kRebalancing);
}

TEST_F(GroupCoordinatorTest, CooperativeMemberReleasesOnlyWhatItStopsListing) {
  Restart(NoJoinWait());
  JoinRequest first = Classic("g", absl::Seconds(30));
  first.cooperative = true;
  JoinResult k = Join(first);
  ASSERT_TRUE(coord_->Sync("g", k.member_id, k.generation).ok());
  Member other = JoinStreaming(Request("g"));
  const TpSet moving = Revoking("g", k.member_id);
  ASSERT_THAT(moving, SizeIs(3));
  // It rejoins still owning everything (cooperative members keep partitions across a rejoin):
  // nothing moves; its Sync leaves the moving half out.
  JoinRequest rejoin = Classic("g", absl::Seconds(30), k.member_id);
  rejoin.cooperative = true;
  rejoin.owned = Tps("orders", 6);
  ASSERT_EQ(Join(rejoin).generation, 2);
  EXPECT_THAT(other.stream->owned, IsEmpty());
  absl::StatusOr<MemberView> synced = coord_->Sync("g", k.member_id, 2);
  ASSERT_TRUE(synced.ok());
  EXPECT_THAT(Intersect(TpSet(synced->assignment.begin(), synced->assignment.end()), moving),
              IsEmpty());
  // Heartbeats and commits at the new generation are no answer from a classic member: it
  // may still be in its revoke callback.
  ASSERT_TRUE(coord_->Heartbeat("g", k.member_id, 2).ok());
  coord_->Committed("g", k.member_id, 2, std::vector<TopicPartition>(moving.begin(), moving.end()));
  EXPECT_THAT(other.stream->owned, IsEmpty());
  // Having revoked them, it rejoins listing only what it kept: now they move.
  rejoin.owned = synced->assignment;
  ASSERT_TRUE(coord_->Join(rejoin).ok());
  EXPECT_EQ(other.stream->owned, moving);
  ExpectConsistent("g");
}

TEST_F(GroupCoordinatorTest, ClassicMemberIsToldToResyncWhenItsPartitionsChange) {
  Restart(NoJoinWait());
  Member other = JoinStreaming(Request("g"));
  JoinResult k = Join(Classic("g", absl::Seconds(30)));
  // Synced before the other member let go: it has nothing yet.
  absl::StatusOr<MemberView> synced = coord_->Sync("g", k.member_id, k.generation);
  ASSERT_TRUE(synced.ok());
  EXPECT_THAT(synced->assignment, IsEmpty());
  EXPECT_THAT(synced->pending, SizeIs(3));
  ASSERT_TRUE(coord_->Heartbeat("g", other.id, k.generation).ok());  // answers
  absl::StatusOr<MemberView> beat = coord_->Heartbeat("g", k.member_id, k.generation);
  ASSERT_TRUE(beat.ok());
  EXPECT_TRUE(beat->resync);  // it must rejoin to pick its partitions up
  EXPECT_THAT(beat->assignment, SizeIs(3));
  ASSERT_TRUE(coord_->Sync("g", k.member_id, k.generation).ok());
  EXPECT_FALSE(coord_->Heartbeat("g", k.member_id, k.generation)->resync);
}

TEST_F(GroupCoordinatorTest, ClassicJoinWaitsForPartitionsFromAStreamingMember) {
  CoordinatorOptions o;
  o.max_join_wait = absl::Seconds(30);
  Restart(o);
  Member other = JoinStreaming(Request("g"));
  absl::StatusOr<JoinResult> k;
  std::thread joiner([&] { k = coord_->Join(Classic("g", absl::Seconds(30))); });
  ASSERT_TRUE(WaitFor([&] { return Describe("g").members.size() == 2; }));
  // Bounded: the join returns as soon as the old owner answers (not after 30 s).
  ASSERT_TRUE(coord_->Heartbeat("g", other.id, Generation("g")).ok());
  joiner.join();
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_THAT(k->assignment, SizeIs(3));
  // Once cancelled (shutdown), a join does not wait.
  coord_->CancelWaits();
  JoinResult k2 = Join(Classic("g", absl::Seconds(30)));
  EXPECT_FALSE(k2.member_id.empty());
}

TEST_F(GroupCoordinatorTest, ClassicJoinOfAClientThatWentAwayRemovesIt) {
  Restart(NoJoinWait());
  JoinResult k1 = Join(Classic("g", absl::Seconds(30)));
  ASSERT_TRUE(coord_->Sync("g", k1.member_id, k1.generation).ok());
  std::atomic<bool> gone{false};
  absl::StatusOr<JoinResult> k2;
  std::thread joiner([&] {
    JoinRequest r = Classic("g", absl::Seconds(30));
    r.abandoned = [&] { return gone.load(); };
    k2 = coord_->Join(r);  // waits for K1 to rejoin
  });
  ASSERT_TRUE(WaitFor([&] { return Describe("g").members.size() == 2; }));
  gone = true;  // its connection closed
  joiner.join();
  EXPECT_TRUE(absl::IsCancelled(k2.status())) << k2.status();
  GroupInfo info = Describe("g");
  ASSERT_THAT(info.members, SizeIs(1));
  EXPECT_EQ(info.members[0].member_id, k1.member_id);
  // K1 gets everything back once it rejoins; nobody waited 30 s for a client that is gone.
  Join(Classic("g", absl::Seconds(30), k1.member_id));
  EXPECT_EQ(Owned("g", k1.member_id), TpSetOf("orders", 6));
  ExpectConsistent("g");
}

TEST_F(GroupCoordinatorTest, StandaloneCommitsOnlyWhileTheGroupHasNoMembers) {
  for (const auto& c : coord_->CheckCommit("g", "", -1, Tps("orders", 2))) EXPECT_TRUE(c.ok());
  Join(Request("g"));
  std::vector<absl::Status> refused = coord_->CheckCommit("g", "", -1, Tps("orders", 1));
  EXPECT_TRUE(absl::IsFailedPrecondition(refused[0]));
  EXPECT_EQ(GroupErrorOf(refused[0]), GroupError::kUnknownMember);
  // A gRPC member's stale commit is still refused by generation.
  EXPECT_EQ(GroupErrorOf(absl::OkStatus()), GroupError::kNone);
}

TEST_F(GroupCoordinatorTest, ReservedMemberIdJoinsAsANewMemberAndExpires) {
  // Kafka's MEMBER_ID_REQUIRED round: the id is no member until it joins with it.
  absl::StatusOr<std::string> id = coord_->ReserveMemberId("g", absl::Seconds(10));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_FALSE(coord_->HasMembers("g"));
  EXPECT_EQ(coord_->NextDeadline(), clock_.Now() + absl::Seconds(10));
  JoinResult a = Join(Classic("g", absl::Seconds(10), *id));
  EXPECT_EQ(a.member_id, *id);
  EXPECT_EQ(a.generation, 1);
  EXPECT_EQ(Owned("g", *id), TpSetOf("orders", 6));
  // Used once: a second join with it is the member's rejoin, not a new member.
  Join(Classic("g", absl::Seconds(10), *id));
  EXPECT_THAT(Describe("g").members, SizeIs(1));

  // An id nobody joins with is forgotten after its timeout.
  absl::StatusOr<std::string> late = coord_->ReserveMemberId("g", absl::Seconds(10));
  ASSERT_TRUE(late.ok());
  clock_.Advance(absl::Seconds(11));
  coord_->Heartbeat("g", *id, 1).IgnoreError();
  coord_->Tick();
  absl::StatusOr<JoinResult> refused = coord_->Join(Classic("g", absl::Seconds(10), *late));
  EXPECT_EQ(GroupErrorOf(refused.status()), GroupError::kUnknownMember);
  ExpectConsistent("g");
}

TEST_F(GroupCoordinatorTest, ReservedMemberIdsCountTowardsTheGroupLimit) {
  CoordinatorOptions options;
  options.max_members_per_group = 2;
  options.max_groups = 1;
  Restart(options);
  ASSERT_TRUE(coord_->ReserveMemberId("g", absl::Seconds(10)).ok());
  ASSERT_TRUE(coord_->ReserveMemberId("g", absl::Seconds(10)).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(coord_->ReserveMemberId("g", absl::Seconds(10)).status()));
  EXPECT_TRUE(absl::IsResourceExhausted(coord_->ReserveMemberId("h", absl::Seconds(10)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(coord_->ReserveMemberId("", absl::Seconds(10)).status()));
}

TEST_F(GroupCoordinatorTest, ClassicMemberGivesUpAtOnceWhatItNeverSynced) {
  // A partition handed to a classic member after its SyncGroup is one it does not know it
  // has; when a rebalance moves it on, nothing waits for the member's answer (it would never
  // give one: its next SyncGroup never listed the partition).
  Restart(NoJoinWait());
  Member s = JoinStreaming(Request("g"));
  JoinRequest classic = Classic("g", absl::Seconds(30));
  classic.cooperative = true;
  JoinResult k = Join(classic);
  ASSERT_TRUE(coord_->Sync("g", k.member_id, k.generation).ok());
  EXPECT_THAT(Owned("g", k.member_id), IsEmpty());  // its share still waits for S
  ASSERT_TRUE(coord_->Heartbeat("g", s.id, Generation("g")).ok());
  const TpSet handed = Owned("g", k.member_id);
  ASSERT_EQ(handed.size(), 3u);  // arrived after its Sync
  Member s2 = JoinStreaming(Request("g"));
  const TpSet kept = Owned("g", k.member_id);
  EXPECT_EQ(kept.size(), 2u);
  EXPECT_THAT(Revoking("g", k.member_id), IsEmpty());
  for (const auto& tp : handed) {
    if (!kept.contains(tp)) {
      EXPECT_TRUE(Owned("g", s2.id).contains(tp)) << tp.second;
    }
  }
  ExpectConsistent("g");
  // What its SyncGroup did list waits for its rejoin, as before.
  ASSERT_TRUE(coord_->Sync("g", k.member_id, Generation("g")).ok());
  coord_->Leave("g", s.id).IgnoreError();
  coord_->Leave("g", s2.id).IgnoreError();
  Member s3 = JoinStreaming(Request("g"));
  EXPECT_FALSE(Revoking("g", k.member_id).empty());
  ExpectConsistent("g");
}

}  // namespace
}  // namespace ferry::group
