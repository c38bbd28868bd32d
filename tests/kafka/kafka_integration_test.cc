// The Kafka listener of a real ferryd, driven by a raw-socket mini Kafka client: API
// versions, metadata, produce and fetch (long poll included), list offsets, a Kafka member and
// a gRPC member sharing a group, and bad input closing only its own connection.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ferry/v1/ferry.pb.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"
#include "kafka/kafka_conn.h"
#include "kafka/kafka_requests.h"
#include "server/broker/types.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/records.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using ktest::KafkaConn;
using ktest::ParseProduce;
using ktest::ProduceBody;
using ktest::ProduceResult;

v1::Record MakeRecord(const std::string& key, const std::string& value, int64_t ts = 0) {
  v1::Record r;
  if (!key.empty()) r.set_key(key);  // "": a null key (keyless)
  r.set_value(value);
  r.set_timestamp_ms(ts);
  return r;
}

// A record batch v2 of `records` (at offsets 0, 1, ...; the broker assigns its own).
std::string Batch(const std::vector<v1::Record>& records) {
  std::vector<FetchedRecord> fetched;  // views into `records`
  for (const v1::Record& r : records) {
    FetchedRecord& f = fetched.emplace_back();
    f.fields.key = r.key();
    f.fields.value = r.value();
    f.fields.has_key = r.has_key();
    f.fields.has_value = r.has_value();
    f.fields.timestamp_ms = r.timestamp_ms();
    for (const v1::Header& h : r.headers()) f.fields.headers.emplace_back(h.key(), h.value());
    f.offset = static_cast<int64_t>(fetched.size() - 1);
  }
  std::string out;
  EncodeRecordBatch(fetched, &out);
  return out;
}

std::string FetchBody(int16_t version, const std::string& topic, int32_t partition, int64_t offset,
                      int32_t max_wait_ms, int32_t min_bytes) {
  std::string body;
  Writer w(&body);
  w.Int32(-1);
  w.Int32(max_wait_ms);
  w.Int32(min_bytes);
  if (version >= 3) w.Int32(1 << 20);
  if (version >= 4) w.Int8(0);
  w.ArrayCount(1);
  w.String(topic);
  w.ArrayCount(1);
  w.Int32(partition);
  w.Int64(offset);
  w.Int32(1 << 20);
  return body;
}

struct FetchResult {
  int16_t error = -100;
  int64_t high_watermark = -1;
  std::vector<v1::Record> records;
};

FetchResult ParseFetch(int16_t version, const std::string& body) {
  Reader r(body);
  FetchResult out;
  if (version >= 1) r.Int32();
  EXPECT_EQ(r.ArrayCount(), 1);
  r.String();
  EXPECT_EQ(r.ArrayCount(), 1);
  r.Int32();
  out.error = r.Int16();
  out.high_watermark = r.Int64();
  if (version >= 4) {
    r.Int64();
    r.Int32();  // aborted transactions: null
  }
  const std::string_view records = r.BytesField();
  EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
  if (!records.empty()) {
    std::vector<broker::RecordFields> decoded;  // views into `body`
    absl::Status s = DecodeProduceRecords(records, &decoded);
    EXPECT_TRUE(s.ok()) << s;
    for (const broker::RecordFields& d : decoded) {
      v1::Record& r = out.records.emplace_back();
      if (d.key_present()) r.set_key(std::string(d.key));
      if (d.value_present()) r.set_value(std::string(d.value));
      r.set_timestamp_ms(d.timestamp_ms);
      for (const auto& [key, value] : d.headers) {
        v1::Header* h = r.add_headers();
        h->set_key(std::string(key));
        h->set_value(std::string(value));
      }
    }
  }
  return out;
}

std::string MetadataBody(const std::vector<std::string>& topics, bool allow_auto) {
  std::string body;
  Writer w(&body);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) w.String(t);
  w.Bool(allow_auto);
  return body;
}

class KafkaIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start({"--kafka-max-request-bytes=65536", "--log-level=debug"}));
    port_ = ferryd_.kafka_port();
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(conn_.Connect(port_));
  }

  // Produces `records` to topic/partition with Produce v3; returns the base offset.
  int64_t Produce(const std::string& topic, int32_t partition,
                  const std::vector<v1::Record>& records) {
    auto body = conn_.Call(kProduce, 3, ProduceBody(3, topic, partition, Batch(records)));
    EXPECT_TRUE(body.has_value());
    if (!body) return -1;
    ProduceResult r = ParseProduce(3, *body);
    EXPECT_EQ(r.error, 0);
    return r.base_offset;
  }

  // Metadata v4 for `topic` (auto-created); returns its partition count.
  int32_t EnsureTopic(const std::string& topic) {
    auto body = conn_.Call(kMetadata, 4, MetadataBody({topic}, true));
    EXPECT_TRUE(body.has_value());
    if (!body) return 0;
    Reader r(*body);
    r.Int32();
    const int32_t brokers = r.ArrayCount();
    for (int32_t i = 0; i < brokers; ++i) {
      r.Int32();
      r.String();
      r.Int32();
      r.NullableString();
    }
    r.NullableString();
    r.Int32();
    EXPECT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.Int16(), 0);
    r.String();
    r.Bool();
    return r.ArrayCount();
  }

  FerrydProcess ferryd_;
  int port_ = 0;
  KafkaConn conn_;
};

TEST_F(KafkaIntegrationTest, ApiVersionsListsExactlyTheAdvertisedRanges) {
  const std::vector<std::tuple<int16_t, int16_t, int16_t>> expected = {
      {0, 0, 9},  {1, 0, 12}, {2, 0, 7},  {3, 0, 12}, {8, 0, 8},  {9, 0, 8},  {10, 0, 4},
      {11, 0, 7}, {12, 0, 4}, {13, 0, 4}, {14, 0, 5}, {15, 0, 5}, {16, 0, 4}, {17, 0, 1},
      {18, 0, 3}, {19, 0, 7}, {20, 0, 6}, {21, 0, 2}, {22, 0, 4}, {29, 0, 3}, {30, 0, 3},
      {31, 0, 3}, {32, 0, 4}, {33, 0, 2}, {36, 0, 2}, {37, 0, 3}, {42, 0, 2}, {44, 0, 1},
      {47, 0, 0}, {50, 0, 0}, {51, 0, 0}, {60, 0, 1}, {61, 0, 0}};
  for (int16_t version : {0, 1, 2, 3}) {
    // v3 is flexible: the client names itself in compact strings.
    std::string request;
    if (version >= 3) {
      Writer rw(&request, /*flexible=*/true);
      rw.String("ferry-test");
      rw.String("1.0");
      rw.TaggedFields();
    }
    auto body = conn_.Call(kApiVersions, version, request);
    ASSERT_TRUE(body.has_value());
    Reader r(*body, /*flexible=*/version >= 3);
    EXPECT_EQ(r.Int16(), 0);
    const int32_t n = r.ArrayCount(6);
    std::vector<std::tuple<int16_t, int16_t, int16_t>> got;
    for (int32_t i = 0; i < n; ++i) {
      const int16_t key = r.Int16();
      const int16_t min = r.Int16();
      const int16_t max = r.Int16();
      r.TaggedFields();
      got.emplace_back(key, min, max);
    }
    if (version >= 1) r.Int32();
    r.TaggedFields();
    EXPECT_TRUE(r.ok() && r.remaining() == 0);
    EXPECT_EQ(got, expected) << "ApiVersions v" << version;
  }
  ASSERT_EQ(SupportedApis().size(), expected.size());
}

TEST_F(KafkaIntegrationTest, UnsupportedVersionAnswersErrorAndKeepsTheConnection) {
  // ApiVersions past the served range (a client newer than Ferry tries its highest first):
  // v0 format, error 35 and the list.
  auto body = conn_.Call(kApiVersions, 9, std::string(3, '\0'));
  ASSERT_TRUE(body.has_value());
  Reader r(*body);
  EXPECT_EQ(r.Int16(), error::kUnsupportedVersion);
  EXPECT_EQ(r.ArrayCount(6), static_cast<int32_t>(SupportedApis().size()));

  // Heartbeat past its range: the layout of the highest version served (throttle time,
  // error), with that version's response header.
  const ApiEntry* heartbeat = FindApi(kHeartbeat);
  ASSERT_NE(heartbeat, nullptr);
  body = conn_.Receive(conn_.Send(kHeartbeat, 9, "junk"),
                       IsFlexibleVersion(kHeartbeat, heartbeat->max_version));
  ASSERT_TRUE(body.has_value());
  Reader hr(*body);
  hr.Int32();
  EXPECT_EQ(hr.Int16(), error::kUnsupportedVersion);

  // Metadata past its range gets an answer too, and the connection still serves.
  const ApiEntry* metadata = FindApi(kMetadata);
  ASSERT_NE(metadata, nullptr);
  ASSERT_TRUE(conn_
                  .Receive(conn_.Send(kMetadata, 20, ""),
                           IsFlexibleVersion(kMetadata, metadata->max_version))
                  .has_value());
  body = conn_.Call(kApiVersions, 2, "");
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(Reader(*body).Int16(), 0);
}

TEST_F(KafkaIntegrationTest, MetadataAutoCreatesNamedTopicsUnlessTheClientSaysNo) {
  auto body = conn_.Call(kMetadata, 4, MetadataBody({"auto-made"}, true));
  ASSERT_TRUE(body.has_value());
  Reader r(*body);
  r.Int32();
  ASSERT_EQ(r.ArrayCount(), 1);
  EXPECT_EQ(r.Int32(), 0);
  EXPECT_EQ(r.String(), "127.0.0.1");
  EXPECT_EQ(r.Int32(), port_);
  r.NullableString();
  r.NullableString();
  EXPECT_EQ(r.Int32(), 0);  // controller
  ASSERT_EQ(r.ArrayCount(), 1);
  EXPECT_EQ(r.Int16(), 0);
  EXPECT_EQ(r.String(), "auto-made");
  r.Bool();
  ASSERT_EQ(r.ArrayCount(), 3);
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(r.Int16(), 0);
    EXPECT_EQ(r.Int32(), p);
    EXPECT_EQ(r.Int32(), 0);  // leader
    EXPECT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.Int32(), 0);
    EXPECT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.Int32(), 0);
  }
  EXPECT_TRUE(r.ok() && r.remaining() == 0);

  body = conn_.Call(kMetadata, 4, MetadataBody({"not-made"}, false));
  ASSERT_TRUE(body.has_value());
  Reader n(*body);
  n.Int32();
  n.ArrayCount();
  n.Int32();
  n.String();
  n.Int32();
  n.NullableString();
  n.NullableString();
  n.Int32();
  ASSERT_EQ(n.ArrayCount(), 1);
  EXPECT_EQ(n.Int16(), error::kUnknownTopicOrPartition);
}

TEST_F(KafkaIntegrationTest, ProduceV3ThenFetchReturnsTheSameRecords) {
  ASSERT_EQ(EnsureTopic("pf"), 3);
  std::vector<v1::Record> records = {MakeRecord("k1", "v1", 1000), MakeRecord("", "v2", 2000),
                                     MakeRecord("k3", std::string(1000, 'x'), 3000)};
  auto* h = records[0].add_headers();
  h->set_key("trace");
  h->set_value("abc");
  EXPECT_EQ(Produce("pf", 1, records), 0);
  EXPECT_EQ(Produce("pf", 1, {MakeRecord("k4", "v4", 4000)}), 3);

  for (int16_t version : {4, 2, 0}) {
    auto body = conn_.Call(kFetch, version, FetchBody(version, "pf", 1, 0, 0, 0));
    ASSERT_TRUE(body.has_value());
    FetchResult f = ParseFetch(version, *body);
    EXPECT_EQ(f.error, 0);
    EXPECT_EQ(f.high_watermark, 4);
    ASSERT_EQ(f.records.size(), 4u) << "Fetch v" << version;
    EXPECT_EQ(f.records[0].key(), "k1");
    EXPECT_EQ(f.records[0].value(), "v1");
    EXPECT_EQ(f.records[2].value(), std::string(1000, 'x'));
    EXPECT_EQ(f.records[3].key(), "k4");
    if (version == 4) {
      ASSERT_EQ(f.records[0].headers_size(), 1);
      EXPECT_EQ(f.records[0].headers(0).key(), "trace");
      EXPECT_EQ(f.records[0].headers(0).value(), "abc");
      EXPECT_EQ(f.records[1].timestamp_ms(), 2000);
    }
  }
  // Reading from the middle, and past the end.
  auto body = conn_.Call(kFetch, 4, FetchBody(4, "pf", 1, 2, 0, 0));
  ASSERT_TRUE(body.has_value());
  FetchResult mid = ParseFetch(4, *body);
  ASSERT_FALSE(mid.records.empty());
  body = conn_.Call(kFetch, 4, FetchBody(4, "pf", 1, 99, 0, 0));
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(ParseFetch(4, *body).error, error::kOffsetOutOfRange);
  body = conn_.Call(kFetch, 4, FetchBody(4, "pf", 7, 0, 0, 0));
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(ParseFetch(4, *body).error, error::kUnknownTopicOrPartition);
  // Produce to an unknown topic does not create it.
  body = conn_.Call(kProduce, 3, ProduceBody(3, "nope", 0, Batch({MakeRecord("a", "b")})));
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(ParseProduce(3, *body).error, error::kUnknownTopicOrPartition);
}

TEST_F(KafkaIntegrationTest, RecordsCrossBetweenGrpcAndKafka) {
  ASSERT_EQ(EnsureTopic("cross"), 3);
  auto broker = ferryd_.broker();
  ASSERT_TRUE(integration::IsOk(
      integration::Publish(*broker, "cross", 2, {MakeRecord("gk", "from grpc", 5000)})));
  auto body = conn_.Call(kFetch, 4, FetchBody(4, "cross", 2, 0, 0, 0));
  ASSERT_TRUE(body.has_value());
  FetchResult f = ParseFetch(4, *body);
  ASSERT_EQ(f.records.size(), 1u);
  EXPECT_EQ(f.records[0].key(), "gk");
  EXPECT_EQ(f.records[0].value(), "from grpc");
  EXPECT_EQ(f.records[0].timestamp_ms(), 5000);
}

TEST_F(KafkaIntegrationTest, LongPollFetchIsWokenByALaterProduce) {
  ASSERT_EQ(EnsureTopic("lp"), 3);
  // Nothing there: the fetch waits its max wait out (bounded) and returns empty.
  const absl::Time t0 = absl::Now();
  auto body = conn_.Call(kFetch, 4, FetchBody(4, "lp", 0, 0, 300, 1));
  ASSERT_TRUE(body.has_value());
  EXPECT_TRUE(ParseFetch(4, *body).records.empty());
  EXPECT_GE(absl::Now() - t0, absl::Milliseconds(250));

  // A long poll (30 s) answered by a produce on another connection well before that.
  const int32_t correlation = conn_.Send(kFetch, 4, FetchBody(4, "lp", 0, 0, 30000, 1));
  const absl::Time sent = absl::Now();
  KafkaConn producer;
  ASSERT_TRUE(producer.Connect(port_));
  auto produced =
      producer.Call(kProduce, 3, ProduceBody(3, "lp", 0, Batch({MakeRecord("w", "wake")})));
  ASSERT_TRUE(produced.has_value());
  EXPECT_EQ(ParseProduce(3, *produced).error, 0);
  body = conn_.Receive(correlation);
  ASSERT_TRUE(body.has_value());
  FetchResult f = ParseFetch(4, *body);
  ASSERT_EQ(f.records.size(), 1u);
  EXPECT_EQ(f.records[0].value(), "wake");
  EXPECT_LT(absl::Now() - sent, absl::Seconds(15));
}

TEST_F(KafkaIntegrationTest, ListOffsetsEarliestLatestAndByTimestamp) {
  ASSERT_EQ(EnsureTopic("lo"), 3);
  Produce("lo", 0, {MakeRecord("a", "1", 1000), MakeRecord("b", "2", 2000)});
  Produce("lo", 0, {MakeRecord("c", "3", 3000)});
  const auto list = [&](int16_t version, int64_t ts) {
    std::string req;
    Writer w(&req);
    w.Int32(-1);
    if (version >= 2) w.Int8(0);
    w.ArrayCount(1);
    w.String("lo");
    w.ArrayCount(1);
    w.Int32(0);
    w.Int64(ts);
    if (version == 0) w.Int32(1);
    const std::optional<std::string> body = conn_.Call(kListOffsets, version, req);
    EXPECT_TRUE(body.has_value());
    const std::string bytes = body.value_or("");
    Reader r(bytes);
    if (version >= 2) r.Int32();
    r.ArrayCount();
    r.String();
    r.ArrayCount();
    r.Int32();
    EXPECT_EQ(r.Int16(), 0);
    if (version == 0) {
      EXPECT_EQ(r.ArrayCount(), 1);
      return std::pair<int64_t, int64_t>(-1, r.Int64());
    }
    const int64_t timestamp = r.Int64();
    return std::pair<int64_t, int64_t>(timestamp, r.Int64());
  };
  EXPECT_EQ(list(1, -2).second, 0);
  EXPECT_EQ(list(1, -1).second, 3);
  EXPECT_EQ(list(2, -1).second, 3);
  EXPECT_EQ(list(0, -1).second, 3);
  EXPECT_EQ(list(2, 1500), std::make_pair(int64_t{2000}, int64_t{1}));
  EXPECT_EQ(list(1, 3000), std::make_pair(int64_t{3000}, int64_t{2}));
  EXPECT_EQ(list(1, 9000), std::make_pair(int64_t{-1}, int64_t{-1}));
}

// The reset rule through the Kafka door (docs/architecture.md): a Fetch below the log start,
// where retention has removed the records, is OFFSET_OUT_OF_RANGE, and the client resets by its
// auto.offset.reset to what ListOffsets says.
TEST(KafkaResetRuleTest, FetchBelowTheLogStartIsOffsetOutOfRange) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--retention-check-interval-ms=50"}));
  auto admin = ferryd.admin();
  auto broker = ferryd.broker();
  {
    v1::CreateTopicRequest create;
    create.set_topic("aged");
    create.set_partitions(1);
    create.mutable_config()->set_retention_ms(60'000);
    v1::CreateTopicResponse created;
    grpc::ClientContext ctx;
    integration::SetDeadline(&ctx);
    ASSERT_TRUE(integration::IsOk(admin->CreateTopic(&ctx, create, &created)));
  }
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  std::vector<v1::Record> old_records(5, MakeRecord("", "old", now_ms - 600'000));
  ASSERT_TRUE(integration::IsOk(integration::Publish(*broker, "aged", 0, old_records)));
  ASSERT_TRUE(
      integration::IsOk(integration::Publish(*broker, "aged", 0, {MakeRecord("", "new", now_ms)})));
  const auto log_start = [&] {
    v1::DescribeTopicResponse d;
    if (!integration::Describe(*admin, "aged", &d).ok() || d.partitions_size() == 0) return -1L;
    return d.partitions(0).log_start_offset();
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (log_start() != 5 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_EQ(log_start(), 5);

  KafkaConn conn;
  ASSERT_TRUE(conn.Connect(ferryd.kafka_port()));
  auto body = conn.Call(kFetch, 4, FetchBody(4, "aged", 0, 0, 0, 0));
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(ParseFetch(4, *body).error, error::kOffsetOutOfRange);
  body = conn.Call(kFetch, 4, FetchBody(4, "aged", 0, 5, 0, 0));
  ASSERT_TRUE(body.has_value());
  FetchResult f = ParseFetch(4, *body);
  EXPECT_EQ(f.error, 0);
  ASSERT_EQ(f.records.size(), 1u);
  EXPECT_EQ(f.records[0].value(), "new");
}

TEST_F(KafkaIntegrationTest, ShutdownEndsLongPollsAndClosesConnections) {
  ASSERT_EQ(EnsureTopic("sd"), 3);
  // A 60 s long poll in flight, and an idle connection: SIGTERM must not wait for either.
  conn_.Send(kFetch, 4, FetchBody(4, "sd", 0, 0, 60000, 1));
  KafkaConn idle;
  ASSERT_TRUE(idle.Connect(port_));
  const absl::Time t0 = absl::Now();
  EXPECT_EQ(ferryd_.Terminate(absl::Seconds(30)), 0);
  EXPECT_LT(absl::Now() - t0, absl::Seconds(20));
  EXPECT_TRUE(idle.ClosedByPeer());
}

// --- groups ----------------------------------------------------------------------------------

std::string Subscription(const std::vector<std::string>& topics) {
  std::string out;
  Writer w(&out);
  w.Int16(0);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) w.String(t);
  w.BytesField("");
  return out;
}

struct Joined {
  int16_t error = -100;
  int32_t generation = -1;
  std::string protocol;
  std::string leader;
  std::string member_id;
};

// Sends JoinGroup v2 (range or roundrobin, 10 s timeouts); returns its correlation id.
int32_t SendJoinGroup(KafkaConn& c, const std::string& group, const std::string& member_id,
                      const std::string& topic) {
  std::string req;
  Writer w(&req);
  w.String(group);
  w.Int32(10000);  // session timeout
  w.Int32(10000);  // rebalance timeout
  w.String(member_id);
  w.String("consumer");
  w.ArrayCount(2);
  w.String("range");
  w.BytesField(Subscription({topic}));
  w.String("roundrobin");
  w.BytesField(Subscription({topic}));
  return c.Send(kJoinGroup, 2, req);
}

Joined ReceiveJoined(KafkaConn& c, int32_t correlation) {
  auto body = c.Receive(correlation);
  Joined j;
  EXPECT_TRUE(body.has_value());
  if (!body) return j;
  Reader r(*body);
  r.Int32();
  j.error = r.Int16();
  j.generation = r.Int32();
  j.protocol = std::string(r.String());
  j.leader = std::string(r.String());
  j.member_id = std::string(r.String());
  EXPECT_EQ(r.ArrayCount(), 0);  // every Kafka member is a follower
  return j;
}

Joined JoinGroup(KafkaConn& c, const std::string& group, const std::string& member_id,
                 const std::string& topic) {
  return ReceiveJoined(c, SendJoinGroup(c, group, member_id, topic));
}

// SyncGroup v1 with no assignments; returns the error and the member's partitions.
std::pair<int16_t, std::set<int32_t>> SyncGroup(KafkaConn& c, const std::string& group,
                                                int32_t generation, const std::string& member) {
  std::string req;
  Writer w(&req);
  w.String(group);
  w.Int32(generation);
  w.String(member);
  w.ArrayCount(0);
  auto body = c.Call(kSyncGroup, 1, req);
  std::pair<int16_t, std::set<int32_t>> out{-100, {}};
  if (!body) return out;
  Reader r(*body);
  r.Int32();
  out.first = r.Int16();
  const std::string_view assignment = r.BytesField();
  if (assignment.empty()) return out;
  Reader a(assignment);
  EXPECT_EQ(a.Int16(), 0);
  const int32_t topics = a.ArrayCount();
  for (int32_t i = 0; i < topics; ++i) {
    a.String();
    const int32_t n = a.ArrayCount();
    for (int32_t j = 0; j < n; ++j) out.second.insert(a.Int32());
  }
  a.BytesField();
  EXPECT_TRUE(a.ok() && a.remaining() == 0);
  return out;
}

int16_t Heartbeat(KafkaConn& c, const std::string& group, int32_t generation,
                  const std::string& member) {
  std::string req;
  Writer w(&req);
  w.String(group);
  w.Int32(generation);
  w.String(member);
  auto body = c.Call(kHeartbeat, 1, req);
  if (!body) return -100;
  Reader r(*body);
  r.Int32();
  return r.Int16();
}

int16_t Commit(KafkaConn& c, const std::string& group, int32_t generation,
               const std::string& member, const std::string& topic, int32_t partition,
               int64_t offset) {
  std::string req;
  Writer w(&req);
  w.String(group);
  w.Int32(generation);
  w.String(member);
  w.Int64(-1);
  w.ArrayCount(1);
  w.String(topic);
  w.ArrayCount(1);
  w.Int32(partition);
  w.Int64(offset);
  w.NullableString(std::nullopt);
  auto body = c.Call(kOffsetCommit, 2, req);
  if (!body) return -100;
  Reader r(*body);
  r.ArrayCount();
  r.String();
  r.ArrayCount();
  r.Int32();
  return r.Int16();
}

int64_t FetchCommitted(KafkaConn& c, const std::string& group, const std::string& topic,
                       int32_t partition) {
  std::string req;
  Writer w(&req);
  w.String(group);
  w.ArrayCount(1);
  w.String(topic);
  w.ArrayCount(1);
  w.Int32(partition);
  auto body = c.Call(kOffsetFetch, 1, req);
  if (!body) return -100;
  Reader r(*body);
  r.ArrayCount();
  r.String();
  r.ArrayCount();
  r.Int32();
  const int64_t offset = r.Int64();
  r.NullableString();
  EXPECT_EQ(r.Int16(), 0);
  return offset;
}

TEST_F(KafkaIntegrationTest, KafkaAndGrpcMembersShareAGroupWithOneOwnerPerPartition) {
  auto admin = ferryd_.admin();
  ASSERT_TRUE(integration::IsOk(integration::CreateTopic(*admin, "shared", 4)));
  ASSERT_EQ(Produce("shared", 0, {MakeRecord("a", "1"), MakeRecord("b", "2")}), 0);
  // Standalone commits while the group is empty; -2 (earliest) and past-the-end offsets are
  // resolved inside the log (kafkajs resets groups so).
  EXPECT_EQ(Commit(conn_, "mixed", -1, "", "shared", 0, 1000), 0);
  EXPECT_EQ(FetchCommitted(conn_, "mixed", "shared", 0), 2);
  EXPECT_EQ(Commit(conn_, "mixed", -1, "", "shared", 0, -2), 0);
  EXPECT_EQ(FetchCommitted(conn_, "mixed", "shared", 0), 0);

  // A Kafka member alone: all four partitions.
  Joined k = JoinGroup(conn_, "mixed", "", "shared");
  ASSERT_EQ(k.error, 0);
  EXPECT_EQ(k.leader, "ferry-coordinator");
  EXPECT_NE(k.member_id, k.leader);
  EXPECT_EQ(k.protocol, "range");
  auto [sync_error, owned] = SyncGroup(conn_, "mixed", k.generation, k.member_id);
  ASSERT_EQ(sync_error, 0);
  EXPECT_EQ(owned, (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(Heartbeat(conn_, "mixed", k.generation, k.member_id), 0);
  EXPECT_EQ(Commit(conn_, "mixed", k.generation, k.member_id, "shared", 0, 1), 0);
  EXPECT_EQ(FetchCommitted(conn_, "mixed", "shared", 0), 1);

  // A gRPC member joins: the group rebalances, but nothing of the Kafka member's moves until it
  // has given it up.
  auto broker = ferryd_.broker();
  v1::JoinGroupResponse g;
  {
    grpc::ClientContext ctx;
    integration::SetDeadline(&ctx);
    v1::JoinGroupRequest req;
    req.set_group("mixed");
    req.add_topics("shared");
    req.set_session_timeout_ms(10000);
    // The group took the Kafka member's first choice (range); a gRPC member that names no
    // assignor adopts it.
    ASSERT_TRUE(integration::IsOk(broker->JoinGroup(&ctx, req, &g)));
  }
  EXPECT_GT(g.generation(), k.generation);
  EXPECT_EQ(g.assignment_size(), 0);

  // The Kafka member hears of it at its heartbeat, commits what it has (with its old
  // generation: it still owns those partitions) and rejoins.
  EXPECT_EQ(Heartbeat(conn_, "mixed", k.generation, k.member_id), error::kRebalanceInProgress);
  EXPECT_EQ(Commit(conn_, "mixed", k.generation, k.member_id, "shared", 0, 2), 0);
  Joined k2 = JoinGroup(conn_, "mixed", k.member_id, "shared");
  ASSERT_EQ(k2.error, 0);
  EXPECT_EQ(k2.member_id, k.member_id);
  EXPECT_EQ(k2.generation, g.generation());
  auto [sync2_error, owned2] = SyncGroup(conn_, "mixed", k2.generation, k2.member_id);
  ASSERT_EQ(sync2_error, 0);
  EXPECT_EQ(owned2.size(), 2u);
  EXPECT_EQ(Heartbeat(conn_, "mixed", k2.generation, k2.member_id), 0);

  // The gRPC member now has the other two: one owner per partition, every partition owned.
  std::set<int32_t> grpc_owned;
  {
    grpc::ClientContext ctx;
    integration::SetDeadline(&ctx);
    v1::HeartbeatRequest req;
    req.set_group("mixed");
    req.set_member_id(g.member_id());
    req.set_generation(g.generation());
    v1::HeartbeatResponse resp;
    ASSERT_TRUE(integration::IsOk(broker->Heartbeat(&ctx, req, &resp)));
    for (const auto& tp : resp.assignment()) grpc_owned.insert(tp.partition());
  }
  EXPECT_EQ(grpc_owned.size(), 2u);
  std::set<int32_t> all = owned2;
  for (int32_t p : grpc_owned) EXPECT_TRUE(all.insert(p).second) << "partition " << p << " twice";
  EXPECT_EQ(all, (std::set<int32_t>{0, 1, 2, 3}));

  // Fencing: the old generation cannot commit a partition that moved to the gRPC member; a
  // generation from the future and an unknown member are refused with Kafka's codes.
  const int32_t moved = *grpc_owned.begin();
  EXPECT_EQ(Commit(conn_, "mixed", k.generation, k.member_id, "shared", moved, 0),
            error::kIllegalGeneration);
  EXPECT_EQ(Heartbeat(conn_, "mixed", k2.generation + 5, k2.member_id), error::kIllegalGeneration);
  EXPECT_EQ(Heartbeat(conn_, "mixed", k2.generation, "nobody"), error::kUnknownMemberId);
  // A standalone commit (no member) is refused while the group has members.
  EXPECT_EQ(Commit(conn_, "mixed", -1, "", "shared", 0, 0), error::kUnknownMemberId);
  // The final commit of partition 0 stuck, whoever owns it now.
  EXPECT_EQ(FetchCommitted(conn_, "mixed", "shared", 0), 2);
  {  // OffsetFetch v2 with null topics: every committed partition.
    std::string req;
    Writer w(&req);
    w.String("mixed");
    w.ArrayCount(-1);
    auto body = conn_.Call(kOffsetFetch, 2, req);
    ASSERT_TRUE(body.has_value());
    Reader r(*body);
    ASSERT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.String(), "shared");
    ASSERT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.Int32(), 0);
    EXPECT_EQ(r.Int64(), 2);
    r.NullableString();
    EXPECT_EQ(r.Int16(), 0);
    EXPECT_EQ(r.Int16(), 0);
    EXPECT_TRUE(r.ok() && r.remaining() == 0);
  }
  {  // ListGroups and DescribeGroups see both members.
    auto body = conn_.Call(kListGroups, 1, "");
    ASSERT_TRUE(body.has_value());
    Reader r(*body);
    r.Int32();
    EXPECT_EQ(r.Int16(), 0);
    ASSERT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.String(), "mixed");
    EXPECT_EQ(r.String(), "consumer");
    std::string req;
    Writer w(&req);
    w.ArrayCount(2);
    w.String("mixed");
    w.String("no-such-group");
    body = conn_.Call(kDescribeGroups, 1, req);
    ASSERT_TRUE(body.has_value());
    Reader d(*body);
    d.Int32();
    ASSERT_EQ(d.ArrayCount(), 2);
    EXPECT_EQ(d.Int16(), 0);
    EXPECT_EQ(d.String(), "mixed");
    EXPECT_EQ(d.String(), "Stable");
    EXPECT_EQ(d.String(), "consumer");
    EXPECT_EQ(d.String(), "range");
    std::set<std::string> members;
    const int32_t n = d.ArrayCount();
    for (int32_t i = 0; i < n; ++i) {
      const std::string id(d.String());
      members.insert(id);
      const std::string client_id(d.String());
      const std::string client_host(d.String());
      if (id == k.member_id) {
        EXPECT_EQ(client_id, "it");
        EXPECT_EQ(client_host, "/127.0.0.1");
      }
      d.BytesField();
      d.BytesField();
    }
    EXPECT_EQ(members, (std::set<std::string>{k.member_id, g.member_id()}));
    EXPECT_EQ(d.Int16(), 0);
    EXPECT_EQ(d.String(), "no-such-group");
    EXPECT_EQ(d.String(), "Dead");
  }

  // LeaveGroup hands the Kafka member's partitions to the gRPC member at once.
  {
    std::string req;
    Writer w(&req);
    w.String("mixed");
    w.String(k.member_id);
    auto body = conn_.Call(kLeaveGroup, 1, req);
    ASSERT_TRUE(body.has_value());
    Reader r(*body);
    r.Int32();
    EXPECT_EQ(r.Int16(), 0);
  }
  EXPECT_EQ(Heartbeat(conn_, "mixed", k2.generation, k.member_id), error::kUnknownMemberId);
}

// --- bad input -------------------------------------------------------------------------------

// Kafka's classic barrier: a JoinGroup is answered only once every known member rejoined, and
// a client that closes its connection while its JoinGroup waits is dropped at once.
TEST_F(KafkaIntegrationTest, JoinGroupWaitsForEveryMemberAndDropsAClosedConnection) {
  auto admin = ferryd_.admin();
  ASSERT_TRUE(integration::IsOk(integration::CreateTopic(*admin, "barrier", 4)));
  const auto members = [&]() {
    grpc::ClientContext ctx;
    v1::DescribeGroupRequest req;
    req.set_group("bar");
    v1::DescribeGroupResponse resp;
    return admin->DescribeGroup(&ctx, req, &resp).ok() ? resp.members_size() : -1;
  };
  Joined k1 = JoinGroup(conn_, "bar", "", "barrier");
  ASSERT_EQ(k1.error, 0);
  ASSERT_EQ(SyncGroup(conn_, "bar", k1.generation, k1.member_id).second.size(), 4u);

  // K2's JoinGroup waits: K1 has not rejoined.
  KafkaConn c2;
  ASSERT_TRUE(c2.Connect(port_));
  const int32_t pending = SendJoinGroup(c2, "bar", "", "barrier");
  ASSERT_TRUE(integration::WaitFor([&] { return members() == 2; }, absl::Seconds(10)));
  EXPECT_EQ(Heartbeat(conn_, "bar", k1.generation, k1.member_id), error::kRebalanceInProgress);
  // K1 rejoins: both answers come, at the same generation, and the partitions split.
  Joined k1again = JoinGroup(conn_, "bar", k1.member_id, "barrier");
  Joined k2 = ReceiveJoined(c2, pending);
  ASSERT_EQ(k1again.error, 0);
  ASSERT_EQ(k2.error, 0);
  EXPECT_EQ(k1again.generation, k2.generation);
  EXPECT_GT(k2.generation, k1.generation);
  auto [e1, p1] = SyncGroup(conn_, "bar", k1again.generation, k1.member_id);
  auto [e2, p2] = SyncGroup(c2, "bar", k2.generation, k2.member_id);
  ASSERT_EQ(e1, 0);
  ASSERT_EQ(e2, 0);
  EXPECT_EQ(p1.size(), 2u);
  EXPECT_EQ(p2.size(), 2u);
  for (int32_t p : p1) EXPECT_FALSE(p2.contains(p)) << p;

  // K3 joins and closes its connection while its JoinGroup waits for K1 and K2: it is
  // removed at once, not after its 10 s session timeout.
  const absl::Time start = absl::Now();
  {
    KafkaConn c3;
    ASSERT_TRUE(c3.Connect(port_));
    SendJoinGroup(c3, "bar", "", "barrier");
    ASSERT_TRUE(integration::WaitFor([&] { return members() == 3; }, absl::Seconds(10)));
  }
  ASSERT_TRUE(integration::WaitFor([&] { return members() == 2; }, absl::Seconds(5)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(KafkaIntegrationTest, BadInputClosesOnlyItsOwnConnection) {
  ASSERT_EQ(EnsureTopic("bad"), 3);
  const auto healthy = [&] {
    auto body = conn_.Call(kApiVersions, 0, "");
    return body.has_value() && Reader(*body).Int16() == 0;
  };

  {  // Garbage: a size prefix far over the limit.
    KafkaConn c;
    ASSERT_TRUE(c.Connect(port_));
    ASSERT_TRUE(c.SendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(c.ClosedByPeer());
  }
  EXPECT_TRUE(healthy());
  {  // A frame over --kafka-max-request-bytes (64 KiB here).
    KafkaConn c;
    ASSERT_TRUE(c.Connect(port_));
    std::string frame;
    Writer w(&frame);
    w.Int32(70000);
    ASSERT_TRUE(c.SendRaw(frame));
    EXPECT_TRUE(c.ClosedByPeer());
  }
  EXPECT_TRUE(healthy());
  {  // A truncated frame: 100 bytes announced, 10 sent, then the client stops writing.
    KafkaConn c;
    ASSERT_TRUE(c.Connect(port_));
    std::string frame;
    Writer w(&frame);
    w.Int32(100);
    w.Raw(std::string(10, '\x01'));
    ASSERT_TRUE(c.SendRaw(frame));
    c.ShutdownWrite();
    EXPECT_TRUE(c.ClosedByPeer());
  }
  EXPECT_TRUE(healthy());
  {  // A request body cut short inside a complete frame.
    KafkaConn c;
    ASSERT_TRUE(c.Connect(port_));
    c.Send(kMetadata, 4, std::string("\x00\x00\x00\x05\x00", 5));
    EXPECT_TRUE(c.ClosedByPeer());
  }
  EXPECT_TRUE(healthy());
  {  // An unknown API key.
    KafkaConn c;
    ASSERT_TRUE(c.Connect(port_));
    c.Send(999, 0, "");
    EXPECT_TRUE(c.ClosedByPeer());
  }
  EXPECT_TRUE(healthy());
  {  // A failed acks=0 produce has no response to carry its error: the connection closes, as
     // in Kafka, so the producer refreshes its metadata.
    KafkaConn c;
    ASSERT_TRUE(c.Connect(port_));
    c.Send(kProduce, 3, ProduceBody(3, "bad", 99, Batch({MakeRecord("k", "v")}), /*acks=*/0));
    EXPECT_TRUE(c.ClosedByPeer());
  }
  EXPECT_TRUE(healthy());
  {  // A good acks=0 produce gets no response, and the connection goes on.
    KafkaConn c;
    ASSERT_TRUE(c.Connect(port_));
    c.Send(kProduce, 3, ProduceBody(3, "bad", 0, Batch({MakeRecord("k", "v")}), /*acks=*/0));
    auto body = c.Call(kApiVersions, 0, "");
    ASSERT_TRUE(body.has_value());
  }
  {  // A wrong CRC: CORRUPT_MESSAGE, and the connection stays.
    std::string batch = Batch({MakeRecord("k", "v")});
    batch[batch.size() - 1] ^= 0x5a;
    auto body = conn_.Call(kProduce, 3, ProduceBody(3, "bad", 0, batch));
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(ParseProduce(3, *body).error, error::kCorruptMessage);
  }
  EXPECT_TRUE(healthy());
  const std::string log = ferryd_.LogTail();
  EXPECT_NE(log.find("event=kafka_connection_closed"), std::string::npos);
  EXPECT_NE(log.find("not served"), std::string::npos);
}

}  // namespace
}  // namespace ferry::kafka
