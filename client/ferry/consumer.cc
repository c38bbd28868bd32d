#include "ferry/consumer.h"

#include <algorithm>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ferry/rpc.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "google/protobuf/arena.h"

namespace ferry {
namespace {

// Records received but not yet handed out by Poll/Read, at most (about): a reader thread stops
// reading its stream while the queue is full, and the broker's stream waits in turn.
constexpr int64_t kMaxQueuedRecords = 10000;
constexpr int64_t kMaxQueuedBytes = 16 << 20;
constexpr absl::Duration kMinBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Seconds(1);

v1::OffsetReset ToProto(OffsetReset reset) {
  switch (reset) {
    case OffsetReset::kEarliest:
      return v1::OFFSET_RESET_EARLIEST;
    case OffsetReset::kLatest:
      return v1::OFFSET_RESET_LATEST;
    case OffsetReset::kNone:
      return v1::OFFSET_RESET_NONE;
  }
  return v1::OFFSET_RESET_UNSPECIFIED;
}

std::string Name(const TopicPartition& tp) { return absl::StrCat(tp.first, "-", tp.second); }

// A message to receive into, on an arena of its own that it keeps alive: parsing a message of
// a thousand records then costs a few block allocations instead of a malloc and a free per
// Record (malloc and free were about a quarter of the consumer's CPU at a million records a
// second). Values are still std::strings, moved out to ConsumerRecord, not copied.
std::shared_ptr<v1::SubscribeResponse> NewArenaMessage() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 16 << 10;
  options.max_block_size = 64 << 10;  // below glibc's mmap threshold
  auto arena = std::make_shared<google::protobuf::Arena>(options);
  auto* message = google::protobuf::Arena::CreateMessage<v1::SubscribeResponse>(arena.get());
  return std::shared_ptr<v1::SubscribeResponse>(std::move(arena), message);
}

ConsumerRecord ToRecord(const std::string& topic, int32_t partition, v1::Record* r) {
  ConsumerRecord c;
  c.topic = topic;
  c.partition = partition;
  c.offset = r->offset();
  c.timestamp_ms = r->timestamp_ms();
  c.has_key = r->has_key();
  c.has_value = r->has_value();
  c.key = std::move(*r->mutable_key());
  c.value = std::move(*r->mutable_value());
  for (v1::Header& h : *r->mutable_headers()) {
    c.headers.emplace_back(std::move(*h.mutable_key()), std::move(*h.mutable_value()));
  }
  return c;
}

// A direct-mode Subscribe read by its own thread into a sink. With `resume`, a stream that
// ends with UNAVAILABLE is opened again after the last record received.
// Thread-safe; Stop() must not be called from the sink.
class DirectStream {
 public:
  // Takes a message (it may move out of it); returns false to stop reading. May block: that
  // is the back-pressure on the broker.
  using Sink = std::function<bool(v1::SubscribeResponse*)>;
  // Called once when the stream ends by itself (not after Stop or a sink refusal).
  using End = std::function<void(const absl::Status&)>;

  DirectStream(v1::Broker::Stub* stub, v1::SubscribeRequest request, bool resume, Sink sink,
               End end)
      : stub_(stub),
        request_(std::move(request)),
        resume_(resume),
        sink_(std::move(sink)),
        end_(std::move(end)) {}
  ~DirectStream() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }

  // Cancels the stream and waits for the thread. The owner must first make a blocked sink
  // return false.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopped_ = true;
      if (context_ != nullptr) context_->TryCancel();
      cv_.SignalAll();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    absl::Duration backoff = kMinBackoff;
    while (true) {
      grpc::ClientContext context;
      {
        absl::MutexLock lock(&mu_);
        if (stopped_) return;
        context_ = &context;
      }
      std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
          stub_->Subscribe(&context, request_);
      v1::SubscribeResponse message;
      bool refused = false;
      while (reader->Read(&message)) {
        backoff = kMinBackoff;
        if (message.records_size() > 0) {
          v1::DirectSubscription* d = request_.mutable_direct();
          d->set_start(v1::START_POSITION_OFFSET);
          d->set_offset(message.records(message.records_size() - 1).offset() + 1);
        }
        if (!sink_(&message)) {
          refused = true;
          context.TryCancel();
          break;
        }
      }
      absl::Status s = internal::ToStatus(reader->Finish());
      {
        absl::MutexLock lock(&mu_);
        context_ = nullptr;
        if (stopped_ || refused) return;
        if (s.ok()) s = absl::UnavailableError("the broker ended the subscription");
        if (resume_ && absl::IsUnavailable(s)) {
          cv_.WaitWithTimeout(&mu_, backoff);  // retry pacing; Stop wakes it
          backoff = std::min(backoff * 2, kMaxBackoff);
          continue;
        }
      }
      end_(s);
      return;
    }
  }

  v1::Broker::Stub* const stub_;
  v1::SubscribeRequest request_;  // owned by the thread
  const bool resume_;
  const Sink sink_;
  const End end_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// Consumer

class ConsumerImpl final : public Consumer {
 public:
  explicit ConsumerImpl(const ConsumerOptions& options)
      : options_(options),
        channel_(internal::NewChannel(options.broker, options.tls, options.credentials)),
        stub_(v1::Broker::NewStub(channel_)) {}
  ~ConsumerImpl() override { (void)Close(); }

  // Joins as a new member (or the static instance); sets member_id_.
  absl::Status Join();
  void Start() {
    reader_ = std::thread([this] { GroupLoop(); });
  }

  absl::StatusOr<std::vector<ConsumerRecord>> Poll(absl::Duration timeout) override;
  absl::Status Commit() override;
  absl::Status Commit(const std::map<TopicPartition, int64_t>& offsets) override;
  void CommitAsync(std::function<void(absl::Status)> done) override;
  absl::Status Seek(const TopicPartition& tp, int64_t offset) override;
  std::vector<TopicPartition> Assignment() const override;
  std::string member_id() const override;
  absl::Status Close() override;

 private:
  struct Event {
    enum class Kind { kAssignment, kLost, kRecords, kError } kind = Kind::kRecords;
    // kAssignment: the member's whole assignment after the change.
    std::string member_id;
    int64_t generation = 0;
    std::set<TopicPartition> assignment;
    bool revoked = false;  // the change revokes partitions: the broker waits for an answer
    // kRecords: one message of one partition, from the group stream (source 0) or a Seek.
    TopicPartition tp;
    uint64_t source = 0;
    // Shared only to carry its arena along (see NewArenaMessage); one owner at a time.
    std::shared_ptr<v1::SubscribeResponse> message;
    int64_t records = 0;
    int64_t bytes = 0;
    // kError
    absl::Status error;
  };

  // The direct stream that serves a partition after Seek.
  struct SeekStream {
    uint64_t source = 0;
    bool cancelled = false;  // guarded by mu_
    std::unique_ptr<DirectStream> stream;
  };

  // --- the group stream (reader thread) ----------------------------------------------------
  void GroupLoop();
  // Queues a message of the group stream; false when the consumer is closing.
  // Takes `*owned` (leaving it null) when it queues its records.
  bool Deliver(const std::string& member, std::shared_ptr<v1::SubscribeResponse>* owned);
  bool DeliverSeek(SeekStream* seek, const TopicPartition& tp, v1::SubscribeResponse* message);
  // Waits for room in the queue; false when `stop` or closing.
  bool AwaitRoom(const bool* stop) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Enqueue(Event event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops queued records of `tp`.
  void Purge(const TopicPartition& tp) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits `d`, or less when the consumer closes.
  void Pause(absl::Duration d);

  // --- the consuming thread ----------------------------------------------------------------
  void ApplyAssignment(const Event& event);
  void ApplyLost();
  void TakeRecords(Event& event, std::vector<ConsumerRecord>* out);
  void MaybeAutoCommit();
  // Positions of owned partitions (only those not committed yet when `dirty_only`).
  std::map<TopicPartition, int64_t> Positions(bool dirty_only) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits with the newest generation the stream gave; when that is stale, learns the current
  // one and commits again what is still assigned.
  absl::Status CommitSync(std::map<TopicPartition, int64_t> offsets);
  absl::Status SendCommit(const std::string& member, int64_t generation,
                          const std::map<TopicPartition, int64_t>& offsets);
  v1::CommitOffsetRequest CommitRequest(const std::string& member, int64_t generation,
                                        const std::map<TopicPartition, int64_t>& offsets) const;
  void Heartbeat(const std::string& member, int64_t generation);
  absl::Status Leave(const std::string& member);
  // Takes every seek stream out of seeks_ for `which` (all when null); the caller stops them
  // outside the lock.
  std::vector<std::unique_ptr<SeekStream>> TakeSeeks(const std::vector<TopicPartition>* which)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ConsumerOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::Broker::Stub> stub_;

  mutable absl::Mutex mu_;
  absl::CondVar events_cv_;  // an event was queued, or the consumer failed
  absl::CondVar space_cv_;   // the queue has room, or a stream must stop
  absl::CondVar stop_cv_;    // closing
  absl::CondVar async_cv_;   // an async commit finished

  // Membership, as the reader thread knows it.
  std::string member_id_ ABSL_GUARDED_BY(mu_);
  // The generation whose assignment change Poll has applied: commits carry it, so a commit of
  // a partition being revoked never counts as this member's answer before on_revoke has run.
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // The member whose assignment Poll applied (empty after a loss): commits carry it, never the
  // id of a newer incarnation the reader thread already joined as.
  std::string applied_member_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* reader_context_ ABSL_GUARDED_BY(mu_) = nullptr;

  std::deque<Event> events_ ABSL_GUARDED_BY(mu_);
  int64_t queued_records_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Status> fatal_ ABSL_GUARDED_BY(mu_);

  // The assignment and positions as Poll has applied them.
  std::set<TopicPartition> assignment_ ABSL_GUARDED_BY(mu_);
  std::map<TopicPartition, int64_t> positions_ ABSL_GUARDED_BY(mu_);
  std::map<TopicPartition, int64_t> committed_ ABSL_GUARDED_BY(mu_);
  std::map<TopicPartition, uint64_t> sources_ ABSL_GUARDED_BY(mu_);  // absent: group stream
  std::map<TopicPartition, std::unique_ptr<SeekStream>> seeks_ ABSL_GUARDED_BY(mu_);
  uint64_t next_source_ ABSL_GUARDED_BY(mu_) = 1;
  bool revocation_unacked_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_auto_commit_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  int async_pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;    // Close was called
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // threads and streams end
  std::thread reader_;
};

absl::Status ConsumerImpl::Join() {
  v1::JoinGroupRequest request;
  request.set_group(options_.group);
  for (const std::string& t : options_.topics) request.add_topics(t);
  request.set_session_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.session_timeout)));
  request.set_instance_id(options_.instance_id);
  switch (options_.assignor) {
    case Assignor::kGroupDefault:
      break;
    case Assignor::kRange:
      request.set_assignor(v1::ASSIGNOR_RANGE);
      break;
    case Assignor::kRoundRobin:
      request.set_assignor(v1::ASSIGNOR_ROUNDROBIN);
      break;
    case Assignor::kSticky:
      request.set_assignor(v1::ASSIGNOR_STICKY);
      break;
  }
  request.set_rebalance_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.rebalance_timeout)));
  v1::JoinGroupResponse response;
  grpc::ClientContext context;
  internal::SetTimeout(&context);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("the consumer is closing");
    reader_context_ = &context;
  }
  absl::Status s = internal::ToStatus(stub_->JoinGroup(&context, request, &response));
  absl::MutexLock lock(&mu_);
  reader_context_ = nullptr;
  if (!s.ok()) return s;
  member_id_ = response.member_id();
  return absl::OkStatus();
}

void ConsumerImpl::GroupLoop() {
  absl::Duration backoff = kMinBackoff;
  bool join = false;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (join) {
      absl::Status s = Join();
      if (s.ok()) {
        join = false;
        continue;
      }
      if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsCancelled(s)) {
        Pause(backoff);
        backoff = std::min(backoff * 2, kMaxBackoff);
        continue;
      }
      absl::MutexLock lock(&mu_);
      if (!stopping_) fatal_ = s;
      events_cv_.SignalAll();
      return;
    }
    grpc::ClientContext context;
    v1::SubscribeRequest request;
    std::string member;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      reader_context_ = &context;
      member = member_id_;
    }
    v1::GroupSubscription* g = request.mutable_group();
    g->set_group(options_.group);
    g->set_member_id(member);
    g->set_offset_reset(ToProto(options_.offset_reset));
    request.set_max_records_per_message(options_.max_records_per_message);
    std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
        stub_->Subscribe(&context, request);
    std::shared_ptr<v1::SubscribeResponse> message = NewArenaMessage();
    while (reader->Read(message.get())) {
      backoff = kMinBackoff;
      if (!Deliver(member, &message)) {
        context.TryCancel();
        break;
      }
      if (message == nullptr) message = NewArenaMessage();
    }
    const absl::Status s = internal::ToStatus(reader->Finish());
    {
      absl::MutexLock lock(&mu_);
      reader_context_ = nullptr;
      if (stopping_) return;
    }
    switch (s.code()) {
      case absl::StatusCode::kOk:                // the member left (or was made to)
      case absl::StatusCode::kNotFound:          // unknown member: the broker restarted
      case absl::StatusCode::kDeadlineExceeded:  // the session timed out
      {
        // The broker forgot this member: its partitions are lost; join anew.
        absl::MutexLock lock(&mu_);
        for (auto it = events_.begin(); it != events_.end();) {
          // Also the lost incarnation's queued assignment changes: applying one later would
          // purge records the next incarnation's stream has queued by then.
          if (it->kind == Event::Kind::kRecords || it->kind == Event::Kind::kAssignment) {
            queued_records_ -= it->records;
            queued_bytes_ -= it->bytes;
            it = events_.erase(it);
          } else {
            ++it;
          }
        }
        Event lost;
        lost.kind = Event::Kind::kLost;
        Enqueue(std::move(lost));
        space_cv_.SignalAll();
        join = true;
        break;
      }
      case absl::StatusCode::kUnavailable:
      case absl::StatusCode::kCancelled:
      case absl::StatusCode::kInternal:
      case absl::StatusCode::kUnknown:
      case absl::StatusCode::kAborted:
        // The connection broke or the broker is restarting: open the stream again; the
        // member has its session timeout to come back.
        Pause(backoff);
        backoff = std::min(backoff * 2, kMaxBackoff);
        break;
      default: {
        // Fenced by a newer instance, OFFSET_RESET_NONE with nothing to start at, ...
        absl::MutexLock lock(&mu_);
        fatal_ = s;
        events_cv_.SignalAll();
        return;
      }
    }
  }
}

bool ConsumerImpl::Deliver(const std::string& member,
                           std::shared_ptr<v1::SubscribeResponse>* owned) {
  v1::SubscribeResponse* message = owned->get();
  absl::MutexLock lock(&mu_);
  if (message->has_assignment()) {
    const v1::AssignmentChange& a = message->assignment();
    // Records of revoked partitions not handed out yet are not this member's any more: the
    // new owner reads them from the last commit.
    for (const v1::TopicPartition& tp : a.revoked()) Purge({tp.topic(), tp.partition()});
    Event e;
    e.kind = Event::Kind::kAssignment;
    e.member_id = member;
    e.generation = a.generation();
    e.revoked = a.revoked_size() > 0;
    for (const v1::TopicPartition& tp : a.assignment()) {
      e.assignment.insert({tp.topic(), tp.partition()});
    }
    Enqueue(std::move(e));
    return true;
  }
  if (message->records_size() == 0) return true;
  if (!AwaitRoom(nullptr)) return false;
  Event e;
  e.kind = Event::Kind::kRecords;
  e.tp = {message->topic(), message->partition()};
  e.records = message->records_size();
  e.bytes = static_cast<int64_t>(message->ByteSizeLong());
  e.message = std::move(*owned);
  Enqueue(std::move(e));
  return true;
}

bool ConsumerImpl::DeliverSeek(SeekStream* seek, const TopicPartition& tp,
                               v1::SubscribeResponse* message) {
  absl::MutexLock lock(&mu_);
  if (!AwaitRoom(&seek->cancelled)) return false;
  if (message->records_size() == 0) return true;
  Event e;
  e.kind = Event::Kind::kRecords;
  e.tp = tp;
  e.source = seek->source;
  e.records = message->records_size();
  e.bytes = static_cast<int64_t>(message->ByteSizeLong());
  e.message = std::make_shared<v1::SubscribeResponse>(std::move(*message));
  message->Clear();
  Enqueue(std::move(e));
  return true;
}

bool ConsumerImpl::AwaitRoom(const bool* stop) {
  while (!stopping_ && (stop == nullptr || !*stop) && !events_.empty() &&
         (queued_records_ >= kMaxQueuedRecords || queued_bytes_ >= kMaxQueuedBytes)) {
    space_cv_.Wait(&mu_);
  }
  return !stopping_ && (stop == nullptr || !*stop);
}

void ConsumerImpl::Enqueue(Event event) {
  queued_records_ += event.records;
  queued_bytes_ += event.bytes;
  events_.push_back(std::move(event));
  events_cv_.SignalAll();
}

void ConsumerImpl::Purge(const TopicPartition& tp) {
  bool purged = false;
  for (auto it = events_.begin(); it != events_.end();) {
    if (it->kind == Event::Kind::kRecords && it->tp == tp) {
      queued_records_ -= it->records;
      queued_bytes_ -= it->bytes;
      it = events_.erase(it);
      purged = true;
    } else {
      ++it;
    }
  }
  if (purged) space_cv_.SignalAll();
}

void ConsumerImpl::Pause(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  const absl::Time until = absl::Now() + d;
  while (!stopping_ && !stop_cv_.WaitWithDeadline(&mu_, until)) {
  }
}

// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::vector<ConsumerRecord>> ConsumerImpl::Poll(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<ConsumerRecord> out;
  while (true) {
    MaybeAutoCommit();
    Event event;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return absl::FailedPreconditionError("the consumer is closed");
      while (events_.empty() && !fatal_.has_value()) {
        absl::Time wake = deadline;
        if (options_.auto_commit) wake = std::min(wake, next_auto_commit_);
        if (absl::Now() >= wake) break;
        events_cv_.WaitWithDeadline(&mu_, wake);
      }
      if (events_.empty()) {
        if (fatal_.has_value()) return *fatal_;
        if (absl::Now() >= deadline) return out;
        continue;  // an auto-commit is due
      }
      event = std::move(events_.front());
      events_.pop_front();
      queued_records_ -= event.records;
      queued_bytes_ -= event.bytes;
      space_cv_.SignalAll();
      // Poll hands out what is queued: size the result once rather than grow it.
      if (event.kind == Event::Kind::kRecords) {
        out.reserve(event.records + std::min(queued_records_, options_.max_poll_records));
      }
    }
    switch (event.kind) {
      case Event::Kind::kAssignment:
        ApplyAssignment(event);
        break;
      case Event::Kind::kLost:
        ApplyLost();
        break;
      case Event::Kind::kError:
        return event.error;
      case Event::Kind::kRecords:
        TakeRecords(event, &out);
        if (out.empty()) break;
        // Hand out whatever else is queued up to the next assignment change, up to
        // max_poll_records (so the application comes back, and answers a revoke, in time).
        while (static_cast<int64_t>(out.size()) < options_.max_poll_records) {
          {
            absl::MutexLock lock(&mu_);
            if (events_.empty() || events_.front().kind != Event::Kind::kRecords) break;
            event = std::move(events_.front());
            events_.pop_front();
            queued_records_ -= event.records;
            queued_bytes_ -= event.bytes;
            space_cv_.SignalAll();
          }
          TakeRecords(event, &out);
        }
        return out;
    }
  }
}

void ConsumerImpl::TakeRecords(Event& event, std::vector<ConsumerRecord>* out) {
  absl::MutexLock lock(&mu_);
  const TopicPartition& tp = event.tp;
  if (!assignment_.contains(tp)) return;
  auto source = sources_.find(tp);
  if (event.source != (source == sources_.end() ? 0 : source->second)) return;
  auto position = positions_.find(tp);
  int64_t next = position == positions_.end() ? -1 : position->second;
  // A stream opened again starts at the last commit: skip what was handed out already.
  for (v1::Record& r : *event.message->mutable_records()) {
    if (r.offset() < next) continue;
    next = r.offset() + 1;
    out->push_back(ToRecord(tp.first, tp.second, &r));
  }
  if (next >= 0) positions_[tp] = next;
}

void ConsumerImpl::ApplyAssignment(const Event& event) {
  std::vector<TopicPartition> revoked;
  std::vector<TopicPartition> added;
  bool heartbeat;
  {
    absl::MutexLock lock(&mu_);
    for (const TopicPartition& tp : assignment_) {
      if (!event.assignment.contains(tp)) revoked.push_back(tp);
    }
    for (const TopicPartition& tp : event.assignment) {
      if (!assignment_.contains(tp)) added.push_back(tp);
    }
    // Also when none of the revoked partitions had reached Poll yet (the stream opened after
    // the rebalance): the broker still waits for this member's answer.
    heartbeat = !revoked.empty() || event.revoked || revocation_unacked_;
  }
  if (!revoked.empty()) {
    // The partitions are still this consumer's while on_revoke runs (a Commit there includes
    // them, at the older generation, which the broker does not take as the answer); the broker
    // hands them to their new owner only after the final commit at the new generation or the
    // heartbeat below, so the new owner's on_assign comes after this on_revoke, and no record
    // of theirs reaches the application after it (queued ones were dropped on arrival).
    if (options_.on_revoke) options_.on_revoke(revoked);
    {
      absl::MutexLock lock(&mu_);
      generation_ = event.generation;
      applied_member_ = event.member_id;
    }
    if (options_.auto_commit) {
      std::map<TopicPartition, int64_t> final_positions;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [tp, offset] : Positions(/*dirty_only=*/true)) {
          if (!event.assignment.contains(tp)) final_positions[tp] = offset;
        }
      }
      // On failure the heartbeat below still answers: the new owner starts at the last commit.
      (void)CommitSync(final_positions);
    }
    std::vector<std::unique_ptr<SeekStream>> seeks;
    {
      absl::MutexLock lock(&mu_);
      for (const TopicPartition& tp : revoked) {
        assignment_.erase(tp);
        positions_.erase(tp);
        committed_.erase(tp);
        sources_.erase(tp);
        Purge(tp);
      }
      seeks = TakeSeeks(&revoked);
    }
    for (auto& seek : seeks) seek->stream->Stop();
  }
  if (heartbeat) Heartbeat(event.member_id, event.generation);
  {
    absl::MutexLock lock(&mu_);
    generation_ = event.generation;
    applied_member_ = event.member_id;
    assignment_.insert(added.begin(), added.end());
  }
  if (!added.empty() && options_.on_assign) options_.on_assign(added);
}

void ConsumerImpl::ApplyLost() {
  std::vector<TopicPartition> lost;
  std::vector<std::unique_ptr<SeekStream>> seeks;
  {
    absl::MutexLock lock(&mu_);
    lost.assign(assignment_.begin(), assignment_.end());
    assignment_.clear();
    positions_.clear();
    committed_.clear();
    sources_.clear();
    applied_member_.clear();
    revocation_unacked_ = false;
    seeks = TakeSeeks(nullptr);
  }
  for (auto& seek : seeks) seek->stream->Stop();
  if (!lost.empty() && options_.on_revoke) options_.on_revoke(lost);
}

std::vector<std::unique_ptr<ConsumerImpl::SeekStream>> ConsumerImpl::TakeSeeks(
    const std::vector<TopicPartition>* which) {
  std::vector<std::unique_ptr<SeekStream>> out;
  for (auto it = seeks_.begin(); it != seeks_.end();) {
    if (which == nullptr || std::find(which->begin(), which->end(), it->first) != which->end()) {
      it->second->cancelled = true;
      out.push_back(std::move(it->second));
      it = seeks_.erase(it);
    } else {
      ++it;
    }
  }
  if (!out.empty()) space_cv_.SignalAll();  // a blocked seek sink sees `cancelled`
  return out;
}

void ConsumerImpl::Heartbeat(const std::string& member, int64_t generation) {
  v1::HeartbeatRequest request;
  request.set_group(options_.group);
  request.set_member_id(member);
  request.set_generation(generation);
  v1::HeartbeatResponse response;
  grpc::ClientContext context;
  internal::SetTimeout(&context);
  const grpc::Status s = stub_->Heartbeat(&context, request, &response);
  absl::MutexLock lock(&mu_);
  // The broker takes the answer at any generation up to its current one; after a failure,
  // repeat it with the next change this consumer applies.
  revocation_unacked_ = !s.ok();
}

void ConsumerImpl::MaybeAutoCommit() {
  if (!options_.auto_commit) return;
  std::map<TopicPartition, int64_t> offsets;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now < next_auto_commit_) return;
    next_auto_commit_ = now + options_.auto_commit_interval;
    offsets = Positions(/*dirty_only=*/true);
  }
  (void)CommitSync(offsets);  // a failed auto-commit is tried again at the next interval
}

std::map<TopicPartition, int64_t> ConsumerImpl::Positions(bool dirty_only) {
  std::map<TopicPartition, int64_t> out;
  for (const auto& [tp, offset] : positions_) {
    if (!assignment_.contains(tp)) continue;
    auto committed = committed_.find(tp);
    if (dirty_only && committed != committed_.end() && committed->second == offset) continue;
    out[tp] = offset;
  }
  return out;
}

v1::CommitOffsetRequest ConsumerImpl::CommitRequest(
    const std::string& member, int64_t generation,
    const std::map<TopicPartition, int64_t>& offsets) const {
  v1::CommitOffsetRequest request;
  request.set_group(options_.group);
  request.set_member_id(member);
  request.set_generation(generation);
  for (const auto& [tp, offset] : offsets) {
    v1::OffsetCommit* o = request.add_offsets();
    o->set_topic(tp.first);
    o->set_partition(tp.second);
    o->set_offset(offset);
  }
  return request;
}

absl::Status ConsumerImpl::CommitSync(std::map<TopicPartition, int64_t> offsets) {
  if (offsets.empty()) return absl::OkStatus();
  std::string member;
  int64_t generation;
  {
    absl::MutexLock lock(&mu_);
    member = applied_member_;
    generation = generation_;
  }
  absl::Status s = SendCommit(member, generation, offsets);
  if (!absl::IsFailedPrecondition(s)) return s;
  // The partitions may be owned since a generation Poll has not applied yet (a change still on
  // its way). A heartbeat at generation 0 tells the current generation and assignment without
  // answering any revoke.
  v1::HeartbeatRequest probe;
  probe.set_group(options_.group);
  probe.set_member_id(member);
  probe.set_generation(0);
  v1::HeartbeatResponse current;
  grpc::ClientContext context;
  internal::SetTimeout(&context);
  if (!stub_->Heartbeat(&context, probe, &current).ok() || current.generation() == generation) {
    return s;  // the member is unknown (the stream rejoins), or this is no generation problem
  }
  // Commit again, at the current generation, what is still owned; a partition revoked
  // meanwhile gets its final commit when Poll applies the change.
  std::set<TopicPartition> owned;
  for (const v1::TopicPartition& tp : current.assignment()) {
    owned.insert({tp.topic(), tp.partition()});
  }
  for (auto it = offsets.begin(); it != offsets.end();) {
    it = owned.contains(it->first) ? std::next(it) : offsets.erase(it);
  }
  if (offsets.empty()) return absl::OkStatus();
  return SendCommit(member, current.generation(), offsets);
}

absl::Status ConsumerImpl::SendCommit(const std::string& member, int64_t generation,
                                      const std::map<TopicPartition, int64_t>& offsets) {
  v1::CommitOffsetRequest request = CommitRequest(member, generation, offsets);
  v1::CommitOffsetResponse response;
  grpc::ClientContext context;
  internal::SetTimeout(&context);
  const absl::Status s = internal::ToStatus(stub_->CommitOffset(&context, request, &response));
  if (s.ok()) {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, offset] : offsets) {
      if (assignment_.contains(tp)) committed_[tp] = offset;
    }
  }
  return s;
}

absl::Status ConsumerImpl::Commit() {
  std::map<TopicPartition, int64_t> offsets;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("the consumer is closed");
    offsets = Positions(/*dirty_only=*/false);
  }
  return CommitSync(offsets);
}

absl::Status ConsumerImpl::Commit(const std::map<TopicPartition, int64_t>& offsets) {
  for (const auto& [tp, offset] : offsets) {
    if (offset < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("offset of ", Name(tp), " must be >= 0, got ", offset));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  }
  return CommitSync(offsets);
}

void ConsumerImpl::CommitAsync(std::function<void(absl::Status)> done) {
  struct Call {
    grpc::ClientContext context;
    v1::CommitOffsetRequest request;
    v1::CommitOffsetResponse response;
    std::map<TopicPartition, int64_t> offsets;
  };
  auto call = std::make_shared<Call>();
  absl::Status rejected;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      rejected = absl::FailedPreconditionError("the consumer is closed");
    } else {
      call->offsets = Positions(/*dirty_only=*/false);
      call->request = CommitRequest(applied_member_, generation_, call->offsets);
      if (!call->offsets.empty()) ++async_pending_;
    }
  }
  if (!rejected.ok() || call->offsets.empty()) {
    if (done) done(rejected);
    return;
  }
  internal::SetTimeout(&call->context);
  stub_->async()->CommitOffset(&call->context, &call->request, &call->response,
                               [this, call, done = std::move(done)](grpc::Status status) {
                                 const absl::Status s = internal::ToStatus(status);
                                 if (s.ok()) {
                                   absl::MutexLock lock(&mu_);
                                   for (const auto& [tp, offset] : call->offsets) {
                                     if (assignment_.contains(tp)) committed_[tp] = offset;
                                   }
                                 }
                                 if (done) done(s);
                                 absl::MutexLock lock(&mu_);
                                 --async_pending_;
                                 async_cv_.SignalAll();
                               });
}

absl::Status ConsumerImpl::Seek(const TopicPartition& tp, int64_t offset) {
  if (offset < 0) {
    return absl::InvalidArgumentError(absl::StrCat("seek offset must be >= 0, got ", offset));
  }
  std::vector<std::unique_ptr<SeekStream>> old;
  SeekStream* seek;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("the consumer is closed");
    if (!assignment_.contains(tp)) {
      return absl::FailedPreconditionError(
          absl::StrCat("partition ", Name(tp), " is not assigned to this consumer"));
    }
    const std::vector<TopicPartition> which = {tp};
    old = TakeSeeks(&which);
    auto owned = std::make_unique<SeekStream>();
    owned->source = next_source_++;
    seek = owned.get();
    sources_[tp] = seek->source;
    positions_[tp] = offset;
    Purge(tp);
    v1::SubscribeRequest request;
    v1::DirectSubscription* d = request.mutable_direct();
    d->set_topic(tp.first);
    d->set_partition(tp.second);
    d->set_start(v1::START_POSITION_OFFSET);
    d->set_offset(offset);
    d->set_offset_reset(ToProto(options_.offset_reset));
    request.set_max_records_per_message(options_.max_records_per_message);
    seek->stream = std::make_unique<DirectStream>(
        stub_.get(), std::move(request), /*resume=*/true,
        [this, seek, tp](v1::SubscribeResponse* m) { return DeliverSeek(seek, tp, m); },
        [this, seek, tp](const absl::Status& s) {
          absl::MutexLock lock(&mu_);
          if (seek->cancelled) return;
          Event e;
          e.kind = Event::Kind::kError;
          e.error = absl::Status(s.code(),
                                 absl::StrCat("reading ", Name(tp), " after Seek: ", s.message()));
          Enqueue(std::move(e));
        });
    seeks_[tp] = std::move(owned);
  }
  for (auto& s : old) s->stream->Stop();
  seek->stream->Start();
  return absl::OkStatus();
}

std::vector<TopicPartition> ConsumerImpl::Assignment() const {
  absl::MutexLock lock(&mu_);
  return std::vector<TopicPartition>(assignment_.begin(), assignment_.end());
}

std::string ConsumerImpl::member_id() const {
  absl::MutexLock lock(&mu_);
  return member_id_;
}

absl::Status ConsumerImpl::Leave(const std::string& member) {
  if (member.empty()) return absl::OkStatus();
  v1::LeaveGroupRequest request;
  request.set_group(options_.group);
  request.set_member_id(member);
  v1::LeaveGroupResponse response;
  grpc::ClientContext context;
  internal::SetTimeout(&context);
  const absl::Status s = internal::ToStatus(stub_->LeaveGroup(&context, request, &response));
  // NOT_FOUND: the broker forgot the member already.
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

absl::Status ConsumerImpl::Close() {
  std::vector<TopicPartition> owned;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
    owned.assign(assignment_.begin(), assignment_.end());
  }
  absl::Status result;
  if (!owned.empty() && options_.on_revoke) options_.on_revoke(owned);
  if (options_.auto_commit) {
    std::map<TopicPartition, int64_t> offsets;
    {
      absl::MutexLock lock(&mu_);
      offsets = Positions(/*dirty_only=*/true);
    }
    result = CommitSync(offsets);
  }
  std::string member;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;  // the reader thread must not rejoin when the stream ends now
    events_cv_.SignalAll();
    space_cv_.SignalAll();
    stop_cv_.SignalAll();
    // A static member does not leave: the same instance coming back within its session
    // timeout keeps its partitions, and nobody else's move.
    if (options_.instance_id.empty()) member = member_id_;
  }
  const absl::Status left = Leave(member);
  if (!left.ok() && result.ok()) result = left;
  std::vector<std::unique_ptr<SeekStream>> seeks;
  {
    absl::MutexLock lock(&mu_);
    if (reader_context_ != nullptr) reader_context_->TryCancel();
    seeks = TakeSeeks(nullptr);
  }
  if (reader_.joinable()) reader_.join();
  for (auto& seek : seeks) seek->stream->Stop();
  {
    // A rejoin that was under way when Close began may have produced a new member: leave it.
    absl::MutexLock lock(&mu_);
    if (options_.instance_id.empty()) member = member_id_ == member ? std::string() : member_id_;
  }
  (void)Leave(member);
  absl::MutexLock lock(&mu_);
  while (async_pending_ > 0) async_cv_.Wait(&mu_);
  return result;
}

// ---------------------------------------------------------------------------------------------
// PartitionReader

class PartitionReaderImpl final : public PartitionReader {
 public:
  PartitionReaderImpl(const std::string& broker, const TlsOptions& tls,
                      const Credentials& credentials)
      : channel_(internal::NewChannel(broker, tls, credentials)),
        stub_(v1::Broker::NewStub(channel_)) {}

  ~PartitionReaderImpl() override {
    {
      absl::MutexLock lock(&mu_);
      closing_ = true;
      cv_.SignalAll();
    }
    if (stream_ != nullptr) stream_->Stop();
  }

  void Start(v1::SubscribeRequest request) {
    stream_ = std::make_unique<DirectStream>(
        stub_.get(), std::move(request), /*resume=*/false,
        [this](v1::SubscribeResponse* m) { return Take(m); },
        [this](const absl::Status& s) {
          absl::MutexLock lock(&mu_);
          end_ = s;
          cv_.SignalAll();
        });
    stream_->Start();
  }

  absl::StatusOr<std::vector<ConsumerRecord>> Read(absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    std::vector<ConsumerRecord> out;
    absl::MutexLock lock(&mu_);
    while (queue_.empty() && !end_.has_value()) {
      if (cv_.WaitWithDeadline(&mu_, deadline)) break;
    }
    if (queue_.empty()) {
      if (end_.has_value()) return *end_;
      return out;
    }
    for (v1::SubscribeResponse& m : queue_) {
      for (v1::Record& r : *m.mutable_records()) {
        out.push_back(ToRecord(m.topic(), m.partition(), &r));
      }
      end_offset_ = m.end_offset();
    }
    queue_.clear();
    queued_records_ = 0;
    queued_bytes_ = 0;
    cv_.SignalAll();
    return out;
  }

  int64_t end_offset() const override {
    absl::MutexLock lock(&mu_);
    return end_offset_;
  }

 private:
  bool Take(v1::SubscribeResponse* m) {
    absl::MutexLock lock(&mu_);
    while (!closing_ && !queue_.empty() &&
           (queued_records_ >= kMaxQueuedRecords || queued_bytes_ >= kMaxQueuedBytes)) {
      cv_.Wait(&mu_);
    }
    if (closing_) return false;
    if (m->records_size() == 0) return true;
    queued_records_ += m->records_size();
    queued_bytes_ += static_cast<int64_t>(m->ByteSizeLong());
    queue_.push_back(std::move(*m));
    m->Clear();
    cv_.SignalAll();
    return true;
  }

  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::Broker::Stub> stub_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // a message arrived, room was made, or the reader closes
  std::deque<v1::SubscribeResponse> queue_ ABSL_GUARDED_BY(mu_);
  int64_t queued_records_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  int64_t end_offset_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<DirectStream> stream_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(const ConsumerOptions& options) {
  if (options.broker.empty()) return absl::InvalidArgumentError("broker address is empty");
  if (options.group.empty()) return absl::InvalidArgumentError("group is empty");
  if (options.topics.empty()) return absl::InvalidArgumentError("no topics to subscribe to");
  if (options.session_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("session_timeout must be >= 0 (0: the broker's default)");
  }
  if (options.auto_commit && options.auto_commit_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("auto_commit_interval must be > 0");
  }
  if (options.max_poll_records < 1) {
    return absl::InvalidArgumentError("max_poll_records must be >= 1");
  }
  if (options.max_records_per_message < 0) {
    return absl::InvalidArgumentError("max_records_per_message must be >= 0 (0: broker default)");
  }
  auto consumer = std::make_unique<ConsumerImpl>(options);
  absl::Status joined = consumer->Join();
  if (!joined.ok()) return joined;
  consumer->Start();
  return std::unique_ptr<Consumer>(std::move(consumer));
}

absl::StatusOr<std::unique_ptr<PartitionReader>> PartitionReader::Create(
    const std::string& broker, const std::string& topic, int32_t partition, Start start,
    int64_t offset_or_timestamp, OffsetReset reset, const TlsOptions& tls,
    const Credentials& credentials) {
  if (broker.empty()) return absl::InvalidArgumentError("broker address is empty");
  if (topic.empty()) return absl::InvalidArgumentError("topic is empty");
  if (partition < 0) {
    return absl::InvalidArgumentError(absl::StrCat("partition must be >= 0, got ", partition));
  }
  v1::SubscribeRequest request;
  v1::DirectSubscription* d = request.mutable_direct();
  d->set_topic(topic);
  d->set_partition(partition);
  d->set_offset_reset(ToProto(reset));
  switch (start) {
    case Start::kOffset:
      if (offset_or_timestamp < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("offset must be >= 0, got ", offset_or_timestamp));
      }
      d->set_start(v1::START_POSITION_OFFSET);
      d->set_offset(offset_or_timestamp);
      break;
    case Start::kEarliest:
      d->set_start(v1::START_POSITION_EARLIEST);
      break;
    case Start::kLatest:
      d->set_start(v1::START_POSITION_LATEST);
      break;
    case Start::kTimestamp:
      d->set_start(v1::START_POSITION_TIMESTAMP);
      d->set_timestamp_ms(offset_or_timestamp);
      break;
  }
  auto reader = std::make_unique<PartitionReaderImpl>(broker, tls, credentials);
  reader->Start(std::move(request));
  return std::unique_ptr<PartitionReader>(std::move(reader));
}

}  // namespace ferry
