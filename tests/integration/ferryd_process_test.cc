// The harness itself against the real ferryd: start, crash, restart, clean stop, and a start
// that fails reports ferryd's log.
#include "integration/ferryd_process.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
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

// A second broker on an address a running one holds exits non-zero, naming the listener and
// the address, for each of the three listeners; the first broker keeps every connection.
TEST(FerrydProcessTest, RefusesAnAddressInUse) {
  FerrydProcess first;
  ASSERT_TRUE(first.Start(
      {"--metrics-listen=127.0.0.1:0", "--metrics-port-file=" + first.dir() + "/metrics.port"}));
  std::string metrics_port;
  std::ifstream(first.dir() + "/metrics.port") >> metrics_port;
  ASSERT_FALSE(metrics_port.empty());
  struct Case {
    std::string flag, listener;
  };
  const std::vector<Case> cases = {
      {"--listen=" + first.address(), "gRPC listener (--listen)"},
      {"--metrics-listen=127.0.0.1:" + metrics_port, "metrics listener (--metrics-listen)"},
      {"--kafka-listen=127.0.0.1:" + std::to_string(first.kafka_port()),
       "Kafka listener PLAINTEXT (--kafka-listen)"}};
  for (const Case& c : cases) {
    FerrydProcess second;
    const ::testing::AssertionResult started = second.Start({c.flag});
    ASSERT_FALSE(started) << c.flag;
    const std::string address = c.flag.substr(c.flag.find('=') + 1);
    EXPECT_TRUE(absl::StrContains(started.message(), c.listener)) << started.message();
    EXPECT_TRUE(absl::StrContains(started.message(), "cannot listen on " + address))
        << started.message();
    EXPECT_TRUE(absl::StrContains(started.message(), "Address already in use"))
        << started.message();
    EXPECT_TRUE(absl::StrContains(started.message(), "exit code 1")) << started.message();
  }
  EXPECT_TRUE(first.running());
}

TEST(WaitForTest, ReturnsWhenTheConditionHoldsOrTimesOut) {
  int calls = 0;
  EXPECT_TRUE(WaitFor([&] { return ++calls == 3; }, absl::Seconds(5)));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(WaitFor([] { return false; }, absl::Milliseconds(20)));
}

}  // namespace
}  // namespace ferry::integration
