// Every served version of the topic APIs (Metadata, CreateTopics, DeleteTopics) against a
// real ferryd: each request is encoded here in that version, from Kafka's message schemas,
// and each answer decoded in that version, field by field, to its last byte. Topic ids
// (Metadata v10+, CreateTopics v7, DeleteTopics v6) are checked to be real, the same in every
// API, and stable across a crash of ferryd.
#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "kafka/kafka_conn.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using ktest::KafkaConn;

using TopicUuid = std::array<uint8_t, 16>;
constexpr TopicUuid kZeroUuid{};

// Kafka's codes for the bitfields (AclOperation): every topic and cluster operation.
constexpr int32_t kAllTopicOperations = 0xDF8;     // READ..ALTER_CONFIGS, no CLUSTER_ACTION
constexpr int32_t kAllClusterOperations = 0x1FA0;  // CREATE, ALTER..IDEMPOTENT_WRITE
constexpr int32_t kNotRequested = INT32_MIN;

constexpr int16_t kUnknownTopicOrPartition = 3;
constexpr int16_t kTopicAlreadyExists = 36;
constexpr int16_t kInvalidConfig = 40;
constexpr int16_t kUnknownTopicId = 100;

int16_t MaxVersion(int16_t key) { return FindApi(key)->max_version; }

void ExpectConsumed(const Reader& r, const std::string& what) {
  EXPECT_TRUE(r.ok()) << what << ": " << r.error();
  EXPECT_EQ(r.remaining(), 0u) << what << ": bytes left over";
}

TopicUuid ReadUuid(Reader& r) {
  TopicUuid id{};
  std::string_view b = r.Bytes(16);
  if (r.ok()) std::copy(b.begin(), b.end(), id.begin());
  return id;
}

void WriteUuid(Writer& w, const TopicUuid& id) {
  w.Raw(std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
}

// --- Metadata --------------------------------------------------------------------------------

struct MetadataTopicArg {
  std::optional<std::string> name;
  TopicUuid id{};
};

struct MetadataArgs {
  std::optional<std::vector<MetadataTopicArg>> topics;  // null: every topic
  bool allow_auto = true;
  bool cluster_ops = false;
  bool topic_ops = false;
};

std::string MetadataBody(int16_t v, const MetadataArgs& a) {
  std::string body;
  Writer w(&body, v >= 9);
  if (!a.topics.has_value()) {
    if (v == 0) {
      w.ArrayCount(0);  // v0: an empty list is every topic
    } else {
      w.NullArray();
    }
  } else {
    w.ArrayCount(static_cast<int32_t>(a.topics->size()));
    for (const auto& t : *a.topics) {
      if (v >= 10) WriteUuid(w, t.id);
      if (v >= 12) {
        w.NullableString(t.name);
      } else {
        w.String(t.name.value_or(""));
      }
      w.TaggedFields();
    }
  }
  if (v >= 4) w.Bool(a.allow_auto);
  if (v >= 8 && v <= 10) w.Bool(a.cluster_ops);
  if (v >= 8) w.Bool(a.topic_ops);
  w.TaggedFields();
  return body;
}

struct MetaPartition {
  int16_t error = -100;
  int32_t index = -1;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
  std::vector<int32_t> replicas, isr, offline;
};

struct MetaTopic {
  int16_t error = -100;
  std::optional<std::string> name;
  TopicUuid id{};
  bool internal = true;
  std::vector<MetaPartition> partitions;
  int32_t ops = 0;
};

struct MetaAnswer {
  int32_t broker_count = 0;
  int32_t broker_id = -1;
  std::string host;
  int32_t port = 0;
  std::optional<std::string> cluster_id;
  int32_t controller = -1;
  std::vector<MetaTopic> topics;
  int32_t cluster_ops = 0;

  const MetaTopic* Find(const std::string& name) const {
    for (const auto& t : topics) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
};

std::vector<int32_t> ReadInt32s(Reader& r) {
  std::vector<int32_t> out;
  const int32_t n = r.ArrayCount(4);
  for (int32_t i = 0; i < n && r.ok(); ++i) out.push_back(r.Int32());
  return out;
}

MetaAnswer ParseMetadata(int16_t v, const std::string& body) {
  Reader r(body, v >= 9);
  MetaAnswer out;
  if (v >= 3) {
    EXPECT_EQ(r.Int32(), 0) << "throttle";
  }
  out.broker_count = r.ArrayCount();
  for (int32_t i = 0; i < out.broker_count && r.ok(); ++i) {
    out.broker_id = r.Int32();
    out.host = Str(r.String());
    out.port = r.Int32();
    if (v >= 1) {
      EXPECT_FALSE(r.NullableString().has_value()) << "rack";
    }
    r.TaggedFields();
  }
  if (v >= 2) out.cluster_id = OptStr(r.NullableString());
  if (v >= 1) out.controller = r.Int32();
  const int32_t n = r.ArrayCount();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    MetaTopic t;
    t.error = r.Int16();
    t.name = v >= 12 ? OptStr(r.NullableString()) : std::optional<std::string>(Str(r.String()));
    if (v >= 10) t.id = ReadUuid(r);
    t.internal = v >= 1 ? r.Bool() : false;
    const int32_t np = r.ArrayCount();
    for (int32_t j = 0; j < np && r.ok(); ++j) {
      MetaPartition p;
      p.error = r.Int16();
      p.index = r.Int32();
      p.leader = r.Int32();
      if (v >= 7) p.leader_epoch = r.Int32();
      p.replicas = ReadInt32s(r);
      p.isr = ReadInt32s(r);
      if (v >= 5) p.offline = ReadInt32s(r);
      r.TaggedFields();
      t.partitions.push_back(std::move(p));
    }
    if (v >= 8) t.ops = r.Int32();
    r.TaggedFields();
    out.topics.push_back(std::move(t));
  }
  if (v >= 8 && v <= 10) out.cluster_ops = r.Int32();
  r.TaggedFields();
  ExpectConsumed(r, absl::StrCat("Metadata v", v));
  return out;
}

// --- CreateTopics ----------------------------------------------------------------------------

struct CreateArg {
  using Configs = std::vector<std::pair<std::string, std::optional<std::string>>>;
  CreateArg(std::string n, int32_t p, int16_t r = 1, Configs c = {})
      : name(std::move(n)), partitions(p), replication(r), configs(std::move(c)) {}
  std::string name;
  int32_t partitions;
  int16_t replication;
  Configs configs;
};

std::string CreateTopicsBody(int16_t v, const std::vector<CreateArg>& topics,
                             bool validate_only = false) {
  std::string body;
  Writer w(&body, v >= 5);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.Int32(t.partitions);
    w.Int16(t.replication);
    w.ArrayCount(0);  // assignments
    w.ArrayCount(static_cast<int32_t>(t.configs.size()));
    for (const auto& [name, value] : t.configs) {
      w.String(name);
      w.NullableString(value);
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  w.Int32(10000);
  if (v >= 1) w.Bool(validate_only);
  w.TaggedFields();
  return body;
}

struct CreatedConfig {
  std::optional<std::string> value;
  bool read_only = false;
  int8_t source = -100;
  bool sensitive = true;
};

struct Created {
  std::string name;
  TopicUuid id{};
  int16_t error = -100;
  std::optional<std::string> message;
  int32_t partitions = -100;
  int16_t replication = -100;
  std::map<std::string, CreatedConfig> configs;
};

std::vector<Created> ParseCreateTopics(int16_t v, const std::string& body) {
  Reader r(body, v >= 5);
  std::vector<Created> out;
  if (v >= 2) {
    EXPECT_EQ(r.Int32(), 0) << "throttle";
  }
  const int32_t n = r.ArrayCount();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Created c;
    c.name = Str(r.String());
    if (v >= 7) c.id = ReadUuid(r);
    c.error = r.Int16();
    if (v >= 1) c.message = OptStr(r.NullableString());
    if (v >= 5) {
      c.partitions = r.Int32();
      c.replication = r.Int16();
      const int32_t nc = r.NullableArrayCount();
      for (int32_t j = 0; j < nc && r.ok(); ++j) {
        const std::string name = Str(r.String());
        CreatedConfig cc;
        cc.value = OptStr(r.NullableString());
        cc.read_only = r.Bool();
        cc.source = r.Int8();
        cc.sensitive = r.Bool();
        r.TaggedFields();
        c.configs[name] = cc;
      }
    }
    r.TaggedFields();
    out.push_back(std::move(c));
  }
  r.TaggedFields();
  ExpectConsumed(r, absl::StrCat("CreateTopics v", v));
  return out;
}

// --- DeleteTopics ----------------------------------------------------------------------------

struct DeleteArg {
  std::optional<std::string> name;
  TopicUuid id{};
};

std::string DeleteTopicsBody(int16_t v, const std::vector<DeleteArg>& topics) {
  std::string body;
  Writer w(&body, v >= 4);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    if (v >= 6) {
      w.NullableString(t.name);
      WriteUuid(w, t.id);
      w.TaggedFields();
    } else {
      w.String(t.name.value_or(""));
    }
  }
  w.Int32(10000);
  w.TaggedFields();
  return body;
}

struct Deleted {
  std::optional<std::string> name;
  TopicUuid id{};
  int16_t error = -100;
  std::optional<std::string> message;
};

std::vector<Deleted> ParseDeleteTopics(int16_t v, const std::string& body) {
  Reader r(body, v >= 4);
  std::vector<Deleted> out;
  if (v >= 1) {
    EXPECT_EQ(r.Int32(), 0) << "throttle";
  }
  const int32_t n = r.ArrayCount();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Deleted d;
    d.name = v >= 6 ? OptStr(r.NullableString()) : std::optional<std::string>(Str(r.String()));
    if (v >= 6) d.id = ReadUuid(r);
    d.error = r.Int16();
    if (v >= 5) d.message = OptStr(r.NullableString());
    r.TaggedFields();
    out.push_back(std::move(d));
  }
  r.TaggedFields();
  ExpectConsumed(r, absl::StrCat("DeleteTopics v", v));
  return out;
}

// --- the fixture -----------------------------------------------------------------------------

class KafkaTopicVersionsTest : public ::testing::Test {
 protected:
  void StartFerryd(std::vector<std::string> flags = {}) {
    ASSERT_TRUE(ferryd_.Start(std::move(flags)));
    Connect();
  }
  void Connect() {
    port_ = ferryd_.kafka_port();
    ASSERT_GT(port_, 0);
    conn_ = std::make_unique<KafkaConn>();
    ASSERT_TRUE(conn_->Connect(port_));
  }

  std::string Call(int16_t key, int16_t version, const std::string& body) {
    auto got = conn_->Call(key, version, body);
    EXPECT_TRUE(got.has_value()) << ApiName(key) << " v" << version << " got no answer";
    return got.value_or("");
  }

  MetaAnswer Metadata(int16_t v, const MetadataArgs& a) {
    return ParseMetadata(v, Call(kMetadata, v, MetadataBody(v, a)));
  }
  // The named topic at the highest version, not auto-created.
  MetaTopic TopicAtMax(const std::string& name) {
    const int16_t v = MaxVersion(kMetadata);
    MetaAnswer m = Metadata(v, {std::vector<MetadataTopicArg>{{name, {}}}, false});
    EXPECT_EQ(m.topics.size(), 1u);
    return m.topics.empty() ? MetaTopic() : m.topics[0];
  }
  std::vector<Created> Create(int16_t v, const std::vector<CreateArg>& topics,
                              bool validate_only = false) {
    return ParseCreateTopics(v, Call(kCreateTopics, v, CreateTopicsBody(v, topics, validate_only)));
  }
  std::vector<Deleted> Delete(int16_t v, const std::vector<DeleteArg>& topics) {
    return ParseDeleteTopics(v, Call(kDeleteTopics, v, DeleteTopicsBody(v, topics)));
  }

  // A topic config's value by DescribeConfigs v0.
  std::optional<std::string> ConfigValue(const std::string& topic, const std::string& key) {
    std::string body;
    Writer w(&body);
    w.ArrayCount(1);
    w.Int8(2);  // topic
    w.String(topic);
    w.ArrayCount(1);
    w.String(key);
    const std::string answer = Call(kDescribeConfigs, 0, body);
    Reader r(answer);
    r.Int32();
    EXPECT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.Int16(), 0);
    r.NullableString();
    r.Int8();
    r.String();
    std::optional<std::string> value;
    const int32_t n = r.ArrayCount();
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      const std::string name = Str(r.String());
      auto v = OptStr(r.NullableString());
      r.Bool();
      r.Bool();
      r.Bool();
      if (name == key) value = v;
    }
    ExpectConsumed(r, "DescribeConfigs v0");
    return value;
  }

  FerrydProcess ferryd_;
  int port_ = 0;
  std::unique_ptr<KafkaConn> conn_;
};

// The fields every version of a topic's entry carries, for a topic of `partitions`.
void ExpectTopic(int16_t v, const MetaTopic& t, int32_t partitions, const TopicUuid& id,
                 int32_t ops) {
  const std::string where = absl::StrCat("Metadata v", v, " ", t.name.value_or("(null)"));
  EXPECT_EQ(t.error, 0) << where;
  EXPECT_FALSE(t.internal) << where;
  EXPECT_EQ(t.id, v >= 10 ? id : kZeroUuid) << where;
  EXPECT_EQ(t.ops, v >= 8 ? ops : 0) << where;
  ASSERT_EQ(static_cast<int32_t>(t.partitions.size()), partitions) << where;
  for (int32_t p = 0; p < partitions; ++p) {
    const MetaPartition& mp = t.partitions[p];
    EXPECT_EQ(mp.error, 0) << where;
    EXPECT_EQ(mp.index, p) << where;
    EXPECT_EQ(mp.leader, 0) << where;
    EXPECT_EQ(mp.leader_epoch, v >= 7 ? 0 : -1) << where;
    EXPECT_EQ(mp.replicas, std::vector<int32_t>{0}) << where;
    EXPECT_EQ(mp.isr, std::vector<int32_t>{0}) << where;
    EXPECT_TRUE(mp.offline.empty()) << where;
  }
}

TEST_F(KafkaTopicVersionsTest, ServesTheTopicApisToKafka3Versions) {
  EXPECT_EQ(MaxVersion(kMetadata), 12);
  EXPECT_EQ(MaxVersion(kCreateTopics), 7);
  EXPECT_EQ(MaxVersion(kDeleteTopics), 6);
  EXPECT_EQ(FindApi(kMetadata)->flexible_from, 9);
  EXPECT_EQ(FindApi(kCreateTopics)->flexible_from, 5);
  EXPECT_EQ(FindApi(kDeleteTopics)->flexible_from, 4);
}

TEST_F(KafkaTopicVersionsTest, MetadataEveryVersion) {
  StartFerryd();
  ASSERT_EQ(Create(0, {{"meta-a", 2}})[0].error, 0);
  const TopicUuid id = TopicAtMax("meta-a").id;
  ASSERT_NE(id, kZeroUuid);
  for (int16_t v = 0; v <= MaxVersion(kMetadata); ++v) {
    SCOPED_TRACE(absl::StrCat("Metadata v", v));
    // Every topic.
    MetaAnswer all = Metadata(v, {});
    EXPECT_EQ(all.broker_count, 1);
    EXPECT_EQ(all.broker_id, 0);
    EXPECT_EQ(all.port, port_);
    EXPECT_FALSE(all.host.empty());
    EXPECT_EQ(all.cluster_id, v >= 2 ? std::optional<std::string>("ferry") : std::nullopt);
    EXPECT_EQ(all.controller, v >= 1 ? 0 : -1);
    EXPECT_EQ(all.cluster_ops, v >= 8 && v <= 10 ? kNotRequested : 0);
    const MetaTopic* a = all.Find("meta-a");
    ASSERT_NE(a, nullptr);
    ExpectTopic(v, *a, 2, id, kNotRequested);

    // Named: an existing topic, and one auto-created (before v4 always; v4+ when allowed).
    const std::string made = absl::StrCat("auto-made-v", v);
    MetaAnswer named = Metadata(v, {std::vector<MetadataTopicArg>{{"meta-a", {}}, {made, {}}}});
    ASSERT_EQ(named.topics.size(), 2u);
    ExpectTopic(v, named.topics[0], 2, id, kNotRequested);
    EXPECT_EQ(named.topics[1].name, made);
    ExpectTopic(v, named.topics[1], 3, TopicAtMax(made).id, kNotRequested);
    EXPECT_NE(TopicAtMax(made).id, id);

    if (v >= 4) {
      const std::string not_made = absl::StrCat("not-made-v", v);
      MetaAnswer no = Metadata(v, {std::vector<MetadataTopicArg>{{not_made, {}}}, false});
      ASSERT_EQ(no.topics.size(), 1u);
      EXPECT_EQ(no.topics[0].error, kUnknownTopicOrPartition);
      EXPECT_EQ(no.topics[0].name, not_made);
      EXPECT_EQ(no.topics[0].id, kZeroUuid);
      EXPECT_TRUE(no.topics[0].partitions.empty());
      EXPECT_EQ(TopicAtMax(not_made).error, kUnknownTopicOrPartition);  // still not there
    }
    if (v >= 8) {
      MetaAnswer ops = Metadata(v, {std::vector<MetadataTopicArg>{{"meta-a", {}}}, false,
                                    /*cluster_ops=*/true, /*topic_ops=*/true});
      ASSERT_EQ(ops.topics.size(), 1u);
      ExpectTopic(v, ops.topics[0], 2, id, kAllTopicOperations);
      EXPECT_EQ(ops.cluster_ops, v <= 10 ? kAllClusterOperations : 0);
    }
    if (v >= 10) {
      // By topic id (v10-11 with an empty name, v12 a null one), and an unknown id.
      TopicUuid unknown = id;
      unknown[15] ^= 0x5a;
      const std::optional<std::string> no_name =
          v >= 12 ? std::nullopt : std::optional<std::string>("");
      MetaAnswer by_id =
          Metadata(v, {std::vector<MetadataTopicArg>{{no_name, id}, {no_name, unknown}}, false});
      ASSERT_EQ(by_id.topics.size(), 2u);
      EXPECT_EQ(by_id.topics[0].name, "meta-a");
      ExpectTopic(v, by_id.topics[0], 2, id, kNotRequested);
      EXPECT_EQ(by_id.topics[1].error, kUnknownTopicId);
      EXPECT_EQ(by_id.topics[1].name, no_name);
      EXPECT_EQ(by_id.topics[1].id, unknown);
      EXPECT_TRUE(by_id.topics[1].partitions.empty());
    }
  }
}

TEST_F(KafkaTopicVersionsTest, MetadataWithAutoCreationOffCreatesNothing) {
  StartFerryd({"--auto-create-topics=false"});
  for (int16_t v = 0; v <= MaxVersion(kMetadata); ++v) {
    const std::string name = absl::StrCat("never-v", v);
    MetaAnswer m = Metadata(v, {std::vector<MetadataTopicArg>{{name, {}}}, true});
    ASSERT_EQ(m.topics.size(), 1u) << "v" << v;
    EXPECT_EQ(m.topics[0].error, kUnknownTopicOrPartition) << "v" << v;
    EXPECT_EQ(m.topics[0].name, name) << "v" << v;
  }
  // Every topic: none stored, only the internal __consumer_offsets (derived, never created).
  const MetaAnswer all = Metadata(1, {});
  ASSERT_EQ(all.topics.size(), 1u);
  EXPECT_EQ(all.topics[0].name, "__consumer_offsets");
  EXPECT_TRUE(all.topics[0].internal);
}

TEST_F(KafkaTopicVersionsTest, CreateTopicsEveryVersion) {
  StartFerryd();
  for (int16_t v = 0; v <= MaxVersion(kCreateTopics); ++v) {
    SCOPED_TRACE(absl::StrCat("CreateTopics v", v));
    const std::string name = absl::StrCat("created-v", v);
    CreateArg arg{name, 2, 1, {{"retention.ms", "60000"}, {"max.message.bytes", "2048"}}};
    if (v >= 1) {
      // validate_only: everything checked, nothing created.
      std::vector<Created> checked = Create(v, {arg}, /*validate_only=*/true);
      ASSERT_EQ(checked.size(), 1u);
      EXPECT_EQ(checked[0].name, name);
      EXPECT_EQ(checked[0].error, 0);
      EXPECT_EQ(checked[0].message, std::nullopt);
      EXPECT_EQ(checked[0].id, kZeroUuid);
      if (v >= 5) {
        EXPECT_EQ(checked[0].partitions, 2);
        EXPECT_EQ(checked[0].configs["retention.ms"].value, "60000");
      }
      EXPECT_EQ(TopicAtMax(name).error, kUnknownTopicOrPartition);
    }
    std::vector<Created> created = Create(v, {arg});
    ASSERT_EQ(created.size(), 1u);
    const Created& c = created[0];
    EXPECT_EQ(c.name, name);
    EXPECT_EQ(c.error, 0);
    EXPECT_EQ(c.message, std::nullopt);
    const MetaTopic t = TopicAtMax(name);
    EXPECT_EQ(t.error, 0);
    EXPECT_EQ(t.partitions.size(), 2u);
    EXPECT_NE(t.id, kZeroUuid);
    EXPECT_EQ(c.id, v >= 7 ? t.id : kZeroUuid);
    if (v >= 5) {
      EXPECT_EQ(c.partitions, 2);
      EXPECT_EQ(c.replication, 1);
      ASSERT_EQ(c.configs.count("retention.ms"), 1u);
      EXPECT_EQ(c.configs.at("retention.ms").value, "60000");
      EXPECT_EQ(c.configs.at("retention.ms").source, 1);  // DYNAMIC_TOPIC_CONFIG
      EXPECT_FALSE(c.configs.at("retention.ms").read_only);
      EXPECT_FALSE(c.configs.at("retention.ms").sensitive);
      EXPECT_EQ(c.configs.at("max.message.bytes").value, "2048");
      EXPECT_EQ(c.configs.at("retention.bytes").value, "-1");
      EXPECT_EQ(c.configs.at("retention.bytes").source, 5);  // DEFAULT_CONFIG
      EXPECT_TRUE(c.configs.at("cleanup.policy").read_only);
    } else {
      EXPECT_EQ(c.partitions, -100);  // not in this version
    }
    EXPECT_EQ(ConfigValue(name, "retention.ms"), "60000");
    EXPECT_EQ(ConfigValue(name, "max.message.bytes"), "2048");

    // Again: it exists.
    std::vector<Created> again = Create(v, {arg});
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].error, kTopicAlreadyExists);
    if (v >= 1) {
      ASSERT_TRUE(again[0].message.has_value());
      EXPECT_NE(again[0].message->find("already exists"), std::string::npos) << *again[0].message;
    }
    if (v >= 5) {
      EXPECT_EQ(again[0].partitions, -1);
      EXPECT_EQ(again[0].replication, -1);
      EXPECT_TRUE(again[0].configs.empty());
    }

    // An unknown config and a bad value: INVALID_CONFIG, nothing created.
    const std::string bad = absl::StrCat("bad-config-v", v);
    std::vector<Created> refused = Create(v, {{bad, 1, 1, {{"no.such.config", "1"}}},
                                              {bad + "-value", 1, 1, {{"retention.ms", "soon"}}}});
    ASSERT_EQ(refused.size(), 2u);
    for (const Created& r : refused) {
      EXPECT_EQ(r.error, kInvalidConfig) << r.name;
      if (v >= 1) {
        ASSERT_TRUE(r.message.has_value()) << r.name;
        EXPECT_NE(r.message->find(r.name == bad ? "no.such.config" : "soon"), std::string::npos)
            << *r.message;
      }
      EXPECT_EQ(TopicAtMax(r.name).error, kUnknownTopicOrPartition) << r.name;
    }

    if (v >= 4) {
      // -1 partitions and replication factor: the broker's defaults (3 partitions, 1 copy).
      const std::string defaults = absl::StrCat("defaults-v", v);
      std::vector<Created> d = Create(v, {{defaults, -1, -1, {}}});
      ASSERT_EQ(d.size(), 1u);
      EXPECT_EQ(d[0].error, 0);
      if (v >= 5) {
        EXPECT_EQ(d[0].partitions, 3);
        EXPECT_EQ(d[0].replication, 1);
      }
      EXPECT_EQ(TopicAtMax(defaults).partitions.size(), 3u);
    }
  }
}

TEST_F(KafkaTopicVersionsTest, DeleteTopicsEveryVersion) {
  StartFerryd();
  for (int16_t v = 0; v <= MaxVersion(kDeleteTopics); ++v) {
    SCOPED_TRACE(absl::StrCat("DeleteTopics v", v));
    const std::string name = absl::StrCat("deleted-v", v);
    ASSERT_EQ(Create(0, {{name, 1}})[0].error, 0);
    const TopicUuid id = TopicAtMax(name).id;
    std::vector<Deleted> d = Delete(v, {{name, {}}});
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].name, name);
    EXPECT_EQ(d[0].error, 0);
    EXPECT_EQ(d[0].message, std::nullopt);
    EXPECT_EQ(d[0].id, v >= 6 ? id : kZeroUuid);
    EXPECT_EQ(TopicAtMax(name).error, kUnknownTopicOrPartition);

    std::vector<Deleted> gone = Delete(v, {{name, {}}});
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].name, name);
    EXPECT_EQ(gone[0].error, kUnknownTopicOrPartition);
    if (v >= 5) {
      ASSERT_TRUE(gone[0].message.has_value());
      EXPECT_NE(gone[0].message->find(name), std::string::npos) << *gone[0].message;
    }

    if (v >= 6) {
      // By topic id: the topic's name comes back; an unknown id gets UNKNOWN_TOPIC_ID.
      const std::string by_id = absl::StrCat("deleted-by-id-v", v);
      ASSERT_EQ(Create(0, {{by_id, 1}})[0].error, 0);
      const TopicUuid bid = TopicAtMax(by_id).id;
      ASSERT_NE(bid, kZeroUuid);
      TopicUuid unknown = bid;
      unknown[0] ^= 0x33;
      std::vector<Deleted> ids = Delete(v, {{std::nullopt, bid}, {std::nullopt, unknown}});
      ASSERT_EQ(ids.size(), 2u);
      EXPECT_EQ(ids[0].name, by_id);
      EXPECT_EQ(ids[0].id, bid);
      EXPECT_EQ(ids[0].error, 0);
      EXPECT_EQ(ids[1].name, std::nullopt);
      EXPECT_EQ(ids[1].id, unknown);
      EXPECT_EQ(ids[1].error, kUnknownTopicId);
      EXPECT_TRUE(ids[1].message.has_value());
      EXPECT_EQ(TopicAtMax(by_id).error, kUnknownTopicOrPartition);
      // Deleted by id, the id is gone too.
      EXPECT_EQ(Delete(v, {{std::nullopt, bid}})[0].error, kUnknownTopicId);
    }
  }
}

// A topic named twice in one request is refused in both entries (INVALID_REQUEST) and neither
// creates nor deletes it; the other topics of the request are served.
TEST_F(KafkaTopicVersionsTest, ATopicNamedTwiceInOneRequestIsRefused) {
  StartFerryd();
  for (int16_t v : {int16_t{0}, int16_t{5}, MaxVersion(kCreateTopics)}) {
    const std::string twice = absl::StrCat("twice-", v);
    const std::string once = absl::StrCat("once-", v);
    std::vector<Created> c = Create(v, {{twice, 1}, {once, 1}, {twice, 3}});
    ASSERT_EQ(c.size(), 3u) << "CreateTopics v" << v;
    EXPECT_EQ(c[0].error, error::kInvalidRequest) << "CreateTopics v" << v;
    EXPECT_EQ(c[1].error, 0) << "CreateTopics v" << v;
    EXPECT_EQ(c[2].error, error::kInvalidRequest) << "CreateTopics v" << v;
    if (v >= 1) {
      EXPECT_NE(c[0].message.value_or("").find("2 times"), std::string::npos);
    }
    EXPECT_EQ(TopicAtMax(twice).error, error::kUnknownTopicOrPartition) << "created anyway";
    EXPECT_EQ(TopicAtMax(once).error, 0);
  }
  ASSERT_EQ(Create(0, {{"del-twice", 1}, {"del-once", 1}})[0].error, 0);
  for (int16_t v : {int16_t{0}, MaxVersion(kDeleteTopics)}) {
    std::vector<Deleted> d = Delete(v, {{"del-twice", {}}, {"del-twice", {}}});
    ASSERT_EQ(d.size(), 2u) << "DeleteTopics v" << v;
    EXPECT_EQ(d[0].error, error::kInvalidRequest) << "DeleteTopics v" << v;
    EXPECT_EQ(d[1].error, error::kInvalidRequest) << "DeleteTopics v" << v;
    EXPECT_EQ(TopicAtMax("del-twice").error, 0) << "deleted anyway";
  }
  EXPECT_EQ(Delete(0, {{"del-twice", {}}, {"del-once", {}}})[1].error, 0);
}

TEST_F(KafkaTopicVersionsTest, TopicIdsAreUniqueAndNewOnRecreation) {
  StartFerryd();
  ASSERT_EQ(Create(7, {{"id-a", 1}, {"id-b", 1}})[0].error, 0);
  const TopicUuid a = TopicAtMax("id-a").id;
  const TopicUuid b = TopicAtMax("id-b").id;
  EXPECT_NE(a, kZeroUuid);
  EXPECT_NE(a, b);
  ASSERT_EQ(Delete(6, {{"id-a", {}}})[0].error, 0);
  std::vector<Created> again = Create(7, {{"id-a", 1}});
  ASSERT_EQ(again[0].error, 0);
  EXPECT_NE(again[0].id, a);
  EXPECT_EQ(again[0].id, TopicAtMax("id-a").id);
}

TEST_F(KafkaTopicVersionsTest, TopicIdIsStableAcrossACrash) {
  StartFerryd();
  std::vector<Created> c = Create(7, {{"kept", 2}});
  ASSERT_EQ(c[0].error, 0);
  const TopicUuid id = c[0].id;
  ASSERT_NE(id, kZeroUuid);
  ferryd_.Kill9();
  ASSERT_TRUE(ferryd_.Restart());
  Connect();
  const MetaTopic t = TopicAtMax("kept");
  EXPECT_EQ(t.error, 0);
  EXPECT_EQ(t.id, id);
  MetaAnswer by_id = Metadata(12, {std::vector<MetadataTopicArg>{{std::nullopt, id}}, false});
  ASSERT_EQ(by_id.topics.size(), 1u);
  EXPECT_EQ(by_id.topics[0].name, "kept");
}

}  // namespace
}  // namespace ferry::kafka
