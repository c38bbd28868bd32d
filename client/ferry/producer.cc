#include "ferry/producer.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/partitioner.h"
#include "ferry/rpc.h"
#include "ferry/v1/ferry.grpc.pb.h"

namespace ferry {

std::future<absl::StatusOr<RecordMetadata>> Producer::Send(ProducerRecord record) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<RecordMetadata>>>();
  std::future<absl::StatusOr<RecordMetadata>> future = promise->get_future();
  Send(std::move(record),
       [promise](const absl::StatusOr<RecordMetadata>& result) { promise->set_value(result); });
  return future;
}

namespace {

constexpr absl::Duration kMinBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Seconds(1);
// Bytes counted per record on top of key, value and headers (offsets, lengths, timestamp).
constexpr int64_t kRecordOverhead = 32;

// True on a producer thread while it runs user callbacks: Send must not block there (the
// thread that would make room is the one blocked), and Flush/Close would wait for themselves.
thread_local bool tls_in_callback = false;

absl::Duration Backoff(int attempts) {
  absl::Duration d = kMinBackoff;
  for (int i = 1; i < attempts && d < kMaxBackoff; ++i) d *= 2;
  return std::min(d, kMaxBackoff);
}

// The stream broke for a reason that may pass: resend its unacknowledged batches.
bool RetryableStreamEnd(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
      return true;
    default:
      return false;
  }
}

struct Batch;

// One partition's batches: the one filling up, those closed and waiting, and whether one is
// in flight (at most one: that is what keeps a partition's order when a batch is retried).
struct PartitionQueue {
  int32_t partition = 0;
  std::shared_ptr<Batch> open;
  std::deque<std::shared_ptr<Batch>> ready;
  bool in_flight = false;
  // Key of this queue's entry in ProducerImpl::sendable_, when listed.
  bool listed = false;
  uint64_t listed_key = 0;
};

struct Batch {
  uint64_t id = 0;            // creation order: older batches are sent first
  uint64_t first_record = 0;  // the smallest record id in the batch
  PartitionQueue* queue = nullptr;
  v1::PublishRequest request;
  std::vector<Producer::Callback> callbacks;  // one per record
  int64_t bytes = 0;
  absl::Time created;
  absl::Time retry_deadline = absl::InfiniteFuture();  // set by the first failed attempt
  absl::Time not_before = absl::InfinitePast();
  int attempts = 0;
  absl::Status last_error;
};

// A record whose partition is not known yet (keyed or keyless, topic not described yet).
struct Unplaced {
  uint64_t id = 0;
  v1::Record record;
  Producer::Callback callback;
  int64_t bytes = 0;
};

struct TopicState {
  int32_t partitions = 0;  // 0: not known yet
  bool lookup_queued = false;
  std::deque<Unplaced> unplaced;
  // Keyless records stick to one partition per batch, then move on to the next.
  int32_t sticky = 0;
  uint64_t sticky_batch = 0;
  std::map<int32_t, std::unique_ptr<PartitionQueue>> queues;
};

// Callbacks of one finished batch, run outside the lock.
struct Completion {
  std::string topic;
  std::vector<Producer::Callback> callbacks;
  absl::Status status;
  google::protobuf::RepeatedPtrField<v1::RecordAck> acks;
  uint64_t first_record = 0;
};

// One PublishStream and the thread reading its answers.
struct Session {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::PublishRequest, v1::PublishStreamResponse>> stream;
  std::thread reader;
  // Guarded by ProducerImpl::mu_.
  bool ended = false;     // the reader saw the end of the stream
  bool broken = false;    // no more writes: tear down and resend what is in flight
  bool answered = false;  // the broker answered at least once
};

class ProducerImpl final : public Producer {
 public:
  explicit ProducerImpl(const ProducerOptions& options)
      : options_(options),
        channel_(internal::NewChannel(options.broker, options.tls, options.credentials)),
        stub_(v1::Broker::NewStub(channel_)),
        admin_(v1::Admin::NewStub(channel_)) {}

  ~ProducerImpl() override { (void)Close(); }

  void Start() {
    sender_ = std::thread([this] { SenderLoop(); });
    metadata_ = std::thread([this] { MetadataLoop(); });
  }

  using Producer::Send;
  void Send(ProducerRecord record, Callback callback) override;
  absl::Status Flush() override;
  absl::Status Close() override;

 private:
  // --- buffering (all under mu_) ---------------------------------------------------------
  TopicState& Topic(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PartitionQueue* Queue(TopicState& t, int32_t partition) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts a record of a topic whose partition count is known into its partition's batch.
  void Place(TopicState& t, const std::string& topic, Unplaced u)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends to the partition's open batch; returns that batch's id.
  uint64_t Append(TopicState& t, const std::string& topic, int32_t partition, Unplaced u)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseBatch(PartitionQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keeps sendable_ in step with the queue's front batch and in-flight flag.
  void Relist(PartitionQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddOutstanding(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { outstanding_.insert(id); }
  void RemoveOutstanding(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = outstanding_.find(id);
    if (it != outstanding_.end()) outstanding_.erase(it);
  }

  // --- sending ----------------------------------------------------------------------------
  void SenderLoop();
  // Closes batches whose linger passed (or that a Flush or Close waits for); returns when the
  // next open batch is due.
  absl::Time CloseDueBatches(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The oldest ready batch of a partition with nothing in flight, past its retry backoff.
  std::shared_ptr<Batch> Pick(absl::Time now, absl::Time* wake) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fails waiting batches whose retry deadline passed.
  void ExpireBatches(absl::Time now, std::vector<Completion>* done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The broker cannot be reached: every waiting batch starts its retry clock.
  void MarkRetrying(absl::Time now, const absl::Status& error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts a batch that failed with a retryable error back at the front of its partition.
  void Requeue(std::shared_ptr<Batch> b, absl::Time now, const absl::Status& error, bool backoff,
               std::vector<Completion>* done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Completion Finished(Batch& b, absl::Status status, v1::PublishResponse* ok);
  absl::Status GaveUp(const Batch& b) const;
  void Connect();
  void Teardown(std::vector<Completion>* done);
  void StopSession();
  void ReadLoop(Session* s);
  // Runs callbacks and releases buffer space; clears `done`.
  void Run(std::vector<Completion>* done);

  // --- topic metadata ---------------------------------------------------------------------
  void MetadataLoop();
  void Resolve(const std::string& topic);
  void PlaceUnplaced(const std::string& topic, int32_t partitions);
  void FailUnplaced(const std::string& topic, const absl::Status& error);

  const ProducerOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::Broker::Stub> stub_;
  const std::unique_ptr<v1::Admin::Stub> admin_;

  absl::Mutex mu_;
  absl::CondVar sender_cv_;  // the sender has something to do
  absl::CondVar space_cv_;   // buffer space was released, or the producer closed
  absl::CondVar flush_cv_;   // outstanding_ shrank
  absl::CondVar meta_cv_;    // a topic needs describing, or stop
  std::map<std::string, std::unique_ptr<TopicState>> topics_ ABSL_GUARDED_BY(mu_);
  std::set<PartitionQueue*> open_ ABSL_GUARDED_BY(mu_);  // queues with an open batch
  // (front batch id, queue) of queues with a ready batch and nothing in flight.
  std::set<std::pair<uint64_t, PartitionQueue*>> sendable_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Batch>> inflight_ ABSL_GUARDED_BY(mu_);  // in sequence order
  std::deque<std::string> lookups_ ABSL_GUARDED_BY(mu_);
  // First record id of every unfinished batch and unplaced list: Flush waits on its minimum.
  std::multiset<uint64_t> outstanding_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Session> session_ ABSL_GUARDED_BY(mu_);
  uint64_t next_record_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_batch_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t flush_target_ ABSL_GUARDED_BY(mu_) = 0;  // batches with older records close now
  int64_t buffered_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_expiry_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Time reconnect_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_) = kMinBackoff;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;    // no more Sends
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // threads end once idle

  absl::Mutex close_mu_;  // serialises Close
  bool joined_ ABSL_GUARDED_BY(close_mu_) = false;
  std::thread sender_;
  std::thread metadata_;
};

void ProducerImpl::Send(ProducerRecord record, Callback callback) {
  absl::Status rejected;
  if (record.topic.empty()) {
    rejected = absl::InvalidArgumentError("the record has no topic");
  } else if (record.partition.has_value() && *record.partition < 0) {
    rejected =
        absl::InvalidArgumentError(absl::StrCat("partition must be >= 0, got ", *record.partition));
  }
  if (!rejected.ok()) {
    if (callback) callback(rejected);
    return;
  }
  Unplaced u;
  u.bytes = kRecordOverhead + static_cast<int64_t>(record.key.size() + record.value.size());
  if (record.has_key || !record.key.empty()) u.record.set_key(std::move(record.key));
  if (!record.null_value) u.record.set_value(std::move(record.value));
  u.record.set_timestamp_ms(record.timestamp_ms);
  for (auto& [key, value] : record.headers) {
    u.bytes += static_cast<int64_t>(key.size() + value.size());
    v1::Header* h = u.record.add_headers();
    h->set_key(std::move(key));
    h->set_value(std::move(value));
  }
  u.callback = std::move(callback);
  {
    absl::MutexLock lock(&mu_);
    while (!closed_ && options_.block_when_full && !tls_in_callback &&
           buffered_ >= options_.buffer_records) {
      space_cv_.Wait(&mu_);
    }
    if (closed_) {
      rejected = absl::FailedPreconditionError("the producer is closed");
    } else if (!options_.block_when_full && buffered_ >= options_.buffer_records) {
      rejected = absl::ResourceExhaustedError(absl::StrCat(
          "the producer's buffer is full: ", buffered_,
          " records wait for their acks (buffer_records = ", options_.buffer_records, ")"));
    } else {
      u.id = next_record_++;
      ++buffered_;
      TopicState& t = Topic(record.topic);
      if (record.partition.has_value()) {
        Append(t, record.topic, *record.partition, std::move(u));
      } else if (t.partitions > 0) {
        Place(t, record.topic, std::move(u));
      } else {
        if (t.unplaced.empty()) AddOutstanding(u.id);
        t.unplaced.push_back(std::move(u));
        if (!t.lookup_queued) {
          t.lookup_queued = true;
          lookups_.push_back(record.topic);
          meta_cv_.Signal();
        }
      }
      return;
    }
  }
  if (u.callback) u.callback(rejected);
}

TopicState& ProducerImpl::Topic(const std::string& name) {
  std::unique_ptr<TopicState>& t = topics_[name];
  if (t == nullptr) t = std::make_unique<TopicState>();
  return *t;
}

PartitionQueue* ProducerImpl::Queue(TopicState& t, int32_t partition) {
  std::unique_ptr<PartitionQueue>& q = t.queues[partition];
  if (q == nullptr) {
    q = std::make_unique<PartitionQueue>();
    q->partition = partition;
  }
  return q.get();
}

void ProducerImpl::Place(TopicState& t, const std::string& topic, Unplaced u) {
  if (u.record.has_key()) {  // a null key is spread; an empty one is hashed, as in Kafka
    const int32_t partition = PartitionForKey(u.record.key(), t.partitions);
    Append(t, topic, partition, std::move(u));
    return;
  }
  PartitionQueue* q = Queue(t, t.sticky);
  if (t.sticky_batch != 0 && (q->open == nullptr || q->open->id != t.sticky_batch)) {
    t.sticky = (t.sticky + 1) % t.partitions;  // the sticky batch closed: move on
  }
  t.sticky_batch = Append(t, topic, t.sticky, std::move(u));
}

uint64_t ProducerImpl::Append(TopicState& t, const std::string& topic, int32_t partition,
                              Unplaced u) {
  PartitionQueue* q = Queue(t, partition);
  if (q->open != nullptr &&
      (static_cast<int64_t>(q->open->callbacks.size()) >= options_.batch_records ||
       q->open->bytes + u.bytes > options_.batch_bytes)) {
    CloseBatch(q);
  }
  if (q->open == nullptr) {
    auto b = std::make_shared<Batch>();
    b->id = next_batch_++;
    b->first_record = u.id;
    b->queue = q;
    b->created = absl::Now();
    b->request.set_topic(topic);
    b->request.set_partition(partition);
    AddOutstanding(u.id);
    q->open = std::move(b);
    open_.insert(q);
    sender_cv_.Signal();  // a new linger deadline
  }
  Batch& b = *q->open;
  *b.request.add_records() = std::move(u.record);
  b.callbacks.push_back(std::move(u.callback));
  b.bytes += u.bytes;
  const uint64_t id = b.id;
  if (static_cast<int64_t>(b.callbacks.size()) >= options_.batch_records ||
      b.bytes >= options_.batch_bytes) {
    CloseBatch(q);
  }
  return id;
}

void ProducerImpl::CloseBatch(PartitionQueue* q) {
  q->ready.push_back(std::move(q->open));
  q->open = nullptr;
  open_.erase(q);
  Relist(q);
  sender_cv_.Signal();
}

void ProducerImpl::Relist(PartitionQueue* q) {
  if (q->listed) {
    sendable_.erase({q->listed_key, q});
    q->listed = false;
  }
  if (!q->in_flight && !q->ready.empty()) {
    q->listed_key = q->ready.front()->id;
    sendable_.insert({q->listed_key, q});
    q->listed = true;
  }
}

absl::Status ProducerImpl::Flush() {
  if (tls_in_callback) {
    return absl::FailedPreconditionError(
        "Flush called from a producer callback would wait for that callback");
  }
  absl::MutexLock lock(&mu_);
  const uint64_t target = next_record_;
  flush_target_ = std::max(flush_target_, target);
  sender_cv_.Signal();
  while (!outstanding_.empty() && *outstanding_.begin() < target) flush_cv_.Wait(&mu_);
  return absl::OkStatus();
}

absl::Status ProducerImpl::Close() {
  if (tls_in_callback) {
    return absl::FailedPreconditionError(
        "Close called from a producer callback would wait for that callback");
  }
  absl::MutexLock close_lock(&close_mu_);
  if (joined_) return absl::OkStatus();
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    space_cv_.SignalAll();  // blocked Sends fail now
  }
  absl::Status flushed = Flush();  // no record is accepted from here on: this drains all
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    sender_cv_.Signal();
    meta_cv_.SignalAll();
  }
  sender_.join();
  metadata_.join();
  joined_ = true;
  return flushed;
}

// ---------------------------------------------------------------------------------------------
// Sending

void ProducerImpl::SenderLoop() {
  std::vector<Completion> done;
  while (true) {
    enum class Step { kRun, kTeardown, kConnect, kWrite, kStop } step;
    std::shared_ptr<Batch> batch;
    Session* session = nullptr;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        const absl::Time now = absl::Now();
        absl::Time wake = CloseDueBatches(now);
        if (now >= next_expiry_) ExpireBatches(now, &done);
        wake = std::min(wake, next_expiry_);
        if (!done.empty()) {
          step = Step::kRun;
          break;
        }
        if (session_ != nullptr && session_->broken) {
          step = Step::kTeardown;
          break;
        }
        if (session_ == nullptr ||
            static_cast<int>(inflight_.size()) < options_.max_in_flight_batches) {
          batch = Pick(now, &wake);
        }
        if (batch != nullptr && session_ == nullptr) {
          batch.reset();
          if (now >= reconnect_at_) {
            step = Step::kConnect;
            break;
          }
          wake = std::min(wake, reconnect_at_);
        }
        if (batch != nullptr) {
          PartitionQueue* q = batch->queue;
          q->ready.pop_front();
          q->in_flight = true;
          Relist(q);
          batch->request.set_sequence(next_sequence_++);
          ++batch->attempts;
          inflight_.push_back(batch);
          session = session_.get();
          step = Step::kWrite;
          break;
        }
        if (stopping_ && outstanding_.empty() && inflight_.empty()) {
          step = Step::kStop;
          break;
        }
        sender_cv_.WaitWithDeadline(&mu_, wake);
      }
    }
    switch (step) {
      case Step::kRun:
        Run(&done);
        break;
      case Step::kTeardown:
        Teardown(&done);
        Run(&done);
        break;
      case Step::kConnect:
        Connect();
        break;
      case Step::kWrite:
        // Only this thread writes, so writes never overlap. The reader may answer the batch
        // before Write returns; `batch` keeps the request alive until then.
        if (!session->stream->Write(batch->request)) {
          absl::MutexLock lock(&mu_);
          session->broken = true;
        }
        break;
      case Step::kStop:
        StopSession();
        return;
    }
  }
}

absl::Time ProducerImpl::CloseDueBatches(absl::Time now) {
  absl::Time wake = absl::InfiniteFuture();
  for (auto it = open_.begin(); it != open_.end();) {
    PartitionQueue* q = *it++;  // CloseBatch erases q from open_
    const Batch& b = *q->open;
    const absl::Time due = b.created + options_.linger;
    if (closed_ || b.first_record < flush_target_ || now >= due) {
      CloseBatch(q);
    } else {
      wake = std::min(wake, due);
    }
  }
  return wake;
}

std::shared_ptr<Batch> ProducerImpl::Pick(absl::Time now, absl::Time* wake) {
  for (const auto& [id, q] : sendable_) {
    const std::shared_ptr<Batch>& b = q->ready.front();
    if (b->not_before > now) {
      *wake = std::min(*wake, b->not_before);
      continue;
    }
    return b;
  }
  return nullptr;
}

void ProducerImpl::ExpireBatches(absl::Time now, std::vector<Completion>* done) {
  next_expiry_ = absl::InfiniteFuture();
  for (auto& [name, t] : topics_) {
    for (auto& [partition, q] : t->queues) {
      bool changed = false;
      for (auto it = q->ready.begin(); it != q->ready.end();) {
        Batch& b = **it;
        if (b.retry_deadline <= now) {
          done->push_back(Finished(b, GaveUp(b), nullptr));
          it = q->ready.erase(it);
          changed = true;
        } else {
          next_expiry_ = std::min(next_expiry_, b.retry_deadline);
          ++it;
        }
      }
      if (changed) Relist(q.get());
    }
  }
  // Batches in flight come back through Requeue, which accounts for their deadlines.
}

void ProducerImpl::MarkRetrying(absl::Time now, const absl::Status& error) {
  for (auto& [name, t] : topics_) {
    for (auto& [partition, q] : t->queues) {
      for (auto& b : q->ready) {
        b->last_error = error;
        if (b->retry_deadline == absl::InfiniteFuture()) {
          b->retry_deadline = now + options_.retry_timeout;
          next_expiry_ = std::min(next_expiry_, b->retry_deadline);
        }
      }
    }
  }
}

void ProducerImpl::Requeue(std::shared_ptr<Batch> b, absl::Time now, const absl::Status& error,
                           bool backoff, std::vector<Completion>* done) {
  b->last_error = error;
  if (b->retry_deadline == absl::InfiniteFuture()) {
    b->retry_deadline = now + options_.retry_timeout;
  }
  if (now >= b->retry_deadline) {
    done->push_back(Finished(*b, GaveUp(*b), nullptr));
    return;
  }
  next_expiry_ = std::min(next_expiry_, b->retry_deadline);
  b->not_before = backoff ? now + Backoff(b->attempts) : absl::InfinitePast();
  PartitionQueue* q = b->queue;
  q->ready.push_front(std::move(b));
  Relist(q);
}

Completion ProducerImpl::Finished(Batch& b, absl::Status status, v1::PublishResponse* ok) {
  Completion c;
  c.topic = b.request.topic();
  c.callbacks = std::move(b.callbacks);
  c.first_record = b.first_record;
  c.status = std::move(status);
  if (c.status.ok() && ok != nullptr) {
    if (ok->acks_size() == static_cast<int>(c.callbacks.size())) {
      c.acks.Swap(ok->mutable_acks());
    } else {
      c.status = absl::InternalError(absl::StrCat("the broker acknowledged ", ok->acks_size(),
                                                  " records of a batch of ", c.callbacks.size()));
    }
  }
  return c;
}

absl::Status ProducerImpl::GaveUp(const Batch& b) const {
  const absl::Status& last =
      b.last_error.ok() ? absl::UnavailableError("broker unavailable") : b.last_error;
  return absl::Status(last.code(), absl::StrCat("not acknowledged within retry_timeout (",
                                                absl::FormatDuration(options_.retry_timeout),
                                                "): ", last.message()));
}

void ProducerImpl::Connect() {
  absl::Duration wait;
  {
    absl::MutexLock lock(&mu_);
    wait = backoff_;
  }
  const bool ready = channel_->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY ||
                     channel_->WaitForConnected(absl::ToChronoTime(absl::Now() + wait));
  if (!ready) {
    absl::MutexLock lock(&mu_);
    MarkRetrying(absl::Now(), absl::UnavailableError(absl::StrCat(
                                  "cannot connect to the broker at ", options_.broker)));
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    return;
  }
  auto s = std::make_unique<Session>();
  s->stream = stub_->PublishStream(&s->context);
  Session* raw = s.get();
  absl::MutexLock lock(&mu_);
  session_ = std::move(s);
  raw->reader = std::thread([this, raw] { ReadLoop(raw); });
}

void ProducerImpl::Teardown(std::vector<Completion>* done) {
  Session* s;
  {
    absl::MutexLock lock(&mu_);
    s = session_.get();
    if (!s->ended) s->context.TryCancel();
  }
  s->reader.join();
  absl::Status error = internal::ToStatus(s->stream->Finish());
  if (error.ok()) error = absl::UnavailableError("the broker ended the publish stream");
  const bool retry = RetryableStreamEnd(error.code());
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  // Back to the front of their partitions, newest first, so each partition's order holds.
  while (!inflight_.empty()) {
    std::shared_ptr<Batch> b = std::move(inflight_.back());
    inflight_.pop_back();
    PartitionQueue* q = b->queue;
    q->in_flight = false;
    if (retry) {
      Requeue(std::move(b), now, error, /*backoff=*/false, done);
    } else {
      done->push_back(Finished(*b, error, nullptr));
    }
    Relist(q);
  }
  reconnect_at_ = s->answered ? now : now + backoff_;
  if (!s->answered) backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  session_.reset();
}

void ProducerImpl::StopSession() {
  Session* s;
  {
    absl::MutexLock lock(&mu_);
    s = session_.get();
  }
  if (s == nullptr) return;
  // Nothing is in flight: half-close, and give the broker a moment to end the stream.
  s->stream->WritesDone();
  {
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + absl::Seconds(1);
    while (!s->ended && !sender_cv_.WaitWithDeadline(&mu_, deadline)) {
    }
    if (!s->ended) s->context.TryCancel();
  }
  s->reader.join();
  (void)s->stream->Finish();
  absl::MutexLock lock(&mu_);
  session_.reset();
}

void ProducerImpl::ReadLoop(Session* s) {
  v1::PublishStreamResponse response;
  std::vector<Completion> done;
  bool mismatch = false;
  while (!mismatch && s->stream->Read(&response)) {
    {
      absl::MutexLock lock(&mu_);
      if (inflight_.empty() || inflight_.front()->request.sequence() != response.sequence()) {
        mismatch = true;  // answers come in request order; anything else breaks the stream
        break;
      }
      std::shared_ptr<Batch> b = std::move(inflight_.front());
      inflight_.pop_front();
      PartitionQueue* q = b->queue;
      q->in_flight = false;
      s->answered = true;
      backoff_ = kMinBackoff;
      if (response.has_ok()) {
        done.push_back(Finished(*b, absl::OkStatus(), response.mutable_ok()));
      } else {
        absl::Status error(static_cast<absl::StatusCode>(response.error().code()),
                           response.error().message());
        if (error.ok()) error = absl::InternalError("the broker answered neither ok nor error");
        if (absl::IsUnavailable(error)) {
          Requeue(std::move(b), absl::Now(), error, /*backoff=*/true, &done);
        } else {
          done.push_back(Finished(*b, error, nullptr));
        }
      }
      Relist(q);
      sender_cv_.Signal();
    }
    Run(&done);
  }
  if (mismatch) s->context.TryCancel();
  absl::MutexLock lock(&mu_);
  s->ended = true;
  s->broken = true;
  sender_cv_.Signal();
}

void ProducerImpl::Run(std::vector<Completion>* done) {
  if (done->empty()) return;
  {
    absl::MutexLock lock(&mu_);
    for (const Completion& c : *done) buffered_ -= static_cast<int64_t>(c.callbacks.size());
    space_cv_.SignalAll();
  }
  tls_in_callback = true;
  for (Completion& c : *done) {
    for (size_t i = 0; i < c.callbacks.size(); ++i) {
      if (!c.callbacks[i]) continue;
      if (c.status.ok()) {
        const v1::RecordAck& ack = c.acks.Get(static_cast<int>(i));
        c.callbacks[i](RecordMetadata{c.topic, ack.partition(), ack.offset()});
      } else {
        c.callbacks[i](c.status);
      }
    }
  }
  tls_in_callback = false;
  absl::MutexLock lock(&mu_);
  for (const Completion& c : *done) RemoveOutstanding(c.first_record);
  flush_cv_.SignalAll();
  done->clear();
}

// ---------------------------------------------------------------------------------------------
// Topic metadata: the partition count keyed and keyless records need.

void ProducerImpl::MetadataLoop() {
  while (true) {
    std::string topic;
    {
      absl::MutexLock lock(&mu_);
      while (lookups_.empty() && !stopping_) meta_cv_.Wait(&mu_);
      if (lookups_.empty()) return;
      topic = std::move(lookups_.front());
      lookups_.pop_front();
    }
    Resolve(topic);
  }
}

void ProducerImpl::Resolve(const std::string& topic) {
  absl::Time give_up = absl::InfiniteFuture();
  absl::Duration backoff = kMinBackoff;
  // When the topic does not exist, its first records are published without a partition so
  // that the broker creates the topic (when it auto-creates topics); then it is described.
  std::unique_ptr<Batch> first;
  while (true) {
    absl::Status s;
    if (first != nullptr) {
      v1::PublishResponse response;
      grpc::ClientContext context;
      internal::SetTimeout(&context);
      s = internal::ToStatus(stub_->Publish(&context, first->request, &response));
      if (s.ok() || !absl::IsUnavailable(s)) {
        std::vector<Completion> done;
        done.push_back(Finished(*first, s, s.ok() ? &response : nullptr));
        first.reset();
        Run(&done);
        if (!s.ok()) {
          FailUnplaced(topic, s);
          return;
        }
        give_up = absl::InfiniteFuture();
        backoff = kMinBackoff;
        continue;
      }
    } else {
      v1::DescribeTopicRequest request;
      request.set_topic(topic);
      v1::DescribeTopicResponse response;
      grpc::ClientContext context;
      internal::SetTimeout(&context);
      s = internal::ToStatus(admin_->DescribeTopic(&context, request, &response));
      if (s.ok()) {
        if (response.topic().partitions() > 0) {
          PlaceUnplaced(topic, response.topic().partitions());
          return;
        }
        s = absl::InternalError(absl::StrCat("topic '", topic, "' has no partitions"));
      }
      if (absl::IsNotFound(s)) {
        absl::MutexLock lock(&mu_);
        TopicState& t = Topic(topic);
        if (t.unplaced.empty()) {
          t.lookup_queued = false;
          return;
        }
        first = std::make_unique<Batch>();
        first->request.set_topic(topic);
        first->first_record = t.unplaced.front().id;  // the list's entry in outstanding_
        while (!t.unplaced.empty() &&
               static_cast<int64_t>(first->callbacks.size()) < options_.batch_records &&
               (first->callbacks.empty() ||
                first->bytes + t.unplaced.front().bytes <= options_.batch_bytes)) {
          Unplaced& u = t.unplaced.front();
          *first->request.add_records() = std::move(u.record);
          first->callbacks.push_back(std::move(u.callback));
          first->bytes += u.bytes;
          t.unplaced.pop_front();
        }
        if (!t.unplaced.empty()) AddOutstanding(t.unplaced.front().id);
        continue;
      }
    }
    if (!absl::IsUnavailable(s) && !absl::IsDeadlineExceeded(s)) {
      FailUnplaced(topic, s);
      return;
    }
    const absl::Time now = absl::Now();
    if (give_up == absl::InfiniteFuture()) give_up = now + options_.retry_timeout;
    if (now >= give_up) {
      const absl::Status error(
          s.code(), absl::StrCat("not acknowledged within retry_timeout (",
                                 absl::FormatDuration(options_.retry_timeout), "): ", s.message()));
      if (first != nullptr) {
        std::vector<Completion> done;
        done.push_back(Finished(*first, error, nullptr));
        Run(&done);
      }
      FailUnplaced(topic, error);
      return;
    }
    absl::SleepFor(backoff);  // retry pacing
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

void ProducerImpl::PlaceUnplaced(const std::string& topic, int32_t partitions) {
  absl::MutexLock lock(&mu_);
  TopicState& t = Topic(topic);
  t.partitions = partitions;
  // Producers start their keyless records on different partitions.
  t.sticky = static_cast<int32_t>(absl::ToUnixNanos(absl::Now()) % partitions);
  t.lookup_queued = false;
  if (t.unplaced.empty()) return;
  RemoveOutstanding(t.unplaced.front().id);
  std::deque<Unplaced> records = std::move(t.unplaced);
  t.unplaced.clear();
  for (Unplaced& u : records) Place(t, topic, std::move(u));
  sender_cv_.Signal();
}

void ProducerImpl::FailUnplaced(const std::string& topic, const absl::Status& error) {
  std::vector<Completion> done;
  {
    absl::MutexLock lock(&mu_);
    TopicState& t = Topic(topic);
    t.lookup_queued = false;
    if (!t.unplaced.empty()) {
      Completion c;
      c.topic = topic;
      c.status = error;
      c.first_record = t.unplaced.front().id;
      for (Unplaced& u : t.unplaced) c.callbacks.push_back(std::move(u.callback));
      t.unplaced.clear();
      done.push_back(std::move(c));
    }
  }
  Run(&done);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(const ProducerOptions& options) {
  if (options.broker.empty()) return absl::InvalidArgumentError("broker address is empty");
  if (options.batch_records < 1 || options.batch_bytes < 1 || options.buffer_records < 1 ||
      options.max_in_flight_batches < 1) {
    return absl::InvalidArgumentError(
        "batch_records, batch_bytes, buffer_records and max_in_flight_batches must be >= 1");
  }
  if (options.linger < absl::ZeroDuration() || options.retry_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("linger and retry_timeout must be >= 0");
  }
  auto producer = std::make_unique<ProducerImpl>(options);
  producer->Start();
  return std::unique_ptr<Producer>(std::move(producer));
}

}  // namespace ferry
