// The harness itself against the real ferryd: start, crash, restart, clean stop, and a start
// that fails reports ferryd's log.
#include "integration/ferryd_process.h"

#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

bool Serving(FerrydProcess& ferryd) {
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(5));
  grpc::health::v1::HealthCheckResponse response;
  return ferryd.health()->Check(&context, {}, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

TEST(FerrydProcessTest, StartKillRestartTerminate) {
  std::string dir;
  {
    FerrydProcess ferryd;
    dir = ferryd.dir();
    ASSERT_TRUE(ferryd.Start());
    EXPECT_GT(ferryd.pid(), 0);
    EXPECT_TRUE(absl::StartsWith(ferryd.address(), "127.0.0.1:"));
    EXPECT_TRUE(Serving(ferryd));
    EXPECT_TRUE(Exists(ferryd.data_dir()));

    ferryd.Kill9();
    EXPECT_FALSE(ferryd.running());
    EXPECT_EQ(ferryd.pid(), -1);

    ASSERT_TRUE(ferryd.Restart());
    EXPECT_TRUE(Serving(ferryd));
    EXPECT_EQ(ferryd.Terminate(), 0);
    EXPECT_FALSE(ferryd.running());
    EXPECT_EQ(ferryd.Terminate(), -1) << "nothing left to stop";

    ASSERT_TRUE(ferryd.Restart());
    EXPECT_TRUE(Serving(ferryd));
    // The destructor kills the running process and removes the directory.
  }
  const char* keep = getenv("FERRY_KEEP_TEST_DIRS");
  if (keep == nullptr || std::string(keep) != "1") {
    EXPECT_FALSE(Exists(dir));
  }
}

TEST(FerrydProcessTest, FailedStartReportsTheLog) {
  FerrydProcess ferryd;
  const ::testing::AssertionResult started = ferryd.Start({"--no-such-flag=1"});
  ASSERT_FALSE(started);
  // The result carries ferryd's own complaint from its log, not only the harness's.
  EXPECT_TRUE(absl::StrContains(started.message(), "exit code")) << started.message();
  EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(started.message()), "unknown"))
      << started.message();
  EXPECT_FALSE(ferryd.running());
}

TEST(WaitForTest, ReturnsWhenTheConditionHoldsOrTimesOut) {
  int calls = 0;
  EXPECT_TRUE(WaitFor([&] { return ++calls == 3; }, absl::Seconds(5)));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(WaitFor([] { return false; }, absl::Milliseconds(20)));
}

}  // namespace
}  // namespace ferry::integration
