// The Kafka admin APIs of a real ferryd, every served version: DescribeConfigs, AlterConfigs,
// IncrementalAlterConfigs, CreatePartitions, DeleteRecords and DescribeCluster, their errors,
// and config changes and deleted records surviving a restart.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "ferry/v1/ferry.pb.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"
#include "kafka/kafka_conn.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using ktest::KafkaConn;

constexpr int8_t kTopic = 2;
constexpr int8_t kBroker = 4;

// --- DescribeConfigs -------------------------------------------------------------------------

struct DescribedConfig {
  std::optional<std::string> value;
  bool read_only = false;
  bool is_default = false;  // v0
  int8_t source = -1;       // v1+
  std::vector<std::string> synonyms;
  int8_t type = -1;  // v3+
  std::optional<std::string> doc;
};

struct DescribedResource {
  int16_t error = -100;
  std::optional<std::string> message;
  int8_t type = 0;
  std::string name;
  std::map<std::string, DescribedConfig> configs;
};

struct DescribeArgs {
  int8_t type = kTopic;
  std::string name;
  std::optional<std::vector<std::string>> keys;
};

std::string DescribeConfigsBody(int16_t v, const std::vector<DescribeArgs>& resources,
                                bool synonyms = false, bool docs = false) {
  std::string body;
  Writer w(&body, v >= 4);
  w.ArrayCount(static_cast<int32_t>(resources.size()));
  for (const auto& r : resources) {
    w.Int8(r.type);
    w.String(r.name);
    if (r.keys) {
      w.ArrayCount(static_cast<int32_t>(r.keys->size()));
      for (const auto& k : *r.keys) w.String(k);
    } else {
      w.NullArray();
    }
    w.TaggedFields();
  }
  if (v >= 1) w.Bool(synonyms);
  if (v >= 3) w.Bool(docs);
  w.TaggedFields();
  return body;
}

std::vector<DescribedResource> ParseDescribeConfigs(int16_t v, const std::string& body) {
  Reader r(body, v >= 4);
  std::vector<DescribedResource> out;
  EXPECT_EQ(r.Int32(), 0);
  const int32_t n = r.ArrayCount();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    DescribedResource res;
    res.error = r.Int16();
    res.message = OptStr(r.NullableString());
    res.type = r.Int8();
    res.name = Str(r.String());
    const int32_t nc = r.ArrayCount();
    for (int32_t j = 0; j < nc && r.ok(); ++j) {
      const std::string name = Str(r.String());
      DescribedConfig c;
      c.value = OptStr(r.NullableString());
      c.read_only = r.Bool();
      if (v == 0) c.is_default = r.Bool();
      if (v >= 1) c.source = r.Int8();
      EXPECT_FALSE(r.Bool());  // sensitive
      if (v >= 1) {
        const int32_t ns = r.ArrayCount();
        for (int32_t k = 0; k < ns && r.ok(); ++k) {
          c.synonyms.push_back(Str(r.String()));
          r.NullableString();
          r.Int8();
          r.TaggedFields();
        }
      }
      if (v >= 3) {
        c.type = r.Int8();
        c.doc = OptStr(r.NullableString());
      }
      r.TaggedFields();
      res.configs[name] = c;
    }
    r.TaggedFields();
    out.push_back(std::move(res));
  }
  r.TaggedFields();
  EXPECT_TRUE(r.ok() && r.remaining() == 0) << "DescribeConfigs v" << v << ": " << r.error();
  return out;
}

// --- AlterConfigs and IncrementalAlterConfigs ------------------------------------------------

struct AlterArg {
  std::string name;
  std::optional<std::string> value;
  int8_t op = 0;  // incremental only: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT
};

struct AlterResult {
  int16_t error = -100;
  std::optional<std::string> message;
};

std::string AlterBody(bool incremental, int16_t v, int8_t type, const std::string& name,
                      const std::vector<AlterArg>& configs, bool validate_only = false) {
  std::string body;
  Writer w(&body, incremental ? v >= 1 : v >= 2);
  w.ArrayCount(1);
  w.Int8(type);
  w.String(name);
  w.ArrayCount(static_cast<int32_t>(configs.size()));
  for (const auto& c : configs) {
    w.String(c.name);
    if (incremental) w.Int8(c.op);
    w.NullableString(c.value);
    w.TaggedFields();
  }
  w.TaggedFields();
  w.Bool(validate_only);
  w.TaggedFields();
  return body;
}

AlterResult ParseAlter(bool incremental, int16_t v, const std::string& body, int8_t type,
                       const std::string& name) {
  Reader r(body, incremental ? v >= 1 : v >= 2);
  AlterResult out;
  EXPECT_EQ(r.Int32(), 0);
  EXPECT_EQ(r.ArrayCount(), 1);
  out.error = r.Int16();
  out.message = OptStr(r.NullableString());
  EXPECT_EQ(r.Int8(), type);
  EXPECT_EQ(Str(r.String()), name);
  r.TaggedFields();
  r.TaggedFields();
  EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
  return out;
}

// --- CreatePartitions, DeleteRecords, DescribeCluster ----------------------------------------

std::string CreatePartitionsBody(int16_t v, const std::string& topic, int32_t count,
                                 bool validate_only,
                                 std::optional<std::vector<int32_t>> assignment = std::nullopt) {
  std::string body;
  Writer w(&body, v >= 2);
  w.ArrayCount(1);
  w.String(topic);
  w.Int32(count);
  if (assignment) {
    w.ArrayCount(static_cast<int32_t>(assignment->size()));
    for (int32_t b : *assignment) {
      w.ArrayCount(1);
      w.Int32(b);
      w.TaggedFields();
    }
  } else {
    w.NullArray();
  }
  w.TaggedFields();
  w.Int32(5000);
  w.Bool(validate_only);
  w.TaggedFields();
  return body;
}

AlterResult ParseCreatePartitions(int16_t v, const std::string& body, const std::string& topic) {
  Reader r(body, v >= 2);
  AlterResult out;
  EXPECT_EQ(r.Int32(), 0);
  EXPECT_EQ(r.ArrayCount(), 1);
  EXPECT_EQ(Str(r.String()), topic);
  out.error = r.Int16();
  out.message = OptStr(r.NullableString());
  r.TaggedFields();
  r.TaggedFields();
  EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
  return out;
}

std::string DeleteRecordsBody(int16_t v, const std::string& topic,
                              const std::vector<std::pair<int32_t, int64_t>>& partitions) {
  std::string body;
  Writer w(&body, v >= 2);
  w.ArrayCount(1);
  w.String(topic);
  w.ArrayCount(static_cast<int32_t>(partitions.size()));
  for (const auto& [p, offset] : partitions) {
    w.Int32(p);
    w.Int64(offset);
    w.TaggedFields();
  }
  w.TaggedFields();
  w.Int32(5000);
  w.TaggedFields();
  return body;
}

struct DeletedPartition {
  int32_t partition = -1;
  int64_t low_watermark = -100;
  int16_t error = -100;
};

std::vector<DeletedPartition> ParseDeleteRecords(int16_t v, const std::string& body) {
  Reader r(body, v >= 2);
  std::vector<DeletedPartition> out;
  EXPECT_EQ(r.Int32(), 0);
  EXPECT_EQ(r.ArrayCount(), 1);
  r.String();
  const int32_t n = r.ArrayCount();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    DeletedPartition p;
    p.partition = r.Int32();
    p.low_watermark = r.Int64();
    p.error = r.Int16();
    r.TaggedFields();
    out.push_back(p);
  }
  r.TaggedFields();
  r.TaggedFields();
  EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
  return out;
}

// Fetch v4 of one partition: its error code and the offsets of the records returned at or
// after `offset`.
std::pair<int16_t, std::vector<int64_t>> FetchOffsets(KafkaConn& conn, const std::string& topic,
                                                      int32_t partition, int64_t offset) {
  std::string req;
  Writer w(&req);
  w.Int32(-1);
  w.Int32(0);
  w.Int32(0);
  w.Int32(1 << 20);
  w.Int8(0);
  w.ArrayCount(1);
  w.String(topic);
  w.ArrayCount(1);
  w.Int32(partition);
  w.Int64(offset);
  w.Int32(1 << 20);
  auto body = conn.Call(kFetch, 4, req);
  EXPECT_TRUE(body.has_value());
  if (!body) return {-100, {}};
  Reader r(*body);
  r.Int32();
  r.ArrayCount();
  r.String();
  r.ArrayCount();
  r.Int32();
  const int16_t error = r.Int16();
  r.Int64();
  r.Int64();
  r.Int32();
  const std::string_view batches = r.BytesField();
  // Walk record batch v2 headers: base offset, length, ..., last offset delta at 23.
  std::vector<int64_t> offsets;
  Reader b(batches);
  while (b.remaining() >= 61 && b.ok()) {
    const int64_t base = b.Int64();
    const int32_t length = b.Int32();
    std::string_view rest = b.Bytes(static_cast<size_t>(length));
    Reader h(rest);
    h.Int32();   // leader epoch
    h.Int8();    // magic
    h.Uint32();  // crc
    h.Int16();   // attributes
    const int32_t last_delta = h.Int32();
    for (int64_t o = base; o <= base + last_delta; ++o) {
      if (o >= offset) offsets.push_back(o);
    }
  }
  return {error, offsets};
}

class KafkaAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start({"--max-record-bytes=100000"}));
    Reconnect();
    admin_ = ferryd_.admin();
  }

  void Reconnect() {
    port_ = ferryd_.kafka_port();
    ASSERT_GT(port_, 0);
    conn_ = std::make_unique<KafkaConn>();
    ASSERT_TRUE(conn_->Connect(port_));
  }

  void CreateTopic(const std::string& topic, int partitions, int64_t retention_ms = 0) {
    grpc::ClientContext ctx;
    v1::CreateTopicRequest req;
    req.set_topic(topic);
    req.set_partitions(partitions);
    req.mutable_config()->set_retention_ms(retention_ms);
    v1::CreateTopicResponse resp;
    ASSERT_TRUE(admin_->CreateTopic(&ctx, req, &resp).ok());
  }

  v1::DescribeTopicResponse DescribeTopic(const std::string& topic) {
    v1::DescribeTopicResponse resp;
    EXPECT_TRUE(integration::Describe(*admin_, topic, &resp).ok());
    return resp;
  }

  std::vector<DescribedResource> DescribeConfigs(int16_t v,
                                                 const std::vector<DescribeArgs>& resources,
                                                 bool synonyms = false, bool docs = false) {
    auto body = conn_->Call(kDescribeConfigs, v, DescribeConfigsBody(v, resources, synonyms, docs));
    EXPECT_TRUE(body.has_value()) << "DescribeConfigs v" << v << " closed the connection";
    if (!body) return {};
    return ParseDescribeConfigs(v, *body);
  }

  AlterResult Alter(bool incremental, int16_t v, int8_t type, const std::string& name,
                    const std::vector<AlterArg>& configs, bool validate_only = false) {
    auto body = conn_->Call(incremental ? kIncrementalAlterConfigs : kAlterConfigs, v,
                            AlterBody(incremental, v, type, name, configs, validate_only));
    EXPECT_TRUE(body.has_value());
    if (!body) return {};
    return ParseAlter(incremental, v, *body, type, name);
  }

  // Produces `n` single-record batches to partition 0 of `topic` over gRPC.
  void ProduceBatches(const std::string& topic, int n) {
    auto broker = ferryd_.broker();
    for (int i = 0; i < n; ++i) {
      v1::Record r;
      r.set_value("v" + std::to_string(i));
      ASSERT_TRUE(integration::Publish(*broker, topic, 0, {r}).ok());
    }
  }

  FerrydProcess ferryd_;
  int port_ = 0;
  std::unique_ptr<KafkaConn> conn_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

TEST_F(KafkaAdminTest, DescribeConfigsEveryVersionShowsTopicAndBrokerConfigs) {
  CreateTopic("described", 2, /*retention_ms=*/3600000);
  for (int16_t v = 0; v <= 4; ++v) {
    SCOPED_TRACE(testing::Message() << "DescribeConfigs v" << v);
    auto res = DescribeConfigs(
        v, {{kTopic, "described", std::nullopt}, {kBroker, "0", std::vector<std::string>{}}},
        /*synonyms=*/v >= 1, /*docs=*/v >= 3);
    ASSERT_EQ(res.size(), 2u);
    EXPECT_EQ(res[0].error, 0);
    EXPECT_EQ(res[0].name, "described");
    EXPECT_EQ(res[0].type, kTopic);
    ASSERT_EQ(res[0].configs.count("retention.ms"), 1u);
    const DescribedConfig& ms = res[0].configs["retention.ms"];
    EXPECT_EQ(ms.value, "3600000");
    EXPECT_FALSE(ms.read_only);
    const DescribedConfig& bytes = res[0].configs["retention.bytes"];
    EXPECT_EQ(bytes.value, "-1");
    const DescribedConfig& max = res[0].configs["max.message.bytes"];
    EXPECT_EQ(max.value, "100000");  // --max-record-bytes
    const DescribedConfig& cleanup = res[0].configs["cleanup.policy"];
    EXPECT_EQ(cleanup.value, "delete");
    EXPECT_TRUE(cleanup.read_only);
    if (v == 0) {
      EXPECT_FALSE(ms.is_default);
      EXPECT_TRUE(bytes.is_default);
    } else {
      EXPECT_EQ(ms.source, 1);     // DYNAMIC_TOPIC_CONFIG
      EXPECT_EQ(bytes.source, 5);  // DEFAULT_CONFIG
      EXPECT_EQ(max.source, 4);    // STATIC_BROKER_CONFIG
      EXPECT_EQ(ms.synonyms, (std::vector<std::string>{"retention.ms", "log.retention.ms"}));
      EXPECT_EQ(max.synonyms, std::vector<std::string>{"message.max.bytes"});
    }
    if (v >= 3) {
      EXPECT_EQ(ms.type, 5);       // LONG
      EXPECT_EQ(cleanup.type, 7);  // LIST
      EXPECT_TRUE(ms.doc.has_value());
    }
    // The broker resource, with an empty key list: nothing.
    EXPECT_EQ(res[1].error, 0);
    EXPECT_TRUE(res[1].configs.empty());
  }
  // Every broker config, read-only; keys filtered; no synonyms or docs unless asked.
  for (int16_t v = 0; v <= 4; ++v) {
    auto res = DescribeConfigs(
        v, {{kBroker, "", std::nullopt},
            {kTopic, "described", std::vector<std::string>{"retention.ms", "no.such"}}});
    ASSERT_EQ(res.size(), 2u);
    EXPECT_EQ(res[0].error, 0);
    EXPECT_EQ(res[0].configs["message.max.bytes"].value, "100000");
    EXPECT_EQ(res[0].configs["log.retention.ms"].value, "-1");
    EXPECT_EQ(res[0].configs["num.partitions"].value, "3");
    for (const auto& [name, c] : res[0].configs) EXPECT_TRUE(c.read_only) << name;
    ASSERT_EQ(res[1].configs.size(), 1u);
    EXPECT_TRUE(res[1].configs["retention.ms"].synonyms.empty());
    EXPECT_FALSE(res[1].configs["retention.ms"].doc.has_value());
  }
}

TEST_F(KafkaAdminTest, DescribeConfigsErrorsStayInTheirResource) {
  for (int16_t v = 0; v <= 4; ++v) {
    auto res = DescribeConfigs(v, {{kTopic, "missing", std::nullopt},
                                   {kBroker, "7", std::nullopt},
                                   {kTopic, "bad name!", std::nullopt},
                                   {32, "g", std::nullopt}});
    ASSERT_EQ(res.size(), 4u) << "v" << v;
    EXPECT_EQ(res[0].error, error::kUnknownTopicOrPartition);
    EXPECT_TRUE(res[0].message.has_value());
    EXPECT_EQ(res[1].error, error::kInvalidRequest);
    EXPECT_EQ(res[2].error, error::kInvalidTopic);
    EXPECT_EQ(res[3].error, error::kInvalidRequest);
  }
  // The connection still serves.
  EXPECT_EQ(DescribeConfigs(4, {{kBroker, "0", std::nullopt}}).size(), 1u);
}

TEST_F(KafkaAdminTest, AlterConfigsEveryVersionReplacesTheSetAndValidates) {
  CreateTopic("altered", 1);
  for (int16_t v = 0; v <= 2; ++v) {
    SCOPED_TRACE(testing::Message() << "AlterConfigs v" << v);
    const int64_t ms = 1000000 + v;
    // validate_only: checked, nothing changes.
    AlterResult r = Alter(false, v, kTopic, "altered",
                          {{"retention.ms", std::to_string(ms)}, {"max.message.bytes", "5000"}},
                          /*validate_only=*/true);
    EXPECT_EQ(r.error, 0) << r.message.value_or("");
    EXPECT_NE(DescribeTopic("altered").topic().config().retention_ms(), ms);

    r = Alter(false, v, kTopic, "altered",
              {{"retention.ms", std::to_string(ms)}, {"max.message.bytes", "5000"}});
    EXPECT_EQ(r.error, 0) << r.message.value_or("");
    v1::DescribeTopicResponse d = DescribeTopic("altered");
    EXPECT_EQ(d.topic().config().retention_ms(), ms);
    EXPECT_EQ(d.topic().config().max_record_bytes(), 5000);

    // The whole set is replaced: max.message.bytes left out goes back to the broker's.
    r = Alter(false, v, kTopic, "altered", {{"retention.bytes", "1048576"}});
    EXPECT_EQ(r.error, 0);
    d = DescribeTopic("altered");
    EXPECT_EQ(d.topic().config().retention_ms(), 0);
    EXPECT_EQ(d.topic().config().retention_bytes(), 1048576);
    EXPECT_EQ(d.topic().config().max_record_bytes(), 100000);

    // Errors: unknown key, bad values, read-only settings, the broker, a missing topic.
    r = Alter(false, v, kTopic, "altered", {{"segment.bytes", "1024"}});
    EXPECT_EQ(r.error, error::kInvalidConfig);
    EXPECT_NE(r.message.value_or("").find("segment.bytes"), std::string::npos);
    EXPECT_EQ(Alter(false, v, kTopic, "altered", {{"retention.ms", "soon"}}).error,
              error::kInvalidConfig);
    EXPECT_EQ(Alter(false, v, kTopic, "altered", {{"retention.ms", "-5"}}).error,
              error::kInvalidConfig);
    EXPECT_EQ(Alter(false, v, kTopic, "altered", {{"max.message.bytes", "100001"}}).error,
              error::kInvalidConfig);
    EXPECT_EQ(Alter(false, v, kTopic, "altered", {{"cleanup.policy", "compact"}}).error,
              error::kInvalidConfig);
    EXPECT_EQ(Alter(false, v, kTopic, "altered", {{"cleanup.policy", "delete"}}).error, 0);
    EXPECT_EQ(Alter(false, v, kBroker, "0", {{"message.max.bytes", "10"}}).error,
              error::kInvalidRequest);
    EXPECT_EQ(Alter(false, v, kTopic, "missing", {{"retention.ms", "1000"}}).error,
              error::kUnknownTopicOrPartition);
    // A failed resource changed nothing.
    EXPECT_EQ(DescribeTopic("altered").topic().config().retention_bytes(), 0);
  }
}

TEST_F(KafkaAdminTest, IncrementalAlterConfigsSetsAndDeletesKeys) {
  CreateTopic("incremental", 1);
  for (int16_t v = 0; v <= 1; ++v) {
    SCOPED_TRACE(testing::Message() << "IncrementalAlterConfigs v" << v);
    AlterResult r = Alter(true, v, kTopic, "incremental",
                          {{"retention.ms", "7200000", 0}, {"retention.bytes", "4096", 0}});
    EXPECT_EQ(r.error, 0) << r.message.value_or("");
    v1::DescribeTopicResponse d = DescribeTopic("incremental");
    EXPECT_EQ(d.topic().config().retention_ms(), 7200000);
    EXPECT_EQ(d.topic().config().retention_bytes(), 4096);

    // Only what is named changes; DELETE goes back to the default.
    r = Alter(true, v, kTopic, "incremental",
              {{"retention.bytes", std::nullopt, 1}, {"max.message.bytes", "2000", 0}});
    EXPECT_EQ(r.error, 0) << r.message.value_or("");
    d = DescribeTopic("incremental");
    EXPECT_EQ(d.topic().config().retention_ms(), 7200000);
    EXPECT_EQ(d.topic().config().retention_bytes(), 0);
    EXPECT_EQ(d.topic().config().max_record_bytes(), 2000);
    auto described = DescribeConfigs(v == 0 ? 2 : 4, {{kTopic, "incremental", std::nullopt}});
    ASSERT_EQ(described.size(), 1u);
    EXPECT_EQ(described[0].configs["retention.bytes"].value, "-1");
    EXPECT_EQ(described[0].configs["retention.bytes"].source, 5);
    EXPECT_EQ(described[0].configs["max.message.bytes"].value, "2000");
    EXPECT_EQ(described[0].configs["max.message.bytes"].source, 1);

    // validate_only
    r = Alter(true, v, kTopic, "incremental", {{"retention.ms", "1000", 0}}, true);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(DescribeTopic("incremental").topic().config().retention_ms(), 7200000);

    // APPEND and SUBTRACT do not apply to these settings; unknown keys and bad values fail.
    EXPECT_EQ(Alter(true, v, kTopic, "incremental", {{"retention.ms", "5", 2}}).error,
              error::kInvalidRequest);
    EXPECT_EQ(Alter(true, v, kTopic, "incremental", {{"retention.ms", "5", 3}}).error,
              error::kInvalidRequest);
    EXPECT_EQ(Alter(true, v, kTopic, "incremental", {{"retention.ms", std::nullopt, 0}}).error,
              error::kInvalidRequest);
    EXPECT_EQ(Alter(true, v, kTopic, "incremental", {{"compression.type", "lz4", 0}}).error,
              error::kInvalidConfig);
    EXPECT_EQ(Alter(true, v, kTopic, "incremental", {{"retention.bytes", "x", 0}}).error,
              error::kInvalidConfig);
    EXPECT_EQ(Alter(true, v, kBroker, "0", {{"log.retention.ms", "5", 0}}).error,
              error::kInvalidRequest);
    EXPECT_EQ(Alter(true, v, kTopic, "nope", {{"retention.ms", "5", 0}}).error,
              error::kUnknownTopicOrPartition);
    EXPECT_EQ(DescribeTopic("incremental").topic().config().retention_ms(), 7200000);
    ASSERT_EQ(Alter(true, v, kTopic, "incremental", {{"max.message.bytes", std::nullopt, 1}}).error,
              0);
  }
}

TEST_F(KafkaAdminTest, TopicMaxMessageBytesAppliesToPublishAtOnce) {
  CreateTopic("limited", 1);
  auto broker = ferryd_.broker();
  v1::Record big;
  big.set_value(std::string(3000, 'x'));
  ASSERT_TRUE(integration::Publish(*broker, "limited", 0, {big}).ok());
  ASSERT_EQ(Alter(true, 1, kTopic, "limited", {{"max.message.bytes", "1000", 0}}).error, 0);
  grpc::Status s = integration::Publish(*broker, "limited", 0, {big});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
}

TEST_F(KafkaAdminTest, CreatePartitionsEveryVersion) {
  CreateTopic("grown", 1);
  int32_t partitions = 1;
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE(testing::Message() << "CreatePartitions v" << v);
    // validate_only: nothing grows.
    auto body =
        conn_->Call(kCreatePartitions, v, CreatePartitionsBody(v, "grown", partitions + 1, true));
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(ParseCreatePartitions(v, *body, "grown").error, 0);
    EXPECT_EQ(DescribeTopic("grown").topic().partitions(), partitions);

    body = conn_->Call(kCreatePartitions, v,
                       CreatePartitionsBody(v, "grown", partitions + 1, false, {{0}}));
    ASSERT_TRUE(body.has_value());
    AlterResult r = ParseCreatePartitions(v, *body, "grown");
    EXPECT_EQ(r.error, 0) << r.message.value_or("");
    ++partitions;
    EXPECT_EQ(DescribeTopic("grown").topic().partitions(), partitions);

    // Not growing, for real or for validation.
    for (bool validate : {false, true}) {
      body =
          conn_->Call(kCreatePartitions, v, CreatePartitionsBody(v, "grown", partitions, validate));
      ASSERT_TRUE(body.has_value());
      r = ParseCreatePartitions(v, *body, "grown");
      EXPECT_EQ(r.error, error::kInvalidPartitions);
      EXPECT_TRUE(r.message.has_value());
    }
    body = conn_->Call(kCreatePartitions, v, CreatePartitionsBody(v, "nope", 5, false));
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(ParseCreatePartitions(v, *body, "nope").error, error::kUnknownTopicOrPartition);
    body = conn_->Call(kCreatePartitions, v,
                       CreatePartitionsBody(v, "grown", partitions + 1, false, {{3}}));
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(ParseCreatePartitions(v, *body, "grown").error, error::kInvalidReplicaAssignment);
  }
}

TEST_F(KafkaAdminTest, DeleteRecordsEveryVersionMovesTheLowWatermark) {
  CreateTopic("trimmed", 2);
  ProduceBatches("trimmed", 10);  // offsets 0..9 of partition 0, one record per batch
  int64_t expected_start = 0;
  for (int16_t v = 0; v <= 2; ++v) {
    SCOPED_TRACE(testing::Message() << "DeleteRecords v" << v);
    expected_start += 2;
    auto body = conn_->Call(kDeleteRecords, v,
                            DeleteRecordsBody(v, "trimmed", {{0, expected_start}, {7, 0}}));
    ASSERT_TRUE(body.has_value());
    auto parts = ParseDeleteRecords(v, *body);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].partition, 0);
    EXPECT_EQ(parts[0].error, 0);
    EXPECT_EQ(parts[0].low_watermark, expected_start);
    EXPECT_EQ(parts[1].partition, 7);
    EXPECT_EQ(parts[1].error, error::kUnknownTopicOrPartition);
    EXPECT_EQ(DescribeTopic("trimmed").partitions(0).log_start_offset(), expected_start);

    // Past the high watermark, and below the low one (nothing changes).
    body = conn_->Call(kDeleteRecords, v, DeleteRecordsBody(v, "trimmed", {{0, 11}, {1, 0}}));
    ASSERT_TRUE(body.has_value());
    parts = ParseDeleteRecords(v, *body);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].error, error::kOffsetOutOfRange);
    EXPECT_EQ(parts[1].error, 0);
    EXPECT_EQ(parts[1].low_watermark, 0);
    body = conn_->Call(kDeleteRecords, v, DeleteRecordsBody(v, "nope", {{0, 1}}));
    ASSERT_TRUE(body.has_value());
    parts = ParseDeleteRecords(v, *body);
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].error, error::kUnknownTopicOrPartition);
  }
  // Readers below the low watermark behave as after retention.
  auto [err, offsets] = FetchOffsets(*conn_, "trimmed", 0, 0);
  EXPECT_EQ(err, error::kOffsetOutOfRange);
  std::tie(err, offsets) = FetchOffsets(*conn_, "trimmed", 0, expected_start);
  EXPECT_EQ(err, 0);
  ASSERT_FALSE(offsets.empty());
  EXPECT_EQ(offsets.front(), expected_start);
  EXPECT_EQ(offsets.back(), 9);
  // -1: everything.
  auto body = conn_->Call(kDeleteRecords, 2, DeleteRecordsBody(2, "trimmed", {{0, -1}}));
  ASSERT_TRUE(body.has_value());
  auto parts = ParseDeleteRecords(2, *body);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].low_watermark, 10);
  v1::DescribeTopicResponse d = DescribeTopic("trimmed");
  EXPECT_EQ(d.partitions(0).log_start_offset(), 10);
  EXPECT_EQ(d.partitions(0).end_offset(), 10);
  EXPECT_EQ(d.partitions(0).size_bytes(), 0);
}

TEST_F(KafkaAdminTest, DeleteRecordsInsideABatchKeepsTheLaterRecords) {
  CreateTopic("straddled", 1);
  auto broker = ferryd_.broker();
  std::vector<v1::Record> records(5);
  for (int i = 0; i < 5; ++i) records[i].set_value("r" + std::to_string(i));
  ASSERT_TRUE(integration::Publish(*broker, "straddled", 0, records).ok());  // one batch, 0..4
  auto body = conn_->Call(kDeleteRecords, 1, DeleteRecordsBody(1, "straddled", {{0, 3}}));
  ASSERT_TRUE(body.has_value());
  auto parts = ParseDeleteRecords(1, *body);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].low_watermark, 3);
  auto [err, offsets] = FetchOffsets(*conn_, "straddled", 0, 3);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(offsets, (std::vector<int64_t>{3, 4}));
  // A gRPC reader from the earliest position starts at 3.
  integration::SubscribeStream stream(
      *broker, integration::SubscribeStream::Direct("straddled", 0, v1::START_POSITION_EARLIEST));
  ASSERT_TRUE(stream.WaitForRecords(2, absl::Seconds(20)));
  auto got = stream.records();
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[0].offset(), 3);
  EXPECT_EQ(got[0].value(), "r3");
  EXPECT_EQ(got[1].offset(), 4);
}

TEST_F(KafkaAdminTest, DescribeClusterEveryVersion) {
  for (int16_t v = 0; v <= 1; ++v) {
    for (bool ops : {false, true}) {
      std::string req;
      Writer w(&req, true);
      w.Bool(ops);
      if (v >= 1) w.Int8(1);
      w.TaggedFields();
      auto body = conn_->Call(kDescribeCluster, v, req);
      ASSERT_TRUE(body.has_value());
      Reader r(*body, true);
      EXPECT_EQ(r.Int32(), 0);
      EXPECT_EQ(r.Int16(), 0);
      EXPECT_FALSE(r.NullableString().has_value());
      if (v >= 1) {
        EXPECT_EQ(r.Int8(), 1);
      }
      EXPECT_EQ(Str(r.String()), "ferry");
      EXPECT_EQ(r.Int32(), kNodeId);
      ASSERT_EQ(r.ArrayCount(), 1);
      EXPECT_EQ(r.Int32(), kNodeId);
      EXPECT_EQ(Str(r.String()), "127.0.0.1");
      EXPECT_EQ(r.Int32(), port_);
      EXPECT_FALSE(r.NullableString().has_value());
      r.TaggedFields();
      const int32_t authorized = r.Int32();
      if (ops) {
        EXPECT_NE(authorized & (1 << 10), 0);  // DESCRIBE_CONFIGS
      } else {
        EXPECT_EQ(authorized, INT32_MIN);
      }
      r.TaggedFields();
      EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
    }
  }
  // Controllers are not served.
  std::string req;
  Writer w(&req, true);
  w.Bool(false);
  w.Int8(2);
  w.TaggedFields();
  auto body = conn_->Call(kDescribeCluster, 1, req);
  ASSERT_TRUE(body.has_value());
  Reader r(*body, true);
  r.Int32();
  EXPECT_EQ(r.Int16(), error::kUnsupportedEndpointType);
}

TEST_F(KafkaAdminTest, ConfigChangesAndDeletedRecordsSurviveARestart) {
  CreateTopic("durable", 1);
  ProduceBatches("durable", 6);
  ASSERT_EQ(Alter(true, 1, kTopic, "durable",
                  {{"retention.ms", "86400000", 0}, {"max.message.bytes", "4000", 0}})
                .error,
            0);
  auto body = conn_->Call(kDeleteRecords, 2, DeleteRecordsBody(2, "durable", {{0, 4}}));
  ASSERT_TRUE(body.has_value());
  ASSERT_EQ(ParseDeleteRecords(2, *body).at(0).low_watermark, 4);

  ASSERT_TRUE(ferryd_.Restart());
  admin_ = ferryd_.admin();
  Reconnect();
  auto res = DescribeConfigs(4, {{kTopic, "durable", std::nullopt}});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].configs["retention.ms"].value, "86400000");
  EXPECT_EQ(res[0].configs["retention.ms"].source, 1);
  EXPECT_EQ(res[0].configs["max.message.bytes"].value, "4000");
  v1::DescribeTopicResponse d = DescribeTopic("durable");
  EXPECT_EQ(d.partitions(0).log_start_offset(), 4);
  EXPECT_EQ(d.partitions(0).end_offset(), 6);
  auto [err, offsets] = FetchOffsets(*conn_, "durable", 0, 4);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(offsets, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(FetchOffsets(*conn_, "durable", 0, 3).first, error::kOffsetOutOfRange);
  // The next record gets the next offset.
  ProduceBatches("durable", 1);
  EXPECT_EQ(DescribeTopic("durable").partitions(0).end_offset(), 7);
}

TEST_F(KafkaAdminTest, VersionsPastTheRangeAnswerInTheHighestServedFormat) {
  // DescribeConfigs v5 (past 4): the v4 layout, no results; the connection stays.
  auto body = conn_->Call(kDescribeConfigs, 5, DescribeConfigsBody(4, {}));
  ASSERT_TRUE(body.has_value());
  EXPECT_TRUE(ParseDescribeConfigs(4, *body).empty());
  // DescribeCluster v2 (past 1): the v1 layout with UNSUPPORTED_VERSION.
  std::string req;
  Writer w(&req, true);
  w.Bool(false);
  w.Int8(1);
  w.TaggedFields();
  body = conn_->Call(kDescribeCluster, 2, req);
  ASSERT_TRUE(body.has_value());
  Reader r(*body, true);
  r.Int32();
  EXPECT_EQ(r.Int16(), error::kUnsupportedVersion);
  EXPECT_EQ(DescribeConfigs(0, {{kBroker, "0", std::nullopt}}).size(), 1u);
}

}  // namespace
}  // namespace ferry::kafka
