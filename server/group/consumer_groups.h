// ConsumerGroups: the consumer-group engine both front doors use. It joins the in-memory
// GroupCoordinator with the broker's topics and the committed offsets in storage: commits are
// checked by the coordinator and stored durably; start offsets, lag, resets and deletion read
// both. It also runs the coordinator's timer (session timeouts, revoke grace).
// Thread-safe.
#ifndef FERRY_SERVER_GROUP_CONSUMER_GROUPS_H_
#define FERRY_SERVER_GROUP_CONSUMER_GROUPS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/broker.h"
#include "server/group/group_coordinator.h"
#include "storage/offset_store.h"

namespace ferry::group {

struct OffsetToCommit {
  TopicPartition tp;
  int64_t offset = 0;
  std::string metadata;
  // Kafka's rule: a client may commit any offset, and -2 (earliest), -1 (latest) or one past
  // the end are stored as the log's start or end. Without it such offsets are refused.
  bool clamp_to_log = false;
};

struct PartitionLag {
  TopicPartition tp;
  std::string member_id;   // empty when unassigned
  int64_t committed = -1;  // -1: nothing committed
  int64_t log_start = 0;
  int64_t end = 0;
  int64_t lag = 0;  // end - committed, or end - log start when nothing committed
};

struct GroupDescription {
  GroupInfo info;
  std::vector<PartitionLag> partitions;
};

class ConsumerGroups {
 public:
  // `run_timer`: start the thread that expires sessions (off in tests that Tick by hand).
  ConsumerGroups(broker::Broker* broker, const CoordinatorOptions& options,
                 const broker::Clock* clock, bool run_timer);
  ~ConsumerGroups();

  const CoordinatorOptions& options() const { return coordinator_.options(); }

  // --- membership (see GroupCoordinator for each call's rules) ------------------------------
  // Creates missing topics first when the broker auto-creates topics (else NOT_FOUND).
  absl::StatusOr<JoinResult> Join(const JoinRequest& request);
  absl::StatusOr<std::string> ReserveMemberId(const std::string& group, absl::Duration timeout) {
    return coordinator_.ReserveMemberId(group, timeout);
  }
  absl::StatusOr<MemberView> Heartbeat(const std::string& group, const std::string& member_id,
                                       int64_t generation);
  absl::StatusOr<MemberView> Sync(const std::string& group, const std::string& member_id,
                                  int64_t generation);
  absl::Status Leave(const std::string& group, const std::string& member_id);
  absl::StatusOr<uint64_t> OpenStream(const std::string& group, const std::string& member_id,
                                      std::shared_ptr<MemberStream> stream);
  void CloseStream(const std::string& group, const std::string& member_id, uint64_t stream_id);
  // Ends every classic Join's wait now, and makes later ones return at once.
  void CancelWaits() { coordinator_.CancelWaits(); }
  // Shutdown: ends every member stream with `why` and every classic Join's wait.
  void Shutdown(const absl::Status& why);
  int64_t Rebalances(const std::string& group) const { return coordinator_.Rebalances(group); }
  std::map<TopicPartition, std::string> ClassicOwners(std::string_view client_id,
                                                      std::string_view client_host) const {
    return coordinator_.ClassicOwners(client_id, client_host);
  }

  // --- offsets ------------------------------------------------------------------------------
  // Validates the request (group name, at least one offset), checks each partition with the
  // coordinator and the log, stores the accepted ones in one durable write, then calls `done`
  // with a status per partition (in request order), or with the request's own error.
  using CommitDone = std::function<void(absl::StatusOr<std::vector<absl::Status>>)>;
  void Commit(const std::string& group, const std::string& member_id, int64_t generation,
              std::vector<OffsetToCommit> offsets, CommitDone done);

  // Committed offsets; every partition the group committed when `partitions` is empty.
  absl::StatusOr<std::vector<storage::CommittedOffset>> FetchOffsets(
      const std::string& group, const std::vector<TopicPartition>& partitions) const;

  // A reader for a member of `group` on `tp`: from the committed offset when it is inside the
  // log, else by `reset` (kNone: FAILED_PRECONDITION when nothing is committed, OUT_OF_RANGE
  // otherwise). The reader applies `reset` again if retention passes it.
  absl::StatusOr<broker::TailReader> OpenReader(const std::string& group, const TopicPartition& tp,
                                                broker::OffsetReset reset) const;

  // --- administration -----------------------------------------------------------------------
  // Groups with members or committed offsets.
  absl::StatusOr<std::vector<GroupInfo>> List() const;
  absl::StatusOr<GroupDescription> Describe(const std::string& group) const;
  // Only an empty group; forgets its committed offsets.
  absl::Status Delete(const std::string& group);
  // Forgets the group's committed offsets of `partitions`: a status per partition, in request
  // order: OK (also when nothing was committed), NOT_FOUND for a partition that does not exist,
  // FAILED_PRECONDITION while a member of the group subscribes to its topic. The request's own
  // error: INVALID_ARGUMENT (group name), NOT_FOUND (neither members nor committed offsets).
  absl::StatusOr<std::vector<absl::Status>> DeleteOffsets(
      const std::string& group, const std::vector<TopicPartition>& partitions);
  // Only while the group is empty. `partitions` empty: every partition of the topic. With
  // `validate_only`, returns the offsets it would commit and commits nothing.
  absl::StatusOr<std::vector<storage::CommittedOffset>> ResetOffsets(
      const std::string& group, const std::string& topic, std::vector<int32_t> partitions,
      const broker::StartPosition& to, bool validate_only = false);

 private:
  class Topics;
  void TimerLoop();

  broker::Broker* const broker_;
  const broker::Clock* const clock_;
  std::unique_ptr<Topics> topics_;
  GroupCoordinator coordinator_;

  absl::Mutex timer_mu_;
  bool stop_ ABSL_GUARDED_BY(timer_mu_) = false;
  std::thread timer_;
};

}  // namespace ferry::group

#endif  // FERRY_SERVER_GROUP_CONSUMER_GROUPS_H_
