// The Kafka listener's networking against a real ferryd: pipelined requests answered in
// order, the idle timeout, the per-address and global connection limits (no lock-out), a
// client that never reads (bounded memory, other clients unaffected), a fixed thread count
// under 1,000 idle connections, and the Kafka door's metrics on /metrics.
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/http_get.h"
#include "integration/test_client.h"
#include "kafka/kafka_conn.h"
#include "kafka/kafka_requests.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/records.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using integration::WaitFor;
using ktest::KafkaConn;
using ktest::ProduceBody;

std::string Batch(const std::string& key, const std::string& value) {
  std::vector<FetchedRecord> records(1);
  records[0].fields.key = key;
  records[0].fields.value = value;
  records[0].offset = 0;
  std::string out;
  EncodeRecordBatch(records, &out);
  return out;
}

// Fetch v4 of one partition.
std::string FetchBody(const std::string& topic, int32_t partition, int64_t offset,
                      int32_t max_wait_ms, int32_t min_bytes, int32_t max_bytes = 1 << 20) {
  std::string body;
  Writer w(&body);
  w.Int32(-1);
  w.Int32(max_wait_ms);
  w.Int32(min_bytes);
  w.Int32(max_bytes);
  w.Int8(0);
  w.ArrayCount(1);
  w.String(topic);
  w.ArrayCount(1);
  w.Int32(partition);
  w.Int64(offset);
  w.Int32(max_bytes);
  return body;
}

std::string MetadataBody(const std::string& topic) {
  std::string body;
  Writer w(&body);
  w.ArrayCount(1);
  w.String(topic);
  w.Bool(true);
  return body;
}

// Produce v3's (error, base offset) of its only partition.
std::pair<int16_t, int64_t> ParseProduce(const std::string& body) {
  Reader r(body);
  r.ArrayCount();
  r.String();
  r.ArrayCount();
  r.Int32();
  const int16_t error = r.Int16();
  const int64_t base = r.Int64();
  return {error, base};
}

// Fetch v4's (error, high watermark, record bytes) of its only partition.
struct FetchResult {
  int16_t error = -100;
  int64_t high_watermark = -1;
  size_t record_bytes = 0;
};
FetchResult ParseFetch(const std::string& body) {
  Reader r(body);
  FetchResult out;
  r.Int32();
  if (r.ArrayCount() != 1) return out;
  r.String();
  if (r.ArrayCount() != 1) return out;
  r.Int32();
  out.error = r.Int16();
  out.high_watermark = r.Int64();
  r.Int64();
  r.Int32();
  out.record_bytes = r.BytesField().size();
  return out;
}

bool ApiVersionsOk(KafkaConn& c) {
  auto body = c.Call(kApiVersions, 0, "");
  return body.has_value() && Reader(*body).Int16() == 0;
}

// A field of /proc/<pid>/status ("Threads", "VmRSS" in kB); -1 when absent.
int64_t ProcStatus(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) {
      absl::string_view v =
          absl::StripAsciiWhitespace(absl::string_view(line).substr(field.size() + 1));
      v = absl::StripSuffix(v, " kB");
      int64_t n = 0;
      if (absl::SimpleAtoi(v, &n)) return n;
    }
  }
  return -1;
}

// How many threads of `pid` have a name starting with `prefix`.
int ThreadsNamed(pid_t pid, const std::string& prefix) {
  int n = 0;
  const std::string dir = absl::StrCat("/proc/", pid, "/task");
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path() / "comm");
    std::string name;
    std::getline(in, name);
    if (name.rfind(prefix, 0) == 0) ++n;
  }
  return n;
}

// Connects and proves the broker serves the connection (ApiVersions answered).
std::unique_ptr<KafkaConn> Serving(int port) {
  auto c = std::make_unique<KafkaConn>();
  if (!c->Connect(port) || !ApiVersionsOk(*c)) return nullptr;
  return c;
}

// The value of the series `name{labels}` exactly as exposed (labels in exposition order);
// -1 when absent.
double Series(const std::string& text, const std::string& series) {
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      const size_t end = text.find('\n', at);
      double v = 0;
      if (absl::SimpleAtod(text.substr(at + series.size() + 1, end - at - series.size() - 1), &v)) {
        return v;
      }
    }
    at += series.size();
  }
  return -1;
}

TEST(KafkaServerTest, PipelinedRequestsAreAnsweredInOrder) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  KafkaConn c;
  ASSERT_TRUE(c.Connect(ferryd.kafka_port()));
  const std::string topic = "pipelined";
  // 20 requests of mixed APIs, all sent before any answer is read. Each Produce appends one
  // record and the Fetch after it reads from offset 0: served in order, each Fetch sees every
  // record produced before it on this connection.
  enum Kind { kMeta, kVersions, kProd, kFetchAll, kList };
  std::vector<std::pair<Kind, int32_t>> sent;
  sent.emplace_back(kMeta, c.Send(kMetadata, 4, MetadataBody(topic)));
  const std::vector<Kind> cycle = {kVersions, kProd, kFetchAll, kList};
  for (int i = 0; sent.size() < 20; ++i) {
    const Kind k = cycle[i % cycle.size()];
    int32_t id = 0;
    switch (k) {
      case kVersions:
        id = c.Send(kApiVersions, 1, "");
        break;
      case kProd:
        id = c.Send(kProduce, 3, ProduceBody(3, topic, 0, Batch("k", absl::StrCat("v", i))));
        break;
      case kFetchAll:
        id = c.Send(kFetch, 4, FetchBody(topic, 0, 0, 0, 0));
        break;
      case kList: {
        std::string body;
        Writer w(&body);
        w.Int32(-1);
        w.ArrayCount(1);
        w.String(topic);
        w.ArrayCount(1);
        w.Int32(0);
        w.Int64(-1);  // latest
        id = c.Send(kListOffsets, 1, body);
        break;
      }
      case kMeta:
        break;
    }
    sent.emplace_back(k, id);
  }
  int64_t produced = 0;
  for (const auto& [kind, id] : sent) {
    auto body = c.Receive(id);  // checks the correlation id: answers come in request order
    ASSERT_TRUE(body.has_value()) << "no answer to correlation id " << id;
    Reader r(*body);
    switch (kind) {
      case kMeta:
      case kList:
        break;
      case kVersions:
        EXPECT_EQ(r.Int16(), 0);
        break;
      case kProd: {
        auto [error, base] = ParseProduce(*body);
        EXPECT_EQ(error, 0);
        EXPECT_EQ(base, produced);
        ++produced;
        break;
      }
      case kFetchAll: {
        FetchResult f = ParseFetch(*body);
        EXPECT_EQ(f.error, 0);
        EXPECT_EQ(f.high_watermark, produced);
        break;
      }
    }
  }
  EXPECT_GT(produced, 3);
}

// A producer pipelines Produces (librdkafka up to 5 or more in flight): each is started while
// the ones before it await durability, yet they are answered in order with ascending offsets,
// a Fetch after them sees them all, and a request that closes the connection answers every
// Produce before it and serves none after it.
TEST(KafkaServerTest, PipelinedProducesAppendInOrderAndAClosingRequestCutsCleanly) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--fsync=always"}));
  auto admin = ferryd.admin();
  const std::string topic = "pipelined-produce";
  ASSERT_TRUE(integration::CreateTopic(*admin, topic, 1).ok());
  KafkaConn c;
  ASSERT_TRUE(c.Connect(ferryd.kafka_port()));
  constexpr int kFirst = 150;
  std::vector<int32_t> ids;
  for (int i = 0; i < kFirst; ++i) {
    ids.push_back(c.Send(kProduce, 3, ProduceBody(3, topic, 0, Batch("k", absl::StrCat("v", i)))));
  }
  const int32_t fetch_id = c.Send(kFetch, 4, FetchBody(topic, 0, 0, 0, 0));
  for (int i = 0; i < kFirst; ++i) {
    auto body = c.Receive(ids[i]);  // checks the correlation id: answers in request order
    ASSERT_TRUE(body.has_value()) << "no answer to Produce " << i;
    auto [error, base] = ParseProduce(*body);
    EXPECT_EQ(error, 0);
    EXPECT_EQ(base, i);
  }
  auto fetched = c.Receive(fetch_id);
  ASSERT_TRUE(fetched.has_value());
  EXPECT_EQ(ParseFetch(*fetched).high_watermark, kFirst);

  // 50 Produces, a request for an API key no one serves (closes the connection), 50 more, in
  // one write (the connection may be closed before a second write could go out).
  std::string frames;
  int32_t correlation = 1000;
  const auto frame = [&frames, &correlation](int16_t key, const std::string& body) {
    Writer w(&frames);
    const size_t size_at = w.ReserveInt32();
    w.Int16(key);
    w.Int16(key == kProduce ? 3 : 0);
    w.Int32(correlation++);
    w.String("it");
    w.Raw(body);
    w.PatchInt32(size_at, static_cast<int32_t>(frames.size() - size_at - 4));
  };
  ids.clear();
  for (int i = 0; i < 50; ++i) {
    ids.push_back(correlation);
    frame(kProduce, ProduceBody(3, topic, 0, Batch("k", "before")));
  }
  frame(999, "");
  for (int i = 0; i < 50; ++i) frame(kProduce, ProduceBody(3, topic, 0, Batch("k", "after")));
  ASSERT_TRUE(c.SendRaw(frames));
  for (int i = 0; i < 50; ++i) {
    auto body = c.Receive(ids[i]);
    ASSERT_TRUE(body.has_value()) << "no answer to Produce " << i << " before the bad request";
    EXPECT_EQ(ParseProduce(*body).second, kFirst + i);
  }
  EXPECT_FALSE(c.Receive(ids.back() + 1).has_value()) << "answered past the closing request";

  KafkaConn again;
  ASSERT_TRUE(again.Connect(ferryd.kafka_port()));
  auto body = again.Call(kFetch, 4, FetchBody(topic, 0, 0, 0, 0));
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(ParseFetch(*body).high_watermark, kFirst + 50) << "a Produce after it was served";
}

TEST(KafkaServerTest, IdleConnectionsCloseAndActiveOnesStay) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--kafka-connections-max-idle-ms=3000"}));
  const int port = ferryd.kafka_port();
  auto idle = Serving(port);
  auto active = Serving(port);
  auto polling = Serving(port);
  ASSERT_TRUE(idle && active && polling);
  // A Fetch long-polling for longer than the idle timeout is not idleness.
  auto meta = polling->Call(kMetadata, 4, MetadataBody("idle-topic"));
  ASSERT_TRUE(meta.has_value());
  const absl::Time poll_start = absl::Now();
  const int32_t poll_id = polling->Send(kFetch, 4, FetchBody("idle-topic", 0, 0, 5000, 1));
  // The active client sends a request every 200 ms for 7 s: more than twice the timeout.
  const absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Seconds(7)) {
    ASSERT_TRUE(ApiVersionsOk(*active)) << "an active connection was closed";
    absl::SleepFor(absl::Milliseconds(200));  // pacing, not synchronisation
  }
  EXPECT_TRUE(idle->ClosedByPeer());
  auto fetched = polling->Receive(poll_id);
  ASSERT_TRUE(fetched.has_value()) << "the long-polling connection was closed as idle";
  EXPECT_GE(absl::Now() - poll_start, absl::Milliseconds(4500));
  EXPECT_TRUE(ApiVersionsOk(*active));
  EXPECT_NE(ferryd.LogTail().find("reason=idle"), std::string::npos);
}

TEST(KafkaServerTest, PerAddressLimitClosesTheConnectionOverIt) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--kafka-max-connections-per-ip=3"}));
  const int port = ferryd.kafka_port();
  std::vector<std::unique_ptr<KafkaConn>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(Serving(port));
    ASSERT_NE(held.back(), nullptr);
  }
  KafkaConn over;
  ASSERT_TRUE(over.Connect(port));
  EXPECT_TRUE(over.ClosedByPeer());
  EXPECT_TRUE(WaitFor(
      [&] { return ferryd.LogTail().find("reason=max_connections_per_ip") != std::string::npos; },
      absl::Seconds(10)));
  // One leaves: a new client from the same address is served.
  held.pop_back();
  std::unique_ptr<KafkaConn> next;
  EXPECT_TRUE(WaitFor([&] { return (next = Serving(port)) != nullptr; }, absl::Seconds(15)));
  for (auto& c : held) EXPECT_TRUE(ApiVersionsOk(*c));
}

TEST(KafkaServerTest, GlobalLimitNeverLocksOutNewClients) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--kafka-max-connections=5", "--kafka-connections-max-idle-ms=1500"}));
  const int port = ferryd.kafka_port();
  std::vector<std::unique_ptr<KafkaConn>> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(Serving(port));
    ASSERT_NE(held.back(), nullptr);
  }
  {  // Full: the newest is closed at once.
    KafkaConn over;
    ASSERT_TRUE(over.Connect(port));
    EXPECT_TRUE(over.ClosedByPeer());
  }
  // Old clients leave: new ones get their places.
  held.erase(held.begin(), held.begin() + 2);
  std::vector<std::unique_ptr<KafkaConn>> fresh;
  EXPECT_TRUE(WaitFor(
      [&] {
        if (auto c = Serving(port)) fresh.push_back(std::move(c));
        return fresh.size() == 2;
      },
      absl::Seconds(15)));
  // Full again, and nobody leaves: the idle ones are reaped, so a new client gets in.
  std::unique_ptr<KafkaConn> late;
  EXPECT_TRUE(WaitFor([&] { return (late = Serving(port)) != nullptr; }, absl::Seconds(20)));
  EXPECT_TRUE(held[0]->ClosedByPeer());
}

TEST(KafkaServerTest, AClientThatNeverReadsHasBoundedMemoryAndStallsNobody) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--kafka-max-queued-bytes=1048576"}));
  const int port = ferryd.kafka_port();
  KafkaConn setup;
  ASSERT_TRUE(setup.Connect(port));
  ASSERT_TRUE(setup.Call(kMetadata, 4, MetadataBody("slow")).has_value());
  // Four records of 200 KB: each Fetch answers about 800 KB.
  for (int i = 0; i < 4; ++i) {
    auto body =
        setup.Call(kProduce, 3, ProduceBody(3, "slow", 0, Batch("k", std::string(200000, 'x'))));
    ASSERT_TRUE(body.has_value());
    ASSERT_EQ(ParseProduce(*body).first, 0);
  }
  const int64_t rss_before = ProcStatus(ferryd.pid(), "VmRSS");
  ASSERT_GT(rss_before, 0);

  // The slow client sends up to 200,000 Fetches (160 GB of answers, 14 MB of requests: more
  // than the sockets' buffers hold) and reads nothing. The broker stops reading from it, so
  // its sends stop going through.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  int small = 64 << 10;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  std::string frame;
  {
    Writer w(&frame);
    const size_t at = w.ReserveInt32();
    w.Int16(kFetch);
    w.Int16(4);
    w.Int32(7);
    w.String("slow");
    w.Raw(FetchBody("slow", 0, 0, 0, 0, 4 << 20));
    w.PatchInt32(at, static_cast<int32_t>(frame.size() - 4));
  }
  int sent = 0;
  size_t partial = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::Time last_progress = absl::Now();
  constexpr int kMaxSends = 200000;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  while (sent < kMaxSends && absl::Now() < deadline) {
    const ssize_t n =
        send(fd, frame.data() + partial, frame.size() - partial, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      partial += static_cast<size_t>(n);
      if (partial == frame.size()) {
        partial = 0;
        ++sent;
      }
      last_progress = absl::Now();
      continue;
    }
    ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << std::strerror(errno);
    // Blocked for 2 s: the broker has stopped reading.
    if (absl::Now() - last_progress > absl::Seconds(2)) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_LT(sent, kMaxSends) << "the broker kept reading from a client that reads nothing";
  std::cout << "the broker stopped reading after " << sent << " Fetches\n";

  // Another client is served at once meanwhile, Fetch included.
  KafkaConn other;
  ASSERT_TRUE(other.Connect(port));
  const absl::Time asked = absl::Now();
  ASSERT_TRUE(other.Call(kMetadata, 4, MetadataBody("slow")).has_value());
  auto fetched = other.Call(kFetch, 4, FetchBody("slow", 0, 3, 0, 0));
  ASSERT_TRUE(fetched.has_value());
  EXPECT_EQ(ParseFetch(*fetched).error, 0);
  EXPECT_LT(absl::Now() - asked, absl::Seconds(5));

  const int64_t rss_after = ProcStatus(ferryd.pid(), "VmRSS");
  // Queued per connection: about 1 MB of requests and 1 MB plus one answer of responses.
  EXPECT_LT(rss_after - rss_before, 64 * 1024) << "RSS grew from " << rss_before << " kB to "
                                               << rss_after << " kB after " << sent << " Fetches";
  close(fd);
  EXPECT_TRUE(WaitFor([&] { return ApiVersionsOk(other); }, absl::Seconds(5)));
}

TEST(KafkaServerTest, FiveHundredLongPollsDoNotDelayOtherClientsAndShutdownEndsThem) {
  rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur < 1024) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 4096);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  const int port = ferryd.kafka_port();
  auto setup = Serving(port);
  ASSERT_NE(setup, nullptr);
  ASSERT_TRUE(setup->Call(kMetadata, 4, MetadataBody("polled")).has_value());
  // 500 consumers long-poll an empty partition for up to 20 s each.
  std::vector<std::unique_ptr<KafkaConn>> polls;
  for (int i = 0; i < 500; ++i) {
    auto c = std::make_unique<KafkaConn>();
    ASSERT_TRUE(c->Connect(port)) << i;
    c->Send(kFetch, 4, FetchBody("polled", 0, 0, 20000, 1));
    polls.push_back(std::move(c));
  }
  // Wait until every poll is in the broker (each waits on a kafka-wait thread).
  EXPECT_TRUE(
      WaitFor([&] { return ThreadsNamed(ferryd.pid(), "kafka-wait") >= 500; }, absl::Seconds(15)))
      << ThreadsNamed(ferryd.pid(), "kafka-wait") << " kafka-wait threads";
  // Another client's Metadata and ApiVersions are answered at once meanwhile.
  const absl::Time asked = absl::Now();
  KafkaConn other;
  ASSERT_TRUE(other.Connect(port));
  ASSERT_TRUE(other.Call(kMetadata, 4, MetadataBody("polled")).has_value());
  ASSERT_TRUE(ApiVersionsOk(other));
  EXPECT_LT(absl::Now() - asked, absl::Seconds(5));
  // A record wakes them all.
  auto produced = other.Call(kProduce, 3, ProduceBody(3, "polled", 0, Batch("k", "wake")));
  ASSERT_TRUE(produced.has_value());
  for (size_t i = 0; i < polls.size(); i += 25) {
    auto body = polls[i]->Receive(1);
    ASSERT_TRUE(body.has_value()) << "poll " << i;
    EXPECT_GT(ParseFetch(*body).record_bytes, 0u) << "poll " << i;
  }
  // New long polls; SIGTERM ends them and the broker exits in bounded time.
  for (auto& c : polls) c->Send(kFetch, 4, FetchBody("polled", 0, 1, 20000, 1));
  const absl::Time stop = absl::Now();
  EXPECT_EQ(ferryd.Terminate(absl::Seconds(15)), 0);
  EXPECT_LT(absl::Now() - stop, absl::Seconds(10));
}

TEST(KafkaServerTest, ThreadCountStaysFixedWithAThousandIdleConnections) {
  rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur < 1500) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 4096);
    setrlimit(RLIMIT_NOFILE, &rl);
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  }
  if (rl.rlim_cur < 1100) GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << rl.rlim_max;
  FerrydProcess ferryd;
  ASSERT_TRUE(
      ferryd.Start({"--kafka-max-connections=2000", "--kafka-max-connections-per-ip=2000"}));
  const int port = ferryd.kafka_port();
  auto first = Serving(port);
  ASSERT_NE(first, nullptr);
  const int64_t threads_before = ProcStatus(ferryd.pid(), "Threads");
  const int kafka_before = ThreadsNamed(ferryd.pid(), "kafka-");
  std::vector<std::unique_ptr<KafkaConn>> idle;
  for (int i = 0; i < 1000; ++i) {
    auto c = std::make_unique<KafkaConn>();
    ASSERT_TRUE(c->Connect(port)) << "connection " << i;
    idle.push_back(std::move(c));
  }
  // Every one of them is served (accepted, read, answered).
  for (size_t i = 0; i < idle.size(); i += 50) ASSERT_TRUE(ApiVersionsOk(*idle[i])) << i;
  ASSERT_TRUE(ApiVersionsOk(*idle.back()));
  const int64_t threads_after = ProcStatus(ferryd.pid(), "Threads");
  // The Kafka door's threads (kafka-io, kafka-req, kafka-wait) do not change at all; the
  // process's total may move by a timer thread of another subsystem, never by connections.
  EXPECT_EQ(ThreadsNamed(ferryd.pid(), "kafka-"), kafka_before)
      << "kafka-io " << ThreadsNamed(ferryd.pid(), "kafka-io") << ", kafka-req "
      << ThreadsNamed(ferryd.pid(), "kafka-req") << ", kafka-wait "
      << ThreadsNamed(ferryd.pid(), "kafka-wait");
  EXPECT_GT(kafka_before, 0);
  EXPECT_LE(threads_after, threads_before + 2)
      << threads_before << " threads with 1 connection, " << threads_after << " with 1,001";
  std::cout << "ferryd threads: " << threads_before << " with 1 Kafka connection, " << threads_after
            << " with 1,001; RSS " << ProcStatus(ferryd.pid(), "VmRSS") << " kB\n";
}

TEST(KafkaServerTest, MetricsDescribeRequestsConnectionsAndBytes) {
  FerrydProcess ferryd;
  const std::string port_file = ferryd.dir() + "/metrics-port";
  ASSERT_TRUE(ferryd.Start({"--metrics-listen=127.0.0.1:0", "--metrics-port-file=" + port_file,
                            "--kafka-max-connections-per-ip=2"}));
  int metrics_port = 0;
  {
    std::ifstream in(port_file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &metrics_port));
  }
  const int port = ferryd.kafka_port();
  auto a = Serving(port);
  auto b = Serving(port);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Call(kMetadata, 4, MetadataBody("metered")).has_value());
  ASSERT_TRUE(a->Call(kFetch, 4, FetchBody("metered", 0, 0, 0, 0)).has_value());
  // An unknown partition: Fetch's per-partition code 3.
  ASSERT_TRUE(a->Call(kFetch, 4, FetchBody("metered", 99, 0, 0, 0)).has_value());
  // A version past the range: UNSUPPORTED_VERSION, version label "unsupported".
  ASSERT_TRUE(a->Receive(a->Send(kHeartbeat, 9, "junk")).has_value());
  {  // Over the per-address limit.
    KafkaConn over;
    ASSERT_TRUE(over.Connect(port));
    EXPECT_TRUE(over.ClosedByPeer());
  }
  {  // A request that closes its connection.
    b->Send(999, 0, "");
    EXPECT_TRUE(b->ClosedByPeer());
  }
  std::string text;
  const bool ok = WaitFor(
      [&] {
        text = integration::HttpGetBody(metrics_port, "/metrics");
        return Series(text, "ferry_kafka_connections_open") == 1 &&
               Series(
                   text,
                   "ferry_kafka_connections_rejected_total{reason=\"max_connections_per_ip\"}") ==
                   1;
      },
      absl::Seconds(10));
  EXPECT_TRUE(ok) << text;
  EXPECT_EQ(Series(text, "ferry_kafka_connections_accepted_total"), 2);
  EXPECT_EQ(Series(text, "ferry_kafka_connections_rejected_total{reason=\"max_connections\"}"), 0);
  EXPECT_EQ(
      Series(text, "ferry_kafka_requests_total{api=\"ApiVersions\",code=\"0\",version=\"0\"}"), 2);
  EXPECT_EQ(Series(text, "ferry_kafka_requests_total{api=\"Metadata\",code=\"0\",version=\"4\"}"),
            1);
  EXPECT_EQ(Series(text, "ferry_kafka_requests_total{api=\"Fetch\",code=\"0\",version=\"4\"}"), 1);
  EXPECT_EQ(Series(text, "ferry_kafka_requests_total{api=\"Fetch\",code=\"3\",version=\"4\"}"), 1);
  EXPECT_EQ(
      Series(text,
             "ferry_kafka_requests_total{api=\"Heartbeat\",code=\"35\",version=\"unsupported\"}"),
      1);
  EXPECT_EQ(
      Series(text,
             "ferry_kafka_requests_total{api=\"Unknown\",code=\"closed\",version=\"unsupported\"}"),
      1);
  EXPECT_EQ(Series(text, "ferry_kafka_fetch_requests_total"), 2);
  EXPECT_EQ(Series(text, "ferry_kafka_request_duration_seconds_count{api=\"Fetch\"}"), 2);
  EXPECT_GT(Series(text, "ferry_kafka_bytes_received_total"), 100);
  EXPECT_GT(Series(text, "ferry_kafka_bytes_sent_total"), 100);
}

// Two named listeners, as a Kubernetes pod has one for clients inside the cluster and one for
// a NodePort: each client is told the advertised address of the listener it came in on, in
// Metadata and FindCoordinator alike.
TEST(KafkaServerTest, EachListenerAdvertisesItsOwnAddress) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--kafka-listen=INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0",
                            "--kafka-advertise=EXTERNAL://203.0.113.7:30094,"
                            "INTERNAL://ferry-0.ferry-headless.ns.svc.cluster.local:9092"}));
  const std::vector<int> ports = ferryd.kafka_ports();
  ASSERT_EQ(ports.size(), 2u);
  ASSERT_NE(ports[0], ports[1]);
  struct Want {
    int port;
    std::string host;
    int32_t advertised_port;
  };
  for (const Want& want : {Want{ports[0], "ferry-0.ferry-headless.ns.svc.cluster.local", 9092},
                           Want{ports[1], "203.0.113.7", 30094}}) {
    KafkaConn conn;
    ASSERT_TRUE(conn.Connect(want.port));
    // Metadata v1 of no topics: its brokers.
    std::string body;
    Writer(&body).ArrayCount(0);
    const std::optional<std::string> metadata = conn.Call(kMetadata, 1, body);
    ASSERT_TRUE(metadata.has_value());
    Reader m(*metadata);
    ASSERT_EQ(m.ArrayCount(), 1);
    m.Int32();  // node id
    EXPECT_EQ(m.String(), want.host);
    EXPECT_EQ(m.Int32(), want.advertised_port);
    // FindCoordinator v0 of a group.
    body.clear();
    Writer(&body).String("g");
    const std::optional<std::string> coordinator = conn.Call(kFindCoordinator, 0, body);
    ASSERT_TRUE(coordinator.has_value());
    Reader c(*coordinator);
    EXPECT_EQ(c.Int16(), 0);
    c.Int32();
    EXPECT_EQ(c.String(), want.host);
    EXPECT_EQ(c.Int32(), want.advertised_port);
  }
}

// A mistake in the listener flags stops ferryd at once, before storage recovery, naming it.
TEST(KafkaServerTest, AListenerMistakeStopsTheStart) {
  FerrydProcess ferryd;
  const ::testing::AssertionResult started = ferryd.Start(
      {"--kafka-listen=A://127.0.0.1:0,B://127.0.0.1:0", "--kafka-advertise=broker.example:9092"});
  ASSERT_FALSE(started);
  EXPECT_NE(std::string(started.message()).find("names no listener"), std::string::npos)
      << started.message();
  EXPECT_NE(std::string(started.message()).find("exit code 2"), std::string::npos)
      << started.message();
}

}  // namespace
}  // namespace ferry::kafka
