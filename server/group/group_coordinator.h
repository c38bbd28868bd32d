// GroupCoordinator: consumer groups' membership and partition ownership, in memory. A pure
// state machine over an injected clock and topic view: no gRPC, no storage. The front doors
// feed it joins, heartbeats, leaves, commits and stream open/close; it tells each member's
// open stream about assignment changes.
//
// Cooperative rebalancing: when the members or the topics change, the assignor computes a new
// target and the generation goes up. Partitions that keep their owner keep flowing. A partition
// that moves is first revoked from its owner (its stream stops delivering it and is told); the
// new owner gets it only when the old owner acknowledges (commits it, or heartbeats at the new
// generation), leaves, dies, or the revoke grace period ends. So at most one member owns a
// partition at any moment.
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
  absl::Duration revoke_grace = absl::Seconds(3);
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
  // A Kafka classic-protocol (eager) member. It learns of revocations only at its next
  // heartbeat and answers by rejoining, so: a partition revoked from it waits `revoke_grace`
  // (its rebalance timeout) and if that ends unacknowledged the member is removed, as Kafka
  // does, before the partition moves; it may commit partitions it still owns at an older
  // generation (its commit before rejoining); and it takes the group's assignor, since the
  // coordinator assigns for it.
  bool classic = false;
  absl::Duration revoke_grace = absl::ZeroDuration();  // zero: CoordinatorOptions::revoke_grace
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
  std::vector<TopicPartition> revoking;    // revoked, final commit still allowed
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

  // New member (empty member_id), static rejoin (known instance_id) or rejoin (member_id).
  // NOT_FOUND for an unknown member_id: the member must join anew.
  absl::StatusOr<JoinResult> Join(const JoinRequest& request);
  // Keeps a member alive; at the current generation it also acknowledges its revocations.
  absl::StatusOr<MemberView> Heartbeat(const std::string& group, const std::string& member_id,
                                       int64_t generation);
  // A classic member takes its assignment at `generation` (Kafka SyncGroup): acknowledges its
  // revocations and remembers what it was given, so Heartbeat can tell it when that changes.
  // FAILED_PRECONDITION (GroupError::kRebalancing) when `generation` is not the current one.
  absl::StatusOr<MemberView> Sync(const std::string& group, const std::string& member_id,
                                  int64_t generation);
  // Waits up to `timeout` (real time) until no partition waits for hand-over to the member, the
  // member is gone, or CancelWaits() is called; returns the member's view then.
  absl::StatusOr<MemberView> AwaitPending(const std::string& group, const std::string& member_id,
                                          absl::Duration timeout);
  // Ends every AwaitPending now and refuses to wait from then on (shutdown).
  void CancelWaits();
  // Removes the member and rebalances at once.
  absl::Status Leave(const std::string& group, const std::string& member_id);

  // Whether `member_id` at `generation` may commit each partition: OK, or FAILED_PRECONDITION
  // saying why (unknown member, stale generation, not the owner). A partition revoked from the
  // member may get its final commit during the revoke grace period, at any earlier generation.
  std::vector<absl::Status> CheckCommit(const std::string& group, const std::string& member_id,
                                        int64_t generation,
                                        const std::vector<TopicPartition>& partitions);
  // The commit of `partitions` is durable: revoked ones among them pass to their new owners.
  void Committed(const std::string& group, const std::string& member_id,
                 const std::vector<TopicPartition>& partitions);

  // The member's group stream opened: it counts as alive while open and receives its current
  // assignment at once, then every change. A newer stream of the same member replaces it.
  absl::StatusOr<uint64_t> OpenStream(const std::string& group, const std::string& member_id,
                                      std::shared_ptr<MemberStream> stream);
  // The stream ended; the member has its session timeout to come back.
  void CloseStream(const std::string& group, const std::string& member_id, uint64_t stream_id);

  // Ends every open stream with `why` (shutdown); members then count down their sessions.
  void CloseAllStreams(const absl::Status& why);

  // Partition counts changed or topics were deleted: groups rebalance.
  void TopicsChanged();

  // Expires sessions and revoke grace periods that are due at the clock's time.
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

 private:
  struct Member {
    std::string id;
    std::string instance_id;
    std::set<std::string> topics;
    absl::Duration session_timeout;
    absl::Time deadline;  // when not streaming
    std::shared_ptr<MemberStream> stream;
    uint64_t stream_id = 0;
    std::set<TopicPartition> owned;
    std::map<TopicPartition, absl::Time> revoking;  // -> grace deadline
    bool classic = false;
    absl::Duration revoke_grace;
    std::string client_id;
    std::string client_host;
    int64_t synced_generation = -1;  // classic: what the last Sync returned
    std::set<TopicPartition> synced;
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
  bool waits_cancelled_ ABSL_GUARDED_BY(mu_) = false;

  // Held while callbacks run, so they reach streams in the order they were queued.
  absl::Mutex dispatch_mu_;
};

}  // namespace ferry::group

#endif  // FERRY_SERVER_GROUP_GROUP_COORDINATOR_H_
