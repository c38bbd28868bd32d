// Memory stays bounded with many partitions: one block cache and one write-buffer budget are
// shared by every partition's column family.
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

// The resident set of `pid` in bytes, from /proc; -1 when unreadable.
int64_t ResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (!line.starts_with("VmRSS:")) continue;
    std::string digits;
    for (char c : line) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    int64_t kib = 0;
    if (absl::SimpleAtoi(digits, &kib)) return kib * 1024;
  }
  return -1;
}

TEST(MemoryTest, ThousandPartitionsIdleUnderOneGiB) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  auto broker = ferryd.broker();
  constexpr int kTopics = 4;
  constexpr int kPartitionsPerTopic = 250;
  for (int t = 0; t < kTopics; ++t) {
    const std::string topic = absl::StrCat("wide-", t);
    ASSERT_TRUE(IsOk(CreateTopic(*admin, topic, kPartitionsPerTopic)));
    // A record in every partition, so every column family has a memtable in use.
    for (int p = 0; p < kPartitionsPerTopic; ++p) {
      ASSERT_TRUE(IsOk(Publish(*broker, topic, p, {MakeRecord("k", std::string(100, 'x'))})));
    }
  }
  const int64_t rss = ResidentBytes(ferryd.pid());
  ASSERT_GT(rss, 0);
  EXPECT_LT(rss, int64_t{1} << 30) << "ferryd holds " << rss << " bytes with 1,000 partitions";
  std::printf("ferryd RSS with %d partitions: %.1f MiB\n", kTopics * kPartitionsPerTopic,
              static_cast<double>(rss) / (1 << 20));

  // And after a restart, which opens all 1,000 column families at once.
  ASSERT_TRUE(ferryd.Restart());
  const int64_t rss_after = ResidentBytes(ferryd.pid());
  ASSERT_GT(rss_after, 0);
  EXPECT_LT(rss_after, int64_t{1} << 30);
  EXPECT_EQ(EndOffsets(*ferryd.admin(), "wide-3").size(), static_cast<size_t>(kPartitionsPerTopic));
}

}  // namespace
}  // namespace ferry::integration
