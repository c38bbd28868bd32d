// Consumer-group clients for integration tests: the group and group-admin RPCs with deadlines,
// and a group Subscribe stream that keeps its member's assignment changes and records so a test
// can wait for them with a deadline.
#ifndef FERRY_TESTS_INTEGRATION_GROUP_TEST_CLIENT_H_
#define FERRY_TESTS_INTEGRATION_GROUP_TEST_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "integration/test_client.h"

namespace ferry::integration {

// A topic partition as a value that sorts and compares: (topic, partition).
using Partition = std::pair<std::string, int32_t>;
using PartitionSet = std::set<Partition>;

PartitionSet ToPartitionSet(
    const google::protobuf::RepeatedPtrField<ferry::v1::TopicPartition>& partitions);
// Every partition of `topic` in [0, count).
PartitionSet AllPartitions(const std::string& topic, int32_t count);
// "t-0, t-3" for messages.
std::string PartitionNames(const PartitionSet& partitions);

struct JoinOptions {
  int32_t session_timeout_ms = 10'000;
  std::string member_id;
  std::string instance_id;
  ferry::v1::Assignor assignor = ferry::v1::ASSIGNOR_UNSPECIFIED;
  int32_t rebalance_timeout_ms = 0;  // 0: the broker's
};

grpc::Status JoinGroup(ferry::v1::Broker::Stub& broker, const std::string& group,
                       const std::vector<std::string>& topics, const JoinOptions& options,
                       ferry::v1::JoinGroupResponse* response);
grpc::Status Heartbeat(ferry::v1::Broker::Stub& broker, const std::string& group,
                       const std::string& member_id, int64_t generation,
                       ferry::v1::HeartbeatResponse* response = nullptr);
grpc::Status LeaveGroup(ferry::v1::Broker::Stub& broker, const std::string& group,
                        const std::string& member_id);
// Commits `offsets` (partition -> next offset to read) in one request.
grpc::Status CommitOffsets(ferry::v1::Broker::Stub& broker, const std::string& group,
                           const std::string& member_id, int64_t generation,
                           const std::map<Partition, int64_t>& offsets,
                           ferry::v1::CommitOffsetResponse* response = nullptr);
// The committed offset of each of `partitions` (-1 when none); empty (and a test failure) on an
// error.
std::map<Partition, int64_t> FetchOffsets(ferry::v1::Broker::Stub& broker, const std::string& group,
                                          const PartitionSet& partitions);

grpc::Status DescribeGroup(ferry::v1::Admin::Stub& admin, const std::string& group,
                           ferry::v1::DescribeGroupResponse* response);
grpc::Status ListGroups(ferry::v1::Admin::Stub& admin, ferry::v1::ListGroupsResponse* response);
grpc::Status DeleteGroup(ferry::v1::Admin::Stub& admin, const std::string& group);
grpc::Status ResetOffsets(ferry::v1::Admin::Stub& admin,
                          const ferry::v1::ResetOffsetsRequest& request,
                          ferry::v1::ResetOffsetsResponse* response = nullptr);
grpc::Status CreatePartitions(ferry::v1::Admin::Stub& admin, const std::string& topic,
                              int32_t total);

// Per member of a DescribeGroup answer: member id -> its assignment.
std::map<std::string, PartitionSet> MemberAssignments(
    const ferry::v1::DescribeGroupResponse& group);
// The partitions that no member of a DescribeGroup answer owns, among `partitions`.
PartitionSet Unowned(const ferry::v1::DescribeGroupResponse& group, const PartitionSet& partitions);

// Publishes `count` records "key-<i>"/"value-<i>" to one partition; returns their offsets.
std::vector<int64_t> PublishToPartition(ferry::v1::Broker::Stub& broker, const std::string& topic,
                                        int32_t partition, int count);

// A member's group Subscribe stream, read by a background thread into memory. It keeps every
// message in arrival order, the assignment changes, and the records per partition. The
// destructor cancels the stream. Thread-safe.
class GroupStream {
 public:
  GroupStream(ferry::v1::Broker::Stub& broker, const std::string& group,
              const std::string& member_id,
              ferry::v1::OffsetReset offset_reset = ferry::v1::OFFSET_RESET_EARLIEST,
              absl::Duration timeout = absl::Seconds(60));
  ~GroupStream();
  GroupStream(const GroupStream&) = delete;
  GroupStream& operator=(const GroupStream&) = delete;

  // What the stream has received so far.
  struct State {
    std::vector<ferry::v1::SubscribeResponse> messages;
    std::vector<ferry::v1::AssignmentChange> changes;
    // The assignment of the latest change; empty before the first.
    PartitionSet assignment;
    std::map<Partition, std::vector<ferry::v1::Record>> records;
    bool ended = false;
    grpc::Status status;

    size_t RecordCount(const Partition& partition) const;
    size_t TotalRecords() const;
  };

  // Waits until `condition` holds for the stream's state; false on timeout or when the stream
  // ended without it holding. The condition runs under the stream's lock: keep it short.
  bool WaitUntil(const std::function<bool(const State&)>& condition,
                 absl::Duration timeout = absl::Seconds(10));
  // Shorthands for WaitUntil.
  bool WaitForChanges(size_t count, absl::Duration timeout = absl::Seconds(10));
  bool WaitForAssignment(const PartitionSet& assignment,
                         absl::Duration timeout = absl::Seconds(10));
  bool WaitForRecords(const Partition& partition, size_t count,
                      absl::Duration timeout = absl::Seconds(10));
  bool WaitForEnd(absl::Duration timeout = absl::Seconds(10));

  void Cancel();
  State state() const;
  PartitionSet assignment() const;
  std::vector<ferry::v1::AssignmentChange> changes() const;
  std::vector<ferry::v1::Record> records(const Partition& partition) const;

 private:
  void ReadLoop();

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<ferry::v1::SubscribeResponse>> reader_;
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace ferry::integration

#endif  // FERRY_TESTS_INTEGRATION_GROUP_TEST_CLIENT_H_
