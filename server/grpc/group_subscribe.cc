#include "server/grpc/group_subscribe.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/validation.h"
#include "server/grpc/convert.h"
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
              const v1::SubscribeRequest& request, Caller caller)
      : caller_(std::move(caller)),
        broker_(broker),
        groups_(groups),
        group_(request.group().group()),
        member_id_(request.group().member_id()),
        requested_reset_(request.group().offset_reset()),
        max_records_(request.max_records_per_message()),
        max_bytes_(request.max_bytes_per_message()) {}

  void OnAssignmentChange(const group::AssignmentChange& change) override {
    {
      absl::MutexLock lock(&mu_);
      for (const auto& tp : change.revoked) {
        // Delivery of a revoked partition stops here (its reader's wait ends with it).
        parts_.erase(tp);
      }
      Pending pending{change, {}};
      for (const auto& tp : change.added) {
        auto [it, added] = parts_.try_emplace(tp);
        if (added) it->second.epoch = ++epochs_;
        pending.added_epochs.emplace_back(tp, it->second.epoch);
      }
      events_.push_back(std::move(pending));
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
    // Null until the start offset is known, and while the driver reads with it.
    std::unique_ptr<broker::TailReader> reader;
    uint64_t epoch = 0;  // tells a re-added partition from the one the driver took
    // Set once the assignment change that added this epoch is written: no record of a
    // partition may reach the member before the member learns that it owns the partition (a
    // client drops records of partitions it does not own, and the reader would have moved on).
    bool announced = false;
  };
  // An assignment change waiting to be written, with the epochs of the partitions it adds.
  struct Pending {
    group::AssignmentChange change;
    std::vector<std::pair<TopicPartition, uint64_t>> added_epochs;
  };

  void Kick();
  void Run();
  // Reads the next message of records into `response_`; false when every partition is
  // caught up. Sets `failure` when the stream must end.
  bool ReadSome(std::optional<absl::Status>* failure);
  // Marks the stream finished and drops its waiters; the caller then calls Finish.
  void EndLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Caller caller_;
  broker::Broker* const broker_;
  group::ConsumerGroups* const groups_;
  const std::string group_;
  const std::string member_id_;
  const v1::OffsetReset requested_reset_;
  broker::OffsetReset reset_ = broker::OffsetReset::kLatest;
  const int32_t max_records_;
  const int32_t max_bytes_;

  absl::Mutex mu_;
  Reactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t stream_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<TopicPartition, Part> parts_ ABSL_GUARDED_BY(mu_);
  uint64_t epochs_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Pending> events_ ABSL_GUARDED_BY(mu_);
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
  // Unspecified: Kafka's default auto.offset.reset, latest.
  auto reset = ResetFromProto(requested_reset_, broker::OffsetReset::kLatest);
  if (!reset.ok()) return reset.status();
  reset_ = *reset;
  {
    absl::MutexLock lock(&mu_);
    reactor_ = reactor;
    busy_ = true;  // hold events until registered
  }
  // The coordinator delivers the current assignment as the first event.
  auto id = groups_->OpenStream(group_, member_id_, shared_from_this());
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
  if (broker_->observer() != nullptr) broker_->observer()->OnStream("group", +1);
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
    if (part.reader != nullptr) part.reader->CancelWait();
  }
}

void GroupStream::Detach() {
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    reactor_ = nullptr;
    id = stream_id_;
    for (auto& [tp, part] : parts_) {
      if (part.reader != nullptr) part.reader->CancelWait();
    }
  }
  if (id != 0) {
    if (broker_->observer() != nullptr) broker_->observer()->OnStream("group", -1);
    groups_->CloseStream(group_, member_id_, id);
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
        const Pending pending = std::move(events_.front());
        events_.pop_front();
        const group::AssignmentChange& change = pending.change;
        for (const auto& [tp, epoch] : pending.added_epochs) {
          auto it = parts_.find(tp);
          if (it != parts_.end() && it->second.epoch == epoch) it->second.announced = true;
        }
        v1::SubscribeResponse message;
        v1::AssignmentChange* a = message.mutable_assignment();
        a->set_generation(change.generation);
        ToProto(change.added, a->mutable_added());
        ToProto(change.revoked, a->mutable_revoked());
        ToProto(change.assignment, a->mutable_assignment());
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
      if (part.reader == nullptr) continue;
      std::weak_ptr<GroupStream> weak = weak_from_this();
      // A new wait replaces the reader's previous one, if any.
      if (!part.reader->WaitAsync([weak] {
            if (auto self = weak.lock()) self->Kick();
          })) {
        ready = true;
      }
    }
    if (ready) continue;
    busy_ = false;
    return;
  }
}

bool GroupStream::ReadSome(std::optional<absl::Status>* failure) {
  // Open readers of newly added partitions, then read round-robin after the partition served
  // last, so that one busy partition cannot starve the others. The driver takes a reader out
  // of `parts_` while it reads (no lock across I/O) and puts it back unless the partition was
  // revoked meanwhile.
  std::vector<std::pair<TopicPartition, uint64_t>> unopened, open;
  TopicPartition after;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, part] : parts_) {
      if (!part.announced) continue;  // its assignment change is not written yet
      (part.reader == nullptr ? unopened : open).emplace_back(tp, part.epoch);
    }
    after = last_served_;
  }
  for (const auto& [tp, epoch] : unopened) {
    if (absl::Status s =
            caller_.Check(security::Operation::kRead, security::ResourceType::kTopic, tp.first);
        !s.ok()) {
      *failure = s;
      return false;
    }
    auto reader = groups_->OpenReader(group_, tp, reset_);
    if (absl::IsNotFound(reader.status())) continue;  // deleted meanwhile: revocation follows
    if (!reader.ok()) {
      *failure = reader.status();
      return false;
    }
    absl::MutexLock lock(&mu_);
    auto it = parts_.find(tp);
    if (it == parts_.end() || it->second.epoch != epoch || it->second.reader != nullptr) continue;
    it->second.reader = std::make_unique<broker::TailReader>(*std::move(reader));
    open.emplace_back(tp, epoch);
  }
  std::sort(open.begin(), open.end());
  std::stable_partition(open.begin(), open.end(), [&](const auto& e) { return e.first > after; });
  for (const auto& [tp, epoch] : open) {
    std::unique_ptr<broker::TailReader> reader;
    {
      absl::MutexLock lock(&mu_);
      auto it = parts_.find(tp);
      if (it == parts_.end() || it->second.epoch != epoch || it->second.reader == nullptr) {
        continue;
      }
      reader = std::move(it->second.reader);
      reader->CancelWait();
    }
    std::string message;
    StartRecordsMessage(tp.first, tp.second, &message);
    auto records = reader->Read(max_records_, max_bytes_, [&](std::string_view r, int64_t o) {
      broker::AppendRecordWithOffset(r, o, &message);
      return absl::OkStatus();
    });
    absl::MutexLock lock(&mu_);
    auto it = parts_.find(tp);
    // Revoked while reading: drop the records, never deliver a partition the member lost.
    if (it == parts_.end() || it->second.epoch != epoch) continue;
    it->second.reader = std::move(reader);
    if (!records.ok()) {
      if (absl::IsNotFound(records.status())) continue;  // topic deleted: revocation follows
      *failure = records.status();
      return false;
    }
    if (*records == 0) continue;
    last_served_ = tp;
    FinishRecordsMessage(it->second.reader->end_offset(), &message);
    response_ = StringToByteBuffer(std::move(message));
    return true;
  }
  return false;
}

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* NewGroupSubscribeReactor(
    broker::Broker* broker, group::ConsumerGroups* groups, const v1::SubscribeRequest& request,
    Caller caller) {
  auto stream = std::make_shared<GroupStream>(broker, groups, request, std::move(caller));
  auto* reactor = new GroupStream::Reactor(stream);
  reactor->Begin();
  return reactor;
}

}  // namespace ferry::grpc_server
