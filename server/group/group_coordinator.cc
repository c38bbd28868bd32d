#include "server/group/group_coordinator.h"

#include <algorithm>
#include <random>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/broker/validation.h"
#include "server/log.h"

namespace ferry::group {
namespace {

std::string TpName(const TopicPartition& tp) { return absl::StrCat(tp.first, "-", tp.second); }

template <typename V>
std::vector<TopicPartition> Sorted(const std::map<TopicPartition, V>& m) {
  std::vector<TopicPartition> out;
  out.reserve(m.size());
  for (const auto& [tp, v] : m) out.push_back(tp);
  return out;
}

// How often a blocked classic Join looks whether its caller is still there.
constexpr absl::Duration kAbandonCheck = absl::Milliseconds(100);

std::string Quoted(const std::string& s) { return absl::StrCat("'", s, "'"); }

constexpr char kGroupErrorPayload[] = "type.ferry.dev/ferry.GroupError";

absl::Status Tagged(absl::Status status, GroupError error) {
  status.SetPayload(kGroupErrorPayload, absl::Cord(std::to_string(static_cast<int>(error))));
  return status;
}

}  // namespace

GroupError GroupErrorOf(const absl::Status& status) {
  auto payload = status.GetPayload(kGroupErrorPayload);
  int value = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &value)) {
    return GroupError::kNone;
  }
  return static_cast<GroupError>(value);
}

const char* GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kEmpty:
      return "empty";
    case GroupState::kRebalancing:
      return "rebalancing";
    case GroupState::kStable:
      return "stable";
  }
  return "empty";
}

GroupCoordinator::GroupCoordinator(const CoordinatorOptions& options, const broker::Clock* clock,
                                   const TopicView* topics)
    : options_(options), clock_(clock), topics_(topics) {}

GroupCoordinator::Group* GroupCoordinator::FindGroup(const std::string& name) {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : &it->second;
}

absl::StatusOr<GroupCoordinator::Member*> GroupCoordinator::FindMember(
    Group& g, const std::string& member_id) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) {
    return Tagged(absl::NotFoundError(absl::StrCat(
                      "unknown member ", Quoted(member_id), " of group ", Quoted(g.name),
                      " (it timed out, left, or the broker restarted): join again without a "
                      "member id")),
                  GroupError::kUnknownMember);
  }
  return &it->second;
}

absl::StatusOr<std::pair<GroupCoordinator::Group*, GroupCoordinator::Member*>>
GroupCoordinator::FindGroupMember(const std::string& group, const std::string& member_id) {
  Group* g = FindGroup(group);
  if (g == nullptr) {
    return Tagged(absl::NotFoundError(absl::StrCat("unknown member ", Quoted(member_id), ": group ",
                                                   Quoted(group), " has no members; join again")),
                  GroupError::kUnknownMember);
  }
  auto m = FindMember(*g, member_id);
  if (!m.ok()) return m.status();
  return std::make_pair(g, *m);
}

std::string GroupCoordinator::NewMemberId(const std::string& group) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return absl::StrCat(group.size() > 32 ? group.substr(0, 32) : group, "-", ++member_counter_, "-",
                      buf);
}

absl::StatusOr<JoinResult> GroupCoordinator::Join(const JoinRequest& req) {
  absl::Status s = broker::ValidateGroupName(req.group);
  if (!s.ok()) return s;
  if (req.topics.empty()) return absl::InvalidArgumentError("join needs at least one topic");
  if (static_cast<int>(req.topics.size()) > options_.max_topics_per_member) {
    return absl::InvalidArgumentError(
        absl::StrCat("a member subscribes to at most ", options_.max_topics_per_member, " topics"));
  }
  for (const auto& t : req.topics) {
    s = broker::ValidateTopicName(t);
    if (!s.ok()) return s;
  }
  absl::Duration timeout = req.session_timeout;
  if (timeout == absl::ZeroDuration()) timeout = options_.default_session_timeout;
  if (timeout < options_.min_session_timeout || timeout > options_.max_session_timeout) {
    return absl::InvalidArgumentError(absl::StrCat(
        "session timeout ", absl::FormatDuration(timeout), " is outside the allowed range [",
        absl::FormatDuration(options_.min_session_timeout), ", ",
        absl::FormatDuration(options_.max_session_timeout), "]"));
  }
  const std::set<std::string> topics(req.topics.begin(), req.topics.end());
  JoinResult result;
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindGroup(req.group);
    // A member id ReserveMemberId gave: the member is new, with that id.
    bool reserved = false;
    if (!req.member_id.empty()) {
      auto r = reserved_.find(req.group);
      reserved = r != reserved_.end() && r->second.contains(req.member_id) &&
                 (g == nullptr || !g->members.contains(req.member_id));
    }
    if (g == nullptr) {
      if (!req.member_id.empty() && !reserved) {
        return Tagged(absl::NotFoundError(absl::StrCat(
                          "unknown member ", Quoted(req.member_id), ": group ", Quoted(req.group),
                          " has no members (the broker may have restarted); join again without a "
                          "member id")),
                      GroupError::kUnknownMember);
      }
      if (static_cast<int>(groups_.size()) >= options_.max_groups) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "the broker has ", groups_.size(), " groups with members, its limit (--max-groups)"));
      }
      g = &groups_[req.group];
      g->name = req.group;
    }
    // The coordinator assigns for classic members, so they take whatever the group uses, as
    // does a member that names no assignor.
    const AssignorKind assignor = (req.classic || !req.assignor.has_value()) && !g->members.empty()
                                      ? g->assignor
                                      : req.assignor.value_or(AssignorKind::kSticky);
    if (!g->members.empty() && g->assignor != assignor) {
      return absl::FailedPreconditionError(absl::StrCat("group ", Quoted(req.group), " uses the ",
                                                        AssignorName(g->assignor),
                                                        " assignor; join with the same assignor"));
    }
    const absl::Time now = clock_->Now();
    Member* m = nullptr;
    bool rebalance = false;
    if (!req.member_id.empty() && !reserved) {
      auto found = FindMember(*g, req.member_id);
      if (!found.ok()) return found.status();
      m = *found;
    } else if (!req.instance_id.empty() && g->static_members.contains(req.instance_id)) {
      // Static membership: the same instance is back; it keeps its member id and partitions.
      m = &g->members.at(g->static_members.at(req.instance_id));
      if (m->stream != nullptr) {
        pending_.push_back(Pending{
            std::move(m->stream),
            true,
            {},
            absl::FailedPreconditionError("a newer instance with the same instance id joined")});
        m->stream_id = 0;
      }
    } else {
      if (static_cast<int>(g->members.size()) >= options_.max_members_per_group) {
        return absl::ResourceExhaustedError(
            absl::StrCat("group ", Quoted(req.group), " has ", g->members.size(),
                         " members, the limit (--group-max-members)"));
      }
      if (g->members.empty()) g->assignor = assignor;
      const std::string id = reserved ? req.member_id : NewMemberId(req.group);
      if (reserved) {
        auto r = reserved_.find(req.group);
        r->second.erase(id);
        if (r->second.empty()) reserved_.erase(r);
      }
      m = &g->members[id];
      m->id = id;
      m->instance_id = req.instance_id;
      m->classic = req.classic;
      if (!req.instance_id.empty()) g->static_members[req.instance_id] = id;
      rebalance = true;
      log::Event(log::Level::kInfo, "member_joined",
                 {{"group", req.group}, {"member", id}, {"instance", req.instance_id}});
    }
    if (m->topics != topics) {
      m->topics = topics;
      rebalance = true;
    }
    m->session_timeout = timeout;
    m->deadline = now + timeout;
    m->revoke_grace =
        req.revoke_grace > absl::ZeroDuration() ? req.revoke_grace : options_.revoke_grace;
    m->client_id = req.client_id;
    m->client_host = req.client_host;
    bool released = false;
    if (m->classic) {
      m->cooperative = req.cooperative;
      // Rejoining is a classic member's answer to the rebalance: an eager member has given up
      // everything, a cooperative one what it no longer lists as owned.
      if (!m->cooperative) {
        released = Release(*m, -1);
      } else {
        const std::set<TopicPartition> still(req.owned.begin(), req.owned.end());
        for (auto it = m->revoking.begin(); it != m->revoking.end();) {
          if (still.contains(it->first)) {
            ++it;
          } else {
            it = m->revoking.erase(it);
            released = true;
          }
        }
      }
      ++m->joining;  // from here, every generation the group reaches counts it as joined
    }
    if (rebalance) {
      Rebalance(*g, "join");
    } else if (released) {
      HandOff(*g);
    }
    if (m->classic) m->joined_generation = g->generation;
    // Rebalance settled everyone's deadline; otherwise only this member's answer changed.
    UpdateAnswerDeadline(*g, *m, now);
    result.member_id = m->id;
    result.generation = g->generation;
    result.assignment = Sorted(m->owned);
    result.assignor = g->assignor;
  }
  Dispatch();
  if (req.classic) return AwaitJoin(req, result.member_id);
  return result;
}

absl::StatusOr<JoinResult> GroupCoordinator::AwaitJoin(const JoinRequest& req,
                                                       const std::string& member_id) {
  JoinResult result;
  bool abandoned = false;
  bool cancelled = false;
  {
    absl::MutexLock lock(&mu_);
    // Hand-overs and removals happen under mu_, and a condition is evaluated each time mu_ is
    // released; the time slices are only for looking at the caller's connection.
    const auto barrier = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (waits_cancelled_) return true;
      Group* g = FindGroup(req.group);
      return g == nullptr || !g->members.contains(member_id) || BarrierComplete(*g);
    };
    const auto settled = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (waits_cancelled_) return true;
      Group* g = FindGroup(req.group);
      if (g == nullptr) return true;
      auto m = g->members.find(member_id);
      if (m == g->members.end()) return true;
      if (!BarrierComplete(*g)) return false;
      for (const auto& [tp, owner] : g->target) {
        if (owner == member_id && !m->second.owned.contains(tp)) return false;
      }
      return true;
    };
    const auto wait = [&](const std::function<bool()>& done,
                          absl::Time until) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      while (!done() && !abandoned) {
        const absl::Time now = absl::Now();
        if (now >= until) return;
        mu_.AwaitWithTimeout(absl::Condition(&done), std::min(kAbandonCheck, until - now));
        if (!done() && req.abandoned && req.abandoned()) abandoned = true;
      }
    };
    // The barrier ends by itself: members that do not rejoin are removed at their rebalance
    // timeout (Tick). The bound only keeps a wedged timer from holding the call forever.
    const absl::Duration grace =
        req.revoke_grace > absl::ZeroDuration() ? req.revoke_grace : options_.revoke_grace;
    wait(barrier, absl::Now() + 2 * grace + options_.max_join_wait);
    // Then let partitions moving from streaming members arrive, so the member gets its share
    // in one round; what has not arrived by then comes with a later rejoin.
    if (!abandoned) wait(settled, absl::Now() + std::min(grace, options_.max_join_wait));
    cancelled = waits_cancelled_;
    Group* g = FindGroup(req.group);
    Member* m = nullptr;
    if (g != nullptr) {
      auto it = g->members.find(member_id);
      if (it != g->members.end()) m = &it->second;
    }
    if (m != nullptr) {
      --m->joining;
      // Its session counts from the answer, not from the request: a long barrier must not
      // leave it already expired.
      m->deadline = clock_->Now() + m->session_timeout;
      if (abandoned) {
        log::Event(log::Level::kInfo, "member_join_abandoned",
                   {{"group", req.group}, {"member", member_id}});
        RemoveAndRebalance(req.group, member_id, absl::CancelledError("the member went away"),
                           "join abandoned");
      } else {
        result.member_id = member_id;
        result.generation = g->generation;
        result.assignment = Sorted(m->owned);
        result.assignor = g->assignor;
      }
    }
  }
  Dispatch();
  if (abandoned) return absl::CancelledError("the member went away while its join waited");
  if (cancelled && result.member_id.empty()) {
    return absl::UnavailableError("the broker is shutting down");
  }
  if (result.member_id.empty()) {
    return Tagged(absl::NotFoundError(absl::StrCat(
                      "member ", Quoted(member_id), " of group ", Quoted(req.group),
                      " was removed while it joined (it did not answer in time): join again")),
                  GroupError::kUnknownMember);
  }
  return result;
}

absl::StatusOr<std::string> GroupCoordinator::ReserveMemberId(const std::string& group,
                                                              absl::Duration timeout) {
  absl::Status valid = broker::ValidateGroupName(group);
  if (!valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  const Group* g = FindGroup(group);
  auto r = reserved_.find(group);
  const size_t members =
      (g == nullptr ? 0 : g->members.size()) + (r == reserved_.end() ? 0 : r->second.size());
  if (static_cast<int>(members) >= options_.max_members_per_group) {
    return absl::ResourceExhaustedError(
        absl::StrCat("group ", Quoted(group), " has ", members,
                     " members and members joining, the limit (--group-max-members)"));
  }
  if (g == nullptr && r == reserved_.end()) {
    std::set<std::string> names;
    for (const auto& [name, unused] : groups_) names.insert(name);
    for (const auto& [name, unused] : reserved_) names.insert(name);
    if (static_cast<int>(names.size()) >= options_.max_groups) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the broker has ", names.size(), " groups with members, its limit (--max-groups)"));
    }
  }
  const std::string id = NewMemberId(group);
  reserved_[group][id] = clock_->Now() + timeout;
  return id;
}

absl::StatusOr<MemberView> GroupCoordinator::Heartbeat(const std::string& group,
                                                       const std::string& member_id,
                                                       int64_t generation) {
  absl::Status valid = broker::ValidateGroupName(group);
  if (!valid.ok()) return valid;
  MemberView view;
  {
    absl::MutexLock lock(&mu_);
    auto found = FindGroupMember(group, member_id);
    if (!found.ok()) return found.status();
    auto [g, m] = *found;
    if (generation > g->generation) {
      return Tagged(absl::FailedPreconditionError(absl::StrCat("generation ", generation,
                                                               " is ahead of group ", Quoted(group),
                                                               "'s ", g->generation)),
                    GroupError::kFutureGeneration);
    }
    const absl::Time now = clock_->Now();
    m->deadline = now + m->session_timeout;
    // A streaming member heartbeats at the generation whose change it has applied: it has
    // stopped every partition revoked up to there.
    if (!m->classic && Release(*m, generation)) {
      UpdateAnswerDeadline(*g, *m, now);
      HandOff(*g);
    }
    view = View(*g, *m);
  }
  Dispatch();
  return view;
}

absl::StatusOr<MemberView> GroupCoordinator::Sync(const std::string& group,
                                                  const std::string& member_id,
                                                  int64_t generation) {
  absl::Status valid = broker::ValidateGroupName(group);
  if (!valid.ok()) return valid;
  MemberView view;
  {
    absl::MutexLock lock(&mu_);
    auto found = FindGroupMember(group, member_id);
    if (!found.ok()) return found.status();
    auto [g, m] = *found;
    if (generation != g->generation) {
      return Tagged(absl::FailedPreconditionError(
                        absl::StrCat("generation ", generation, " is not group ", Quoted(group),
                                     "'s current generation ", g->generation, "; join again")),
                    GroupError::kRebalancing);
    }
    m->deadline = clock_->Now() + m->session_timeout;
    m->synced_generation = generation;
    m->synced = m->owned;
    view = View(*g, *m);
  }
  Dispatch();
  return view;
}

void GroupCoordinator::CancelWaits() {
  absl::MutexLock lock(&mu_);
  waits_cancelled_ = true;
}

MemberView GroupCoordinator::View(const Group& g, const Member& m) const {
  MemberView view;
  view.generation = g.generation;
  view.assignment = Sorted(m.owned);
  for (const auto& [tp, owner] : g.target) {
    if (owner == m.id && !m.owned.contains(tp)) view.pending.push_back(tp);
  }
  view.resync = m.classic && (m.synced_generation != g.generation || m.synced != m.owned);
  view.assignor = g.assignor;
  return view;
}

absl::Status GroupCoordinator::Leave(const std::string& group, const std::string& member_id) {
  absl::Status valid = broker::ValidateGroupName(group);
  if (!valid.ok()) return valid;
  {
    absl::MutexLock lock(&mu_);
    auto found = FindGroupMember(group, member_id);
    if (!found.ok()) return found.status();
    log::Event(log::Level::kInfo, "member_left", {{"group", group}, {"member", member_id}});
    RemoveAndRebalance(group, member_id, absl::OkStatus(), "leave");
  }
  Dispatch();
  return absl::OkStatus();
}

std::vector<absl::Status> GroupCoordinator::CheckCommit(
    const std::string& group, const std::string& member_id, int64_t generation,
    const std::vector<TopicPartition>& partitions) {
  absl::MutexLock lock(&mu_);
  std::vector<absl::Status> out;
  Group* g = FindGroup(group);
  Member* m = nullptr;
  absl::Status member_status;
  if (member_id.empty() && generation < 0 && (g == nullptr || g->members.empty())) {
    // A commit from outside the group protocol (Kafka's standalone consumers, admin tools):
    // allowed only while no member owns anything, as in Kafka.
    return std::vector<absl::Status>(partitions.size(), absl::OkStatus());
  }
  if (g == nullptr || !g->members.contains(member_id)) {
    member_status =
        Tagged(absl::FailedPreconditionError(absl::StrCat(
                   "unknown member ", Quoted(member_id), " of group ", Quoted(group),
                   " (it timed out, left, or the broker restarted): join again, then commit")),
               GroupError::kUnknownMember);
  } else {
    m = &g->members.at(member_id);
  }
  for (const auto& tp : partitions) {
    if (m == nullptr) {
      out.push_back(member_status);
      continue;
    }
    // Ownership since a generation, not the generation itself, is what fences: a member that
    // has not seen a rebalance yet commits what it still holds (also a partition being revoked
    // from it, which it still processes until it answers) with the generation it has.
    auto owned = m->owned.find(tp);
    auto revoking = m->revoking.find(tp);
    const int64_t since = owned != m->owned.end()         ? owned->second
                          : revoking != m->revoking.end() ? revoking->second.owned_since
                                                          : -1;
    if (generation > g->generation) {
      out.push_back(
          Tagged(absl::FailedPreconditionError(absl::StrCat(
                     "generation ", generation, " is ahead of group ", Quoted(group), "'s ",
                     g->generation, ": use the generation JoinGroup or the stream gave")),
                 GroupError::kFutureGeneration));
    } else if (since >= 0 && generation >= since) {
      out.push_back(absl::OkStatus());
    } else if (generation != g->generation) {
      out.push_back(Tagged(absl::FailedPreconditionError(absl::StrCat(
                               "stale generation ", generation, ": group ", Quoted(group),
                               " is at ", g->generation, "; take the new assignment, then commit")),
                           GroupError::kStaleGeneration));
    } else if (!m->owned.contains(tp)) {
      out.push_back(Tagged(absl::FailedPreconditionError(
                               absl::StrCat("partition ", TpName(tp), " is not assigned to member ",
                                            Quoted(member_id), " at generation ", generation)),
                           GroupError::kNotOwner));
    } else {
      out.push_back(absl::OkStatus());
    }
  }
  return out;
}

void GroupCoordinator::Committed(const std::string& group, const std::string& member_id,
                                 int64_t generation,
                                 const std::vector<TopicPartition>& partitions) {
  {
    absl::MutexLock lock(&mu_);
    Group* g = FindGroup(group);
    if (g == nullptr || !g->members.contains(member_id)) return;
    Member& m = g->members.at(member_id);
    // A classic member answers only by rejoining: its commit in onPartitionsRevoked may come
    // before the rest of its clean-up.
    if (m.classic) return;
    bool released = false;
    for (const auto& tp : partitions) {
      auto it = m.revoking.find(tp);
      if (it != m.revoking.end() && generation >= it->second.generation) {
        m.revoking.erase(it);
        released = true;
      }
    }
    if (released) {
      UpdateAnswerDeadline(*g, m, clock_->Now());
      HandOff(*g);
    }
  }
  Dispatch();
}

absl::StatusOr<uint64_t> GroupCoordinator::OpenStream(const std::string& group,
                                                      const std::string& member_id,
                                                      std::shared_ptr<MemberStream> stream) {
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    auto found = FindGroupMember(group, member_id);
    if (!found.ok()) return found.status();
    auto [g, m] = *found;
    if (m->stream != nullptr) {
      pending_.push_back(
          Pending{std::move(m->stream),
                  true,
                  {},
                  absl::FailedPreconditionError("replaced by a newer stream of the same member")});
    }
    id = next_stream_id_++;
    m->stream = std::move(stream);
    m->stream_id = id;
    AssignmentChange change;
    change.generation = g->generation;
    change.added = Sorted(m->owned);
    change.assignment = change.added;
    // Partitions still waiting for this member's answer: a stream opened after the rebalance
    // must learn of them too, or the member would never answer.
    change.revoked = Sorted(m->revoking);
    Notify(*m, std::move(change));
  }
  Dispatch();
  return id;
}

void GroupCoordinator::CloseStream(const std::string& group, const std::string& member_id,
                                   uint64_t stream_id) {
  absl::MutexLock lock(&mu_);
  Group* g = FindGroup(group);
  if (g == nullptr || !g->members.contains(member_id)) return;
  Member& m = g->members.at(member_id);
  if (m.stream_id != stream_id) return;
  m.stream.reset();
  m.stream_id = 0;
  m.deadline = clock_->Now() + m.session_timeout;
}

void GroupCoordinator::CloseAllStreams(const absl::Status& why) {
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (auto& [name, g] : groups_) {
      for (auto& [id, m] : g.members) {
        if (m.stream == nullptr) continue;
        pending_.push_back(Pending{std::move(m.stream), true, {}, why});
        m.stream_id = 0;
        m.deadline = now + m.session_timeout;
      }
    }
  }
  Dispatch();
}

void GroupCoordinator::TopicsChanged() {
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, g] : groups_) {
      if (!g.members.empty()) Rebalance(g, "topics changed");
    }
  }
  Dispatch();
}

void GroupCoordinator::Tick() {
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (auto& [name, g] : groups_) {
      std::vector<std::pair<std::string, absl::Status>> expired;
      for (auto& [id, m] : g.members) {
        if (m.stream == nullptr && m.joining == 0 && m.deadline < now) {
          log::Event(log::Level::kWarn, "member_timed_out", {{"group", name}, {"member", id}});
          expired.emplace_back(id, absl::DeadlineExceededError("the member's session timed out"));
        } else if (m.answer_deadline < now) {
          // A member that has not answered a rebalance within its rebalance timeout leaves
          // the group before its partitions move (as in Kafka), so two owners never overlap.
          log::Event(log::Level::kWarn, "member_rebalance_timeout",
                     {{"group", name}, {"member", id}});
          expired.emplace_back(
              id, absl::DeadlineExceededError(
                      "the member did not answer a rebalance within its rebalance timeout"));
        }
      }
      for (const auto& [id, why] : expired) RemoveMember(g, id, why);
      if (!expired.empty()) Rebalance(g, "member timed out");
    }
    std::erase_if(groups_, [](const auto& entry) { return entry.second.members.empty(); });
    for (auto& [name, ids] : reserved_) {
      std::erase_if(ids, [&](const auto& entry) { return entry.second < now; });
    }
    std::erase_if(reserved_, [](const auto& entry) { return entry.second.empty(); });
  }
  Dispatch();
}

absl::Time GroupCoordinator::NextDeadline() const {
  absl::MutexLock lock(&mu_);
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [name, g] : groups_) {
    for (const auto& [id, m] : g.members) {
      if (m.stream == nullptr && m.joining == 0) next = std::min(next, m.deadline);
      next = std::min(next, m.answer_deadline);
    }
  }
  for (const auto& [name, ids] : reserved_) {
    for (const auto& [id, until] : ids) next = std::min(next, until);
  }
  return next;
}

bool GroupCoordinator::OwnedOrRevoking(const Group& g, const TopicPartition& tp) const {
  for (const auto& [id, m] : g.members) {
    if (m.owned.contains(tp) || m.revoking.contains(tp)) return true;
  }
  return false;
}

void GroupCoordinator::Notify(Member& m, AssignmentChange change) {
  if (m.stream == nullptr) return;
  pending_.push_back(Pending{m.stream, false, std::move(change), absl::OkStatus()});
}

void GroupCoordinator::RemoveMember(Group& g, const std::string& member_id,
                                    const absl::Status& why) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  Member& m = it->second;
  if (m.stream != nullptr) {
    pending_.push_back(Pending{std::move(m.stream), true, {}, why});
  }
  if (!m.instance_id.empty()) g.static_members.erase(m.instance_id);
  g.members.erase(it);
}

void GroupCoordinator::Rebalance(Group& g, std::string_view reason) {
  AssignInput input;
  std::set<std::string> topics;
  for (const auto& [id, m] : g.members) {
    input.subscriptions[id] = m.topics;
    topics.insert(m.topics.begin(), m.topics.end());
  }
  for (const auto& t : topics) {
    const int32_t n = topics_->PartitionCount(t);
    if (n > 0) input.partitions[t] = n;
  }
  // Sticky keeps partitions with whoever holds them or is about to.
  for (const auto& [tp, owner] : g.target) {
    if (g.members.contains(owner)) input.current[tp] = owner;
  }
  Assignment target = Assign(g.assignor, input);
  if (target == g.target && !g.members.empty()) {
    HandOff(g);
    return;
  }
  ++g.generation;
  ++g.rebalances;
  int moved = 0;
  const absl::Time now = clock_->Now();
  for (auto& [id, m] : g.members) {
    AssignmentChange change;
    change.generation = g.generation;
    for (auto it = m.owned.begin(); it != m.owned.end();) {
      auto t = target.find(it->first);
      if (t == target.end() || t->second != id) {
        change.revoked.push_back(it->first);
        // A deleted partition needs no hand-over; a moved one waits for the owner's answer,
        // except from a classic member that never learnt it has it (handed over since its
        // last SyncGroup): it cannot be processing it, so the partition is free at once.
        const bool unknown_to_owner = m.classic && !m.synced.contains(it->first);
        if (t != target.end() && !unknown_to_owner) {
          m.revoking[it->first] = {it->second, g.generation};
        }
        it = m.owned.erase(it);
        ++moved;
      } else {
        ++it;
      }
    }
    // Classic members blocked in Join are part of this generation, and an eager one among
    // them holds nothing while it waits (it gave everything up to rejoin): what this
    // rebalance takes from it is free at once. The others owe a rejoin.
    if (m.classic && m.joining > 0) {
      m.joined_generation = g.generation;
      if (!m.cooperative) Release(m, -1);
    }
    change.assignment = Sorted(m.owned);
    Notify(m, std::move(change));
  }
  g.target = std::move(target);
  for (auto& [id, m] : g.members) UpdateAnswerDeadline(g, m, now);
  log::Event(log::Level::kInfo, "rebalance",
             {{"group", g.name},
              {"generation", std::to_string(g.generation)},
              {"members", std::to_string(g.members.size())},
              {"moved_partitions", std::to_string(moved)},
              {"reason", std::string(reason)}});
  HandOff(g);
}

void GroupCoordinator::HandOff(Group& g) {
  std::map<std::string, std::vector<TopicPartition>> added;
  for (const auto& [tp, owner] : g.target) {
    auto m = g.members.find(owner);
    if (m == g.members.end() || m->second.owned.contains(tp) || OwnedOrRevoking(g, tp)) continue;
    m->second.owned.emplace(tp, g.generation);
    added[owner].push_back(tp);
  }
  for (auto& [id, tps] : added) {
    Member& m = g.members.at(id);
    AssignmentChange change;
    change.generation = g.generation;
    change.added = std::move(tps);
    change.assignment = Sorted(m.owned);
    Notify(m, std::move(change));
  }
}

bool GroupCoordinator::Release(Member& m, int64_t generation) {
  bool released = false;
  for (auto it = m.revoking.begin(); it != m.revoking.end();) {
    if (generation < 0 || it->second.generation <= generation) {
      it = m.revoking.erase(it);
      released = true;
    } else {
      ++it;
    }
  }
  return released;
}

void GroupCoordinator::UpdateAnswerDeadline(const Group& g, Member& m, absl::Time now) {
  const bool owes = !m.revoking.empty() || (m.classic && m.joined_generation < g.generation);
  if (!owes) {
    m.answer_deadline = absl::InfiniteFuture();
  } else if (m.answer_deadline == absl::InfiniteFuture()) {
    m.answer_deadline = now + m.revoke_grace;
  }
}

bool GroupCoordinator::BarrierComplete(const Group& g) const {
  for (const auto& [id, m] : g.members) {
    if (m.classic && m.joined_generation < g.generation) return false;
  }
  return true;
}

void GroupCoordinator::RemoveAndRebalance(const std::string& group, const std::string& member_id,
                                          const absl::Status& why, std::string_view reason) {
  Group* g = FindGroup(group);
  if (g == nullptr) return;
  RemoveMember(*g, member_id, why);
  Rebalance(*g, reason);
  // A group lives here only while it has members; its offsets stay in storage.
  if (g->members.empty()) groups_.erase(group);
}

GroupInfo GroupCoordinator::Info(const Group& g) const {
  GroupInfo info;
  info.group = g.name;
  info.generation = g.generation;
  info.assignor = AssignorName(g.assignor);
  info.rebalances = g.rebalances;
  bool settled = true;
  for (const auto& [tp, owner] : g.target) {
    auto m = g.members.find(owner);
    if (m != g.members.end() && !m->second.owned.contains(tp)) settled = false;
  }
  if (!BarrierComplete(g)) settled = false;
  info.state = g.members.empty() ? GroupState::kEmpty
               : settled         ? GroupState::kStable
                                 : GroupState::kRebalancing;
  for (const auto& [id, m] : g.members) {
    MemberInfo mi;
    mi.member_id = id;
    mi.instance_id = m.instance_id;
    mi.topics.assign(m.topics.begin(), m.topics.end());
    mi.assignment = Sorted(m.owned);
    for (const auto& [tp, revoke] : m.revoking) mi.revoking.push_back(tp);
    mi.streaming = m.stream != nullptr;
    mi.client_id = m.client_id;
    mi.client_host = m.client_host;
    info.members.push_back(std::move(mi));
  }
  return info;
}

std::vector<GroupInfo> GroupCoordinator::ListGroups() const {
  absl::MutexLock lock(&mu_);
  std::vector<GroupInfo> out;
  for (const auto& [name, g] : groups_) out.push_back(Info(g));
  return out;
}

absl::StatusOr<GroupInfo> GroupCoordinator::Describe(const std::string& group) const {
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) {
    return absl::NotFoundError(absl::StrCat("group ", Quoted(group), " has no members"));
  }
  return Info(it->second);
}

bool GroupCoordinator::HasMembers(const std::string& group) const {
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(group);
  return it != groups_.end() && !it->second.members.empty();
}

absl::Status GroupCoordinator::Delete(const std::string& group) {
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(group);
  if (it == groups_.end()) return absl::OkStatus();
  if (!it->second.members.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("group ", Quoted(group), " has ", it->second.members.size(),
                     " members; only an empty group can be deleted"));
  }
  groups_.erase(it);
  return absl::OkStatus();
}

int64_t GroupCoordinator::Rebalances(const std::string& group) const {
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(group);
  return it == groups_.end() ? 0 : it->second.rebalances;
}

std::map<TopicPartition, std::string> GroupCoordinator::ClassicOwners(
    std::string_view client_id, std::string_view client_host) const {
  std::map<TopicPartition, std::string> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, g] : groups_) {
    for (const auto& [id, m] : g.members) {
      if (!m.classic || m.client_id != client_id || m.client_host != client_host) continue;
      for (const auto& [tp, since] : m.owned) out.emplace(tp, name);
      for (const auto& [tp, revoke] : m.revoking) out.emplace(tp, name);
    }
  }
  return out;
}

void GroupCoordinator::Dispatch() {
  absl::MutexLock order(&dispatch_mu_);
  while (true) {
    Pending p;
    {
      absl::MutexLock lock(&mu_);
      if (pending_.empty()) return;
      p = std::move(pending_.front());
      pending_.pop_front();
    }
    if (p.removed) {
      p.stream->OnRemoved(p.why);
    } else {
      p.stream->OnAssignmentChange(p.change);
    }
  }
}

}  // namespace ferry::group
