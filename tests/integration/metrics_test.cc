// Observability against the real ferryd: the Prometheus exposition on /metrics (valid for
// promtool, and the figures of a known scenario), /healthz and /readyz, grpc.health.v1 through
// start-up and SIGTERM, and the Grafana dashboard's queries naming only exported metrics.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/group_test_client.h"
#include "integration/http_get.h"
#include "integration/test_client.h"

#ifndef FERRY_SOURCE_DIR
#error "FERRY_SOURCE_DIR must name the source tree (set by tests/CMakeLists.txt)"
#endif

namespace ferry::integration {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr absl::Duration kScrapeTimeout = absl::Seconds(5);
// Metrics recorded after the client already has its answer (the RPC interceptor records a call
// when the server closes it) show up within this.
constexpr absl::Duration kSettleTimeout = absl::Seconds(5);

// ---- HTTP ------------------------------------------------------------------------------------

// ---- Prometheus text format -------------------------------------------------------------------

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

std::string Format(const std::string& name, const Labels& labels) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels) parts.push_back(absl::StrCat(k, "=\"", v, "\""));
  return absl::StrCat(name, "{", absl::StrJoin(parts, ","), "}");
}

// A parsed scrape: the families' declared types and every sample.
class Exposition {
 public:
  // Parses the text format (version 0.0.4). Adds a test failure for a line it cannot read.
  explicit Exposition(const std::string& text) : text_(text) {
    const std::vector<std::string> lines = absl::StrSplit(text, '\n');
    for (const std::string& line : lines) {
      if (line.empty()) continue;
      if (line.front() == '#') {
        std::vector<std::string> words = absl::StrSplit(line, ' ');
        if (words.size() >= 4 && words[1] == "TYPE") types_[words[2]] = words[3];
        continue;
      }
      Sample sample;
      if (!ParseSample(line, &sample)) {
        ADD_FAILURE() << "unreadable exposition line: " << line;
        continue;
      }
      samples_.push_back(std::move(sample));
    }
  }

  const std::string& text() const { return text_; }
  // Family name -> "counter", "gauge", "histogram", ...
  const std::map<std::string, std::string>& types() const { return types_; }
  const std::vector<Sample>& samples() const { return samples_; }

  // The value of the series with exactly `labels`, if present.
  std::optional<double> Value(const std::string& name, const Labels& labels) const {
    for (const Sample& s : samples_) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }

  // The series of `name` (any labels) whose labels include `subset`.
  std::vector<Sample> Find(const std::string& name, const Labels& subset = {}) const {
    std::vector<Sample> found;
    for (const Sample& s : samples_) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : subset) {
        auto it = s.labels.find(k);
        match = match && it != s.labels.end() && it->second == v;
      }
      if (match) found.push_back(s);
    }
    return found;
  }

  // The value of `name`{`labels`} as an assertion: fails when the series is missing or differs.
  ::testing::AssertionResult Has(const std::string& name, const Labels& labels,
                                 double expected) const {
    std::optional<double> v = Value(name, labels);
    if (!v.has_value()) {
      return ::testing::AssertionFailure()
             << Format(name, labels) << " is missing; series of " << name << ":\n"
             << SeriesOf(name);
    }
    if (*v != expected) {
      return ::testing::AssertionFailure()
             << Format(name, labels) << " is " << *v << ", expected " << expected;
    }
    return ::testing::AssertionSuccess();
  }

  std::string SeriesOf(const std::string& name) const {
    std::string out;
    for (const Sample& s : Find(name))
      absl::StrAppend(&out, "  ", Format(s.name, s.labels), " ", s.value, "\n");
    return out.empty() ? "  (none)\n" : out;
  }

 private:
  static bool ParseSample(const std::string& line, Sample* sample) {
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample->name = line.substr(0, i);
    if (sample->name.empty()) return false;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          return false;
        }
        std::string key = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value.push_back(line[j] == 'n' ? '\n' : line[j]);
          } else {
            value.push_back(line[j]);
          }
        }
        if (j >= line.size()) return false;
        sample->labels[std::move(key)] = std::move(value);
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return false;
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return false;
    // The value, then an optional timestamp.
    std::string value = line.substr(i + 1);
    value = value.substr(0, value.find(' '));
    char* end = nullptr;
    sample->value = std::strtod(value.c_str(), &end);
    return end != value.c_str() && *end == '\0';
  }

  std::string text_;
  std::map<std::string, std::string> types_;
  std::vector<Sample> samples_;
};

// ---- external tools --------------------------------------------------------------------------

// Runs `command` through the shell; `output` gets its stdout and stderr. Returns the exit code
// (-1 when it could not run or a signal ended it).
int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    *output = absl::StrCat("popen: ", std::strerror(errno));
    return -1;
  }
  output->clear();
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output->append(buffer, n);
  const int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// `promtool check metrics` on the exposition (its stdin).
::testing::AssertionResult PromtoolAccepts(const std::string& text, const std::string& dir) {
  const std::string path = dir + "/scrape.prom";
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out.good()) return ::testing::AssertionFailure() << "cannot write " << path;
  }
  std::string output;
  const int code = RunCommand("/usr/bin/promtool check metrics < '" + path + "'", &output);
  if (code != 0) {
    return ::testing::AssertionFailure() << "promtool check metrics exited with " << code << ":\n"
                                         << output << "---- exposition ----\n"
                                         << text;
  }
  return ::testing::AssertionSuccess();
}

grpc::Status DeleteTopic(ferry::v1::Admin::Stub& admin, const std::string& topic) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::DeleteTopicRequest request;
  request.set_topic(topic);
  ferry::v1::DeleteTopicResponse response;
  return admin.DeleteTopic(&context, request, &response);
}

// ---- fixture ---------------------------------------------------------------------------------

// A ferryd with its metrics endpoint on a port of its choosing, and the known scenario: topic
// `kTopic` (1 partition) with 100 records, group `kGroup` with one member that committed 40,
// and a rejected Publish.
class MetricsTest : public ::testing::Test {
 protected:
  static constexpr char kTopic[] = "orders";
  static constexpr char kGroup[] = "billing";
  static constexpr int kRecords = 100;
  static constexpr int64_t kCommitted = 40;

  void SetUp() override {
    metrics_port_file_ = ferryd_.dir() + "/metrics-port";
    ASSERT_TRUE(ferryd_.Start(
        {"--metrics-listen=127.0.0.1:0", "--metrics-port-file=" + metrics_port_file_}));
    // ferryd writes the metrics port file before it is SERVING, so it is there by now.
    std::ifstream in(metrics_port_file_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &metrics_port_) &&
                metrics_port_ > 0)
        << "metrics port file " << metrics_port_file_ << " holds \"" << text << "\"";
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
  }

  // The /metrics exposition; a test failure (and an empty exposition) when the scrape fails.
  Exposition Scrape() {
    HttpResponse response;
    ::testing::AssertionResult got = HttpGet(metrics_port_, "/metrics", &response);
    EXPECT_TRUE(got);
    if (!got) return Exposition("");
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_NE(response.headers.find("text/plain; version=0.0.4"), std::string::npos)
        << response.headers;
    return Exposition(response.body);
  }

  // Scrapes until `condition` holds for the exposition, or the deadline passes (false).
  bool ScrapeUntil(const std::function<bool(const Exposition&)>& condition, Exposition* last,
                   absl::Duration timeout = kSettleTimeout) {
    return WaitFor(
        [&] {
          *last = Scrape();
          return condition(*last);
        },
        timeout);
  }

  // Creates the topic, publishes, joins and commits; on return published_bytes_, member_id_
  // and generation_ are set. Use with ASSERT_NO_FATAL_FAILURE.
  void RunScenario() {
    ASSERT_TRUE(IsOk(CreateTopic(*admin_, kTopic, 1)));
    std::vector<ferry::v1::Record> batch;
    for (int i = 0; i < kRecords; ++i) {
      // Keys and values of different lengths, so the byte count is not a multiple of anything.
      batch.push_back(
          MakeRecord(absl::StrCat("key-", i), std::string(static_cast<size_t>(i), 'v')));
      published_bytes_ +=
          static_cast<int64_t>(batch.back().key().size() + batch.back().value().size());
      if (batch.size() == 25) {
        ASSERT_TRUE(IsOk(Publish(*broker_, kTopic, 0, batch)));
        batch.clear();
      }
    }
    ferry::v1::PublishRequest invalid;  // a negative partition: INVALID_ARGUMENT
    invalid.set_topic(kTopic);
    invalid.set_partition(-1);
    *invalid.add_records() = MakeRecord("k", "v");
    ASSERT_TRUE(HasCode(Publish(*broker_, invalid, nullptr), grpc::StatusCode::INVALID_ARGUMENT,
                        {"partition"}));

    JoinOptions join;
    join.session_timeout_ms = 60'000;  // No heartbeats needed while the test runs.
    ferry::v1::JoinGroupResponse joined;
    ASSERT_TRUE(IsOk(JoinGroup(*broker_, kGroup, {kTopic}, join, &joined)));
    member_id_ = joined.member_id();
    generation_ = joined.generation();
    ASSERT_TRUE(IsOk(
        CommitOffsets(*broker_, kGroup, member_id_, generation_, {{{kTopic, 0}, kCommitted}})));
  }

  FerrydProcess ferryd_;
  std::string metrics_port_file_;
  int metrics_port_ = 0;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
  int64_t published_bytes_ = 0;
  std::string member_id_;
  int64_t generation_ = 0;
};

TEST_F(MetricsTest, ExpositionPassesPromtool) {
  // A fresh broker: RPC, storage and process families only.
  Exposition fresh = Scrape();
  EXPECT_TRUE(PromtoolAccepts(fresh.text(), ferryd_.dir()));
  // Start() asked grpc.health.v1 Check until SERVING: those calls are recorded already.
  auto rpc_type = fresh.types().find("ferry_rpc_duration_seconds");
  ASSERT_NE(rpc_type, fresh.types().end()) << fresh.text();
  EXPECT_EQ(rpc_type->second, "histogram");
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
        "process_max_fds", "process_virtual_memory_bytes", "process_virtual_memory_max_bytes",
        "process_start_time_seconds", "ferry_build_info", "ferry_rocksdb_memtable_bytes"}) {
    ASSERT_EQ(fresh.Find(name).size(), 1u) << name << " in\n" << fresh.text();
  }
  // Started within the last hour, by the clock of this machine.
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  EXPECT_NEAR(fresh.Find("process_start_time_seconds")[0].value, now, 3600);
  EXPECT_GT(fresh.Find("process_max_fds")[0].value, fresh.Find("process_open_fds")[0].value);
  EXPECT_EQ(fresh.Find("ferry_build_info", {{"version", "0.1.0"}}).size(), 1u) << fresh.text();
  // Health checks are named in full, like every other method.
  EXPECT_FALSE(
      fresh.Find("ferry_rpc_duration_seconds_count", {{"method", "/grpc.health.v1.Health/Check"}})
          .empty())
      << fresh.text();
  EXPECT_GT(fresh.Find("process_resident_memory_bytes")[0].value, 0);
  EXPECT_GT(fresh.Find("process_open_fds")[0].value, 0);

  // Every family with series: topics, partitions, groups, deliveries, RPCs.
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  SubscribeStream direct(*broker_,
                         SubscribeStream::Direct(kTopic, 0, ferry::v1::START_POSITION_EARLIEST));
  ASSERT_TRUE(direct.WaitForRecords(kRecords));
  Exposition full = Scrape();
  EXPECT_TRUE(PromtoolAccepts(full.text(), ferryd_.dir()));
}

TEST_F(MetricsTest, KnownScenarioFigures) {
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  const Labels topic = {{"topic", kTopic}};
  const Labels partition = {{"topic", kTopic}, {"partition", "0"}};
  const Labels group = {{"group", kGroup}};

  Exposition m = Scrape();
  EXPECT_TRUE(m.Has("ferry_records_published_total", topic, kRecords));
  EXPECT_TRUE(m.Has("ferry_bytes_published_total", topic, static_cast<double>(published_bytes_)));
  EXPECT_TRUE(m.Has("ferry_partition_end_offset", partition, kRecords));
  EXPECT_TRUE(m.Has("ferry_partition_log_start_offset", partition, 0));
  ASSERT_EQ(m.Find("ferry_partition_size_bytes", partition).size(), 1u)
      << m.SeriesOf("ferry_partition_size_bytes");
  EXPECT_GE(m.Find("ferry_partition_size_bytes", partition)[0].value,
            static_cast<double>(published_bytes_));

  EXPECT_TRUE(m.Has("ferry_consumer_group_lag",
                    {{"group", kGroup}, {"topic", kTopic}, {"partition", "0"}},
                    kRecords - kCommitted));
  EXPECT_TRUE(m.Has("ferry_consumer_group_members", group, 1));
  EXPECT_TRUE(m.Has("ferry_consumer_group_state", {{"group", kGroup}, {"state", "stable"}}, 1));
  EXPECT_TRUE(
      m.Has("ferry_consumer_group_state", {{"group", kGroup}, {"state", "rebalancing"}}, 0));
  EXPECT_TRUE(m.Has("ferry_consumer_group_state", {{"group", kGroup}, {"state", "empty"}}, 0));
  ASSERT_EQ(m.Find("ferry_consumer_group_rebalances_total", group).size(), 1u)
      << m.SeriesOf("ferry_consumer_group_rebalances_total");
  EXPECT_GE(m.Find("ferry_consumer_group_rebalances_total", group)[0].value, 1);

  // The interceptor records a call as the server closes it, which may be just after the client
  // has the answer.
  const Labels publish_ok = {{"method", "/ferry.v1.Broker/Publish"}, {"code", "OK"}};
  const Labels publish_invalid = {{"method", "/ferry.v1.Broker/Publish"},
                                  {"code", "INVALID_ARGUMENT"}};
  const Labels commit_ok = {{"method", "/ferry.v1.Broker/CommitOffset"}, {"code", "OK"}};
  EXPECT_TRUE(ScrapeUntil(
      [&](const Exposition& e) {
        return e.Value("ferry_rpc_duration_seconds_count", publish_ok).value_or(0) >= 4 &&
               e.Value("ferry_rpc_duration_seconds_count", publish_invalid).value_or(0) >= 1 &&
               e.Value("ferry_rpc_duration_seconds_count", commit_ok).value_or(0) >= 1 &&
               e.Value("ferry_rpc_in_flight", {{"method", "/ferry.v1.Broker/Publish"}}) == 0;
      },
      &m))
      << m.SeriesOf("ferry_rpc_duration_seconds_count") << m.SeriesOf("ferry_rpc_in_flight");
  // The histogram is consistent: the +Inf bucket holds every observation.
  Labels publish_inf = publish_ok;
  publish_inf["le"] = "+Inf";
  EXPECT_EQ(m.Value("ferry_rpc_duration_seconds_bucket", publish_inf),
            m.Value("ferry_rpc_duration_seconds_count", publish_ok));
  ASSERT_EQ(m.Find("ferry_rpc_duration_seconds_sum", publish_ok).size(), 1u);
  EXPECT_GT(m.Find("ferry_rpc_duration_seconds_sum", publish_ok)[0].value, 0);

  // A direct subscriber reads everything: delivered with an empty group label.
  {
    SubscribeStream direct(*broker_,
                           SubscribeStream::Direct(kTopic, 0, ferry::v1::START_POSITION_EARLIEST));
    ASSERT_TRUE(direct.WaitForRecords(kRecords));
    m = Scrape();
    EXPECT_TRUE(
        m.Has("ferry_records_delivered_total", {{"topic", kTopic}, {"group", ""}}, kRecords));
    EXPECT_TRUE(m.Has("ferry_subscribe_streams", {{"mode", "direct"}}, 1));
    EXPECT_TRUE(m.Has("ferry_subscribe_streams", {{"mode", "group"}}, 0));
    EXPECT_TRUE(m.Has("ferry_rpc_in_flight", {{"method", "/ferry.v1.Broker/Subscribe"}}, 1));
  }
  EXPECT_TRUE(ScrapeUntil(
      [](const Exposition& e) {
        return e.Value("ferry_subscribe_streams", {{"mode", "direct"}}) == 0 &&
               e.Value("ferry_rpc_in_flight", {{"method", "/ferry.v1.Broker/Subscribe"}}) == 0;
      },
      &m))
      << m.SeriesOf("ferry_subscribe_streams") << m.SeriesOf("ferry_rpc_in_flight");
  // A stream's lifetime is in its own histogram, not among unary latencies.
  EXPECT_TRUE(m.Has("ferry_rpc_stream_duration_seconds_count",
                    {{"method", "/ferry.v1.Broker/Subscribe"}, {"code", "CANCELLED"}}, 1));
  EXPECT_TRUE(m.Find("ferry_rpc_duration_seconds_count", {{"method", "/ferry.v1.Broker/Subscribe"}})
                  .empty());

  // A deleted topic's series disappear, whichever family they are in.
  ASSERT_TRUE(IsOk(DeleteTopic(*admin_, kTopic)));
  m = Scrape();
  for (const Sample& s : m.samples()) {
    auto it = s.labels.find("topic");
    EXPECT_FALSE(it != s.labels.end() && it->second == kTopic)
        << "after DeleteTopic: " << Format(s.name, s.labels) << " " << s.value;
  }
  EXPECT_TRUE(m.Has("ferry_consumer_group_members", group, 1));
}

TEST_F(MetricsTest, HealthAndReadinessEndpoints) {
  HttpResponse response;
  ASSERT_TRUE(HttpGet(metrics_port_, "/healthz", &response));
  EXPECT_EQ(response.status, 200) << response.body;
  ASSERT_TRUE(HttpGet(metrics_port_, "/readyz", &response));
  EXPECT_EQ(response.status, 200) << response.body;
  ASSERT_TRUE(HttpGet(metrics_port_, "/no-such-page", &response));
  EXPECT_EQ(response.status, 404) << response.body;
}

TEST_F(MetricsTest, MetricsAnswersHeadAndGzip) {
  HttpResponse plain;
  ASSERT_TRUE(HttpGet(metrics_port_, "/metrics", &plain));
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.headers.find("Content-Encoding"), std::string::npos) << plain.headers;

  // HEAD: the headers of a GET, no body.
  HttpResponse head;
  ASSERT_TRUE(HttpGet(metrics_port_, "/metrics", &head, "HEAD"));
  EXPECT_EQ(head.status, 200) << head.headers;
  EXPECT_TRUE(head.body.empty()) << head.body.size();
  EXPECT_NE(head.headers.find("Content-Length: "), std::string::npos) << head.headers;
  EXPECT_NE(head.headers.find("text/plain; version=0.0.4"), std::string::npos) << head.headers;
  HttpResponse ready_head;
  ASSERT_TRUE(HttpGet(metrics_port_, "/readyz", &ready_head, "HEAD"));
  EXPECT_EQ(ready_head.status, 200);

  // gzip when the scraper accepts it (Prometheus does): smaller, and the same exposition.
  HttpResponse zipped;
  ASSERT_TRUE(HttpGet(metrics_port_, "/metrics", &zipped, "GET", "Accept-Encoding: gzip\r\n"));
  ASSERT_EQ(zipped.status, 200);
  EXPECT_NE(zipped.headers.find("Content-Encoding: gzip"), std::string::npos) << zipped.headers;
  EXPECT_LT(zipped.body.size(), plain.body.size());
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string text(plain.body.size() * 4 + 4096, '\0');
  z.next_in = reinterpret_cast<Bytef*>(zipped.body.data());
  z.avail_in = static_cast<uInt>(zipped.body.size());
  z.next_out = reinterpret_cast<Bytef*>(text.data());
  z.avail_out = static_cast<uInt>(text.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  text.resize(z.total_out);
  inflateEnd(&z);
  EXPECT_NE(text.find("# TYPE ferry_build_info gauge"), std::string::npos) << text;

  // Other methods are refused, saying which are allowed.
  HttpResponse post;
  ASSERT_TRUE(HttpGet(metrics_port_, "/metrics", &post, "POST"));
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.headers.find("Allow: GET, HEAD"), std::string::npos) << post.headers;
}

// ---- grpc.health.v1 --------------------------------------------------------------------------

// A Health.Watch stream read by a background thread. Thread-safe.
class HealthWatch {
 public:
  HealthWatch(grpc::health::v1::Health::Stub& health, const std::string& service) {
    SetDeadline(&context_, absl::Seconds(30));
    HealthCheckRequest request;
    request.set_service(service);
    reader_ = health.Watch(&context_, request);
    thread_ = std::thread([this] {
      HealthCheckResponse response;
      while (reader_->Read(&response)) {
        absl::MutexLock lock(&mu_);
        statuses_.push_back(response.status());
      }
      grpc::Status status = reader_->Finish();
      absl::MutexLock lock(&mu_);
      status_ = std::move(status);
      ended_ = true;
    });
  }
  ~HealthWatch() {
    context_.TryCancel();
    thread_.join();
  }

  // True once `condition` holds for the statuses received so far (and whether the stream
  // ended); false on timeout.
  bool WaitUntil(const std::function<bool(const std::vector<HealthCheckResponse::ServingStatus>&,
                                          bool ended)>& condition,
                 absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto holds = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return condition(statuses_, ended_); };
    return mu_.AwaitWithTimeout(absl::Condition(&holds), timeout);
  }

  std::vector<HealthCheckResponse::ServingStatus> Statuses() {
    absl::MutexLock lock(&mu_);
    return statuses_;
  }
  grpc::Status EndStatus() {
    absl::MutexLock lock(&mu_);
    return status_;
  }

  std::string Describe() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> names;
    for (auto s : statuses_) names.push_back(HealthCheckResponse::ServingStatus_Name(s));
    return absl::StrCat("received [", absl::StrJoin(names, ", "), "]",
                        ended_ ? absl::StrCat("; ended with ", CodeName(status_.error_code()), ": ",
                                              status_.error_message())
                               : "; still open");
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader_;
  absl::Mutex mu_;
  std::vector<HealthCheckResponse::ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

TEST(HealthTest, ServingAfterStartUp) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  grpc::ClientContext context;
  SetDeadline(&context);
  HealthCheckRequest request;  // service "": the server as a whole
  HealthCheckResponse response;
  ASSERT_TRUE(IsOk(ferryd.health()->Check(&context, request, &response)));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  // Each service by its name, too; an unknown name is NOT_FOUND, as the protocol says.
  for (const char* service : {"ferry.v1.Broker", "ferry.v1.Admin", "no.such.Service"}) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    request.set_service(service);
    grpc::Status s = ferryd.health()->Check(&ctx, request, &response);
    if (std::string(service) == "no.such.Service") {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    } else {
      ASSERT_TRUE(IsOk(s)) << service;
      EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
    }
  }
}

TEST(HealthTest, WatchSeesNotServingOnSigterm) {
  FerrydProcess ferryd;
  // A long shutdown deadline: the watches must be ended by ferryd, not by gRPC cancelling
  // whatever is left when the deadline passes.
  ASSERT_TRUE(ferryd.Start({"--shutdown-timeout-ms=20000"}));
  auto health = ferryd.health();
  HealthWatch whole(*health, "");
  HealthWatch broker(*health, "ferry.v1.Broker");
  HealthWatch unknown(*health, "no.such.Service");
  for (HealthWatch* watch : {&whole, &broker}) {
    ASSERT_TRUE(watch->WaitUntil(
        [](const auto& statuses, bool) {
          return !statuses.empty() && statuses.back() == HealthCheckResponse::SERVING;
        },
        absl::Seconds(10)))
        << watch->Describe();
  }
  // A name the server does not serve is watched as SERVICE_UNKNOWN, as the protocol says.
  ASSERT_TRUE(unknown.WaitUntil([](const auto& statuses, bool) { return !statuses.empty(); },
                                absl::Seconds(10)))
      << unknown.Describe();
  EXPECT_EQ(unknown.Statuses().front(), HealthCheckResponse::SERVICE_UNKNOWN);

  const absl::Time sent = absl::Now();
  ASSERT_EQ(kill(ferryd.pid(), SIGTERM), 0) << std::strerror(errno);
  for (HealthWatch* watch : {&whole, &broker}) {
    EXPECT_TRUE(watch->WaitUntil([](const auto&, bool ended) { return ended; }, absl::Seconds(15)))
        << watch->Describe();
    EXPECT_EQ(watch->Statuses().back(), HealthCheckResponse::NOT_SERVING)
        << "the watch must see NOT_SERVING before it ends; " << watch->Describe();
    EXPECT_EQ(watch->EndStatus().error_code(), grpc::StatusCode::UNAVAILABLE) << watch->Describe();
  }
  EXPECT_TRUE(unknown.WaitUntil([](const auto&, bool ended) { return ended; }, absl::Seconds(15)))
      << unknown.Describe();
  EXPECT_EQ(ferryd.Terminate(), 0);
  // Ended by the broker, so well inside the 20 s shutdown deadline.
  EXPECT_LT(absl::Now() - sent, absl::Seconds(10));
}

// ---- Grafana dashboard -----------------------------------------------------------------------

const std::string kDashboardPath = std::string(FERRY_SOURCE_DIR) + "/deploy/grafana/ferry.json";

// Validates the dashboard's structure with Python's json module (valid JSON; panels; every
// panel other than a row has targets, each with a PromQL expr) and returns every PromQL
// string: the targets' exprs and the template variables' queries, one per line.
::testing::AssertionResult DashboardQueries(std::vector<std::string>* queries) {
  static constexpr char kScript[] = R"PY(
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
problems, queries = [], []
panels = d.get("panels") or []
if not panels:
    problems.append("no panels")
def walk(ps):
    for p in ps:
        yield p
        yield from walk(p.get("panels") or [])
for p in walk(panels):
    title = p.get("title", "?")
    if p.get("type") == "row":
        continue
    targets = p.get("targets") or []
    if not targets:
        problems.append("panel %r has no targets" % title)
    for t in targets:
        e = t.get("expr", "")
        if not isinstance(e, str) or not e.strip():
            problems.append("panel %r has a target without expr" % title)
        else:
            queries.append(e)
for v in (d.get("templating") or {}).get("list") or []:
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query")
    if v.get("type") == "query" and isinstance(q, str):
        queries.append(q)
if d.get("schemaVersion", 0) < 30:
    problems.append("schemaVersion %r is older than Grafana 8" % d.get("schemaVersion"))
if problems:
    print("\n".join(problems))
    sys.exit(1)
for q in queries:
    print(" ".join(q.split()))
)PY";
  const std::string script_path = testing::TempDir() + "/ferry_dashboard_check.py";
  {
    std::ofstream out(script_path, std::ios::trunc);
    out << kScript;
    if (!out.good()) return ::testing::AssertionFailure() << "cannot write " << script_path;
  }
  std::string output;
  const int code =
      RunCommand("/usr/bin/python3 '" + script_path + "' '" + kDashboardPath + "'", &output);
  if (code != 0) {
    return ::testing::AssertionFailure()
           << kDashboardPath << " is not a valid dashboard (python3 exited with " << code << "):\n"
           << output;
  }
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipEmpty());
  queries->insert(queries->end(), lines.begin(), lines.end());
  return ::testing::AssertionSuccess();
}

// The dashboard runs against the figures of the scenario above.
class DashboardTest : public MetricsTest {
 protected:
  // One Kafka ApiVersions v0 request on the Kafka listener, so the Kafka door's request
  // series exist; true when answered.
  bool KafkaApiVersions() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(ferryd_.kafka_port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Size 11; api key 18, version 0, correlation id 1, client id "t".
    static constexpr char kRequest[] = "\0\0\0\x0b\0\x12\0\0\0\0\0\x01\0\x01t";
    char head[4];
    const bool ok =
        connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0 &&
        send(fd, kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL) == sizeof(kRequest) - 1 &&
        recv(fd, head, sizeof(head), MSG_WAITALL) == sizeof(head);
    close(fd);
    return ok;
  }
};

TEST_F(DashboardTest, QueriesUseOnlyExportedMetrics) {
  std::vector<std::string> queries;
  ASSERT_TRUE(DashboardQueries(&queries));
  ASSERT_FALSE(queries.empty());

  // Every family with series: the scenario plus an open direct subscription.
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  SubscribeStream direct(*broker_,
                         SubscribeStream::Direct(kTopic, 0, ferry::v1::START_POSITION_EARLIEST));
  ASSERT_TRUE(direct.WaitForRecords(kRecords));
  ASSERT_TRUE(KafkaApiVersions());
  Exposition m = Scrape();
  std::set<std::string> series_names;
  for (const Sample& s : m.samples()) series_names.insert(s.name);

  // Metric names are the ferry_* and process_* identifiers of a query; for a histogram the
  // query names its _bucket, _count or _sum series, which the exposition has as samples.
  const std::regex metric_name(R"((?:^|[^A-Za-z0-9_:$])((?:ferry|process)_[A-Za-z0-9_:]+))");
  std::set<std::string> used;
  for (const std::string& query : queries) {
    for (auto it = std::sregex_iterator(query.begin(), query.end(), metric_name);
         it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1];
      used.insert(name);
      EXPECT_TRUE(series_names.contains(name))
          << "the dashboard queries " << name << ", which ferryd does not export (in: " << query
          << ")";
      // A histogram is queried through its series, never by the family name itself.
      if (auto type = m.types().find(name); type != m.types().end()) {
        EXPECT_NE(type->second, "histogram") << "query " << query;
      }
    }
  }
  // The dashboard covers what the issue asks for.
  for (const char* name :
       {"ferry_records_published_total", "ferry_bytes_published_total",
        "ferry_records_delivered_total", "ferry_rpc_duration_seconds_bucket",
        "ferry_rpc_duration_seconds_count", "ferry_consumer_group_lag",
        "ferry_consumer_group_members", "ferry_consumer_group_rebalances_total",
        "ferry_consumer_group_state", "ferry_partition_size_bytes", "ferry_rocksdb_memtable_bytes",
        "ferry_rocksdb_block_cache_usage_bytes", "ferry_rocksdb_pending_compaction_bytes",
        "ferry_rocksdb_wal_syncs_total", "ferry_rocksdb_write_stall_seconds_total",
        "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds"}) {
    EXPECT_TRUE(used.contains(name)) << "the dashboard has no panel using " << name;
  }
  for (const char* name :
       {"ferry_kafka_requests_total", "ferry_kafka_request_duration_seconds_bucket",
        "ferry_kafka_connections_open", "ferry_kafka_connections_rejected_total",
        "ferry_kafka_bytes_sent_total"}) {
    EXPECT_TRUE(used.contains(name)) << "the dashboard has no panel using " << name;
  }
}

}  // namespace
}  // namespace ferry::integration
