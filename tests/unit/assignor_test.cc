#include "server/group/assignor.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::group {
namespace {

constexpr AssignorKind kAllKinds[] = {AssignorKind::kRange, AssignorKind::kRoundRobin,
                                      AssignorKind::kSticky};

// "m0", "m1", ...: ids that sort in the order they are made (up to 10 members).
std::string MemberId(int i) { return absl::StrCat("m", i); }

// `members` members, each subscribing to every topic of `partitions`.
AssignInput Everyone(int members, const std::map<std::string, int32_t>& partitions) {
  AssignInput in;
  std::set<std::string> topics;
  for (const auto& [topic, count] : partitions) topics.insert(topic);
  for (int i = 0; i < members; ++i) in.subscriptions[MemberId(i)] = topics;
  in.partitions = partitions;
  return in;
}

std::map<std::string, int> Loads(const AssignInput& in, const Assignment& a) {
  std::map<std::string, int> load;
  for (const auto& [member, topics] : in.subscriptions) load[member] = 0;
  for (const auto& [tp, owner] : a) ++load[owner];
  return load;
}

// Every partition of every subscribed, existing topic has exactly one owner, that owner
// subscribes to the topic, and nothing else is assigned.
void ExpectEveryPartitionOnce(const AssignInput& in, const Assignment& a) {
  std::set<TopicPartition> expected;
  for (const auto& [member, topics] : in.subscriptions) {
    for (const auto& topic : topics) {
      auto it = in.partitions.find(topic);
      if (it == in.partitions.end()) continue;
      for (int32_t p = 0; p < it->second; ++p) expected.emplace(topic, p);
    }
  }
  std::set<TopicPartition> got;
  for (const auto& [tp, owner] : a) {
    got.insert(tp);
    auto sub = in.subscriptions.find(owner);
    ASSERT_NE(sub, in.subscriptions.end()) << "owner " << owner << " is not a member";
    EXPECT_TRUE(sub->second.contains(tp.first))
        << owner << " got " << tp.first << "-" << tp.second << " without subscribing";
  }
  EXPECT_EQ(got, expected);
}

void ExpectBalanced(const AssignInput& in, const Assignment& a) {
  const auto load = Loads(in, a);
  int lo = INT32_MAX, hi = 0;
  for (const auto& [member, n] : load) {
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  EXPECT_LE(hi - lo, 1) << "loads range from " << lo << " to " << hi;
}

// Partitions whose owner in `after` differs from a (still present) owner in `before`.
int Moves(const Assignment& before, const Assignment& after) {
  int moves = 0;
  for (const auto& [tp, owner] : before) {
    auto it = after.find(tp);
    if (it != after.end() && it->second != owner) ++moves;
  }
  return moves;
}

TEST(AssignorTest, Names) {
  EXPECT_STREQ(AssignorName(AssignorKind::kRange), "range");
  EXPECT_STREQ(AssignorName(AssignorKind::kRoundRobin), "roundrobin");
  EXPECT_STREQ(AssignorName(AssignorKind::kSticky), "sticky");
}

TEST(AssignorTest, OneTopicEveryPartitionOnceAndBalanced) {
  for (AssignorKind kind : kAllKinds) {
    for (int members = 1; members <= 6; ++members) {
      for (int32_t partitions = 1; partitions <= 24; ++partitions) {
        SCOPED_TRACE(
            absl::StrCat(AssignorName(kind), " members=", members, " partitions=", partitions));
        const AssignInput in = Everyone(members, {{"orders", partitions}});
        const Assignment a = Assign(kind, in);
        ExpectEveryPartitionOnce(in, a);
        ExpectBalanced(in, a);
      }
    }
  }
}

TEST(AssignorTest, TwoTopicsEveryPartitionOnceAndBalanced) {
  for (AssignorKind kind : {AssignorKind::kRoundRobin, AssignorKind::kSticky}) {
    for (int members = 1; members <= 6; ++members) {
      for (int32_t a_count = 1; a_count <= 13; a_count += 3) {
        for (int32_t b_count = 1; b_count <= 24; ++b_count) {
          SCOPED_TRACE(absl::StrCat(AssignorName(kind), " members=", members, " a=", a_count,
                                    " b=", b_count));
          const AssignInput in = Everyone(members, {{"a", a_count}, {"b", b_count}});
          const Assignment a = Assign(kind, in);
          ExpectEveryPartitionOnce(in, a);
          ExpectBalanced(in, a);
        }
      }
    }
  }
}

TEST(AssignorTest, RangeGivesContiguousRangesInMemberOrder) {
  for (int members = 1; members <= 6; ++members) {
    for (int32_t partitions = 1; partitions <= 24; ++partitions) {
      SCOPED_TRACE(absl::StrCat("members=", members, " partitions=", partitions));
      const AssignInput in = Everyone(members, {{"orders", partitions}});
      const Assignment a = Assign(AssignorKind::kRange, in);
      ASSERT_EQ(static_cast<int32_t>(a.size()), partitions);
      // Walking the partitions in order, the owner never goes back to an earlier member: each
      // member's partitions form one contiguous range, ranges in member id order.
      std::string previous;
      std::set<std::string> seen;
      for (int32_t p = 0; p < partitions; ++p) {
        const std::string& owner = a.at({"orders", p});
        if (owner != previous) {
          EXPECT_FALSE(seen.contains(owner)) << owner << " has two ranges";
          EXPECT_GT(owner, previous);
          seen.insert(owner);
          previous = owner;
        }
      }
      // The first `partitions % members` members take one more.
      const auto load = Loads(in, a);
      for (int i = 0; i < members; ++i) {
        EXPECT_EQ(load.at(MemberId(i)), partitions / members + (i < partitions % members ? 1 : 0))
            << MemberId(i);
      }
    }
  }
}

TEST(AssignorTest, RangeSplitsEachTopicSeparately) {
  const AssignInput in = Everyone(2, {{"a", 3}, {"b", 3}});
  const Assignment a = Assign(AssignorKind::kRange, in);
  EXPECT_EQ(a, (Assignment{{{"a", 0}, "m0"},
                           {{"a", 1}, "m0"},
                           {{"a", 2}, "m1"},
                           {{"b", 0}, "m0"},
                           {{"b", 1}, "m0"},
                           {{"b", 2}, "m1"}}));
}

TEST(AssignorTest, RoundRobinDealsInTurnAcrossTopics) {
  const AssignInput in = Everyone(3, {{"a", 2}, {"b", 4}});
  EXPECT_EQ(Assign(AssignorKind::kRoundRobin, in), (Assignment{{{"a", 0}, "m0"},
                                                               {{"a", 1}, "m1"},
                                                               {{"b", 0}, "m2"},
                                                               {{"b", 1}, "m0"},
                                                               {{"b", 2}, "m1"},
                                                               {{"b", 3}, "m2"}}));
}

TEST(AssignorTest, MembersGetNothingOfTopicsTheyDoNotSubscribeTo) {
  AssignInput in;
  in.subscriptions["m0"] = {"a"};
  in.subscriptions["m1"] = {"a", "b"};
  in.subscriptions["m2"] = {"b"};
  in.subscriptions["m3"] = {"c"};  // c does not exist
  in.partitions = {{"a", 7}, {"b", 5}, {"unsubscribed", 4}};
  for (AssignorKind kind : kAllKinds) {
    SCOPED_TRACE(AssignorName(kind));
    const Assignment a = Assign(kind, in);
    ExpectEveryPartitionOnce(in, a);
    for (const auto& [tp, owner] : a) {
      EXPECT_NE(tp.first, "unsubscribed");
      EXPECT_NE(owner, "m3");
    }
  }
}

TEST(AssignorTest, NoMembersOrNoPartitionsAssignNothing) {
  for (AssignorKind kind : kAllKinds) {
    SCOPED_TRACE(AssignorName(kind));
    AssignInput no_members;
    no_members.partitions = {{"orders", 4}};
    EXPECT_TRUE(Assign(kind, no_members).empty());
    AssignInput no_partitions = Everyone(3, {{"orders", 0}});
    EXPECT_TRUE(Assign(kind, no_partitions).empty());
    AssignInput missing_topic = Everyone(3, {});
    missing_topic.subscriptions["m0"] = {"ghost"};
    EXPECT_TRUE(Assign(kind, missing_topic).empty());
  }
}

TEST(AssignorTest, StickyKeepsEveryOwnerWhenNothingChanges) {
  for (int members = 1; members <= 6; ++members) {
    for (int32_t partitions = 1; partitions <= 24; ++partitions) {
      SCOPED_TRACE(absl::StrCat("members=", members, " partitions=", partitions));
      AssignInput in = Everyone(members, {{"a", partitions}, {"b", 5}});
      const Assignment first = Assign(AssignorKind::kSticky, in);
      in.current = first;
      EXPECT_EQ(Assign(AssignorKind::kSticky, in), first);
    }
  }
}

TEST(AssignorTest, StickyKeepsAnyBalancedAssignment) {
  // Not the one sticky would pick from scratch, but balanced: it stays as it is.
  AssignInput in = Everyone(3, {{"orders", 6}});
  in.current = {{{"orders", 0}, "m2"}, {{"orders", 1}, "m1"}, {{"orders", 2}, "m0"},
                {{"orders", 3}, "m0"}, {{"orders", 4}, "m2"}, {{"orders", 5}, "m1"}};
  EXPECT_EQ(Assign(AssignorKind::kSticky, in), in.current);
}

TEST(AssignorTest, StickyThreeToFourMembersMovesExactlyThree) {
  AssignInput in = Everyone(3, {{"orders", 12}});
  const Assignment before = Assign(AssignorKind::kSticky, in);
  in.current = before;
  in.subscriptions["m3"] = {"orders"};
  const Assignment after = Assign(AssignorKind::kSticky, in);
  ExpectEveryPartitionOnce(in, after);
  ExpectBalanced(in, after);
  EXPECT_EQ(Moves(before, after), 3);
  for (const auto& [tp, owner] : before) {
    // Every move goes to the newcomer.
    if (after.at(tp) != owner) {
      EXPECT_EQ(after.at(tp), "m3");
    }
  }
}

TEST(AssignorTest, StickyFourToThreeMembersMovesOnlyTheLeaversPartitions) {
  AssignInput in = Everyone(4, {{"orders", 12}});
  const Assignment before = Assign(AssignorKind::kSticky, in);
  in.current = before;
  in.subscriptions.erase("m1");
  const Assignment after = Assign(AssignorKind::kSticky, in);
  ExpectEveryPartitionOnce(in, after);
  ExpectBalanced(in, after);
  int changed = 0;
  for (const auto& [tp, owner] : before) {
    if (owner == "m1") {
      ++changed;
      EXPECT_NE(after.at(tp), "m1");
    } else {
      EXPECT_EQ(after.at(tp), owner) << tp.first << "-" << tp.second << " moved";
    }
  }
  EXPECT_EQ(changed, 3);
}

TEST(AssignorTest, StickyNewMemberOfFreshGroupGetsEverything) {
  AssignInput in = Everyone(1, {{"a", 5}, {"b", 3}});
  // Owners from an earlier life of the group that are no longer members.
  in.current = {{{"a", 0}, "gone"}, {{"b", 2}, "gone-too"}};
  const Assignment a = Assign(AssignorKind::kSticky, in);
  ExpectEveryPartitionOnce(in, a);
  EXPECT_EQ(a.size(), 8u);
  for (const auto& [tp, owner] : a) EXPECT_EQ(owner, "m0");
}

TEST(AssignorTest, StickyMovesPartitionsOfATopicTheOwnerNoLongerSubscribesTo) {
  AssignInput in = Everyone(2, {{"a", 4}, {"b", 4}});
  in.current = Assign(AssignorKind::kSticky, in);
  in.subscriptions["m0"] = {"a"};
  const Assignment after = Assign(AssignorKind::kSticky, in);
  ExpectEveryPartitionOnce(in, after);
  for (int32_t p = 0; p < 4; ++p) EXPECT_EQ(after.at({"b", p}), "m1");
}

// From random current assignments (some owners gone, some partitions unowned), sticky
// balances with the fewest moves: each member keeps as many of its partitions as its share
// allows.
TEST(AssignorTest, StickyBalancesWithTheFewestMoves) {
  std::mt19937 rng(42);
  for (int round = 0; round < 500; ++round) {
    const int members = 1 + static_cast<int>(rng() % 6);
    const int32_t partitions = 1 + static_cast<int32_t>(rng() % 30);
    AssignInput in = Everyone(members, {{"orders", partitions}});
    for (int32_t p = 0; p < partitions; ++p) {
      // Owners m0..m(members+1): the last two are no longer members; or no owner at all.
      const int who = static_cast<int>(rng() % (members + 3));
      if (who < members + 2) in.current[{"orders", p}] = MemberId(who);
    }
    SCOPED_TRACE(absl::StrCat("round=", round, " members=", members, " partitions=", partitions));
    const Assignment after = Assign(AssignorKind::kSticky, in);
    ExpectEveryPartitionOnce(in, after);
    ExpectBalanced(in, after);

    // Fewest moves: members sorted by current load, the most loaded keep the larger shares.
    std::vector<int> kept;
    for (int i = 0; i < members; ++i) {
      kept.push_back(static_cast<int>(
          std::count_if(in.current.begin(), in.current.end(),
                        [&](const auto& entry) { return entry.second == MemberId(i); })));
    }
    std::sort(kept.rbegin(), kept.rend());
    int fewest = 0;
    for (int i = 0; i < members; ++i) {
      const int share = partitions / members + (i < partitions % members ? 1 : 0);
      fewest += std::max(0, kept[i] - share);
    }
    int moves = 0;
    for (const auto& [tp, owner] : in.current) {
      if (in.subscriptions.contains(owner) && after.at(tp) != owner) ++moves;
    }
    EXPECT_EQ(moves, fewest);
  }
}

}  // namespace
}  // namespace ferry::group
