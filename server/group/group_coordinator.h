// GroupCoordinator: consumer groups' membership and partition ownership, in memory. A pure
// state machine over an injected clock and topic view: no gRPC, no storage. The front doors
// feed it joins, heartbeats, leaves, commits and stream open/close; it tells each member's
// open stream about assignment changes.
//
// Rebalancing: when the members or the topics change, the assignor computes a new target and
// the generation goes up. Partitions that keep their owner keep flowing. A partition that moves
// is first revoked from its owner; the new owner gets it only when the old owner answers:
//   - a streaming (gRPC) member heartbeats at the revoke's generation or later, or commits the
//     partition at that generation or later (its final commit);
//   - a Kafka classic member rejoins (JoinGroup): an eager one has given up everything, a
//     cooperative one whatever its subscription no longer lists as owned;
//   - the member leaves, or is removed: its session ends, or it has not answered within its
//     rebalance timeout (then its stream is closed and its commits are fenced).
// A commit at an older generation is accepted while the member still holds the partition, but
// never counts as the answer. So at most one member owns a partition at any moment, by
// construction rather than by timing.
//
// Kafka classic members also get Kafka's join barrier: Join of a classic member returns only
// when every classic member of the group has rejoined the current generation (or was removed
// for not doing so within its rebalance timeout), so they all start a generation together.
//
// Thread-safe. Stream callbacks run in order, outside the coordinator's lock, on the thread
// that caused them; they must not block or call back into the coordinator.
#ifndef FERRY_SERVER_GROUP_GROUP_COORDINATOR_H_
#define FERRY_SERVER_GROUP_GROUP_COORDINATOR_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/broker/clock.h"
#include "server/group/assignor.h"

namespace ferry::group {

struct CoordinatorOptions {
  absl::Duration min_session_timeout = absl::Milliseconds(500);
  absl::Duration max_session_timeout = absl::Minutes(30);
  absl::Duration default_session_timeout = absl::Seconds(10);
  // How long a member has to answer a rebalance (a revoke, or for a Kafka classic member, a
  // rejoin) before it is removed from the group; a member may ask for its own.
  absl::Duration revoke_grace = absl::Seconds(10);
  // How long a Kafka JoinGroup waits, after the barrier, for partitions moving to the member
  // from streaming members, at most.
  absl::Duration max_join_wait = absl::Seconds(5);
  int max_members_per_group = 1000;
  int max_groups = 10000;
  int max_topics_per_member = 1000;
};

// What the coordinator needs to know of topics.
class TopicView {
 public:
  virtual ~TopicView() = default;
  // The partition count of `topic`; 0 when it does not exist.
  virtual int32_t PartitionCount(const std::string& topic) const = 0;
};

struct AssignmentChange {
  int64_t generation = 0;
  std::vector<TopicPartition> added;
  std::vector<TopicPartition> revoked;
  // Every partition the member owns after this change.
  std::vector<TopicPartition> assignment;
};

// A member's open group stream, as the coordinator sees it.
class MemberStream {
 public:
  virtual ~MemberStream() = default;
  virtual void OnAssignmentChange(const AssignmentChange& change) = 0;
  // The stream must end with `why`: the member left, timed out, was fenced or replaced.
  virtual void OnRemoved(const absl::Status& why) = 0;
};

// Why the coordinator refused a member's call, for front doors that need a code rather than a
// message (Kafka's UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS). Carried as a
// payload of the refusal's absl::Status, whose code and message stay as documented.
enum class GroupError {
  kNone,
  kUnknownMember,     // not a member (timed out, left, broker restarted)
  kStaleGeneration,   // the group has moved to a newer generation
  kFutureGeneration,  // a generation the group has not reached
  kNotOwner,          // the partition is not the member's
  kRebalancing,       // the member must join again to take its new assignment
};
GroupError GroupErrorOf(const absl::Status& status);

struct JoinRequest {
  std::string group;
  std::vector<std::string> topics;
  absl::Duration session_timeout = absl::ZeroDuration();  // zero: the default
  std::string member_id;                                  // rejoin
  std::string instance_id;                                // static membership
  // Empty: the group's assignor (sticky for a new group), so a member of either door joins any
  // group without knowing how it assigns. A named one must match the group's.
  std::optional<AssignorKind> assignor;
  // A Kafka classic-protocol member. It learns of rebalances at its next heartbeat and answers
  // by rejoining; Join blocks at the barrier (see the file comment); it takes the group's
  // assignor, since the coordinator assigns for it.
  bool classic = false;
  // Classic: a cooperative (incremental) member keeps its partitions across a rejoin and lists
  // them in `owned`; an eager one gives up everything when it rejoins.
  bool cooperative = false;
  std::vector<TopicPartition> owned;
  // Classic: polled while Join waits; true when the caller is gone (its connection closed),
  // which removes the member at once.
  std::function<bool()> abandoned;
  // The member's rebalance timeout; zero: CoordinatorOptions::revoke_grace.
  absl::Duration revoke_grace = absl::ZeroDuration();
  // Who the member is, for DescribeGroup (Kafka clients send a client id; the host is the
  // connection's peer).
  std::string client_id;
  std::string client_host;
};

struct MemberView {
  int64_t generation = 0;
  std::vector<TopicPartition> assignment;
  // Partitions the target gives the member that still wait for their old owner.
  std::vector<TopicPartition> pending;
  // Classic members: the generation or the owned set differs from what Sync last returned.
  bool resync = false;
  AssignorKind assignor = AssignorKind::kSticky;  // the group's
};

struct JoinResult {
  std::string member_id;
  int64_t generation = 0;
  std::vector<TopicPartition> assignment;
  AssignorKind assignor = AssignorKind::kSticky;
};

enum class GroupState { kEmpty, kRebalancing, kStable };
const char* GroupStateName(GroupState state);

struct MemberInfo {
  std::string member_id;
  std::string instance_id;
  std::vector<std::string> topics;
  std::vector<TopicPartition> assignment;  // owned now
  std::vector<TopicPartition> revoking;    // revoked, waiting for the member's answer
  bool streaming = false;
  std::string client_id;
  std::string client_host;
};

struct GroupInfo {
  std::string group;
  GroupState state = GroupState::kEmpty;
  int64_t generation = 0;
  std::string assignor;
  std::vector<MemberInfo> members;
  int64_t rebalances = 0;
};

class GroupCoordinator {
 public:
  GroupCoordinator(const CoordinatorOptions& options, const broker::Clock* clock,
                   const TopicView* topics);

  const CoordinatorOptions& options() const { return options_; }

  // New member (empty member_id, or one ReserveMemberId gave), static rejoin (known
  // instance_id) or rejoin (member_id). NOT_FOUND for an unknown member_id: the member must
  // join anew. A classic member's Join
  // blocks at the barrier, then up to max_join_wait for partitions moving to it; CANCELLED
  // when `abandoned` (the member is removed) or CancelWaits was called.
  absl::StatusOr<JoinResult> Join(const JoinRequest& request);
  // A member id for a new member to join `group` with (Kafka's JoinGroup v4+ answers a join
  // without one with MEMBER_ID_REQUIRED and this id). The id is not a member: it holds no
  // barrier and no partitions; Join with it within `timeout` makes it one, after that it is
  // forgotten. RESOURCE_EXHAUSTED when the group's members and reserved ids reach
  // max_members_per_group, or there are max_groups groups already.
  absl::StatusOr<std::string> ReserveMemberId(const std::string& group, absl::Duration timeout);
  // Keeps a member alive. A streaming member's heartbeat at generation G also answers every
  // revoke of generation G or earlier; a classic member's never does (it answers by rejoining).
  absl::StatusOr<MemberView> Heartbeat(const std::string& group, const std::string& member_id,
                                       int64_t generation);
  // A classic member takes its assignment at `generation` (Kafka SyncGroup) and the coordinator
  // remembers what it was given, so Heartbeat can tell it when that changes.
  // FAILED_PRECONDITION (GroupError::kRebalancing) when `generation` is not the current one.
  absl::StatusOr<MemberView> Sync(const std::string& group, const std::string& member_id,
                                  int64_t generation);
  // Ends every classic Join's wait now and refuses to wait from then on (shutdown).
  void CancelWaits();
  // Removes the member and rebalances at once.
  absl::Status Leave(const std::string& group, const std::string& member_id);

  // Whether `member_id` at `generation` may commit each partition: OK, or FAILED_PRECONDITION
  // saying why (unknown member, stale generation, not the owner). A member may commit a
  // partition it owns or is being revoked, at any generation since it got the partition.
  std::vector<absl::Status> CheckCommit(const std::string& group, const std::string& member_id,
                                        int64_t generation,
                                        const std::vector<TopicPartition>& partitions);
  // The commit of `partitions` at `generation` is durable: a streaming member's final commit of
  // a revoked partition (at the revoke's generation or later) passes it to its new owner.
  void Committed(const std::string& group, const std::string& member_id, int64_t generation,
                 const std::vector<TopicPartition>& partitions);

  // The member's group stream opened: it counts as alive while open and receives its current
  // assignment at once (with, as revoked, the partitions still waiting for its answer), then
  // every change. A newer stream of the same member replaces it.
  absl::StatusOr<uint64_t> OpenStream(const std::string& group, const std::string& member_id,
                                      std::shared_ptr<MemberStream> stream);
  // The stream ended; the member has its session timeout to come back.
  void CloseStream(const std::string& group, const std::string& member_id, uint64_t stream_id);

  // Ends every open stream with `why` (shutdown); members then count down their sessions.
  void CloseAllStreams(const absl::Status& why);

  // Partition counts changed or topics were deleted: groups rebalance.
  void TopicsChanged();

  // Removes members whose session or rebalance timeout is due at the clock's time.
  void Tick();
  // When Tick next has work; InfiniteFuture when nothing is pending.
  absl::Time NextDeadline() const;

  std::vector<GroupInfo> ListGroups() const;
  // NOT_FOUND when the coordinator has no such group (it may still have committed offsets).
  absl::StatusOr<GroupInfo> Describe(const std::string& group) const;
  bool HasMembers(const std::string& group) const;
  // Forgets an empty group; FAILED_PRECONDITION while it has members.
  absl::Status Delete(const std::string& group);
  // Total rebalances of `group` since start-up (0 when unknown).
  int64_t Rebalances(const std::string& group) const;
  // The partitions that classic (Kafka) members with this client id, connected from this
  // host, own or are giving up, each with its group: a Kafka Fetch names no group, so this is
  // how its records are counted under the group that reads them.
  std::map<TopicPartition, std::string> ClassicOwners(std::string_view client_id,
                                                      std::string_view client_host) const;

 private:
  struct Member {
    std::string id;
    std::string instance_id;
    std::set<std::string> topics;
    absl::Duration session_timeout;
    absl::Time deadline;  // when not streaming
    std::shared_ptr<MemberStream> stream;
    uint64_t stream_id = 0;
    // Partition -> the generation since which the member owns it (commits from before are
    // fenced).
    std::map<TopicPartition, int64_t> owned;
    struct Revoke {
      int64_t owned_since = 0;
      int64_t generation = 0;  // of the rebalance that revoked it
    };
    std::map<TopicPartition, Revoke> revoking;
    // When the member must have answered the rebalance it owes an answer to (InfiniteFuture:
    // it owes none).
    absl::Time answer_deadline = absl::InfiniteFuture();
    bool classic = false;
    bool cooperative = false;
    int joining = 0;                 // classic: Join calls waiting at the barrier
    int64_t joined_generation = -1;  // classic: the generation it last joined
    absl::Duration revoke_grace;
    std::string client_id;
    std::string client_host;
    int64_t synced_generation = -1;  // classic: what the last Sync returned
    std::map<TopicPartition, int64_t> synced;
  };
  struct Group {
    std::string name;
    int64_t generation = 0;
    int64_t rebalances = 0;
    AssignorKind assignor = AssignorKind::kSticky;
    std::map<std::string, Member> members;
    std::map<std::string, std::string> static_members;  // instance id -> member id
    Assignment target;
  };
  struct Pending {
    std::shared_ptr<MemberStream> stream;
    bool removed = false;
    AssignmentChange change;
    absl::Status why;
  };

  Group* FindGroup(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Member*> FindMember(Group& g, const std::string& member_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The group and the member, or NOT_FOUND (tagged kUnknownMember) when either is unknown.
  absl::StatusOr<std::pair<Group*, Member*>> FindGroupMember(const std::string& group,
                                                             const std::string& member_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Rebalance(Group& g, std::string_view reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives every partition nobody owns or revokes to its target owner.
  void HandOff(Group& g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the member's revokes of generation <= `generation` (all when negative); true when
  // any went.
  bool Release(Member& m, int64_t generation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the member owes the group an answer (a revoke, or a classic member's rejoin), and
  // its answer deadline set or cleared to match.
  void UpdateAnswerDeadline(const Group& g, Member& m, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Every classic member has joined the current generation.
  bool BarrierComplete(const Group& g) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A classic member's Join, after it registered: waits at the barrier and for its pending
  // partitions, removing the member when the caller is gone.
  absl::StatusOr<JoinResult> AwaitJoin(const JoinRequest& request, const std::string& member_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Removes `member_id` (when present), rebalances, forgets the group when it is empty.
  void RemoveAndRebalance(const std::string& group, const std::string& member_id,
                          const absl::Status& why, std::string_view reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveMember(Group& g, const std::string& member_id, const absl::Status& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Notify(Member& m, AssignmentChange change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool OwnedOrRevoking(const Group& g, const TopicPartition& tp) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  GroupInfo Info(const Group& g) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  MemberView View(const Group& g, const Member& m) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewMemberId(const std::string& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Delivers queued stream callbacks in order, outside mu_.
  void Dispatch() ABSL_LOCKS_EXCLUDED(mu_);

  const CoordinatorOptions options_;
  const broker::Clock* const clock_;
  const TopicView* const topics_;

  mutable absl::Mutex mu_;
  std::map<std::string, Group> groups_ ABSL_GUARDED_BY(mu_);
  uint64_t next_stream_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t member_counter_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  // Group -> member id ReserveMemberId gave -> until when it may join with it.
  std::map<std::string, std::map<std::string, absl::Time>> reserved_ ABSL_GUARDED_BY(mu_);
  bool waits_cancelled_ ABSL_GUARDED_BY(mu_) = false;

  // Held while callbacks run, so they reach streams in the order they were queued.
  absl::Mutex dispatch_mu_;
};

}  // namespace ferry::group

#endif  // FERRY_SERVER_GROUP_GROUP_COORDINATOR_H_
