#include "server/grpc/broker_service.h"

#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/validation.h"
#include "server/grpc/convert.h"
#include "server/grpc/group_subscribe.h"
#include "server/grpc/status.h"
#include "server/grpc/wire_messages.h"

namespace ferry::grpc_server {

using security::Operation;
using security::ResourceType;

// ---------------------------------------------------------------------------------------------
// PublishStream: requests are appended as they arrive (up to kMaxInFlight at once), and answers
// are written in request order, one write at a time.
//
// The reactor owns itself through `self_` until OnDone; append callbacks and the shutdown
// path hold their own references, so none of them can outlive it.
//
// Requests and answers are handled as bytes: records go to storage as they came, and answers
// are encoded directly, so no message is built per record.
class PublishStreamReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
      public std::enable_shared_from_this<PublishStreamReactor> {
 public:
  PublishStreamReactor(broker::Broker* broker, Caller caller)
      : broker_(broker), caller_(std::move(caller)) {}

  void Start() {
    self_ = shared_from_this();
    {
      absl::MutexLock lock(&mu_);
      reading_ = true;
    }
    StartRead(&request_);
  }

  // Shutdown: stop reading; finish with UNAVAILABLE once the answers in flight are written.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    Drive();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      {
        absl::MutexLock lock(&mu_);
        reading_ = false;
        reads_done_ = true;
      }
      Drive();
      return;
    }
    auto slot = std::make_shared<Slot>();
    grpc::Slice slice;
    std::string copy;
    std::string_view bytes;
    broker::PublishBatch request;
    uint64_t sequence = 0;
    // `request` views `bytes`, which `slice` or `copy` keep until Publish returns.
    absl::Status parsed = ByteBufferView(request_, &slice, &copy, &bytes)
                              ? broker::ParsePublishRequest(bytes, &request, &sequence)
                              : absl::InvalidArgumentError("unreadable request");
    // A request the caller may not make is answered with its error; the stream stays open.
    if (parsed.ok()) parsed = caller_.Check(Operation::kWrite, ResourceType::kTopic, request.topic);
    {
      // `reading_` stays true until this request is in the commit queue, so no later request
      // of the stream can be read and appended ahead of it.
      absl::MutexLock lock(&mu_);
      slots_.push_back(slot);
    }
    auto answer = [this, self = shared_from_this(), slot, sequence](
                      absl::Status s, const broker::PublishAcks* acks) {
      std::string response = EncodePublishStreamResponse(sequence, s, acks);
      {
        absl::MutexLock lock(&mu_);
        slot->response = std::move(response);
        slot->done = true;
      }
      Drive();
    };
    if (parsed.ok()) {
      broker_->Publish(request, std::move(answer));
    } else {
      answer(parsed, nullptr);
    }
    request_.Clear();
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
    }
    Drive();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) broken_ = true;
    }
    Drive();
  }

  void OnDone() override {
    // Deletes this, unless an append callback or the shutdown path still holds a reference.
    std::shared_ptr<PublishStreamReactor> last = std::move(self_);
  }

 private:
  static constexpr size_t kMaxInFlight = 64;

  struct Slot {
    bool done = false;
    std::string response;  // a PublishStreamResponse
  };

  // Decides the next steps under the lock and takes them outside it: gRPC may run a reaction
  // inline from StartRead/StartWrite.
  void Drive() {
    bool read = false, write = false, finish = false;
    grpc::Status status = grpc::Status::OK;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      if (broken_) {
        // The client is gone: drop answers, but wait for appends in flight (they hold `this`).
        while (!slots_.empty() && slots_.front()->done) slots_.pop_front();
      } else if (!writing_ && !slots_.empty() && slots_.front()->done) {
        current_ = StringToByteBuffer(std::move(slots_.front()->response));
        slots_.pop_front();
        writing_ = write = true;
      }
      if (!broken_ && !stopping_ && !reading_ && !reads_done_ && slots_.size() < kMaxInFlight) {
        reading_ = read = true;
      }
      if ((reads_done_ || broken_) && slots_.empty() && !writing_ && !reading_) {
        finished_ = finish = true;
      } else if (stopping_ && slots_.empty() && !writing_) {
        // A read may still be pending: Finish ends it (it completes with ok = false).
        finished_ = finish = true;
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the broker is shutting down; every request before this was "
                              "answered: reconnect and send the rest");
      }
    }
    if (write) StartWrite(&current_);
    if (read) StartRead(&request_);
    if (finish) Finish(status);
  }

  broker::Broker* const broker_;
  const Caller caller_;
  grpc::ByteBuffer request_;  // owned by the read in progress
  grpc::ByteBuffer current_;  // owned by the write in progress
  absl::Mutex mu_;
  std::deque<std::shared_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<PublishStreamReactor> self_;
};

namespace {

// ---------------------------------------------------------------------------------------------
// Subscribe (direct mode): read, write, and when caught up, wait on the partition's append
// notification. At any time exactly one of these owns the stream: a Pump() call, the write in
// flight, or the registered waiter; OnCancel only flags and, when the waiter is idle, finishes.
class SubscribeReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  SubscribeReactor(broker::Broker* broker, const v1::SubscribeRequest& request,
                   const Caller& caller)
      : broker_(broker) {
    absl::Status s =
        request.mode_case() == v1::SubscribeRequest::kDirect
            ? caller.Check(Operation::kRead, ResourceType::kTopic, request.direct().topic())
            : absl::OkStatus();
    if (s.ok()) s = Init(request);
    if (!s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    Pump();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    Pump();
  }

  void OnCancel() override {
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      if (waiting_ && reader_->CancelWait()) {
        waiting_ = false;
        finish = true;
      }
    }
    if (finish) Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
  }

  void OnDone() override {
    if (reader_.has_value() && broker_->observer() != nullptr) {
      broker_->observer()->OnStream("direct", -1);
    }
    delete this;
  }

 private:
  absl::Status Init(const v1::SubscribeRequest& request) {
    if (request.max_records_per_message() < 0 || request.max_bytes_per_message() < 0) {
      return absl::InvalidArgumentError(
          "max_records_per_message and max_bytes_per_message must be >= 0 (0: broker default)");
    }
    max_records_ = request.max_records_per_message();
    max_bytes_ = request.max_bytes_per_message();
    if (request.mode_case() != v1::SubscribeRequest::kDirect) {
      return absl::InvalidArgumentError("set `direct` (topic and partition) or `group`");
    }
    const v1::DirectSubscription& direct = request.direct();
    auto start = FromProto(direct);
    if (!start.ok()) return start.status();
    auto reader =
        broker_->OpenReader(direct.topic(), direct.partition(), start->start, start->reset);
    if (!reader.ok()) return reader.status();
    reader_.emplace(*std::move(reader));
    if (broker_->observer() != nullptr) broker_->observer()->OnStream("direct", +1);
    return absl::OkStatus();
  }

  void Pump() {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        if (cancelled_) break;
      }
      std::string message;
      StartRecordsMessage(reader_->topic(), reader_->partition(), &message);
      auto records = reader_->Read(max_records_, max_bytes_, [&](std::string_view r, int64_t o) {
        broker::AppendRecordWithOffset(r, o, &message);
        return absl::OkStatus();
      });
      if (!records.ok()) {
        Finish(ToGrpcStatus(records.status()));
        return;
      }
      if (*records > 0) {
        FinishRecordsMessage(reader_->end_offset(), &message);
        response_ = StringToByteBuffer(std::move(message));
        StartWrite(&response_);
        return;
      }
      absl::MutexLock lock(&mu_);
      if (cancelled_) break;
      waiting_ = reader_->WaitAsync([this] { OnAppended(); });
      if (waiting_) return;
      // Records arrived (or the log went away) between the read and the registration.
    }
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
  }

  void OnAppended() {
    {
      absl::MutexLock lock(&mu_);
      waiting_ = false;
    }
    Pump();
  }

  broker::Broker* const broker_;
  std::optional<broker::TailReader> reader_;
  int32_t max_records_ = 0;
  int32_t max_bytes_ = 0;
  grpc::ByteBuffer response_;  // owned by the write in flight

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
};

// Streams refused before they start (the broker is not ready).
class RefusedWriteReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit RefusedWriteReactor(const absl::Status& s) { Finish(ToGrpcStatus(s)); }
  void OnDone() override { delete this; }
};

class RefusedBidiReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RefusedBidiReactor(const absl::Status& s) { Finish(ToGrpcStatus(s)); }
  void OnDone() override { delete this; }
};

}  // namespace

BrokerService::BrokerService(const Engine* engine)
    : StrictUnaryMethods("ferry.v1.Broker"), engine_(engine) {
  // Publish is a raw method: it parses its own bytes.
  Strict("JoinGroup", &BrokerService::JoinGroup);
  Strict("Heartbeat", &BrokerService::Heartbeat);
  Strict("LeaveGroup", &BrokerService::LeaveGroup);
  Strict("CommitOffset", &BrokerService::CommitOffset);
  Strict("FetchOffsets", &BrokerService::FetchOffsets);
}

grpc::ServerUnaryReactor* BrokerService::Publish(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    grpc::Slice slice;
    std::string copy;
    std::string_view bytes;
    broker::PublishBatch batch;
    uint64_t sequence = 0;
    // `batch` views `bytes`, which `slice` or `copy` keep until Publish returns.
    absl::Status parsed = ByteBufferView(*request, &slice, &copy, &bytes)
                              ? broker::ParsePublishRequest(bytes, &batch, &sequence)
                              : absl::InvalidArgumentError("unreadable request");
    if (parsed.ok()) parsed = caller.Check(Operation::kWrite, ResourceType::kTopic, batch.topic);
    if (!parsed.ok()) {
      reactor->Finish(ToGrpcStatus(parsed));
      return reactor;
    }
    e.broker->Publish(batch, [reactor, response](absl::Status s, const broker::PublishAcks* acks) {
      if (s.ok()) *response = StringToByteBuffer(EncodePublishResponse(*acks));
      reactor->Finish(ToGrpcStatus(s));
    });
    return reactor;
  });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* BrokerService::PublishStream(
    grpc::CallbackServerContext* context) {
  auto ready = engine_->Get();
  if (!ready.ok()) return new RefusedBidiReactor(ready.status());
  auto caller = engine_->Authenticate(*context, *ready);
  if (!caller.ok()) return new RefusedBidiReactor(caller.status());
  auto reactor = std::make_shared<PublishStreamReactor>(ready->broker, *std::move(caller));
  {
    absl::MutexLock lock(&streams_mu_);
    if (stopping_) {
      return new RefusedBidiReactor(absl::UnavailableError("the broker is shutting down"));
    }
    std::erase_if(publish_streams_, [](const auto& w) { return w.expired(); });
    publish_streams_.push_back(reactor);
  }
  reactor->Start();
  return reactor.get();
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* BrokerService::Subscribe(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw) {
  auto ready = engine_->Get();
  if (!ready.ok()) return new RefusedWriteReactor(ready.status());
  auto caller = engine_->Authenticate(*context, *ready);
  if (!caller.ok()) return new RefusedWriteReactor(caller.status());
  v1::SubscribeRequest request;
  std::string bytes;
  if (!ByteBufferToString(*raw, &bytes) || !request.ParseFromString(bytes)) {
    return new RefusedWriteReactor(
        absl::InvalidArgumentError("the request is not a ferry.v1.SubscribeRequest"));
  }
  if (request.mode_case() == v1::SubscribeRequest::kGroup) {
    if (absl::Status s =
            caller->Check(Operation::kRead, ResourceType::kGroup, request.group().group());
        !s.ok()) {
      return new RefusedWriteReactor(s);
    }
    return NewGroupSubscribeReactor(ready->broker, ready->groups, request, *std::move(caller));
  }
  return new SubscribeReactor(ready->broker, request, *caller);
}

void BrokerService::StopStreams() {
  std::vector<std::weak_ptr<PublishStreamReactor>> streams;
  {
    absl::MutexLock lock(&streams_mu_);
    stopping_ = true;
    streams.swap(publish_streams_);
  }
  for (auto& weak : streams) {
    if (auto reactor = weak.lock()) reactor->Stop();  // no lock held: Finish may run OnDone
  }
}

grpc::ServerUnaryReactor* BrokerService::JoinGroup(grpc::CallbackServerContext* context,
                                                   const v1::JoinGroupRequest* request,
                                                   v1::JoinGroupResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    // Read on the group, and on every topic the member would consume.
    if (absl::Status s = caller.Check(Operation::kRead, ResourceType::kGroup, request->group());
        !s.ok()) {
      return s;
    }
    for (const std::string& topic : request->topics()) {
      if (absl::Status s = caller.Check(Operation::kRead, ResourceType::kTopic, topic); !s.ok()) {
        return s;
      }
    }
    if (request->session_timeout_ms() < 0) {
      return absl::InvalidArgumentError("session_timeout_ms must be >= 0 (0: default)");
    }
    group::JoinRequest join;
    join.group = request->group();
    join.topics.assign(request->topics().begin(), request->topics().end());
    join.session_timeout = absl::Milliseconds(request->session_timeout_ms());
    join.member_id = request->member_id();
    join.instance_id = request->instance_id();
    if (request->rebalance_timeout_ms() < 0) {
      return absl::InvalidArgumentError("rebalance_timeout_ms must be >= 0 (0: the broker's)");
    }
    join.revoke_grace = absl::Milliseconds(request->rebalance_timeout_ms());
    switch (request->assignor()) {
      case v1::ASSIGNOR_UNSPECIFIED:
        break;  // the group's
      case v1::ASSIGNOR_STICKY:
        join.assignor = group::AssignorKind::kSticky;
        break;
      case v1::ASSIGNOR_RANGE:
        join.assignor = group::AssignorKind::kRange;
        break;
      case v1::ASSIGNOR_ROUNDROBIN:
        join.assignor = group::AssignorKind::kRoundRobin;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("unknown assignor ",
                                                       static_cast<int>(request->assignor()),
                                                       "; use RANGE, ROUNDROBIN or STICKY"));
    }
    auto joined = e.groups->Join(join);
    if (!joined.ok()) return joined.status();
    response->set_member_id(joined->member_id);
    response->set_generation(joined->generation);
    ToProto(joined->assignment, response->mutable_assignment());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* BrokerService::Heartbeat(grpc::CallbackServerContext* context,
                                                   const v1::HeartbeatRequest* request,
                                                   v1::HeartbeatResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    if (absl::Status s = caller.Check(Operation::kRead, ResourceType::kGroup, request->group());
        !s.ok()) {
      return s;
    }
    auto view = e.groups->Heartbeat(request->group(), request->member_id(), request->generation());
    if (!view.ok()) return view.status();
    response->set_generation(view->generation);
    ToProto(view->assignment, response->mutable_assignment());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* BrokerService::LeaveGroup(grpc::CallbackServerContext* context,
                                                    const v1::LeaveGroupRequest* request,
                                                    v1::LeaveGroupResponse* /*response*/) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) {
    absl::Status s = caller.Check(Operation::kRead, ResourceType::kGroup, request->group());
    return s.ok() ? e.groups->Leave(request->group(), request->member_id()) : s;
  });
}

grpc::ServerUnaryReactor* BrokerService::CommitOffset(grpc::CallbackServerContext* context,
                                                      const v1::CommitOffsetRequest* request,
                                                      v1::CommitOffsetResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    // Read on the group and on every topic committed; any refusal commits nothing.
    absl::Status allowed = caller.Check(Operation::kRead, ResourceType::kGroup, request->group());
    for (int i = 0; allowed.ok() && i < request->offsets_size(); ++i) {
      allowed = caller.Check(Operation::kRead, ResourceType::kTopic, request->offsets(i).topic());
    }
    if (!allowed.ok()) {
      reactor->Finish(ToGrpcStatus(allowed));
      return reactor;
    }
    std::vector<group::OffsetToCommit> offsets;
    for (const auto& o : request->offsets()) {
      offsets.push_back({{o.topic(), o.partition()}, o.offset(), o.metadata()});
    }
    e.groups->Commit(
        request->group(), request->member_id(), request->generation(), offsets,
        [reactor, response, offsets](absl::StatusOr<std::vector<absl::Status>> results) {
          if (!results.ok()) {
            reactor->Finish(ToGrpcStatus(results.status()));
            return;
          }
          // Accepted partitions are stored even when others are rejected; the call fails when
          // any is, with every rejection in the message, so a client that checks only the
          // status cannot miss one.
          std::string rejected;
          absl::StatusCode code = absl::StatusCode::kOk;
          for (size_t i = 0; i < results->size(); ++i) {
            const absl::Status& result = (*results)[i];
            v1::CommitResult* r = response->add_results();
            r->set_topic(offsets[i].tp.first);
            r->set_partition(offsets[i].tp.second);
            r->set_code(static_cast<int>(result.code()));
            r->set_message(std::string(result.message()));
            if (!result.ok()) {
              if (code == absl::StatusCode::kOk) code = result.code();
              absl::StrAppend(&rejected, rejected.empty() ? "" : "; ", offsets[i].tp.first, "-",
                              offsets[i].tp.second, ": ", result.message());
            }
          }
          reactor->Finish(code == absl::StatusCode::kOk
                              ? grpc::Status::OK
                              : ToGrpcStatus(absl::Status(code, "commit rejected: " + rejected)));
        });
    return reactor;
  });
}

grpc::ServerUnaryReactor* BrokerService::FetchOffsets(grpc::CallbackServerContext* context,
                                                      const v1::FetchOffsetsRequest* request,
                                                      v1::FetchOffsetsResponse* response) {
  return ServeUnary(engine_, context, [&](const Ready& e, const Caller& caller) -> absl::Status {
    // Describe on the group; on each topic asked for (the whole group's answer leaves out the
    // topics the caller may not describe).
    if (absl::Status s = caller.Check(Operation::kDescribe, ResourceType::kGroup, request->group());
        !s.ok()) {
      return s;
    }
    std::vector<group::TopicPartition> tps;
    for (const auto& tp : request->partitions()) {
      if (absl::Status s = caller.Check(Operation::kDescribe, ResourceType::kTopic, tp.topic());
          !s.ok()) {
        return s;
      }
      tps.emplace_back(tp.topic(), tp.partition());
    }
    auto offsets = e.groups->FetchOffsets(request->group(), tps);
    if (!offsets.ok()) return offsets.status();
    for (const auto& o : *offsets) {
      if (!caller.Allowed(Operation::kDescribe, ResourceType::kTopic, o.topic)) continue;
      v1::CommittedOffset* c = response->add_offsets();
      c->set_topic(o.topic);
      c->set_partition(o.partition);
      c->set_offset(o.offset);
      c->set_metadata(o.metadata);
    }
    return absl::OkStatus();
  });
}

}  // namespace ferry::grpc_server
