#include "server/grpc/group_subscribe.h"

#include <deque>
#include <map>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/validation.h"
#include "server/grpc/status.h"
#include "server/grpc/wire_messages.h"

namespace ferry::grpc_server {
namespace {

using group::TopicPartition;

// The stream's state, shared with the coordinator (as its MemberStream) and with partition
// waiters, which may outlive the gRPC reactor: once the reactor is done they find it detached.
//
// Exactly one party drives the stream at a time (`busy_`): a Run() call or the write in flight.
// Events that arrive meanwhile set `kicked_`, and the driver looks again before going idle.
class GroupStream final : public group::MemberStream,
                          public std::enable_shared_from_this<GroupStream> {
 public:
  class Reactor;

  GroupStream(broker::Broker* broker, group::ConsumerGroups* groups,
              const v1::SubscribeRequest& request)
      : broker_(broker),
        groups_(groups),
        group_(request.group().group()),
        member_id_(request.group().member_id()),
        reset_(request.group().offset_reset()),
        max_records_(request.max_records_per_message()),
        max_bytes_(request.max_bytes_per_message()) {}

  void OnAssignmentChange(const group::AssignmentChange& change) override {
    {
      absl::MutexLock lock(&mu_);
      for (const auto& tp : change.revoked) {
        auto it = parts_.find(tp);
        if (it == parts_.end()) continue;
        if (it->second.waiter != 0 && it->second.log != nullptr) {
          it->second.log->RemoveWaiter(it->second.waiter);
        }
        parts_.erase(it);  // delivery of a revoked partition stops here
      }
      for (const auto& tp : change.added) parts_.try_emplace(tp);
      events_.push_back(change);
    }
    Kick();
  }

  void OnRemoved(const absl::Status& why) override {
    {
      absl::MutexLock lock(&mu_);
      if (!end_.has_value()) end_ = why;
    }
    Kick();
  }

  // Registers with the coordinator and starts. Returns the error that ends the stream at once.
  absl::Status Start(Reactor* reactor);
  void Cancel() {
    {
      absl::MutexLock lock(&mu_);
      if (!end_.has_value()) end_ = absl::CancelledError("cancelled by the client");
    }
    Kick();
  }
  void WriteDone(bool ok);
  void Detach();

 private:
  struct Part {
    std::shared_ptr<storage::PartitionLog> log;  // null until the start offset is known
    int64_t next = 0;
    uint64_t waiter = 0;
  };

  void Kick();
  void Run();
  // Reads the next message of records into `response_`; false when every partition is
  // caught up. Sets `failure` when the stream must end.
  bool ReadSome(std::optional<absl::Status>* failure);
  // Marks the stream finished and drops its waiters; the caller then calls Finish.
  void EndLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  broker::Broker* const broker_;
  group::ConsumerGroups* const groups_;
  const std::string group_;
  const std::string member_id_;
  const v1::OffsetReset reset_;
  const int32_t max_records_;
  const int32_t max_bytes_;

  absl::Mutex mu_;
  Reactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t stream_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<TopicPartition, Part> parts_ ABSL_GUARDED_BY(mu_);
  std::deque<group::AssignmentChange> events_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  TopicPartition last_served_ ABSL_GUARDED_BY(mu_);

  grpc::ByteBuffer response_;  // owned by the driver
};

class GroupStream::Reactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit Reactor(std::shared_ptr<GroupStream> stream) : stream_(std::move(stream)) {}
  void Begin() {
    absl::Status s = stream_->Start(this);
    if (!s.ok()) Finish(ToGrpcStatus(s));
  }
  void OnWriteDone(bool ok) override { stream_->WriteDone(ok); }
  void OnCancel() override { stream_->Cancel(); }
  void OnDone() override {
    stream_->Detach();
    delete this;
  }

 private:
  std::shared_ptr<GroupStream> stream_;
};

absl::Status GroupStream::Start(Reactor* reactor) {
  absl::Status s = broker::ValidateGroupName(group_);
  if (!s.ok()) return s;
  if (member_id_.empty()) {
    return absl::InvalidArgumentError("member_id is empty: call JoinGroup first");
  }
  if (max_records_ < 0 || max_bytes_ < 0) {
    return absl::InvalidArgumentError(
        "max_records_per_message and max_bytes_per_message must be >= 0 (0: broker default)");
  }
  if (reset_ < v1::OFFSET_RESET_UNSPECIFIED || reset_ > v1::OFFSET_RESET_LATEST) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown offset_reset ", static_cast<int>(reset_)));
  }
  {
    absl::MutexLock lock(&mu_);
    reactor_ = reactor;
    busy_ = true;  // hold events until registered
  }
  // The coordinator delivers the current assignment as the first event.
  auto id = groups_->coordinator().OpenStream(group_, member_id_, shared_from_this());
  if (!id.ok()) {
    absl::MutexLock lock(&mu_);
    reactor_ = nullptr;
    busy_ = false;
    return id.status();
  }
  {
    absl::MutexLock lock(&mu_);
    stream_id_ = *id;
  }
  broker_->streams().group.fetch_add(1);
  Run();
  return absl::OkStatus();
}

void GroupStream::Kick() {
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || reactor_ == nullptr) return;
    if (busy_) {
      kicked_ = true;
      return;
    }
    busy_ = true;
  }
  Run();
}

void GroupStream::WriteDone(bool ok) {
  if (!ok) {
    absl::MutexLock lock(&mu_);
    if (!end_.has_value()) end_ = absl::CancelledError("the client went away");
  }
  Run();  // still busy: the write was the driver
}

void GroupStream::EndLocked() {
  finished_ = true;
  for (auto& [tp, part] : parts_) {
    if (part.waiter != 0 && part.log != nullptr) part.log->RemoveWaiter(part.waiter);
    part.waiter = 0;
  }
}

void GroupStream::Detach() {
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    reactor_ = nullptr;
    id = stream_id_;
    for (auto& [tp, part] : parts_) {
      if (part.waiter != 0 && part.log != nullptr) part.log->RemoveWaiter(part.waiter);
      part.waiter = 0;
    }
  }
  if (id != 0) {
    broker_->streams().group.fetch_sub(1);
    groups_->coordinator().CloseStream(group_, member_id_, id);
  }
}

// The reactor's StartWrite and Finish are called without holding mu_: gRPC may run a
// reaction (OnWriteDone) inline. The reactor outlives this call: only Finish leads to OnDone,
// and only the driver calls Finish.
void GroupStream::Run() {
  while (true) {
    Reactor* reactor = nullptr;
    std::optional<absl::Status> end;
    bool write = false;
    {
      absl::MutexLock lock(&mu_);
      kicked_ = false;
      if (finished_ || reactor_ == nullptr) {
        busy_ = false;
        return;
      }
      reactor = reactor_;
      if (end_.has_value()) {
        EndLocked();
        end = *end_;
      } else if (!events_.empty()) {
        const group::AssignmentChange change = std::move(events_.front());
        events_.pop_front();
        v1::SubscribeResponse message;
        v1::AssignmentChange* a = message.mutable_assignment();
        a->set_generation(change.generation);
        const auto fill = [](const std::vector<TopicPartition>& from,
                             google::protobuf::RepeatedPtrField<v1::TopicPartition>* to) {
          for (const auto& tp : from) {
            v1::TopicPartition* out = to->Add();
            out->set_topic(tp.first);
            out->set_partition(tp.second);
          }
        };
        fill(change.added, a->mutable_added());
        fill(change.revoked, a->mutable_revoked());
        fill(change.assignment, a->mutable_assignment());
        response_ = MessageToByteBuffer(message);
        write = true;
      }
    }
    // OK when the member left: the stream ends normally.
    if (end.has_value()) return reactor->Finish(ToGrpcStatus(*end));
    if (write) return reactor->StartWrite(&response_);
    std::optional<absl::Status> failure;
    if (ReadSome(&failure)) return reactor->StartWrite(&response_);
    absl::MutexLock lock(&mu_);
    if (failure.has_value() && !end_.has_value()) end_ = *failure;
    if (kicked_ || end_.has_value() || !events_.empty()) continue;
    // Every partition is caught up: wait for an append on any of them.
    bool ready = false;
    for (auto& [tp, part] : parts_) {
      if (part.log == nullptr || part.waiter != 0) continue;
      std::weak_ptr<GroupStream> weak = weak_from_this();
      const TopicPartition key = tp;
      part.waiter = part.log->AddWaiter(part.next, [weak, key] {
        if (auto self = weak.lock()) {
          {
            absl::MutexLock lock(&self->mu_);
            auto it = self->parts_.find(key);
            if (it != self->parts_.end()) it->second.waiter = 0;
          }
          self->Kick();
        }
      });
      if (part.waiter == 0) ready = true;
    }
    if (ready) continue;
    busy_ = false;
    return;
  }
}

bool GroupStream::ReadSome(std::optional<absl::Status>* failure) {
  // Resolve start offsets of newly added partitions, then read round-robin after the partition
  // served last, so that one busy partition cannot starve the others.
  std::vector<std::pair<TopicPartition, Part>> snapshot;
  TopicPartition after;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, part] : parts_) snapshot.emplace_back(tp, part);
    after = last_served_;
  }
  for (auto& [tp, part] : snapshot) {
    if (part.log != nullptr) continue;
    auto log = broker_->GetPartition(tp.first, tp.second);
    if (!log.ok()) continue;  // deleted meanwhile: the coordinator revokes it
    auto start = groups_->StartOffset(group_, tp, reset_);
    if (!start.ok()) {
      *failure = start.status();
      return false;
    }
    part.log = *log;
    part.next = *start;
    absl::MutexLock lock(&mu_);
    auto it = parts_.find(tp);
    if (it != parts_.end() && it->second.log == nullptr) {
      it->second.log = part.log;
      it->second.next = part.next;
    }
  }
  std::stable_partition(snapshot.begin(), snapshot.end(),
                        [&](const auto& e) { return e.first > after; });
  for (auto& [tp, part] : snapshot) {
    if (part.log == nullptr) continue;
    std::string message;
    StartRecordsMessage(tp.first, tp.second, &message);
    int32_t records = 0;
    auto next =
        broker_->ReadEncoded(*part.log, part.next, max_records_, max_bytes_, &message, &records);
    if (!next.ok()) {
      if (absl::IsOutOfRange(next.status()) && part.next < part.log->log_start_offset() &&
          reset_ != v1::OFFSET_RESET_NONE) {
        // Retention passed a slow member by: skip to the log start.
        absl::MutexLock lock(&mu_);
        auto it = parts_.find(tp);
        if (it != parts_.end()) it->second.next = part.log->log_start_offset();
        continue;
      }
      if (absl::IsNotFound(next.status())) continue;  // topic deleted: revocation follows
      *failure = next.status();
      return false;
    }
    if (records == 0) continue;
    absl::MutexLock lock(&mu_);
    auto it = parts_.find(tp);
    // Revoked while reading: drop the records, never deliver a partition the member lost.
    if (it == parts_.end() || it->second.next != part.next) continue;
    it->second.next = *next;
    last_served_ = tp;
    FinishRecordsMessage(part.log->end_offset(), &message);
    response_ = StringToByteBuffer(std::move(message));
    broker_->CountDelivered(tp.first, group_, records);
    return true;
  }
  return false;
}

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* NewGroupSubscribeReactor(
    broker::Broker* broker, group::ConsumerGroups* groups, const v1::SubscribeRequest& request) {
  auto stream = std::make_shared<GroupStream>(broker, groups, request);
  auto* reactor = new GroupStream::Reactor(stream);
  reactor->Begin();
  return reactor;
}

}  // namespace ferry::grpc_server
