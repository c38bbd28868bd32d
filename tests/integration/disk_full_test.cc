// A full data dir against the real ferryd: ferryd runs on a 64 MiB tmpfs, mostly taken by a
// filler file, until publishes are refused with RESOURCE_EXHAUSTED naming the data dir; reads,
// metrics and health keep working; freeing the filler lets it write again without a restart, and
// every acknowledged record is then readable exactly once with contiguous offsets, before and
// after a kill -9. Needs root (mount); skipped otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/http_get.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

constexpr char kTopic[] = "full";
constexpr int kRecordsPerPublish = 100;
constexpr size_t kValueBytes = 1000;
// 64 MiB tmpfs, 40 MiB of it a filler: RocksDB fills the rest within a few hundred publishes.
constexpr int64_t kFillerBytes = 40 << 20;
constexpr int kMaxPublishes = 5000;

// The value of an unlabelled metric in an exposition, or -1.
double MetricValue(const std::string& exposition, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::StartsWith(line, name + " ")) continue;
    double v;
    if (absl::SimpleAtod(line.substr(name.size() + 1), &v)) return v;
  }
  return -1;
}

std::string ValueFor(int64_t n) {
  std::string v = absl::StrCat("record-", n, "-");
  v.resize(kValueBytes, 'x');
  return v;
}

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs as the data dir";
    disk_ = ferryd_.dir() + "/disk";
    ASSERT_EQ(mkdir(disk_.c_str(), 0755), 0) << std::strerror(errno);
    if (mount("tmpfs", disk_.c_str(), "tmpfs", 0, "size=64m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << ")";
    }
    mounted_ = true;
    const int fd = open((disk_ + "/filler").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(posix_fallocate(fd, 0, kFillerBytes), 0);
    close(fd);
  }

  void TearDown() override {
    // Unmounted even when the test failed, before FerrydProcess removes its directory.
    if (ferryd_.running()) ferryd_.Kill9();
    if (mounted_) umount2(disk_.c_str(), MNT_DETACH);
  }

  std::string data_dir() const { return disk_ + "/data"; }

  ::testing::AssertionResult StartFerryd() {
    metrics_port_file_ = ferryd_.dir() + "/metrics-port";
    ::testing::AssertionResult started =
        ferryd_.Start({"--data-dir=" + data_dir(), "--metrics-listen=127.0.0.1:0",
                       "--metrics-port-file=" + metrics_port_file_});
    if (!started) return started;
    return ReadMetricsPort();
  }

  ::testing::AssertionResult ReadMetricsPort() {
    std::ifstream in(metrics_port_file_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &metrics_port_)) {
      return ::testing::AssertionFailure() << "no metrics port in " << metrics_port_file_;
    }
    return ::testing::AssertionSuccess();
  }

  double Writable() {
    return MetricValue(HttpGetBody(metrics_port_, "/metrics"), "ferry_storage_writable");
  }

  // One publish of kRecordsPerPublish new records; acknowledged ones are remembered.
  grpc::Status PublishNext(ferry::v1::Broker::Stub& broker) {
    std::vector<ferry::v1::Record> records;
    for (int i = 0; i < kRecordsPerPublish; ++i) {
      records.push_back(MakeRecord("k", ValueFor(next_value_ + i)));
    }
    ferry::v1::PublishResponse response;
    grpc::Status s = Publish(broker, kTopic, 0, records, &response);
    if (s.ok()) {
      for (int i = 0; i < response.acks_size(); ++i) {
        acked_.push_back({response.acks(i).offset(), ValueFor(next_value_ + i)});
      }
      next_value_ += kRecordsPerPublish;
    }
    return s;
  }

  // Every acknowledged record is stored once, at offsets 0, 1, 2, ... in acknowledgement order.
  void ExpectAllAckedReadableOnce() {
    auto admin = ferryd_.admin();
    std::vector<int64_t> ends = EndOffsets(*admin, kTopic);
    ASSERT_EQ(ends.size(), 1u);
    EXPECT_EQ(ends[0], static_cast<int64_t>(acked_.size())) << "a gap or a duplicate";
    auto broker = ferryd_.broker();
    std::vector<ferry::v1::Record> read =
        ReadRange(*broker, kTopic, 0, 0, static_cast<int64_t>(acked_.size()));
    ASSERT_EQ(read.size(), acked_.size());
    for (size_t i = 0; i < read.size(); ++i) {
      ASSERT_EQ(acked_[i].first, static_cast<int64_t>(i)) << "acknowledged offsets not dense";
      ASSERT_EQ(read[i].offset(), static_cast<int64_t>(i));
      ASSERT_EQ(read[i].value(), acked_[i].second) << "at offset " << i;
    }
  }

  int CountLogLines(const std::string& event) {
    std::ifstream in(ferryd_.log_path());
    std::string line;
    int n = 0;
    while (std::getline(in, line)) n += absl::StrContains(line, "event=" + event) ? 1 : 0;
    return n;
  }

  FerrydProcess ferryd_;
  std::string disk_;
  bool mounted_ = false;
  std::string metrics_port_file_;
  int metrics_port_ = 0;
  int64_t next_value_ = 0;
  std::vector<std::pair<int64_t, std::string>> acked_;  // offset, value
};

TEST_F(DiskFullTest, RefusesWritesWhileFullAndResumesWhenSpaceReturns) {
  ASSERT_TRUE(StartFerryd());
  auto admin = ferryd_.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, kTopic, 1)));
  EXPECT_EQ(Writable(), 1);
  auto broker = ferryd_.broker();

  grpc::Status refused;
  for (int i = 0; i < kMaxPublishes && refused.ok(); ++i) refused = PublishNext(*broker);
  ASSERT_FALSE(refused.ok()) << "the disk never filled after " << kMaxPublishes << " publishes";
  EXPECT_TRUE(HasCode(refused, grpc::StatusCode::RESOURCE_EXHAUSTED, {data_dir()}));
  ASSERT_FALSE(acked_.empty());
  // Later publishes get the same answer, not UNAVAILABLE.
  EXPECT_TRUE(
      HasCode(PublishNext(*broker), grpc::StatusCode::RESOURCE_EXHAUSTED, {"no space left"}));
  EXPECT_EQ(Writable(), 0);

  // Committed offsets are refused the same way, and nothing is remembered of them.
  {
    ferry::v1::CommitOffsetRequest request;
    request.set_group("g");
    request.set_generation(-1);
    auto* o = request.add_offsets();
    o->set_topic(kTopic);
    o->set_partition(0);
    o->set_offset(7);
    ferry::v1::CommitOffsetResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    EXPECT_TRUE(HasCode(broker->CommitOffset(&context, request, &response),
                        grpc::StatusCode::RESOURCE_EXHAUSTED, {data_dir()}));
  }

  // The Kafka door answers KAFKA_STORAGE_ERROR (librdkafka: "Disk error ...").
  if (access("/usr/bin/kcat", X_OK) == 0) {
    const std::string command = absl::StrCat(
        "echo hello | /usr/bin/kcat -P -b 127.0.0.1:", ferryd_.kafka_port(), " -t ", kTopic,
        " -p 0 -X message.timeout.ms=5000 -X retries=0 -X enable.idempotence=false 2>&1");
    FILE* kcat = popen(command.c_str(), "r");
    ASSERT_NE(kcat, nullptr);
    std::string out;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), kcat)) > 0) out.append(buf, n);
    pclose(kcat);
    EXPECT_TRUE(absl::StrContains(out, "Disk error") ||
                absl::StrContains(out, "KAFKA_STORAGE_ERROR"))
        << out;
  } else {
    std::printf("kcat not installed: the Kafka door's error code is not checked\n");
  }

  // Reads and health are unaffected.
  ExpectAllAckedReadableOnce();
  {
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(IsOk(ferryd_.health()->Check(&context, request, &response)));
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }

  ASSERT_EQ(unlink((disk_ + "/filler").c_str()), 0) << std::strerror(errno);
  EXPECT_TRUE(WaitFor([&] { return PublishNext(*broker).ok(); }, absl::Seconds(20)))
      << "writes did not resume after space was freed";
  EXPECT_TRUE(WaitFor([&] { return Writable() == 1; }, absl::Seconds(5)));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(IsOk(PublishNext(*broker)));
  EXPECT_EQ(CountLogLines("storage_writes_refused"), 1) << ferryd_.LogTail();
  EXPECT_EQ(CountLogLines("storage_writes_resumed"), 1) << ferryd_.LogTail();
  ExpectAllAckedReadableOnce();

  ferryd_.Kill9();
  ASSERT_TRUE(ferryd_.Restart());
  ASSERT_TRUE(ReadMetricsPort());
  ExpectAllAckedReadableOnce();
  broker = ferryd_.broker();
  ASSERT_TRUE(IsOk(PublishNext(*broker)));
  ExpectAllAckedReadableOnce();
}

}  // namespace
}  // namespace ferry::integration
