// ferry_handover_member: a consumer-group member on the C++ client library (ferry::Consumer),
// run as its own process by tests/handover/handover_test.py so the test can SIGTERM, kill -9,
// SIGSTOP and SIGCONT it. It joins --group on --topic from the earliest offset, Poll()s, spends
// --process-us on every record (sleeping, or with --process-mode=busy spinning for times too
// short to sleep: that is the workload, not synchronisation), commits what it processed after
// each batch, and logs to --out, one write(2) per line (a kill -9 cuts at most the last line
// short). Times are CLOCK_MONOTONIC nanoseconds, comparable across the processes of a machine:
//
//   S <ns> <pid> rebalance_timeout=<applied|unsupported>   started
//   A <ns> <p,p,...> <member_id>   on_assign: partitions added
//   V <ns> <p,p,...> <member_id>   on_revoke: partitions revoked (or lost: the client calls
//                                  on_revoke for both)
//   R <p> <offset> <start_ns> <end_ns>   one record processed: start = when Poll returned its
//                                  batch, end = when this record was done
//   C <p> <offset> <ns> <sent_ns>  a commit of <offset> (the next offset to read) was accepted:
//                                  Commit() returned OK at <ns>, called at <sent_ns> (a member
//                                  stopped mid-commit logs, after it resumes, a commit the
//                                  broker accepted before; see the caveat below)
//   E <ns> <what> <message>        a failed call (commit, poll, close)
//   X <ns> <exit code>             exit after SIGTERM: Close() (graceful leave) returned
//
// Commits: explicit offsets (one past the last record processed, per partition) after every
// batch, before the next Poll. on_revoke runs inside Poll, so the partitions it revokes were
// committed already and it commits nothing: it also runs for partitions lost when the broker
// forgot the member, and by then the client may have joined again under a new member id, with
// which a commit could move the group's offset backwards. A commit that fails is logged (E)
// and its partitions are committed again after the next batch while still owned.
// Caveat: Commit() returns OK also when, after a stale-generation refusal, it dropped a
// partition the broker no longer counts as this member's (CommitSync in consumer.cc); the C
// line then claims a commit that did not happen. Under a correct protocol only a removed
// member loses partitions without answering, and a removed member's commits fail outright.
//
// SIGTERM: stops between two records, commits what was processed, Close()s (leaves the group)
// and exits 0.
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "ferry/consumer.h"
#include "tools/tool_flags.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSigterm(int) { g_stop.store(true); }

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

using ferry::tools::Flag;

int IntFlag(int argc, char** argv, const std::string& name, int fallback) {
  int value = fallback;
  const std::string text = Flag(argc, argv, name, "");
  if (!text.empty() && !absl::SimpleAtoi(text, &value)) {
    std::fprintf(stderr, "--%s wants an integer, got '%s'\n", name.c_str(), text.c_str());
    std::exit(2);
  }
  return value;
}

// The --out file: one write(2) per line, appended.
class LineLog {
 public:
  explicit LineLog(int fd) : fd_(fd) {}
  void Line(std::string line) {
    line.push_back('\n');
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      const ssize_t n = write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("write --out");
        std::_Exit(3);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
  }

 private:
  const int fd_;
};

std::string Partitions(const std::vector<ferry::TopicPartition>& tps) {
  std::vector<int32_t> ps;
  for (const auto& tp : tps) ps.push_back(tp.second);
  return ps.empty() ? "-" : absl::StrJoin(ps, ",");
}

// ConsumerOptions::rebalance_timeout is on its way; set it when this client has it.
template <typename Options>
bool SetRebalanceTimeout(Options& options, absl::Duration timeout) {
  if constexpr (requires { options.rebalance_timeout = timeout; }) {
    options.rebalance_timeout = timeout;
    return true;
  } else {
    return false;
  }
}

// The work of one record: sleeping, or spinning for short times that a sleep cannot hit.
void Process(int us, bool busy) {
  if (us <= 0) return;
  if (busy) {
    const int64_t until = NowNs() + static_cast<int64_t>(us) * 1000;
    while (NowNs() < until) {
    }
    return;
  }
  timespec ts{us / 1000000, static_cast<long>(us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string broker = Flag(argc, argv, "broker", "127.0.0.1:50051");
  const std::string group = Flag(argc, argv, "group", "");
  const std::string topic = Flag(argc, argv, "topic", "");
  const std::string out_path = Flag(argc, argv, "out", "");
  const int session_ms = IntFlag(argc, argv, "session-timeout-ms", 1500);
  const int rebalance_ms = IntFlag(argc, argv, "rebalance-timeout-ms", 0);
  const int process_us = IntFlag(argc, argv, "process-us", 500);
  const int max_records = IntFlag(argc, argv, "max-records-per-message", 0);
  const std::string process_mode = Flag(argc, argv, "process-mode", "sleep");
  if (process_mode != "sleep" && process_mode != "busy") {
    std::fprintf(stderr, "--process-mode is sleep or busy\n");
    return 2;
  }
  const bool busy = process_mode == "busy";
  if (group.empty() || topic.empty() || out_path.empty()) {
    std::fprintf(stderr,
                 "usage: ferry_handover_member --broker=A --group=G --topic=T --out=F "
                 "[--session-timeout-ms=N] [--rebalance-timeout-ms=N] [--process-us=N] "
                 "[--process-mode=sleep|busy] [--max-records-per-message=N]\n");
    return 2;
  }
  const int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror("open --out");
    return 2;
  }
  LineLog log(fd);

  struct sigaction term = {};
  term.sa_handler = OnSigterm;
  sigemptyset(&term.sa_mask);
  sigaction(SIGTERM, &term, nullptr);

  // Owned partitions (as the callbacks told) -> one past the last record processed, and the
  // last offset committed.
  std::map<ferry::TopicPartition, int64_t> processed;
  std::map<ferry::TopicPartition, int64_t> committed;
  ferry::Consumer* consumer_ptr = nullptr;

  ferry::ConsumerOptions options;
  options.broker = broker;
  options.group = group;
  options.topics = {topic};
  options.session_timeout = absl::Milliseconds(session_ms);
  options.offset_reset = ferry::OffsetReset::kEarliest;
  options.auto_commit = false;
  options.max_records_per_message = max_records;
  const bool rebalance_applied =
      rebalance_ms > 0 && SetRebalanceTimeout(options, absl::Milliseconds(rebalance_ms));
  options.on_assign = [&](const std::vector<ferry::TopicPartition>& added) {
    const int64_t now = NowNs();
    log.Line(absl::StrCat("A ", now, " ", Partitions(added), " ",
                          consumer_ptr ? consumer_ptr->member_id() : "?"));
  };
  options.on_revoke = [&](const std::vector<ferry::TopicPartition>& revoked) {
    const int64_t now = NowNs();
    log.Line(absl::StrCat("V ", now, " ", Partitions(revoked), " ",
                          consumer_ptr ? consumer_ptr->member_id() : "?"));
    for (const auto& tp : revoked) {
      processed.erase(tp);
      committed.erase(tp);
    }
  };

  log.Line(absl::StrCat("S ", NowNs(), " ", getpid(),
                        " rebalance_timeout=", rebalance_applied ? "applied" : "unsupported"));
  absl::StatusOr<std::unique_ptr<ferry::Consumer>> created = ferry::Consumer::Create(options);
  if (!created.ok()) {
    log.Line(absl::StrCat("E ", NowNs(), " create ", created.status().ToString()));
    return 3;
  }
  std::unique_ptr<ferry::Consumer> consumer = std::move(*created);
  consumer_ptr = consumer.get();

  // Commits every owned partition processed past its last commit.
  const auto commit = [&] {
    std::map<ferry::TopicPartition, int64_t> offsets;
    for (const auto& [tp, next] : processed) {
      auto c = committed.find(tp);
      if (c == committed.end() || c->second != next) offsets[tp] = next;
    }
    if (offsets.empty()) return;
    const int64_t sent = NowNs();
    const absl::Status s = consumer->Commit(offsets);
    const int64_t now = NowNs();
    if (!s.ok()) {
      log.Line(absl::StrCat("E ", now, " commit ", s.ToString()));
      return;
    }
    for (const auto& [tp, next] : offsets) {
      committed[tp] = next;
      log.Line(absl::StrCat("C ", tp.second, " ", next, " ", now, " ", sent));
    }
  };

  int exit_code = 0;
  while (!g_stop.load()) {
    absl::StatusOr<std::vector<ferry::ConsumerRecord>> batch =
        consumer->Poll(absl::Milliseconds(100));
    const int64_t start = NowNs();
    if (!batch.ok()) {
      log.Line(absl::StrCat("E ", start, " poll ", batch.status().ToString()));
      exit_code = 3;
      break;
    }
    for (const ferry::ConsumerRecord& r : *batch) {
      if (g_stop.load()) break;
      Process(process_us, busy);
      const int64_t end = NowNs();
      log.Line(absl::StrCat("R ", r.partition, " ", r.offset, " ", start, " ", end));
      processed[{r.topic, r.partition}] = r.offset + 1;
    }
    commit();
  }
  const absl::Status closed = consumer->Close();
  if (!closed.ok()) log.Line(absl::StrCat("E ", NowNs(), " close ", closed.ToString()));
  log.Line(absl::StrCat("X ", NowNs(), " ", exit_code));
  close(fd);
  return exit_code;
}
