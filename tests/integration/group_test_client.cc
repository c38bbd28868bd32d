#include "integration/group_test_client.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace ferry::integration {

using ferry::v1::Admin;
using ferry::v1::Broker;

PartitionSet ToPartitionSet(
    const google::protobuf::RepeatedPtrField<ferry::v1::TopicPartition>& partitions) {
  PartitionSet out;
  for (const ferry::v1::TopicPartition& tp : partitions) out.emplace(tp.topic(), tp.partition());
  return out;
}

PartitionSet AllPartitions(const std::string& topic, int32_t count) {
  PartitionSet out;
  for (int32_t p = 0; p < count; ++p) out.emplace(topic, p);
  return out;
}

std::string PartitionNames(const PartitionSet& partitions) {
  return absl::StrJoin(partitions, ", ", [](std::string* out, const Partition& p) {
    absl::StrAppend(out, p.first, "-", p.second);
  });
}

grpc::Status JoinGroup(Broker::Stub& broker, const std::string& group,
                       const std::vector<std::string>& topics, const JoinOptions& options,
                       ferry::v1::JoinGroupResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::JoinGroupRequest request;
  request.set_group(group);
  for (const std::string& topic : topics) request.add_topics(topic);
  request.set_session_timeout_ms(options.session_timeout_ms);
  request.set_member_id(options.member_id);
  request.set_instance_id(options.instance_id);
  request.set_assignor(options.assignor);
  request.set_rebalance_timeout_ms(options.rebalance_timeout_ms);
  return broker.JoinGroup(&context, request, response);
}

grpc::Status Heartbeat(Broker::Stub& broker, const std::string& group, const std::string& member_id,
                       int64_t generation, ferry::v1::HeartbeatResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::HeartbeatRequest request;
  request.set_group(group);
  request.set_member_id(member_id);
  request.set_generation(generation);
  ferry::v1::HeartbeatResponse ignored;
  return broker.Heartbeat(&context, request, response != nullptr ? response : &ignored);
}

grpc::Status LeaveGroup(Broker::Stub& broker, const std::string& group,
                        const std::string& member_id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::LeaveGroupRequest request;
  request.set_group(group);
  request.set_member_id(member_id);
  ferry::v1::LeaveGroupResponse response;
  return broker.LeaveGroup(&context, request, &response);
}

grpc::Status CommitOffsets(Broker::Stub& broker, const std::string& group,
                           const std::string& member_id, int64_t generation,
                           const std::map<Partition, int64_t>& offsets,
                           ferry::v1::CommitOffsetResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::CommitOffsetRequest request;
  request.set_group(group);
  request.set_member_id(member_id);
  request.set_generation(generation);
  for (const auto& [partition, offset] : offsets) {
    ferry::v1::OffsetCommit* commit = request.add_offsets();
    commit->set_topic(partition.first);
    commit->set_partition(partition.second);
    commit->set_offset(offset);
  }
  ferry::v1::CommitOffsetResponse ignored;
  return broker.CommitOffset(&context, request, response != nullptr ? response : &ignored);
}

std::map<Partition, int64_t> FetchOffsets(Broker::Stub& broker, const std::string& group,
                                          const PartitionSet& partitions) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::FetchOffsetsRequest request;
  request.set_group(group);
  for (const Partition& partition : partitions) {
    ferry::v1::TopicPartition* tp = request.add_partitions();
    tp->set_topic(partition.first);
    tp->set_partition(partition.second);
  }
  ferry::v1::FetchOffsetsResponse response;
  const grpc::Status status = broker.FetchOffsets(&context, request, &response);
  if (!status.ok()) {
    ADD_FAILURE() << "FetchOffsets(" << group << "): " << CodeName(status.error_code()) << ": "
                  << status.error_message();
    return {};
  }
  std::map<Partition, int64_t> out;
  for (const ferry::v1::CommittedOffset& offset : response.offsets()) {
    out[{offset.topic(), offset.partition()}] = offset.offset();
  }
  return out;
}

grpc::Status DescribeGroup(Admin::Stub& admin, const std::string& group,
                           ferry::v1::DescribeGroupResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::DescribeGroupRequest request;
  request.set_group(group);
  return admin.DescribeGroup(&context, request, response);
}

grpc::Status ListGroups(Admin::Stub& admin, ferry::v1::ListGroupsResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return admin.ListGroups(&context, ferry::v1::ListGroupsRequest(), response);
}

grpc::Status DeleteGroup(Admin::Stub& admin, const std::string& group) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::DeleteGroupRequest request;
  request.set_group(group);
  ferry::v1::DeleteGroupResponse response;
  return admin.DeleteGroup(&context, request, &response);
}

grpc::Status ResetOffsets(Admin::Stub& admin, const ferry::v1::ResetOffsetsRequest& request,
                          ferry::v1::ResetOffsetsResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::ResetOffsetsResponse ignored;
  return admin.ResetOffsets(&context, request, response != nullptr ? response : &ignored);
}

grpc::Status CreatePartitions(Admin::Stub& admin, const std::string& topic, int32_t total) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::CreatePartitionsRequest request;
  request.set_topic(topic);
  request.set_partitions(total);
  ferry::v1::CreatePartitionsResponse response;
  return admin.CreatePartitions(&context, request, &response);
}

std::map<std::string, PartitionSet> MemberAssignments(
    const ferry::v1::DescribeGroupResponse& group) {
  std::map<std::string, PartitionSet> out;
  for (const ferry::v1::GroupMember& member : group.members()) {
    out[member.member_id()] = ToPartitionSet(member.assignment());
  }
  return out;
}

PartitionSet Unowned(const ferry::v1::DescribeGroupResponse& group,
                     const PartitionSet& partitions) {
  PartitionSet out = partitions;
  for (const auto& [member, assignment] : MemberAssignments(group)) {
    for (const Partition& partition : assignment) out.erase(partition);
  }
  return out;
}

std::vector<int64_t> PublishToPartition(Broker::Stub& broker, const std::string& topic,
                                        int32_t partition, int count) {
  std::vector<ferry::v1::Record> records;
  for (int i = 0; i < count; ++i) {
    records.push_back(MakeRecord(absl::StrCat("key-", i), absl::StrCat("value-", i)));
  }
  ferry::v1::PublishResponse response;
  const grpc::Status status = Publish(broker, topic, partition, records, &response);
  if (!status.ok()) {
    ADD_FAILURE() << "Publish to " << topic << "-" << partition << ": "
                  << CodeName(status.error_code()) << ": " << status.error_message();
    return {};
  }
  std::vector<int64_t> offsets;
  for (const ferry::v1::RecordAck& ack : response.acks()) offsets.push_back(ack.offset());
  return offsets;
}

size_t GroupStream::State::RecordCount(const Partition& partition) const {
  auto it = records.find(partition);
  return it == records.end() ? 0 : it->second.size();
}

size_t GroupStream::State::TotalRecords() const {
  size_t total = 0;
  for (const auto& [partition, list] : records) total += list.size();
  return total;
}

GroupStream::GroupStream(Broker::Stub& broker, const std::string& group,
                         const std::string& member_id, ferry::v1::OffsetReset offset_reset,
                         absl::Duration timeout) {
  ferry::v1::SubscribeRequest request;
  request.mutable_group()->set_group(group);
  request.mutable_group()->set_member_id(member_id);
  request.mutable_group()->set_offset_reset(offset_reset);
  SetDeadline(&context_, timeout);
  reader_ = broker.Subscribe(&context_, request);
  thread_ = std::thread([this] { ReadLoop(); });
}

GroupStream::~GroupStream() {
  context_.TryCancel();
  thread_.join();
}

void GroupStream::ReadLoop() {
  ferry::v1::SubscribeResponse response;
  while (reader_->Read(&response)) {
    absl::MutexLock lock(&mu_);
    if (response.has_assignment()) {
      state_.changes.push_back(response.assignment());
      state_.assignment = ToPartitionSet(response.assignment().assignment());
    } else {
      std::vector<ferry::v1::Record>& records =
          state_.records[{response.topic(), response.partition()}];
      records.insert(records.end(), response.records().begin(), response.records().end());
    }
    state_.messages.push_back(std::move(response));
    response.Clear();
  }
  grpc::Status status = reader_->Finish();
  absl::MutexLock lock(&mu_);
  state_.status = std::move(status);
  state_.ended = true;
}

bool GroupStream::WaitUntil(const std::function<bool(const State&)>& condition,
                            absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  // A stream that ended will not change any more: stop waiting then.
  auto done = [this, &condition]()
                  ABSL_SHARED_LOCKS_REQUIRED(mu_) { return state_.ended || condition(state_); };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  return condition(state_);
}

bool GroupStream::WaitForChanges(size_t count, absl::Duration timeout) {
  return WaitUntil([count](const State& s) { return s.changes.size() >= count; }, timeout);
}

bool GroupStream::WaitForAssignment(const PartitionSet& assignment, absl::Duration timeout) {
  return WaitUntil(
      [&assignment](const State& s) { return !s.changes.empty() && s.assignment == assignment; },
      timeout);
}

bool GroupStream::WaitForRecords(const Partition& partition, size_t count, absl::Duration timeout) {
  return WaitUntil(
      [&partition, count](const State& s) { return s.RecordCount(partition) >= count; }, timeout);
}

bool GroupStream::WaitForEnd(absl::Duration timeout) {
  return WaitUntil([](const State& s) { return s.ended; }, timeout);
}

void GroupStream::Cancel() { context_.TryCancel(); }

GroupStream::State GroupStream::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

PartitionSet GroupStream::assignment() const {
  absl::MutexLock lock(&mu_);
  return state_.assignment;
}

std::vector<ferry::v1::AssignmentChange> GroupStream::changes() const {
  absl::MutexLock lock(&mu_);
  return state_.changes;
}

std::vector<ferry::v1::Record> GroupStream::records(const Partition& partition) const {
  absl::MutexLock lock(&mu_);
  auto it = state_.records.find(partition);
  return it == state_.records.end() ? std::vector<ferry::v1::Record>() : it->second;
}

}  // namespace ferry::integration
