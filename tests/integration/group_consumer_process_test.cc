// The consumer-group headline test: three ferry_test_consumer processes share a 6-partition
// topic while 60,000 keyed records are published; halfway one of them is killed with SIGKILL.
// The survivors take over its partitions from its last commits, so every record is delivered
// at least once, in order per key, with duplicates only from the dead member's uncommitted
// window, and the group ends fully committed.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/group_test_client.h"
#include "integration/test_client.h"

#ifndef FERRY_TEST_CONSUMER_PATH
#error "FERRY_TEST_CONSUMER_PATH must name the ferry_test_consumer binary (tests/CMakeLists.txt)"
#endif

namespace ferry::integration {
namespace {

constexpr char kTopic[] = "events";
constexpr char kGroup[] = "billing";
constexpr int kPartitions = 6;
constexpr int kConsumers = 3;
constexpr int kKeys = 600;
constexpr int kSeqsPerKey = 100;  // 60,000 records
constexpr int kBatch = 500;
// ferry_test_consumer asks for at most this many records per message and commits after each.
constexpr int kConsumerMaxRecords = 100;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// One ferry_test_consumer child process; its stdout and stderr go to a log file. Killed with
// SIGKILL on destruction if still running. Not thread-safe.
class ConsumerProcess {
 public:
  ConsumerProcess() = default;
  ~ConsumerProcess() { Kill9(); }
  ConsumerProcess(const ConsumerProcess&) = delete;
  ConsumerProcess& operator=(const ConsumerProcess&) = delete;

  ::testing::AssertionResult Start(std::vector<std::string> args, const std::string& log_path) {
    log_path_ = log_path;
    args.insert(args.begin(), FERRY_TEST_CONSUMER_PATH);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      return ::testing::AssertionFailure() << "open " << log_path << ": " << std::strerror(errno);
    }
    // The child runs only async-signal-safe calls: this process has gRPC threads.
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      const int null_fd = open("/dev/null", O_RDONLY);
      if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      close_range(3, ~0U, 0);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(log_fd);
    if (pid < 0) return ::testing::AssertionFailure() << "fork: " << std::strerror(errno);
    pid_ = pid;
    return ::testing::AssertionSuccess();
  }

  // SIGKILL and reap: the member dies without a word to the broker.
  void Kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int wait_status = 0;
    while (waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  // SIGTERM, then waits up to `deadline` for the exit. Returns the exit code, 128 + signal when
  // a signal ended it, or -1 when it did not exit in time (it is then killed).
  int Terminate(absl::Duration deadline) {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int wait_status = 0;
    const bool exited =
        WaitFor([&] { return waitpid(pid_, &wait_status, WNOHANG) == pid_; }, deadline);
    if (!exited) {
      Kill9();
      return -1;
    }
    pid_ = -1;
    if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return -1;
  }

  std::string Log() const { return ReadWholeFile(log_path_); }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// One line of a consumer's --out file: "partition offset key value".
struct Delivery {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
};

// Parses a --out file. A last line without its newline is the write a SIGKILL cut short: it is
// dropped, and `*partial_tail` says so.
std::vector<Delivery> ParseDeliveries(const std::string& path, bool* partial_tail) {
  std::string text = ReadWholeFile(path);
  *partial_tail = !text.empty() && text.back() != '\n';
  if (*partial_tail) {
    const size_t last_newline = text.rfind('\n');
    text.resize(last_newline == std::string::npos ? 0 : last_newline + 1);
  }
  std::vector<Delivery> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    Delivery d;
    if (fields.size() != 4 || !absl::SimpleAtoi(fields[0], &d.partition) ||
        !absl::SimpleAtoi(fields[1], &d.offset)) {
      ADD_FAILURE() << path << ": malformed line \"" << line << "\"";
      continue;
    }
    d.key = fields[2];
    d.value = fields[3];
    out.push_back(std::move(d));
  }
  return out;
}

class GroupConsumerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A short revoke grace keeps the start-up rebalances quick; no partition that carries
    // records moves while its owner is alive in this test.
    ASSERT_TRUE(ferryd_.Start({"--group-revoke-grace-ms=1000"}));
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
  }

  void TearDown() override {
    if (HasFailure()) {
      for (int i = 0; i < kConsumers; ++i) {
        std::cerr << "---- ferry_test_consumer " << i << " log ----\n"
                  << consumers_[i].Log() << "---- end ----\n";
      }
    }
  }

  FerrydProcess ferryd_;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
  ConsumerProcess consumers_[kConsumers];
};

TEST_F(GroupConsumerProcessTest, SigkillOneOfThreeMembersWhilePublishing) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, kPartitions)));
  const PartitionSet all = AllPartitions(kTopic, kPartitions);

  std::vector<std::string> out_paths;
  for (int i = 0; i < kConsumers; ++i) {
    out_paths.push_back(absl::StrCat(ferryd_.dir(), "/consumer-", i, ".out"));
    ASSERT_TRUE(
        consumers_[i].Start({"--broker=" + ferryd_.address(), absl::StrCat("--group=", kGroup),
                             absl::StrCat("--topic=", kTopic), "--out=" + out_paths.back(),
                             "--session-timeout-ms=1500"},
                            absl::StrCat(ferryd_.dir(), "/consumer-", i, ".log")));
  }

  // All three members own two partitions each before the first record.
  ferry::v1::DescribeGroupResponse group;
  ASSERT_TRUE(WaitFor(
      [&] {
        group.Clear();
        return DescribeGroup(*admin_, kGroup, &group).ok() &&
               group.state() == ferry::v1::GROUP_STATE_STABLE &&
               group.members_size() == kConsumers && Unowned(group, all).empty();
      },
      absl::Seconds(20)))
      << group.DebugString();
  for (const auto& [member, assignment] : MemberAssignments(group)) {
    EXPECT_EQ(assignment.size(), 2u) << member;
  }

  // values[p][o]: the value published at offset o of partition p.
  std::vector<std::vector<std::string>> values(kPartitions);
  int published = 0;
  bool killed = false;
  std::vector<ferry::v1::Record> batch;
  for (int seq = 0; seq < kSeqsPerKey; ++seq) {
    for (int k = 0; k < kKeys; ++k) {
      const std::string key = absl::StrCat("k", k);
      batch.push_back(MakeRecord(key, absl::StrCat(key, ":", seq)));
      if (static_cast<int>(batch.size()) < kBatch) continue;
      ferry::v1::PublishResponse acks;
      ASSERT_TRUE(IsOk(Publish(*broker_, kTopic, -1, batch, &acks)));
      ASSERT_EQ(acks.acks_size(), static_cast<int>(batch.size()));
      for (int i = 0; i < acks.acks_size(); ++i) {
        const ferry::v1::RecordAck& ack = acks.acks(i);
        ASSERT_GE(ack.partition(), 0);
        ASSERT_LT(ack.partition(), kPartitions);
        std::vector<std::string>& log = values[ack.partition()];
        ASSERT_EQ(ack.offset(), static_cast<int64_t>(log.size()))
            << "offsets of partition " << ack.partition() << " are not dense";
        log.push_back(batch[i].value());
      }
      published += static_cast<int>(batch.size());
      batch.clear();
      if (!killed && published >= kKeys * kSeqsPerKey / 2) {
        // Kill a member in the middle of consuming: it has received records already.
        ASSERT_TRUE(WaitFor(
            [&] {
              std::error_code error;
              const uintmax_t size = std::filesystem::file_size(out_paths[0], error);
              return !error && size > 0;
            },
            absl::Seconds(20)));
        consumers_[0].Kill9();
        killed = true;
      }
    }
  }
  ASSERT_EQ(published, kKeys * kSeqsPerKey);
  std::map<Partition, int64_t> ends;
  for (int p = 0; p < kPartitions; ++p) ends[{kTopic, p}] = static_cast<int64_t>(values[p].size());

  // The dead member times out; the survivors take its partitions and catch up: lag 0.
  ASSERT_TRUE(WaitFor(
      [&] {
        group.Clear();
        if (!DescribeGroup(*admin_, kGroup, &group).ok()) return false;
        if (group.partitions_size() != kPartitions) return false;
        for (const auto& row : group.partitions()) {
          if (row.committed_offset() != row.end_offset() || row.lag() != 0) return false;
          if (row.end_offset() != ends[{row.topic(), row.partition()}]) return false;
        }
        return true;
      },
      absl::Seconds(60)))
      << group.DebugString();
  EXPECT_EQ(group.members_size(), kConsumers - 1) << group.DebugString();
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_STABLE);

  // The survivors leave on SIGTERM and exit 0.
  for (int i = 1; i < kConsumers; ++i) EXPECT_EQ(consumers_[i].Terminate(absl::Seconds(15)), 0);
  EXPECT_EQ(FetchOffsets(*broker_, kGroup, all), ends);
  group.Clear();
  ASSERT_TRUE(IsOk(DescribeGroup(*admin_, kGroup, &group)));
  EXPECT_EQ(group.state(), ferry::v1::GROUP_STATE_EMPTY);
  EXPECT_EQ(group.members_size(), 0);

  // Every published record was delivered at least once, as published, in order per key.
  std::vector<std::vector<int>> deliveries(kPartitions);
  for (int p = 0; p < kPartitions; ++p) deliveries[p].assign(values[p].size(), 0);
  std::set<int32_t> dead_member_partitions;
  for (int i = 0; i < kConsumers; ++i) {
    bool partial_tail = false;
    const std::vector<Delivery> lines = ParseDeliveries(out_paths[i], &partial_tail);
    if (i != 0) {
      EXPECT_FALSE(partial_tail) << out_paths[i] << " ends mid-line";
    }
    std::map<std::string, int> last_seq;
    for (const Delivery& d : lines) {
      ASSERT_GE(d.partition, 0);
      ASSERT_LT(d.partition, kPartitions);
      ASSERT_GE(d.offset, 0);
      ASSERT_LT(d.offset, static_cast<int64_t>(values[d.partition].size()))
          << "consumer " << i << " got an offset never published";
      ASSERT_EQ(d.value, values[d.partition][d.offset])
          << "consumer " << i << " at " << kTopic << "-" << d.partition << "@" << d.offset;
      ASSERT_EQ(d.value.substr(0, d.value.find(':')), d.key);
      ++deliveries[d.partition][d.offset];
      if (i == 0) dead_member_partitions.insert(d.partition);
      int seq = -1;
      ASSERT_TRUE(absl::SimpleAtoi(d.value.substr(d.value.find(':') + 1), &seq)) << d.value;
      auto [it, first] = last_seq.try_emplace(d.key, seq);
      if (!first) {
        ASSERT_GE(seq, it->second)
            << "consumer " << i << " got key " << d.key << " out of order at " << kTopic << "-"
            << d.partition << "@" << d.offset;
        it->second = seq;
      }
    }
  }
  int64_t duplicates = 0;
  for (int p = 0; p < kPartitions; ++p) {
    int64_t partition_duplicates = 0;
    for (size_t o = 0; o < deliveries[p].size(); ++o) {
      ASSERT_GE(deliveries[p][o], 1) << kTopic << "-" << p << "@" << o << " was never delivered";
      partition_duplicates += deliveries[p][o] - 1;
    }
    // Only the dead member's last, uncommitted message of a partition is delivered again.
    if (dead_member_partitions.contains(p)) {
      EXPECT_LE(partition_duplicates, kConsumerMaxRecords) << kTopic << "-" << p;
    } else {
      EXPECT_EQ(partition_duplicates, 0) << kTopic << "-" << p << " never moved";
    }
    duplicates += partition_duplicates;
  }
  EXPECT_LE(duplicates, kPartitions * kConsumerMaxRecords);
  std::cout << "delivered " << published << " records; " << duplicates
            << " delivered twice (dead member's partitions: "
            << absl::StrJoin(dead_member_partitions, ",") << ")\n";
}

}  // namespace
}  // namespace ferry::integration
