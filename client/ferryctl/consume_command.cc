// consume: prints records of one partition or all of a topic's partitions (direct reads through
// ferry::PartitionReader, one thread per partition), or of the partitions a consumer group
// assigns to this process (ferry::Consumer), committing exactly what was printed.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/ferryctl/commands.h"
#include "client/ferryctl/errors.h"
#include "client/ferryctl/output.h"
#include "ferry/consumer.h"

namespace ferry::ctl {
namespace {

// How long one Read/Poll waits: the longest it takes to notice Ctrl-C or another thread's stop.
constexpr absl::Duration kWaitSlice = absl::Milliseconds(200);
// With -e and a timestamp start, a partition that delivers nothing for this long has no record
// at or after the timestamp (the broker sends stored records at once).
constexpr absl::Duration kTimestampIdleEnd = absl::Seconds(3);
// Commit period of a long-running group consumer.
constexpr absl::Duration kCommitInterval = absl::Seconds(1);
// Pacing of a direct read's reconnects to a broker that went away.
constexpr absl::Duration kMinReconnectBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxReconnectBackoff = absl::Seconds(2);

std::atomic<bool> g_interrupted{false};

void OnSignal(int /*sig*/) { g_interrupted.store(true); }

void InstallSignalHandlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed pipe (`| head`) shows up as a failed write, which ends consuming quietly.
  signal(SIGPIPE, SIG_IGN);
}

// Prints records in the chosen format, counts them against -c, and remembers the first error
// of any partition thread. Thread-safe.
class Printer {
 public:
  using Render = std::function<std::string(const ConsumerRecord&)>;
  Printer(Render render, int64_t limit) : render_(std::move(render)), limit_(limit) {}

  // Prints `record`; false when nothing more should be printed (the limit was reached before
  // this record, or stdout is closed).
  bool Print(const ConsumerRecord& record) {
    const std::string text = render_(record);
    absl::MutexLock lock(&mu_);
    if (stop_) return false;
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
      OutputFailedLocked();
      return false;
    }
    ++printed_;
    if (limit_ > 0 && printed_ >= limit_) stop_ = true;
    return true;
  }

  void Flush() {
    absl::MutexLock lock(&mu_);
    if (std::fflush(stdout) != 0) OutputFailedLocked();
  }

  // Ends every partition thread: on an error, or when one thread saw -c reached.
  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (error_.ok()) error_ = status;
    stop_ = true;
  }

  bool stopped() const {
    if (g_interrupted.load()) return true;
    absl::MutexLock lock(&mu_);
    return stop_;
  }
  absl::Status error() const {
    absl::MutexLock lock(&mu_);
    return error_;
  }

 private:
  void OutputFailedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // The reader went away (`| head -3`): stop quietly. Any other failure is an error.
    if (errno != EPIPE && error_.ok()) {
      error_ = absl::InternalError(absl::StrCat("writing stdout: ", std::strerror(errno)));
    }
    stop_ = true;
  }

  const Render render_;
  const int64_t limit_;
  mutable absl::Mutex mu_;
  int64_t printed_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

// Where -o says to start.
struct StartSpec {
  PartitionReader::Start kind = PartitionReader::Start::kEarliest;
  int64_t value = 0;      // offset or timestamp
  bool from_end = false;  // value records before the end ("-N")
};

absl::StatusOr<StartSpec> ParseStart(const std::string& text) {
  StartSpec spec;
  if (text == "earliest" || text == "beginning") return spec;
  if (text == "latest" || text == "end") {
    spec.kind = PartitionReader::Start::kLatest;
    return spec;
  }
  if (text.rfind("s@", 0) == 0) {
    spec.kind = PartitionReader::Start::kTimestamp;
    if (!absl::SimpleAtoi(text.substr(2), &spec.value) || spec.value < 0) {
      return UsageError(
          absl::StrCat("-o s@MS wants milliseconds since the epoch, got '", text, "'"));
    }
    return spec;
  }
  spec.kind = PartitionReader::Start::kOffset;
  if (!absl::SimpleAtoi(text, &spec.value)) {
    return UsageError(absl::StrCat(
        "-o wants earliest, latest, an offset N, -N (N before the end) or s@MS, got '", text, "'"));
  }
  if (spec.value < 0) {
    spec.from_end = true;
    spec.value = -spec.value;
  }
  return spec;
}

// One partition of a direct read.
struct PartitionPlan {
  int32_t partition = 0;
  PartitionReader::Start start = PartitionReader::Start::kEarliest;
  int64_t start_value = 0;
  int64_t first_offset = -1;  // where reading starts when known before reading (-1: unknown)
  int64_t stop_at = -1;       // -e: the end offset when consuming began (-1: no end)
};

// The broker's hint for an out-of-range start names its API field; ferryctl's user wants the flag.
absl::Status WithFlagHint(const absl::Status& status) {
  if (!absl::IsOutOfRange(status)) return status;
  std::string message(status.message());
  const size_t hint = message.find("; set offset_reset to");
  if (hint != std::string::npos) message.erase(hint);
  return absl::OutOfRangeError(absl::StrCat(
      message,
      "; start elsewhere with -o, or add --offset-reset earliest|latest to start at the "
      "log start or end instead"));
}

void ReadPartition(const Context& ctx, const std::string& topic, const PartitionPlan& plan,
                   OffsetReset reset, absl::Duration reconnect_for, Printer& printer) {
  // Nothing to read. (An offset past the end goes to the broker, which answers OUT_OF_RANGE.)
  if (plan.stop_at >= 0 && plan.first_offset == plan.stop_at) return;
  PartitionReader::Start start = plan.start;
  int64_t start_value = plan.start_value;
  if (start == PartitionReader::Start::kLatest && plan.first_offset >= 0) {
    // A reconnect must not skip what arrived while the broker was away: pin the end seen.
    start = PartitionReader::Start::kOffset;
    start_value = plan.first_offset;
  }
  bool received = false;
  absl::Duration idle;
  absl::Duration backoff = kMinReconnectBackoff;
  std::optional<absl::Time> outage_since;
  while (!printer.stopped()) {
    absl::StatusOr<std::unique_ptr<PartitionReader>> reader = PartitionReader::Create(
        ctx.broker, topic, plan.partition, start, start_value, reset, ctx.tls, ctx.credentials);
    if (!reader.ok()) {
      printer.Fail(reader.status());
      return;
    }
    absl::Status ended;
    while (!printer.stopped() && ended.ok()) {
      absl::StatusOr<std::vector<ConsumerRecord>> records = (*reader)->Read(kWaitSlice);
      if (!records.ok()) {
        ended = records.status();
        break;
      }
      if (outage_since.has_value()) {
        std::fprintf(stderr, "ferryctl: partition %d: reconnected to %s\n", plan.partition,
                     ctx.broker.c_str());
        outage_since.reset();
        backoff = kMinReconnectBackoff;
      }
      if (records->empty()) {
        idle += kWaitSlice;
        if (plan.stop_at >= 0 && plan.start == PartitionReader::Start::kTimestamp && !received &&
            idle >= kTimestampIdleEnd) {
          return;
        }
        continue;
      }
      idle = absl::ZeroDuration();
      received = true;
      for (const ConsumerRecord& record : *records) {
        if (plan.stop_at >= 0 && record.offset >= plan.stop_at) {
          printer.Flush();
          return;
        }
        if (!printer.Print(record)) return;
        // Where a new stream resumes: after the last record printed, never re-printing one.
        start = PartitionReader::Start::kOffset;
        start_value = record.offset + 1;
      }
      printer.Flush();
      if (plan.stop_at >= 0 && records->back().offset + 1 >= plan.stop_at) return;
    }
    if (printer.stopped()) return;
    // The broker went away (restart, network): open the stream again after the last record
    // printed, with backoff, for up to --reconnect-for per outage.
    const absl::Time now = absl::Now();
    if (!absl::IsUnavailable(ended) || reconnect_for <= absl::ZeroDuration() ||
        (outage_since.has_value() && now - *outage_since >= reconnect_for)) {
      printer.Fail(WithFlagHint(ended));
      return;
    }
    if (!outage_since.has_value()) {
      outage_since = now;
      std::fprintf(stderr, "ferryctl: partition %d: %s; reconnecting for up to %s\n",
                   plan.partition, std::string(ended.message()).c_str(),
                   absl::FormatDuration(reconnect_for).c_str());
    }
    for (absl::Duration waited; waited < backoff && !printer.stopped(); waited += kWaitSlice) {
      absl::SleepFor(std::min(kWaitSlice, backoff));  // retry pacing; notices Ctrl-C
    }
    backoff = std::min(backoff * 2, kMaxReconnectBackoff);
  }
}

absl::Status ConsumeDirect(Context& ctx, const std::string& topic, const StartSpec& start,
                           std::optional<int32_t> partition, bool exit_at_end, OffsetReset reset,
                           absl::Duration reconnect_for, const v1::DescribeTopicResponse& described,
                           Printer& printer) {
  std::vector<int32_t> partitions;
  if (partition.has_value()) {
    if (*partition >= described.topic().partitions()) {
      return absl::NotFoundError(
          absl::StrCat("topic '", topic, "' has ", described.topic().partitions(),
                       " partitions; partition ", *partition, " does not exist"));
    }
    partitions.push_back(*partition);
  } else {
    for (int32_t p = 0; p < described.topic().partitions(); ++p) partitions.push_back(p);
  }

  std::vector<PartitionPlan> plans;
  for (int32_t p : partitions) {
    PartitionPlan plan;
    plan.partition = p;
    plan.start = start.kind;
    plan.start_value = start.value;
    int64_t log_start = 0;
    int64_t end = 0;
    for (const v1::PartitionInfo& info : described.partitions()) {
      if (info.partition() == p) {
        log_start = info.log_start_offset();
        end = info.end_offset();
      }
    }
    switch (start.kind) {
      case PartitionReader::Start::kEarliest:
        plan.first_offset = log_start;
        break;
      case PartitionReader::Start::kLatest:
        plan.first_offset = end;
        break;
      case PartitionReader::Start::kOffset:
        if (start.from_end) plan.start_value = std::max(log_start, end - start.value);
        plan.first_offset = plan.start_value;
        break;
      case PartitionReader::Start::kTimestamp:
        break;
    }
    if (exit_at_end) plan.stop_at = end;
    plans.push_back(plan);
  }

  if (plans.size() == 1) {
    ReadPartition(ctx, topic, plans[0], reset, reconnect_for, printer);
  } else {
    std::vector<std::thread> threads;
    for (const PartitionPlan& plan : plans) {
      threads.emplace_back([&ctx, &topic, plan, reset, reconnect_for, &printer] {
        ReadPartition(ctx, topic, plan, reset, reconnect_for, printer);
      });
    }
    for (std::thread& t : threads) t.join();
  }
  printer.Flush();
  return printer.error();
}

// Offsets after the last printed record per partition; what the group commits. One thread
// (the polling one; on_revoke runs inside Poll).
class PrintedPositions {
 public:
  void Advance(const ConsumerRecord& r) {
    uncommitted_[{r.topic, r.partition}] = r.offset + 1;
    all_[{r.topic, r.partition}] = r.offset + 1;
  }
  // Commits the positions not committed yet (only those of `only` when given). What fails
  // stays uncommitted, for the next try.
  absl::Status Commit(Consumer& consumer, const std::vector<TopicPartition>* only = nullptr) {
    std::map<TopicPartition, int64_t> offsets;
    for (const auto& [tp, offset] : uncommitted_) {
      if (only == nullptr || std::find(only->begin(), only->end(), tp) != only->end()) {
        offsets[tp] = offset;
      }
    }
    if (offsets.empty()) return absl::OkStatus();
    absl::Status s = consumer.Commit(offsets);
    if (s.ok()) {
      for (const auto& [tp, offset] : offsets) uncommitted_.erase(tp);
    }
    return s;
  }
  // Partitions that moved to another member: whoever owns them next resumes from the commit.
  void Forget(const std::vector<TopicPartition>& tps) {
    for (const TopicPartition& tp : tps) {
      uncommitted_.erase(tp);
      all_.erase(tp);
    }
  }
  bool dirty() const { return !uncommitted_.empty(); }
  // -1 when nothing of `tp` was printed.
  int64_t Get(const TopicPartition& tp) const {
    auto it = all_.find(tp);
    return it == all_.end() ? -1 : it->second;
  }

 private:
  std::map<TopicPartition, int64_t> uncommitted_;
  std::map<TopicPartition, int64_t> all_;
};

// -e in a group: whether every partition this member owns has been printed up to its end. A
// partition nothing was printed from starts at the group's committed offset or, when nothing is
// committed, where offset_reset says. A member that owns nothing is at its end once the group is
// stable (more members than partitions); before that its partitions may still be on their way.
absl::StatusOr<bool> GroupAtEnd(Context& ctx, const std::string& group, Consumer& consumer,
                                const PrintedPositions& printed, OffsetReset reset) {
  const std::vector<TopicPartition> assignment = consumer.Assignment();
  v1::DescribeGroupRequest request;
  request.set_group(group);
  v1::DescribeGroupResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DescribeGroup(call.get(), request, &response),
                            absl::StrCat("describe group '", group, "'"));
  if (!s.ok()) return s;
  if (assignment.empty()) {
    if (response.state() != v1::GROUP_STATE_STABLE) return false;
    const std::string me = consumer.member_id();
    for (const v1::GroupMember& m : response.members()) {
      if (m.member_id() == me) return m.assignment_size() == 0;
    }
    return false;  // this member's join is not visible yet
  }
  for (const TopicPartition& tp : assignment) {
    for (const v1::GroupPartitionLag& row : response.partitions()) {
      if (row.topic() != tp.first || row.partition() != tp.second) continue;
      int64_t position = printed.Get(tp);
      if (position < 0) {
        if (row.committed_offset() >= 0) {
          position = row.committed_offset();
        } else {
          position =
              reset == OffsetReset::kEarliest ? row.end_offset() - row.lag() : row.end_offset();
        }
      }
      if (position < row.end_offset()) return false;
    }
  }
  return true;
}

absl::Status ConsumeGroup(Context& ctx, const std::string& topic, const std::string& group,
                          OffsetReset reset, Assignor assignor, bool exit_at_end,
                          Printer& printer) {
  PrintedPositions printed;
  Consumer* consumer_ptr = nullptr;
  ConsumerOptions options;
  options.broker = ctx.broker;
  options.tls = ctx.tls;
  options.credentials = ctx.credentials;
  options.group = group;
  options.topics = {topic};
  options.offset_reset = reset;
  options.assignor = assignor;
  // Commits are explicit so that exactly the printed records count as consumed (-c may stop
  // in the middle of a batch).
  options.auto_commit = false;
  options.on_revoke = [&printed, &consumer_ptr](const std::vector<TopicPartition>& revoked) {
    if (consumer_ptr == nullptr) return;
    absl::Status s = printed.Commit(*consumer_ptr, &revoked);
    if (!s.ok()) {
      std::fprintf(stderr, "ferryctl: warning: final commit of revoked partitions failed: %s\n",
                   std::string(s.message()).c_str());
    }
    printed.Forget(revoked);
  };
  absl::StatusOr<std::unique_ptr<Consumer>> consumer = Consumer::Create(options);
  if (!consumer.ok()) return consumer.status();
  consumer_ptr = consumer->get();

  absl::Status result;
  absl::Time last_commit = absl::Now();
  while (!printer.stopped()) {
    absl::StatusOr<std::vector<ConsumerRecord>> records = (*consumer)->Poll(kWaitSlice);
    if (!records.ok()) {
      result = records.status();
      break;
    }
    for (const ConsumerRecord& record : *records) {
      if (!printer.Print(record)) break;
      printed.Advance(record);
    }
    printer.Flush();
    if (printer.stopped()) break;
    if (printed.dirty() && absl::Now() - last_commit >= kCommitInterval) {
      absl::Status s = printed.Commit(**consumer);
      if (!s.ok()) {
        std::fprintf(stderr, "ferryctl: warning: commit failed (will retry): %s\n",
                     std::string(s.message()).c_str());
      }
      last_commit = absl::Now();
    }
    if (exit_at_end && records->empty()) {
      absl::StatusOr<bool> at_end = GroupAtEnd(ctx, group, **consumer, printed, reset);
      if (!at_end.ok()) {
        result = at_end.status();
        break;
      }
      if (*at_end) break;
    }
  }
  absl::Status committed = printed.Commit(**consumer);
  if (!committed.ok()) {
    committed = absl::Status(
        committed.code(), absl::StrCat("committing the printed records' offsets of group '", group,
                                       "' failed: ", committed.message()));
  }
  consumer_ptr = nullptr;
  absl::Status closed = (*consumer)->Close();
  if (!result.ok()) return result;
  if (!printer.error().ok()) return printer.error();
  if (!committed.ok()) return committed;
  return closed;
}

struct ConsumeOptions {
  std::string topic;
  std::string group;
  int32_t partition = 0;
  std::string offset = "earliest";
  std::string offset_reset;
  std::string format;
  bool json = false;
  bool null = false;
  int64_t count = 0;
  bool exit = false;
  std::string assignor;
  std::string reconnect_for = "60s";
  CLI::Option* group_given = nullptr;
  CLI::Option* partition_given = nullptr;
};

absl::StatusOr<OffsetReset> ParseOffsetReset(const std::string& text) {
  if (text == "earliest") return OffsetReset::kEarliest;
  if (text == "latest") return OffsetReset::kLatest;
  return OffsetReset::kNone;
}

Assignor ParseAssignor(const std::string& text) {
  if (text == "range") return Assignor::kRange;
  if (text == "roundrobin") return Assignor::kRoundRobin;
  if (text == "sticky") return Assignor::kSticky;
  return Assignor::kGroupDefault;
}

absl::Status Consume(Context& ctx, const ConsumeOptions& o) {
  const std::string& topic = o.topic;
  // --format: json, text ('%v\n') or a format string; without it, the --format given before
  // the command (text or json).
  const bool json = o.json || o.format == "json" || (o.format.empty() && ctx.json);
  Printer::Render render;
  if (json) {
    render = [](const ConsumerRecord& r) { return RecordJson(r) + "\n"; };
  } else {
    absl::StatusOr<RecordFormat> format =
        RecordFormat::Parse(o.format.empty() || o.format == "text" ? "%v\\n" : o.format);
    if (!format.ok()) return format.status();
    if (o.null) format->set_null_text("NULL");
    render = [f = *std::move(format)](const ConsumerRecord& r) { return f.Render(r); };
  }
  const bool grouped = o.group_given->count() > 0;
  if (grouped && o.partition_given->count() > 0) {
    return UsageError("give --group or --partition, not both");
  }
  if (!grouped && !o.assignor.empty()) return UsageError("--assignor needs --group");
  const std::string& group = o.group;
  if (grouped && group.empty()) return UsageError("--group is empty");
  absl::Duration reconnect_for = absl::ZeroDuration();
  if (o.reconnect_for != "0") {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(o.reconnect_for, "--reconnect-for");
    if (!d.ok()) return d.status();
    reconnect_for = *d;
  }
  const std::string& from = o.offset;
  OffsetReset reset = OffsetReset::kNone;
  if (!o.offset_reset.empty()) {
    absl::StatusOr<OffsetReset> r = ParseOffsetReset(o.offset_reset);
    if (!r.ok()) return r.status();
    reset = *r;
  }
  if (grouped) {
    if (from != "earliest" && from != "beginning" && from != "latest" && from != "end") {
      return UsageError(
          "with --group, -o takes earliest or latest (where the group has nothing committed); "
          "move a group's offsets with 'ferryctl group reset-offsets'");
    }
    if (o.offset_reset.empty()) {
      reset = from == "latest" || from == "end" ? OffsetReset::kLatest : OffsetReset::kEarliest;
    }
  }
  absl::StatusOr<StartSpec> start = ParseStart(from);
  if (!start.ok()) return start.status();
  std::optional<int32_t> partition;
  if (o.partition_given->count() > 0) partition = o.partition;

  // Also checks that the broker is up and the topic exists: consuming never creates a topic.
  absl::StatusOr<v1::DescribeTopicResponse> described = ctx.DescribeTopic(topic);
  if (!described.ok()) return described.status();

  InstallSignalHandlers();
  Printer printer(std::move(render), o.count);
  if (grouped) {
    return WithFlagHint(
        ConsumeGroup(ctx, topic, group, reset, ParseAssignor(o.assignor), o.exit, printer));
  }
  return ConsumeDirect(ctx, topic, *start, partition, o.exit, reset, reconnect_for, *described,
                       printer);
}

}  // namespace

void AddConsumeCommand(CLI::App& app, Runner* run) {
  auto o = std::make_shared<ConsumeOptions>();
  CLI::App* cmd =
      app.add_subcommand("consume", "print records of partitions, or as a member of a group");
  cmd->add_option("topic", o->topic, "the topic")->required();
  o->group_given =
      cmd->add_option("-g,--group", o->group, "consume as a member of this consumer group");
  o->partition_given =
      cmd->add_option("-p,--partition", o->partition, "read only partition N (not with --group)")
          ->check(CLI::Range(0, INT32_MAX, "N >= 0"));
  cmd->add_option("-o,--offset", o->offset,
                  "where to start: earliest (default), latest, N, -N (N records before the end) "
                  "or s@MS (the first record with timestamp >= MS). With --group only earliest "
                  "or latest, for partitions the group has not committed");
  cmd->add_option("--offset-reset", o->offset_reset,
                  "where to start when the start offset (with --group: the committed one) is "
                  "outside the log: earliest, latest or none (fail; the default without "
                  "--group)")
      ->check(CLI::IsMember({"earliest", "latest", "none"}));
  cmd->add_option("-f,--format", o->format,
                  "output: text (default, '%v\\n'), json (one object per line, see below) or a "
                  "format string: %t topic, %p partition, %o offset, %k key, %v value, %T "
                  "timestamp (ms), %h headers (k=v,...), %K key length (-1: null), %S value "
                  "length (-1: null), %% a percent sign; escapes \\n \\t \\r \\0 \\\\ "
                  "\\xHH");
  cmd->add_flag("-J", o->json, "same as --format json (as kcat -J)");
  cmd->add_flag("-Z,--null", o->null,
                "print a null key or value (%k, %v) as NULL instead of nothing, as kcat -Z");
  cmd->add_option("-c,--count", o->count, "stop after printing N records")
      ->check(CLI::Range(int64_t{1}, INT64_MAX, "N >= 1"));
  cmd->add_flag("-e,--exit", o->exit,
                "stop at the end: after the last record stored when consuming began (with "
                "--group: once the group's partitions have no lag left)");
  cmd->add_option("--assignor", o->assignor,
                  "with --group: the partition assignor, range, roundrobin or sticky (default: "
                  "the group's; sticky for a new group); it must match the group's")
      ->check(CLI::IsMember({"range", "roundrobin", "sticky"}));
  cmd->add_option("--reconnect-for", o->reconnect_for,
                  "without --group: how long to keep reconnecting to a broker that went away, "
                  "per outage (default 60s; 0: fail at once, exit 3)");
  cmd->footer(
      "Prints records, by default one value per line. Without --group it reads --partition N,\n"
      "or every partition of the topic, directly and commits nothing; when the broker goes\n"
      "away it reconnects (--reconnect-for) and resumes after the last record printed. With\n"
      "--group it joins that consumer group, prints the records of the partitions the broker\n"
      "assigns to it, and commits the offsets of exactly the records printed. Runs until -c or\n"
      "-e says to stop, or Ctrl-C.\n"
      "\n"
      "JSON (--format json, -J): one object per record and line:\n"
      "  {\"topic\":\"orders\",\"partition\":0,\"offset\":5,\"timestamp\":1700000000000,\n"
      "   \"key\":\"k1\",\"value\":\"v1\",\"headers\":[{\"key\":\"source\",\"value\":\"web\"}]}\n"
      "  A null key or value is null. Bytes that are not UTF-8 are base64, marked by a sibling\n"
      "  \"key_encoding\":\"base64\" (\"value_encoding\", in headers too).\n"
      "\n"
      "Examples:\n"
      "  ferryctl consume orders -p 0 -o earliest -e -f '%p:%o %k=%v\\n'\n"
      "  ferryctl consume orders -p 0 -o 5 --format json\n"
      "  ferryctl consume orders --group billing -c 100 --assignor range");
  cmd->callback([run, o] { *run = [o](Context& ctx) { return Consume(ctx, *o); }; });
}

}  // namespace ferry::ctl
