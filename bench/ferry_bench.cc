// ferry-bench: end-to-end throughput and latency of Ferry, the way Kafka's producer and
// consumer perf tools measure Kafka. See `ferry-bench --help` and docs in bench/.
//
// One process holds the producers and the consumers, so a record's send time (in its first 8
// value bytes, steady clock) and its receipt time come from the same clock.
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ferry/consumer.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "ferry_bench/broker_process.h"
#include "ferry_bench/histogram.h"
#include "ferry_bench/options.h"
#include "grpcpp/grpcpp.h"

#ifndef FERRYD_PATH
#define FERRYD_PATH "ferryd"
#endif

namespace ferry::bench {
namespace {

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void AtomicMax(std::atomic<int64_t>* a, int64_t v) {
  int64_t cur = a->load(std::memory_order_relaxed);
  while (cur < v && !a->compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

// How every connection of the run talks to the broker (--tls): set by main before any
// connection is made, read-only afterwards.
TlsOptions g_tls;

// Each benchmark connection is its own TCP connection, as separate client processes would be.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(64 << 20);
  if (!g_tls.server_name.empty()) args.SetSslTargetNameOverride(g_tls.server_name);
  return grpc::CreateCustomChannel(target, ClientCredentials(g_tls), args);
}

absl::Status ToStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

// State shared by the workers and the coordinating thread.
class Run {
 public:
  explicit Run(int partitions) : end_(partitions), seen_(partitions) {}

  void Fail(const absl::Status& s) {
    absl::MutexLock lock(&mu_);
    if (error_.ok()) error_ = s;
    stop_.store(true);
  }
  absl::Status error() const {
    absl::MutexLock lock(&mu_);
    return error_;
  }
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }
  void Stop() { stop_.store(true); }

  // Producers: the next offset of each partition as acknowledged so far.
  std::vector<std::atomic<int64_t>> end_;
  // Consumers: the next offset after the highest record received, per partition.
  std::vector<std::atomic<int64_t>> seen_;
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> received{0};  // with duplicates
  std::atomic<int64_t> last_ack_ns{0};
  std::atomic<int64_t> last_receive_ns{0};
  std::atomic<int64_t> bad_values{0};
  std::atomic<int> producers_done{0};
  std::atomic<int> assigned_partitions{0};  // sum over consumers, as of their last poll
  std::atomic<bool> consumers_stop{false};

 private:
  mutable absl::Mutex mu_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};
};

// ---------------------------------------------------------------------------------------------
// Producers

struct ProducerConfig {
  std::string target;
  std::string topic;
  int index = 0;
  int partitions = 1;
  int64_t records = 0;  // 0: until duration_ns
  int64_t duration_ns = 0;
  double rate = 0;  // this producer's records/s; 0: closed loop
  int64_t linger_ns = 0;
  int batch_records = 1000;
  int window = 32;
  int record_size = 100;
  int64_t keys = 0;
  int64_t first_key = 0;
};

// One PublishStream: this thread writes requests while a second reads the acks, with at most
// `window` requests unanswered.
class ProducerWorker {
 public:
  ProducerWorker(ProducerConfig config, Run* run) : config_(std::move(config)), run_(run) {}

  void Start() {
    thread_ = std::thread([this] { Main(); });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  const LatencyHistogram& ack_latency() const { return ack_latency_; }

 private:
  struct InFlight {
    uint64_t sequence;
    int64_t start_ns;
  };

  void Main() {
    absl::Status s = Produce();
    if (!s.ok()) run_->Fail(s);
    run_->producers_done.fetch_add(1);
  }

  absl::Status Produce() {
    auto channel = NewChannel(config_.target);
    auto stub = v1::Broker::NewStub(channel);
    grpc::ClientContext context;
    auto stream = stub->PublishStream(&context);
    std::thread acker([&] { AckLoop(stream.get(), &context); });

    v1::PublishRequest request;
    request.set_topic(config_.topic);
    const std::string filler(static_cast<size_t>(config_.record_size), 'x');
    const int64_t start_ns = SteadyNs();
    const double ns_per_record = config_.rate > 0 ? 1e9 / config_.rate : 0;
    auto intended = [&](int64_t i) {
      return start_ns + static_cast<int64_t>(static_cast<double>(i) * ns_per_record);
    };
    int64_t sent = 0;
    uint64_t sequence = 0;
    int next_partition = config_.index % config_.partitions;
    absl::Status result;
    while (!run_->stopping()) {
      int64_t now = SteadyNs();
      int64_t limit = config_.records > 0 ? config_.records : INT64_MAX;
      if (config_.duration_ns > 0 && now - start_ns >= config_.duration_ns) break;
      if (sent >= limit) break;
      int64_t n = std::min<int64_t>(config_.batch_records, limit - sent);
      if (config_.rate > 0) {
        // Open loop: send what is due once a batch is full or its first record has waited
        // `linger`; records carry their intended time, so a late send shows as latency.
        const int64_t due =
            std::min(
                limit,
                static_cast<int64_t>(static_cast<double>(now - start_ns) / ns_per_record) + 1) -
            sent;
        if (due < n && !(due > 0 && now >= intended(sent) + config_.linger_ns)) {
          const int64_t wake = std::min(intended(sent + n - 1), intended(sent) + config_.linger_ns);
          if (wake > now)
            absl::SleepFor(absl::Nanoseconds(std::min<int64_t>(wake - now, 10'000'000)));
          continue;
        }
        n = std::max<int64_t>(std::min(n, due), 1);
      }
      // Wait for room in the window; the wait counts in the ack latency, as a user's send
      // would block on a full buffer.
      const int64_t batch_start = config_.rate > 0 ? intended(sent) : now;
      {
        absl::MutexLock lock(&mu_);
        auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return in_flight_.size() < static_cast<size_t>(config_.window) || ack_failed_;
        };
        // Wakes now and then to notice a run that is stopping (a flag outside mu_).
        while (!mu_.AwaitWithTimeout(absl::Condition(&room), absl::Milliseconds(100)) &&
               !run_->stopping()) {
        }
        if (ack_failed_ || !room()) break;
      }
      // Reuse the request: only the count, the timestamps and the keys change.
      auto* records = request.mutable_records();
      while (records->size() > n) records->RemoveLast();
      while (records->size() < n) records->Add()->set_value(filler);
      for (int64_t i = 0; i < n; ++i) {
        v1::Record* r = records->Mutable(static_cast<int>(i));
        const int64_t ts = config_.rate > 0 ? intended(sent + i) : now;
        std::memcpy(r->mutable_value()->data(), &ts, sizeof(ts));
        if (config_.keys > 0) {
          r->set_key(absl::StrCat("key-", (config_.first_key + sent + i) % config_.keys));
        }
      }
      if (config_.keys == 0) {
        request.set_partition(next_partition);
        next_partition = (next_partition + 1) % config_.partitions;
      }
      request.set_sequence(sequence);
      {
        absl::MutexLock lock(&mu_);
        in_flight_.push_back({sequence, batch_start});
      }
      ++sequence;
      sent += n;
      if (!stream->Write(request)) break;  // the stream broke: Finish says why
    }
    {
      absl::MutexLock lock(&mu_);
      auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return in_flight_.empty() || ack_failed_;
      };
      // A broker that stopped answering must not hang the run past --max-seconds.
      if (!mu_.AwaitWithTimeout(absl::Condition(&drained), absl::Seconds(30))) {
        context.TryCancel();
        mu_.Await(absl::Condition(&drained));  // the acker ends with the cancelled stream
      }
    }
    stream->WritesDone();
    acker.join();
    const absl::Status finished = ToStatus(stream->Finish());
    absl::MutexLock lock(&mu_);
    if (!ack_error_.ok()) return ack_error_;
    if (!finished.ok())
      return absl::Status(finished.code(), absl::StrCat("PublishStream: ", finished.message()));
    if (!in_flight_.empty()) {
      return absl::InternalError("PublishStream ended with requests unanswered");
    }
    return absl::OkStatus();
  }

  void AckLoop(grpc::ClientReaderWriter<v1::PublishRequest, v1::PublishStreamResponse>* stream,
               grpc::ClientContext* context) {
    v1::PublishStreamResponse response;
    std::vector<int64_t> ends(static_cast<size_t>(config_.partitions), -1);
    while (stream->Read(&response)) {
      const int64_t now = SteadyNs();
      InFlight f;
      {
        absl::MutexLock lock(&mu_);
        if (in_flight_.empty() || in_flight_.front().sequence != response.sequence()) {
          ack_error_ = absl::InternalError(absl::StrCat("PublishStream answered sequence ",
                                                        response.sequence(), " out of order"));
          ack_failed_ = true;
          break;
        }
        f = in_flight_.front();
        in_flight_.pop_front();
      }
      if (response.has_error()) {
        absl::MutexLock lock(&mu_);
        ack_error_ = absl::Status(static_cast<absl::StatusCode>(response.error().code()),
                                  absl::StrCat("publish: ", response.error().message()));
        ack_failed_ = true;
        break;
      }
      ack_latency_.Record(now - f.start_ns);
      const auto& acks = response.ok().acks();
      for (const v1::RecordAck& a : acks) {
        if (a.partition() >= 0 && a.partition() < config_.partitions) {
          int64_t& e = ends[static_cast<size_t>(a.partition())];
          e = std::max(e, a.offset() + 1);
        }
      }
      for (int p = 0; p < config_.partitions; ++p) {
        if (ends[static_cast<size_t>(p)] > 0)
          AtomicMax(&run_->end_[static_cast<size_t>(p)], ends[static_cast<size_t>(p)]);
      }
      run_->acked.fetch_add(acks.size(), std::memory_order_relaxed);
      AtomicMax(&run_->last_ack_ns, now);
    }
    absl::MutexLock lock(&mu_);
    if (ack_failed_) context->TryCancel();
    ack_failed_ = ack_failed_ || !in_flight_.empty();  // the stream ended early: stop writing
  }

  const ProducerConfig config_;
  Run* const run_;
  std::thread thread_;
  absl::Mutex mu_;
  std::deque<InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  bool ack_failed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status ack_error_ ABSL_GUARDED_BY(mu_);
  LatencyHistogram ack_latency_;  // the acker's, read after Join
};

// ---------------------------------------------------------------------------------------------
// Consumers

struct ConsumerConfig {
  std::string target;
  std::string topic;
  std::string group;
  int partitions = 1;
  int record_size = 100;
  absl::Duration commit_interval = absl::Seconds(1);
  bool raw = false;
  bool e2e = false;  // record end-to-end latency
};

// One group member. Tracks which offsets it received (a bitmap per partition) so that the
// run can check that every published record arrived at least once.
class ConsumerWorker {
 public:
  ConsumerWorker(ConsumerConfig config, Run* run)
      : config_(std::move(config)), run_(run), seen_(static_cast<size_t>(config_.partitions)) {}

  void Start() {
    thread_ = std::thread([this] {
      absl::Status s = config_.raw ? ConsumeRaw() : ConsumeLibrary();
      if (!s.ok()) run_->Fail(s);
    });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  const LatencyHistogram& e2e_latency() const { return e2e_; }
  const std::vector<std::vector<uint64_t>>& seen() const { return seen_; }

 private:
  // Marks one record received; returns true when it advances the partition's position.
  void Take(int32_t partition, int64_t offset, const std::string& value, int64_t now) {
    if (partition < 0 || partition >= config_.partitions || offset < 0) {
      run_->bad_values.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (value.size() != static_cast<size_t>(config_.record_size)) {
      run_->bad_values.fetch_add(1, std::memory_order_relaxed);
    } else if (config_.e2e) {
      int64_t sent = 0;
      std::memcpy(&sent, value.data(), sizeof(sent));
      e2e_.Record(now - sent);
    }
    std::vector<uint64_t>& bits = seen_[static_cast<size_t>(partition)];
    const size_t word = static_cast<size_t>(offset / 64);
    if (word >= bits.size()) bits.resize(std::max(word + 1, bits.size() * 2), 0);
    bits[word] |= uint64_t{1} << (offset % 64);
  }
  void Advance(int32_t partition, int64_t next, int64_t now) {
    if (partition < 0 || partition >= config_.partitions) return;
    AtomicMax(&run_->seen_[static_cast<size_t>(partition)], next);
    AtomicMax(&run_->last_receive_ns, now);
  }

  absl::Status ConsumeLibrary() {
    ConsumerOptions options;
    options.broker = config_.target;
    options.tls = g_tls;
    options.group = config_.group;
    options.topics = {config_.topic};
    options.offset_reset = OffsetReset::kEarliest;
    options.auto_commit = true;
    options.auto_commit_interval = config_.commit_interval;
    auto consumer = Consumer::Create(options);
    if (!consumer.ok()) return consumer.status();
    int assigned = 0;
    std::vector<int64_t> next(static_cast<size_t>(config_.partitions), -1);
    absl::Status result;
    while (!run_->consumers_stop.load(std::memory_order_relaxed) && !run_->stopping()) {
      auto records = (*consumer)->Poll(absl::Milliseconds(20));
      if (!records.ok()) {
        result = records.status();
        break;
      }
      const int now_assigned = static_cast<int>((*consumer)->Assignment().size());
      run_->assigned_partitions.fetch_add(now_assigned - assigned);
      assigned = now_assigned;
      if (records->empty()) continue;
      const int64_t now = SteadyNs();
      for (const ConsumerRecord& r : *records) {
        Take(r.partition, r.offset, r.value, now);
        if (r.partition >= 0 && r.partition < config_.partitions) {
          int64_t& n = next[static_cast<size_t>(r.partition)];
          n = std::max(n, r.offset + 1);
        }
      }
      for (int p = 0; p < config_.partitions; ++p) {
        if (next[static_cast<size_t>(p)] >= 0) Advance(p, next[static_cast<size_t>(p)], now);
      }
      run_->received.fetch_add(static_cast<int64_t>(records->size()), std::memory_order_relaxed);
    }
    run_->assigned_partitions.fetch_sub(assigned);
    absl::Status closed = (*consumer)->Close();
    if (!result.ok()) return result;
    return closed;
  }

  // The group protocol straight on the stub: JoinGroup, one group Subscribe stream, a
  // CommitOffset every commit interval. No rebalance handling beyond what the stream brings:
  // enough for a benchmark whose membership does not change.
  absl::Status ConsumeRaw() {
    auto channel = NewChannel(config_.target);
    auto stub = v1::Broker::NewStub(channel);
    v1::JoinGroupRequest join;
    join.set_group(config_.group);
    join.add_topics(config_.topic);
    v1::JoinGroupResponse joined;
    {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      absl::Status s = ToStatus(stub->JoinGroup(&context, join, &joined));
      if (!s.ok()) return absl::Status(s.code(), absl::StrCat("JoinGroup: ", s.message()));
    }
    int64_t generation = joined.generation();
    grpc::ClientContext context;
    v1::SubscribeRequest request;
    request.mutable_group()->set_group(config_.group);
    request.mutable_group()->set_member_id(joined.member_id());
    request.mutable_group()->set_offset_reset(v1::OFFSET_RESET_EARLIEST);
    auto reader = stub->Subscribe(&context, request);
    std::atomic<bool> done{false};
    // The stream blocks in Read; a watcher cancels it when the run ends.
    std::thread watcher([&] {
      while (!done.load() && !run_->consumers_stop.load() && !run_->stopping()) {
        absl::SleepFor(absl::Milliseconds(10));  // polls a flag; not a synchronisation
      }
      context.TryCancel();
    });
    std::vector<int64_t> next(static_cast<size_t>(config_.partitions), -1);
    std::vector<bool> dirty(static_cast<size_t>(config_.partitions), false);
    int assigned = 0;
    absl::Time next_commit = absl::Now() + config_.commit_interval;
    auto commit = [&]() {
      v1::CommitOffsetRequest c;
      c.set_group(config_.group);
      c.set_member_id(joined.member_id());
      c.set_generation(generation);
      for (int p = 0; p < config_.partitions; ++p) {
        if (!dirty[static_cast<size_t>(p)]) continue;
        v1::OffsetCommit* o = c.add_offsets();
        o->set_topic(config_.topic);
        o->set_partition(p);
        o->set_offset(next[static_cast<size_t>(p)]);
        dirty[static_cast<size_t>(p)] = false;
      }
      if (c.offsets_size() == 0) return;
      grpc::ClientContext cc;
      cc.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      v1::CommitOffsetResponse r;
      (void)stub->CommitOffset(&cc, c, &r);  // a stale generation only costs a re-read
    };
    // Each message is parsed into an arena that is reset afterwards: no malloc per record, to
    // show what the broker delivers when the client's own cost is as small as it gets.
    std::vector<char> arena_block(4 << 20);
    google::protobuf::ArenaOptions arena_options;
    arena_options.initial_block = arena_block.data();
    arena_options.initial_block_size = arena_block.size();
    google::protobuf::Arena arena(arena_options);
    while (true) {
      arena.Reset();
      v1::SubscribeResponse& message =
          *google::protobuf::Arena::CreateMessage<v1::SubscribeResponse>(&arena);
      if (!reader->Read(&message)) break;
      if (message.has_assignment()) {
        generation = message.assignment().generation();
        const int n = message.assignment().assignment_size();
        run_->assigned_partitions.fetch_add(n - assigned);
        assigned = n;
        if (message.assignment().revoked_size() > 0) {
          // Hand revoked partitions over at once: final commit, then a heartbeat at the new
          // generation acknowledges the revocation (as ferry::Consumer does).
          commit();
          v1::HeartbeatRequest hb;
          hb.set_group(config_.group);
          hb.set_member_id(joined.member_id());
          hb.set_generation(generation);
          v1::HeartbeatResponse hr;
          grpc::ClientContext hc;
          hc.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
          (void)stub->Heartbeat(&hc, hb, &hr);
        }
        continue;
      }
      const int64_t now = SteadyNs();
      const int32_t p = message.partition();
      for (const v1::Record& r : message.records()) Take(p, r.offset(), r.value(), now);
      if (message.records_size() > 0 && p >= 0 && p < config_.partitions) {
        const int64_t n = message.records(message.records_size() - 1).offset() + 1;
        next[static_cast<size_t>(p)] = std::max(next[static_cast<size_t>(p)], n);
        dirty[static_cast<size_t>(p)] = true;
        Advance(p, n, now);
      }
      run_->received.fetch_add(message.records_size(), std::memory_order_relaxed);
      if (absl::Now() >= next_commit) {
        commit();
        next_commit = absl::Now() + config_.commit_interval;
      }
    }
    done.store(true);
    watcher.join();
    const absl::Status s = ToStatus(reader->Finish());
    run_->assigned_partitions.fetch_sub(assigned);
    commit();
    {
      grpc::ClientContext lc;
      lc.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      v1::LeaveGroupRequest leave;
      leave.set_group(config_.group);
      leave.set_member_id(joined.member_id());
      v1::LeaveGroupResponse left;
      (void)stub->LeaveGroup(&lc, leave, &left);
    }
    if (s.ok() || absl::IsCancelled(s)) return absl::OkStatus();
    return absl::Status(s.code(), absl::StrCat("Subscribe: ", s.message()));
  }

  const ConsumerConfig config_;
  Run* const run_;
  std::thread thread_;
  std::vector<std::vector<uint64_t>> seen_;  // the worker thread's until Join
  LatencyHistogram e2e_;
};

// ---------------------------------------------------------------------------------------------
// Coordination and report

struct Figures {
  int64_t records = 0;
  double seconds = 0;
};

struct Report {
  bool has_publish = false, has_consume = false, has_e2e = false, has_broker = false;
  Figures publish, consume;
  LatencyHistogram ack, e2e;
  double broker_cpu = 0, broker_rss_mb = 0, client_cpu = 0;
  int64_t duplicates = 0;
};

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(std::min(colon + 2, line.size()));
    }
  }
  return "unknown";
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

double Us(int64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string LatencyJson(const LatencyHistogram& h) {
  return absl::StrFormat(R"({"p50":%.1f,"p99":%.1f,"p999":%.1f,"max":%.1f})",
                         Us(h.Percentile(0.50)), Us(h.Percentile(0.99)), Us(h.Percentile(0.999)),
                         Us(h.max()));
}

std::string LatencyText(const LatencyHistogram& h) {
  return absl::StrFormat("p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f us (%d samples)",
                         Us(h.Percentile(0.50)), Us(h.Percentile(0.99)), Us(h.Percentile(0.999)),
                         Us(h.max()), h.count());
}

double PerSec(const Figures& f) { return f.seconds > 0 ? f.records / f.seconds : 0; }
double MbPerSec(const Figures& f, int64_t record_size) {
  return PerSec(f) * static_cast<double>(record_size) / (1024.0 * 1024.0);
}

std::string ToJson(const Options& o, const std::string& fsync, const Report& r) {
  std::string out = absl::StrFormat(
      R"({"system":%s,"config":{"producers":%d,"consumers":%d,"partitions":%d,)"
      R"("record_size":%d,"records":%d,"rate":%.0f,"batch_records":%d,"fsync":%s,"tls":%s},)"
      R"("machine":{"cores":%d,"model":%s})",
      JsonString(o.tls ? "ferry-tls" : "ferry"), o.producers, o.mode == "produce" ? 0 : o.consumers,
      o.partitions, o.record_size, o.records, o.rate, o.batch_records, JsonString(fsync),
      o.tls ? "true" : "false", std::thread::hardware_concurrency(), JsonString(CpuModel()));
  if (r.has_publish) {
    absl::StrAppendFormat(
        &out,
        R"(,"publish":{"records":%d,"seconds":%.4f,"records_per_sec":%.0f,"mb_per_sec":%.2f,)"
        R"("ack_latency_us":%s})",
        r.publish.records, r.publish.seconds, PerSec(r.publish), MbPerSec(r.publish, o.record_size),
        LatencyJson(r.ack));
  }
  if (r.has_consume) {
    absl::StrAppendFormat(
        &out,
        R"(,"consume":{"records":%d,"seconds":%.4f,"records_per_sec":%.0f,"mb_per_sec":%.2f})",
        r.consume.records, r.consume.seconds, PerSec(r.consume),
        MbPerSec(r.consume, o.record_size));
  }
  if (r.has_e2e) absl::StrAppend(&out, R"(,"e2e_latency_us":)", LatencyJson(r.e2e));
  if (r.has_broker) {
    absl::StrAppendFormat(&out, R"(,"broker":{"cpu_seconds":%.3f,"peak_rss_mb":%.1f})",
                          r.broker_cpu, r.broker_rss_mb);
  }
  absl::StrAppendFormat(&out, R"(,"client":{"cpu_seconds":%.3f}})", r.client_cpu);
  return out;
}

std::string ToText(const Options& o, const std::string& fsync, const Report& r) {
  std::string out = absl::StrFormat(
      "ferry-bench mode=%s producers=%d consumers=%d (%s) partitions=%d record_size=%d "
      "records=%s rate=%s batch_records=%d window=%d fsync=%s malloc_tuning=%s\n"
      "machine: %d cores, %s\n",
      o.mode, o.producers, o.consumers, o.consumer_client, o.partitions, o.record_size,
      o.records > 0 ? absl::StrCat(o.records) : absl::StrCat(o.duration, " s"),
      o.rate > 0 ? absl::StrCat(o.rate, "/s") : "max", o.batch_records, o.window, fsync,
      o.malloc_tuning ? "on" : "off", std::thread::hardware_concurrency(), CpuModel());
  if (r.has_publish) {
    absl::StrAppendFormat(&out, "  publish   %10d records %8.3f s %12.0f records/s %8.1f MiB/s\n",
                          r.publish.records, r.publish.seconds, PerSec(r.publish),
                          MbPerSec(r.publish, o.record_size));
    absl::StrAppend(&out, "  ack latency  ", LatencyText(r.ack), "\n");
  }
  if (r.has_consume) {
    absl::StrAppendFormat(&out, "  consume   %10d records %8.3f s %12.0f records/s %8.1f MiB/s",
                          r.consume.records, r.consume.seconds, PerSec(r.consume),
                          MbPerSec(r.consume, o.record_size));
    absl::StrAppendFormat(&out, " (%d duplicates)\n", r.duplicates);
  }
  if (r.has_e2e) absl::StrAppend(&out, "  e2e latency  ", LatencyText(r.e2e), "\n");
  if (r.has_broker) {
    absl::StrAppendFormat(&out, "  broker    cpu %.2f s, peak RSS %.1f MiB\n", r.broker_cpu,
                          r.broker_rss_mb);
  }
  absl::StrAppendFormat(&out, "  client    cpu %.2f s\n", r.client_cpu);
  return out;
}

// Polls `done` until it holds, the run fails or `deadline`; prints a progress line each second
// unless quiet. Returns false when the deadline passed.
bool WaitWithProgress(Run* run, const Options& o, const std::function<bool()>& done,
                      int64_t deadline_ns, const char* phase) {
  const int64_t start = SteadyNs();
  int64_t next_print = start + 1'000'000'000;
  int64_t last_acked = run->acked.load(), last_received = run->received.load();
  int64_t last_print = start;
  while (!done()) {
    if (run->stopping()) return true;
    const int64_t now = SteadyNs();
    if (now >= deadline_ns) return false;
    if (!o.quiet && now >= next_print) {
      const int64_t acked = run->acked.load(), received = run->received.load();
      const double dt = static_cast<double>(now - last_print) / 1e9;
      std::fprintf(stderr,
                   "ferry-bench %s %5.1fs: published %lld (%.0f/s), consumed %lld (%.0f/s)\n",
                   phase, static_cast<double>(now - start) / 1e9, static_cast<long long>(acked),
                   static_cast<double>(acked - last_acked) / dt, static_cast<long long>(received),
                   static_cast<double>(received - last_received) / dt);
      last_acked = acked;
      last_received = received;
      last_print = now;
      next_print += 1'000'000'000;
    }
    absl::SleepFor(absl::Milliseconds(2));  // polling a condition with a deadline
  }
  return true;
}

absl::Status CreateTopic(const std::string& target, const std::string& topic, int partitions) {
  auto admin = v1::Admin::NewStub(NewChannel(target));
  v1::CreateTopicRequest request;
  request.set_topic(topic);
  request.set_partitions(partitions);
  v1::CreateTopicResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  absl::Status s = ToStatus(admin->CreateTopic(&context, request, &response));
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("creating topic '", topic, "': ", s.message()));
  }
  return absl::OkStatus();
}

// Whether `ferryd --help` lists `flag`, so that ferry-bench also runs older brokers.
bool FerrydHasFlag(const std::string& ferryd, const std::string& flag) {
  const std::string command = absl::StrCat("'", ferryd, "' --help 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return false;
  std::string help;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) help.append(buffer, n);
  pclose(pipe);
  return help.find(flag + " ") != std::string::npos || help.find(flag + "=") != std::string::npos;
}

int Main(int argc, char** argv) {
  Options o;
  absl::Status parsed = ParseOptions(argc, argv, &o);
  if (!parsed.ok()) {
    std::fprintf(stderr, "ferry-bench: %s\n", std::string(parsed.message()).c_str());
    return 2;
  }
  if (o.help) {
    std::fputs(Usage(FERRYD_PATH).c_str(), stdout);
    return 0;
  }
  if (o.malloc_tuning) {
    // Keep freed memory in the process: glibc otherwise trims the heap (madvise) and mmaps
    // large buffers afresh, and every gRPC read then page-faults its buffer in again.
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    mallopt(M_MMAP_THRESHOLD, 16 << 20);  // glibc caps it at 32 MiB
  }
  // ferryd's shutdown waits for clients to acknowledge GOAWAY, which an idle C++ client
  // notices only when its backup poller runs (every 5 s by default).
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/0);
  signal(SIGPIPE, SIG_IGN);
  const int64_t run_start = SteadyNs();
  const int64_t deadline = run_start + static_cast<int64_t>(o.max_seconds * 1e9);

  // Declared before the broker, so the broker stops before its certificate goes.
  struct RemoveDir {
    std::string path;
    ~RemoveDir() {
      if (!path.empty()) std::filesystem::remove_all(path);
    }
  } tls_dir_guard;
  std::string& tls_dir = tls_dir_guard.path;
  BrokerProcess broker;
  std::string target = o.target;
  pid_t broker_pid = static_cast<pid_t>(o.broker_pid);
  std::string fsync = o.fsync;
  if (target.empty()) {
    const std::string ferryd = o.ferryd.empty() ? FERRYD_PATH : o.ferryd;
    std::vector<std::string> flags = {"--fsync=" + o.fsync};
    // No Kafka listener: its fixed default port may be taken, and the benchmark does not use it.
    if (FerrydHasFlag(ferryd, "--kafka-listen")) flags.push_back("--kafka-listen=");
    flags.insert(flags.end(), o.ferryd_args.begin(), o.ferryd_args.end());
    if (o.tls) {
      // The certificate lives beside the run: removed with this directory at exit.
      std::string dir = "/tmp/ferry-bench-tls-XXXXXX";
      if (mkdtemp(dir.data()) == nullptr) {
        std::perror("ferry-bench: mkdtemp");
        return 1;
      }
      tls_dir = dir;
      if (absl::Status s = MakeSelfSignedCertificate(dir, &g_tls); !s.ok()) {
        std::fprintf(stderr, "ferry-bench: %s\n", std::string(s.message()).c_str());
        return 1;
      }
      flags.push_back("--tls-cert=" + dir + "/cert.pem");
      flags.push_back("--tls-key=" + dir + "/key.pem");
    }
    absl::Status s = broker.Start(ferryd, flags, absl::Seconds(30), g_tls);
    if (!s.ok()) {
      std::fprintf(stderr, "ferry-bench: starting the broker: %s\n",
                   std::string(s.message()).c_str());
      return 1;
    }
    target = broker.target();
    broker_pid = broker.pid();
  } else {
    if (!o.fsync_set) fsync = "external";
    absl::Status s = AwaitServing(target, absl::Now() + absl::Seconds(20));
    if (!s.ok()) {
      std::fprintf(stderr, "ferry-bench: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  const std::string suffix = absl::StrCat(absl::ToUnixMillis(absl::Now()), "-", getpid());
  const std::string topic = o.topic.empty() ? absl::StrCat("ferry-bench-", suffix) : o.topic;
  const std::string group = absl::StrCat("ferry-bench-", suffix);
  if (absl::Status s = CreateTopic(target, topic, static_cast<int>(o.partitions)); !s.ok()) {
    std::fprintf(stderr, "ferry-bench: %s\n", std::string(s.message()).c_str());
    return 1;
  }

  Run run(static_cast<int>(o.partitions));
  std::vector<std::unique_ptr<ProducerWorker>> producers;
  std::vector<std::unique_ptr<ConsumerWorker>> consumers;
  auto start_producers = [&] {
    const double rate = o.rate / static_cast<double>(o.producers);
    for (int i = 0; i < o.producers; ++i) {
      ProducerConfig c;
      c.target = target;
      c.topic = topic;
      c.index = i;
      c.partitions = static_cast<int>(o.partitions);
      c.records =
          o.records > 0 ? o.records / o.producers + (i < o.records % o.producers ? 1 : 0) : 0;
      c.duration_ns = static_cast<int64_t>(o.duration * 1e9);
      c.rate = rate;
      c.linger_ns = static_cast<int64_t>(o.linger_ms * 1e6);
      c.batch_records = static_cast<int>(o.batch_records);
      c.window = static_cast<int>(o.window);
      c.record_size = static_cast<int>(o.record_size);
      c.keys = o.keys;
      c.first_key = i;
      if (o.records > 0 && c.records == 0) continue;  // fewer records than producers
      producers.push_back(std::make_unique<ProducerWorker>(c, &run));
    }
    for (auto& p : producers) p->Start();
  };
  const int producer_count = [&] {
    return o.records > 0 ? static_cast<int>(std::min(o.producers, o.records))
                         : static_cast<int>(o.producers);
  }();
  auto producers_done = [&] { return run.producers_done.load() == producer_count; };
  auto start_consumers = [&](bool e2e) {
    for (int i = 0; i < o.consumers; ++i) {
      ConsumerConfig c;
      c.target = target;
      c.topic = topic;
      c.group = group;
      c.partitions = static_cast<int>(o.partitions);
      c.record_size = static_cast<int>(o.record_size);
      c.commit_interval = absl::Microseconds(static_cast<int64_t>(o.commit_interval_ms * 1000));
      c.raw = o.consumer_client == "raw";
      c.e2e = e2e;
      consumers.push_back(std::make_unique<ConsumerWorker>(c, &run));
    }
    for (auto& c : consumers) c->Start();
  };
  // Every published record has been received (once the producers are done).
  auto caught_up = [&] {
    if (!producers_done()) return false;
    for (int p = 0; p < o.partitions; ++p) {
      if (run.seen_[static_cast<size_t>(p)].load() < run.end_[static_cast<size_t>(p)].load()) {
        return false;
      }
    }
    return true;
  };
  auto broker_cpu = [&]() -> double {
    if (broker_pid <= 0) return 0;
    auto s = ReadProcessStats(broker_pid);
    return s.ok() ? s->cpu_seconds : 0;
  };

  Report report;
  bool timed_out = false;
  double cpu0 = 0, client0 = 0;
  int64_t measure_start = 0;
  if (o.mode == "consume") {
    start_producers();
    timed_out = !WaitWithProgress(&run, o, producers_done, deadline, "preparing");
  }
  if (!timed_out && !run.stopping()) {
    if (o.mode == "both") {
      start_consumers(/*e2e=*/true);
      // Publish only once the group owns every partition, so that end-to-end latency does
      // not include the join.
      timed_out = !WaitWithProgress(
          &run, o, [&] { return run.assigned_partitions.load() >= o.partitions; }, deadline,
          "joining");
    }
    cpu0 = broker_cpu();
    client0 = SelfCpuSeconds();
    measure_start = SteadyNs();
    if (o.mode == "consume") {
      start_consumers(/*e2e=*/false);
    } else if (!timed_out) {
      start_producers();
    }
    if (!timed_out) {
      timed_out = !WaitWithProgress(
          &run, o, [&] { return o.mode == "produce" ? producers_done() : caught_up(); }, deadline,
          "running");
    }
  }
  const double cpu1 = broker_cpu();
  const double client1 = SelfCpuSeconds();
  if (timed_out)
    run.Fail(absl::DeadlineExceededError(
        absl::StrFormat("the run did not finish within --max-seconds=%g", o.max_seconds)));
  run.Stop();
  run.consumers_stop.store(true);
  for (auto& p : producers) p->Join();
  for (auto& c : consumers) c->Join();

  int exit_code = 0;
  absl::Status error = run.error();
  if (!error.ok()) {
    std::fprintf(stderr, "ferry-bench: FAILED: %s\n", std::string(error.message()).c_str());
    exit_code = 1;
  }
  int64_t published = 0;
  for (int p = 0; p < o.partitions; ++p) published += run.end_[static_cast<size_t>(p)].load();
  if (o.mode != "consume") {
    report.has_publish = true;
    report.publish.records = run.acked.load();
    report.publish.seconds =
        static_cast<double>(std::max<int64_t>(run.last_ack_ns.load() - measure_start, 0)) / 1e9;
    for (auto& p : producers) report.ack.Merge(p->ack_latency());
  }
  if (run.acked.load() != published) {
    std::fprintf(stderr,
                 "ferry-bench: FAILED: %lld records acknowledged but the partitions' acknowledged "
                 "ends add up to %lld (was the topic new?)\n",
                 static_cast<long long>(run.acked.load()), static_cast<long long>(published));
    exit_code = 1;
  }
  if (o.records > 0 && exit_code == 0 && run.acked.load() != o.records) {
    std::fprintf(stderr, "ferry-bench: FAILED: %lld of %lld records acknowledged\n",
                 static_cast<long long>(run.acked.load()), static_cast<long long>(o.records));
    exit_code = 1;
  }
  if (o.mode != "produce") {
    // Every offset of [0, end) of every partition received by some member.
    int64_t distinct = 0, missing = 0;
    for (int p = 0; p < o.partitions; ++p) {
      const int64_t end = run.end_[static_cast<size_t>(p)].load();
      std::vector<uint64_t> merged((static_cast<size_t>(end) + 63) / 64, 0);
      for (auto& c : consumers) {
        const auto& bits = c->seen()[static_cast<size_t>(p)];
        for (size_t w = 0; w < std::min(bits.size(), merged.size()); ++w) merged[w] |= bits[w];
      }
      int64_t got = 0;
      for (int64_t off = 0; off < end; ++off) {
        got += (merged[static_cast<size_t>(off / 64)] >> (off % 64)) & 1;
      }
      distinct += got;
      missing += end - got;
    }
    report.has_consume = true;
    report.consume.records = distinct;
    report.consume.seconds =
        static_cast<double>(std::max<int64_t>(run.last_receive_ns.load() - measure_start, 0)) / 1e9;
    report.duplicates = run.received.load() - distinct;
    if (missing > 0) {
      std::fprintf(stderr, "ferry-bench: FAILED: %lld of %lld published records never consumed\n",
                   static_cast<long long>(missing), static_cast<long long>(published));
      exit_code = 1;
    }
    if (run.bad_values.load() > 0) {
      std::fprintf(stderr, "ferry-bench: FAILED: %lld records with a wrong value size\n",
                   static_cast<long long>(run.bad_values.load()));
      exit_code = 1;
    }
    if (o.mode == "both") {
      report.has_e2e = true;
      for (auto& c : consumers) report.e2e.Merge(c->e2e_latency());
    }
  }
  consumers.clear();
  producers.clear();
  if (broker_pid > 0) {
    auto stats = ReadProcessStats(broker_pid);
    if (stats.ok()) {
      report.has_broker = true;
      report.broker_cpu = cpu1 - cpu0;
      report.broker_rss_mb = stats->peak_rss_mb;
    }
  }
  report.client_cpu = client1 - client0;
  if (o.target.empty()) {
    absl::Status s = broker.Stop();
    if (!s.ok()) {
      std::fprintf(stderr, "ferry-bench: stopping the broker: %s\n",
                   std::string(s.message()).c_str());
      exit_code = 1;
    }
  }
  const std::string text = ToText(o, fsync, report);
  if (o.json) {
    std::printf("%s\n", ToJson(o, fsync, report).c_str());
    if (!o.quiet) std::fputs(text.c_str(), stderr);
  } else {
    std::fputs(text.c_str(), stdout);
  }
  return exit_code;
}

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) { return ferry::bench::Main(argc, argv); }
