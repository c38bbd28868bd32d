// Every served version of the data APIs (Produce, Fetch, ListOffsets) against a real ferryd:
// each request is encoded here in that version, from Kafka's message schemas, and each answer
// decoded in that version, field by field, to its last byte. Then the error paths: unknown
// topics and partitions, and fetch sessions (KIP-227), which Ferry declines to create.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"
#include "kafka/kafka_conn.h"
#include "server/broker/types.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/records.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using ktest::KafkaConn;

constexpr char kTopic[] = "data-versions";  // auto-created: 3 partitions

int16_t MaxVersion(int16_t key) {
  const ApiEntry* api = FindApi(key);
  return api == nullptr ? -1 : api->max_version;
}

// A request body writer in the form of `key` at `version`.
struct Body {
  Body(int16_t key, int16_t version) : w(&bytes, IsFlexibleVersion(key, version)) {}
  std::string bytes;
  Writer w;
};

void ExpectConsumed(const Reader& r, const std::string& what) {
  EXPECT_TRUE(r.ok()) << what << ": " << r.error();
  EXPECT_EQ(r.remaining(), 0u) << what << ": bytes left over";
}

// `values` as records with `timestamps` (0: the broker's time), in the format a Produce of
// `version` carries: message set v0 (Produce v0-1), v1 (v2) or record batch v2 (v3+).
std::string RecordsFor(int16_t version, const std::vector<std::string>& values,
                       const std::vector<int64_t>& timestamps = {}) {
  std::vector<FetchedRecord> records(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    records[i].fields.key = "k";
    records[i].fields.value = values[i];
    records[i].fields.timestamp_ms = i < timestamps.size() ? timestamps[i] : 0;
    records[i].offset = static_cast<int64_t>(i);
  }
  std::string out;
  if (version >= 3) {
    EncodeRecordBatch(records, &out);
  } else {
    EncodeMessageSet(version == 2 ? 1 : 0, records, &out);
  }
  return out;
}

// A key or value as Kafka's wire has it: nullopt for length -1.
using Nullable = std::optional<std::string>;
struct RawRecord {
  Nullable key;
  Nullable value;
  bool operator==(const RawRecord&) const = default;
};

std::ostream& operator<<(std::ostream& os, const RawRecord& r) {
  const auto show = [&os](const Nullable& n) -> std::ostream& {
    return n.has_value() ? os << '"' << *n << '"' : os << "null";
  };
  os << "{key ";
  show(r.key) << ", value ";
  return show(r.value) << "}";
}

// The four null/empty combinations, and an ordinary record.
const std::vector<RawRecord> kNullAndEmpty = {
    {std::nullopt, std::nullopt}, {std::nullopt, ""}, {"", std::nullopt}, {"", ""}, {"k", "v"}};

// `records` in the format a Produce of `version` carries, written here field by field from
// Kafka's schemas (not with Ferry's encoder), with -1 lengths for nullopt.
std::string RawRecordsFor(int16_t version, const std::vector<RawRecord>& records) {
  std::string out;
  Writer w(&out);
  const int64_t ts = 1700000000000;
  if (version >= 3) {  // record batch v2
    w.Int64(0);
    const size_t length_at = w.ReserveInt32();
    w.Int32(-1);  // partitionLeaderEpoch
    w.Int8(2);
    const size_t crc_at = w.ReserveInt32();
    w.Int16(0);
    w.Int32(static_cast<int32_t>(records.size()) - 1);
    w.Int64(ts);
    w.Int64(ts);
    w.Int64(-1);
    w.Int16(-1);
    w.Int32(-1);
    w.Int32(static_cast<int32_t>(records.size()));
    for (size_t i = 0; i < records.size(); ++i) {
      std::string rec;
      Writer rw(&rec);
      rw.Int8(0);
      rw.Varlong(0);
      rw.Varint(static_cast<int32_t>(i));
      for (const Nullable* field : {&records[i].key, &records[i].value}) {
        rw.Varint(field->has_value() ? static_cast<int32_t>((*field)->size()) : -1);
        if (field->has_value()) rw.Raw(**field);
      }
      rw.Varint(0);  // headers
      w.Varint(static_cast<int32_t>(rec.size()));
      w.Raw(rec);
    }
    w.PatchInt32(length_at, static_cast<int32_t>(out.size() - 12));
    w.PatchInt32(crc_at, static_cast<int32_t>(Crc32c(std::string_view(out).substr(21))));
    return out;
  }
  const int8_t magic = version == 2 ? 1 : 0;
  for (size_t i = 0; i < records.size(); ++i) {
    w.Int64(static_cast<int64_t>(i));
    const size_t size_at = w.ReserveInt32();
    const size_t crc_at = w.ReserveInt32();
    w.Int8(magic);
    w.Int8(0);
    if (magic == 1) w.Int64(ts);
    w.NullableBytes(records[i].key);
    w.NullableBytes(records[i].value);
    w.PatchInt32(size_at, static_cast<int32_t>(out.size() - size_at - 4));
    w.PatchInt32(crc_at, static_cast<int32_t>(Crc32(std::string_view(out).substr(crc_at + 4))));
  }
  return out;
}

// Walks a Fetch's record set by hand (Kafka's schemas, not Ferry's decoder): record batches v2
// and message sets v0/v1, keys and values with length -1 as nullopt.
std::vector<RawRecord> ParseRawRecords(std::string_view data) {
  std::vector<RawRecord> out;
  const auto bytes = [](Reader& r, int32_t length) -> Nullable {
    if (length < 0) return std::nullopt;
    return std::string(r.Bytes(static_cast<size_t>(length)));
  };
  while (data.size() > 16) {
    Reader h(data);
    h.Int64();
    const int32_t size = h.Int32();
    if (!h.ok() || size < 0 || static_cast<size_t>(size) > h.remaining()) break;
    const std::string_view entry = data.substr(12, static_cast<size_t>(size));
    data.remove_prefix(12 + static_cast<size_t>(size));
    Reader r(entry);
    if (entry.size() > 4 && entry[4] == 2) {  // magic, after partitionLeaderEpoch
      r.Int32();
      r.Int8();
      r.Uint32();
      r.Int16();
      r.Int32();
      r.Int64();
      r.Int64();
      r.Int64();
      r.Int16();
      r.Int32();
      const int32_t count = r.Int32();
      for (int32_t i = 0; i < count && r.ok(); ++i) {
        r.Varint();  // length
        r.Int8();
        r.Varlong();
        r.Varint();
        RawRecord& rec = out.emplace_back();
        rec.key = bytes(r, r.Varint());
        rec.value = bytes(r, r.Varint());
        const int32_t headers = r.Varint();
        for (int32_t k = 0; k < headers && r.ok(); ++k) {
          r.Bytes(static_cast<size_t>(r.Varint()));
          bytes(r, r.Varint());
        }
      }
    } else {
      r.Uint32();
      const int8_t magic = r.Int8();
      r.Int8();
      if (magic == 1) r.Int64();
      RawRecord& rec = out.emplace_back();
      rec.key = bytes(r, r.Int32());
      rec.value = bytes(r, r.Int32());
    }
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
  }
  return out;
}

struct Produced {
  int16_t error = -100;
  int64_t base_offset = -2;
  int64_t log_start_offset = -2;
  std::optional<std::string> error_message;
};

// A Produce answer of one topic and one partition, read to its last byte.
Produced ParseProduce(int16_t v, const std::string& topic, int32_t partition,
                      const std::string& body) {
  Reader r(body, IsFlexibleVersion(kProduce, v));
  Produced out;
  EXPECT_EQ(r.ArrayCount(), 1);
  EXPECT_EQ(r.String(), topic);
  EXPECT_EQ(r.ArrayCount(), 1);
  EXPECT_EQ(r.Int32(), partition);
  out.error = r.Int16();
  out.base_offset = r.Int64();
  if (v >= 2) {
    EXPECT_EQ(r.Int64(), -1) << "log_append_time";
  }
  if (v >= 5) out.log_start_offset = r.Int64();
  if (v >= 8) {
    EXPECT_EQ(r.ArrayCount(), 0) << "record_errors";
    out.error_message = OptStr(r.NullableString());
  }
  r.TaggedFields();  // partition
  r.TaggedFields();  // topic
  if (v >= 1) {
    EXPECT_EQ(r.Int32(), 0) << "throttle_time_ms";
  }
  r.TaggedFields();
  ExpectConsumed(r, absl::StrCat("Produce v", v));
  return out;
}

struct FetchedPartition {
  int32_t index = -1;
  int16_t error = -100;
  int64_t high_watermark = -2;
  int64_t last_stable_offset = -2;
  int64_t log_start_offset = -2;
  int32_t preferred_read_replica = -2;
  int8_t magic = -1;  // of the first record set, -1 when none
  std::vector<std::string> values;
  std::vector<RawRecord> raw;  // the same records, keys and values as on the wire
};

struct Fetched {
  int16_t error = -100;  // v7+
  int32_t session_id = -1;
  std::vector<FetchedPartition> partitions;  // of the single topic, if any
  int32_t topics = -1;
};

class KafkaDataVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start({"--log-level=debug"}));
    ASSERT_GT(ferryd_.kafka_port(), 0);
    ASSERT_TRUE(conn_.Connect(ferryd_.kafka_port()));
    EnsureTopic(kTopic);
  }

  std::string Call(int16_t key, int16_t version, const Body& body) {
    auto got = conn_.Call(key, version, body.bytes);
    EXPECT_TRUE(got.has_value()) << ApiName(key) << " v" << version << " got no answer";
    return got.value_or("");
  }

  void EnsureTopic(const std::string& topic) {
    Body m(kMetadata, 0);  // v0 creates the topic (Produce never does)
    m.w.ArrayCount(1);
    m.w.String(topic);
    Call(kMetadata, 0, m);
  }

  Produced Produce(int16_t v, const std::string& topic, int32_t partition,
                   const std::string& records,
                   std::optional<std::string> transactional_id = std::nullopt) {
    Body b(kProduce, v);
    if (v >= 3) b.w.NullableString(transactional_id);
    b.w.Int16(-1);
    b.w.Int32(10000);
    b.w.ArrayCount(1);
    b.w.String(topic);
    b.w.ArrayCount(1);
    b.w.Int32(partition);
    b.w.BytesField(records);
    b.w.TaggedFields();
    b.w.TaggedFields();
    b.w.TaggedFields();
    return ParseProduce(v, topic, partition, Call(kProduce, v, b));
  }

  // A full fetch (no session unless given) of one partition from `offset`.
  Fetched Fetch(int16_t v, const std::string& topic, int32_t partition, int64_t offset,
                int32_t session_id = 0, int32_t session_epoch = -1,
                int32_t current_leader_epoch = 0) {
    Body b(kFetch, v);
    b.w.Int32(-1);  // replica id: a consumer
    b.w.Int32(0);   // max wait
    b.w.Int32(0);   // min bytes
    if (v >= 3) b.w.Int32(1 << 20);
    if (v >= 4) b.w.Int8(0);  // READ_UNCOMMITTED
    if (v >= 7) {
      b.w.Int32(session_id);
      b.w.Int32(session_epoch);
    }
    b.w.ArrayCount(1);
    b.w.String(topic);
    b.w.ArrayCount(1);
    b.w.Int32(partition);
    if (v >= 9) b.w.Int32(current_leader_epoch);
    b.w.Int64(offset);
    if (v >= 12) b.w.Int32(-1);  // last fetched epoch
    if (v >= 5) b.w.Int64(-1);   // log start offset: followers only
    b.w.Int32(1 << 20);
    b.w.TaggedFields();
    b.w.TaggedFields();
    if (v >= 7) {
      b.w.ArrayCount(1);  // forgotten topics: meaningless without a session, ignored
      b.w.String(topic);
      b.w.ArrayCount(1);
      b.w.Int32(partition);
      b.w.TaggedFields();
    }
    if (v >= 11) b.w.String("rack-a");
    b.w.TaggedFields();
    return ParseFetch(v, topic, Call(kFetch, v, b));
  }

  static Fetched ParseFetch(int16_t v, const std::string& topic, const std::string& body) {
    Reader r(body, IsFlexibleVersion(kFetch, v));
    Fetched out;
    if (v >= 1) {
      EXPECT_EQ(r.Int32(), 0) << "throttle_time_ms";
    }
    if (v >= 7) {
      out.error = r.Int16();
      out.session_id = r.Int32();
    }
    out.topics = r.ArrayCount();
    for (int32_t t = 0; t < out.topics && r.ok(); ++t) {
      EXPECT_EQ(r.String(), topic);
      const int32_t np = r.ArrayCount();
      for (int32_t i = 0; i < np && r.ok(); ++i) {
        FetchedPartition& p = out.partitions.emplace_back();
        p.index = r.Int32();
        p.error = r.Int16();
        p.high_watermark = r.Int64();
        if (v >= 4) p.last_stable_offset = r.Int64();
        if (v >= 5) p.log_start_offset = r.Int64();
        if (v >= 4) {
          EXPECT_EQ(r.NullableArrayCount(), -1) << "aborted_transactions";
        }
        if (v >= 11) p.preferred_read_replica = r.Int32();
        const std::optional<std::string_view> records = r.NullableBytes();
        r.TaggedFields();
        if (records.has_value() && records->size() > 16) {
          p.magic = static_cast<int8_t>((*records)[16]);
          std::vector<broker::RecordFields> decoded;
          absl::Status s = DecodeProduceRecords(*records, &decoded);
          EXPECT_TRUE(s.ok()) << s;
          for (const auto& d : decoded) p.values.emplace_back(d.value);
          p.raw = ParseRawRecords(*records);
        }
      }
      r.TaggedFields();
    }
    r.TaggedFields();
    ExpectConsumed(r, absl::StrCat("Fetch v", v));
    return out;
  }

  struct Listed {
    int16_t error = -100;
    int64_t timestamp = -2;
    int64_t offset = -2;
    int32_t leader_epoch = -2;
    std::vector<int64_t> old_style_offsets;  // v0
  };

  Listed ListOffsets(int16_t v, const std::string& topic, int32_t partition, int64_t timestamp,
                     int32_t current_leader_epoch = 0) {
    Body b(kListOffsets, v);
    b.w.Int32(-1);
    if (v >= 2) b.w.Int8(0);
    b.w.ArrayCount(1);
    b.w.String(topic);
    b.w.ArrayCount(1);
    b.w.Int32(partition);
    if (v >= 4) b.w.Int32(current_leader_epoch);
    b.w.Int64(timestamp);
    if (v == 0) b.w.Int32(5);  // max_num_offsets
    b.w.TaggedFields();
    b.w.TaggedFields();
    b.w.TaggedFields();
    const std::string body = Call(kListOffsets, v, b);
    Reader r(body, IsFlexibleVersion(kListOffsets, v));
    Listed out;
    if (v >= 2) {
      EXPECT_EQ(r.Int32(), 0) << "throttle_time_ms";
    }
    EXPECT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.String(), topic);
    EXPECT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.Int32(), partition);
    out.error = r.Int16();
    if (v == 0) {
      const int32_t n = r.ArrayCount();
      for (int32_t i = 0; i < n && r.ok(); ++i) out.old_style_offsets.push_back(r.Int64());
    } else {
      out.timestamp = r.Int64();
      out.offset = r.Int64();
      if (v >= 4) out.leader_epoch = r.Int32();
    }
    r.TaggedFields();
    r.TaggedFields();
    r.TaggedFields();
    ExpectConsumed(r, absl::StrCat("ListOffsets v", v));
    return out;
  }

  FerrydProcess ferryd_;
  KafkaConn conn_;
};

TEST_F(KafkaDataVersionsTest, ServesTheVersionsClientsNeed) {
  EXPECT_EQ(MaxVersion(kProduce), 9);
  EXPECT_EQ(MaxVersion(kFetch), 12);
  EXPECT_EQ(MaxVersion(kListOffsets), 7);
}

TEST_F(KafkaDataVersionsTest, ProduceAtEveryVersion) {
  int64_t next = 0;
  for (int16_t v = 0; v <= MaxVersion(kProduce); ++v) {
    SCOPED_TRACE(absl::StrCat("Produce v", v));
    const std::vector<std::string> values = {absl::StrCat("p", v, "-a"),
                                             absl::StrCat("p", v, "-b")};
    const Produced p = Produce(v, kTopic, 0, RecordsFor(v, values, {1000 + v, 2000 + v}));
    EXPECT_EQ(p.error, 0);
    EXPECT_EQ(p.base_offset, next);
    if (v >= 5) {
      EXPECT_EQ(p.log_start_offset, 0);
    }
    if (v >= 8) {
      EXPECT_EQ(p.error_message, std::nullopt);
    }
    next += 2;
  }
  // Every record is there, in order, whatever version brought it.
  const Fetched f = Fetch(MaxVersion(kFetch), kTopic, 0, 0);
  ASSERT_EQ(f.partitions.size(), 1u);
  ASSERT_EQ(f.partitions[0].values.size(), static_cast<size_t>(next));
  for (int16_t v = 0; v <= MaxVersion(kProduce); ++v) {
    EXPECT_EQ(f.partitions[0].values[2 * v], absl::StrCat("p", v, "-a"));
    EXPECT_EQ(f.partitions[0].values[2 * v + 1], absl::StrCat("p", v, "-b"));
  }
}

TEST_F(KafkaDataVersionsTest, ProduceErrorsAtEveryVersionSayWhy) {
  for (int16_t v = 0; v <= MaxVersion(kProduce); ++v) {
    SCOPED_TRACE(absl::StrCat("Produce v", v));
    const std::string records = RecordsFor(v, {"x"});
    const Produced bad_partition = Produce(v, kTopic, 7, records);
    EXPECT_EQ(bad_partition.error, error::kUnknownTopicOrPartition);
    EXPECT_EQ(bad_partition.base_offset, -1);
    if (v >= 5) {
      EXPECT_EQ(bad_partition.log_start_offset, -1);
    }
    if (v >= 8) {
      ASSERT_TRUE(bad_partition.error_message.has_value());
      EXPECT_NE(bad_partition.error_message->find("partition 7 does not exist"), std::string::npos)
          << *bad_partition.error_message;
    }
    const Produced bad_topic = Produce(v, "no-such-topic", 0, records);
    EXPECT_EQ(bad_topic.error, error::kUnknownTopicOrPartition);
    if (v >= 8) {
      ASSERT_TRUE(bad_topic.error_message.has_value());
      EXPECT_NE(bad_topic.error_message->find("no-such-topic"), std::string::npos)
          << *bad_topic.error_message;
    }
    if (v >= 3) {
      const Produced txn = Produce(v, kTopic, 0, records, "txn-1");
      EXPECT_EQ(txn.error, error::kTransactionalIdAuthorizationFailed);
      if (v >= 8) {
        EXPECT_TRUE(txn.error_message.has_value());
      }
    }
  }
}

TEST_F(KafkaDataVersionsTest, FetchAtEveryVersion) {
  ASSERT_EQ(Produce(3, kTopic, 1, RecordsFor(3, {"f0", "f1", "f2", "f3"}, {1, 2, 3, 4})).error, 0);
  for (int16_t v = 0; v <= MaxVersion(kFetch); ++v) {
    SCOPED_TRACE(absl::StrCat("Fetch v", v));
    const Fetched f = Fetch(v, kTopic, 1, 1);
    if (v >= 7) {
      EXPECT_EQ(f.error, 0);
      EXPECT_EQ(f.session_id, 0);  // no session created: clients keep sending full fetches
    }
    ASSERT_EQ(f.partitions.size(), 1u);
    const FetchedPartition& p = f.partitions[0];
    EXPECT_EQ(p.index, 1);
    EXPECT_EQ(p.error, 0);
    EXPECT_EQ(p.high_watermark, 4);
    if (v >= 4) {
      EXPECT_EQ(p.last_stable_offset, 4);
    }
    if (v >= 5) {
      EXPECT_EQ(p.log_start_offset, 0);
    }
    if (v >= 11) {
      EXPECT_EQ(p.preferred_read_replica, -1);
    }
    EXPECT_EQ(p.magic, v >= 4 ? 2 : v >= 2 ? 1 : 0);
    EXPECT_EQ(p.values, (std::vector<std::string>{"f1", "f2", "f3"}));
    // At the end: no records, the partition still described.
    const Fetched at_end = Fetch(v, kTopic, 1, 4);
    ASSERT_EQ(at_end.partitions.size(), 1u);
    EXPECT_EQ(at_end.partitions[0].error, 0);
    EXPECT_TRUE(at_end.partitions[0].values.empty());
  }
}

// Kafka's null (-1) and empty (0) keys and values stay apart: produced at every record format
// (message sets v0 and v1, record batch v2 at Produce v3 and at flexible v9), fetched back at
// every Fetch version (magic 0, 1 and 2), and read through gRPC with has_key() / has_value().
TEST_F(KafkaDataVersionsTest, NullAndEmptyKeysAndValuesStayApart) {
  auto grpc = ferryd_.broker();
  for (const int16_t pv : {int16_t{0}, int16_t{2}, int16_t{3}, MaxVersion(kProduce)}) {
    SCOPED_TRACE(absl::StrCat("Produce v", pv));
    const std::string topic = absl::StrCat("nulls-v", pv);
    EnsureTopic(topic);
    ASSERT_EQ(Produce(pv, topic, 1, RawRecordsFor(pv, kNullAndEmpty)).error, 0);
    for (int16_t fv = 0; fv <= MaxVersion(kFetch); ++fv) {
      const Fetched f = Fetch(fv, topic, 1, 0);
      ASSERT_EQ(f.partitions.size(), 1u);
      EXPECT_EQ(f.partitions[0].raw, kNullAndEmpty) << "Fetch v" << fv;
    }
    const std::vector<v1::Record> read =
        integration::ReadRange(*grpc, topic, 1, 0, static_cast<int64_t>(kNullAndEmpty.size()));
    ASSERT_EQ(read.size(), kNullAndEmpty.size());
    for (size_t i = 0; i < read.size(); ++i) {
      EXPECT_EQ(read[i].has_key(), kNullAndEmpty[i].key.has_value()) << i;
      EXPECT_EQ(read[i].has_value(), kNullAndEmpty[i].value.has_value()) << i;
      EXPECT_EQ(read[i].key(), kNullAndEmpty[i].key.value_or("")) << i;
      EXPECT_EQ(read[i].value(), kNullAndEmpty[i].value.value_or("")) << i;
    }
  }
}

// A gRPC publish with presence (proto3 optional) reads back through Kafka Fetch with -1 for an
// absent key or value and 0 for a present empty one.
TEST_F(KafkaDataVersionsTest, GrpcPresenceReadsBackThroughFetch) {
  EnsureTopic("nulls-grpc");
  std::vector<v1::Record> records;
  for (const RawRecord& want : kNullAndEmpty) {
    v1::Record& r = records.emplace_back();
    if (want.key.has_value()) r.set_key(*want.key);
    if (want.value.has_value()) r.set_value(*want.value);
  }
  ASSERT_TRUE(integration::IsOk(integration::Publish(*ferryd_.broker(), "nulls-grpc", 2, records)));
  for (int16_t fv = 0; fv <= MaxVersion(kFetch); ++fv) {
    const Fetched f = Fetch(fv, "nulls-grpc", 2, 0);
    ASSERT_EQ(f.partitions.size(), 1u);
    EXPECT_EQ(f.partitions[0].raw, kNullAndEmpty) << "Fetch v" << fv;
  }
}

TEST_F(KafkaDataVersionsTest, FetchErrorsAtEveryVersion) {
  ASSERT_EQ(Produce(3, kTopic, 2, RecordsFor(3, {"e0"})).error, 0);
  for (int16_t v = 0; v <= MaxVersion(kFetch); ++v) {
    SCOPED_TRACE(absl::StrCat("Fetch v", v));
    const Fetched bad_partition = Fetch(v, kTopic, 9, 0);
    ASSERT_EQ(bad_partition.partitions.size(), 1u);
    EXPECT_EQ(bad_partition.partitions[0].error, error::kUnknownTopicOrPartition);
    if (v >= 7) {
      EXPECT_EQ(bad_partition.error, 0);
    }
    const Fetched bad_topic = Fetch(v, "no-such-topic", 0, 0);
    ASSERT_EQ(bad_topic.partitions.size(), 1u);
    EXPECT_EQ(bad_topic.partitions[0].error, error::kUnknownTopicOrPartition);
    const Fetched past_end = Fetch(v, kTopic, 2, 5);
    ASSERT_EQ(past_end.partitions.size(), 1u);
    EXPECT_EQ(past_end.partitions[0].error, error::kOffsetOutOfRange);
  }
}

// The current leader epoch a client sends (Fetch v9+, ListOffsets v4+) is checked against the
// partition's (0, as Metadata says): -1 skips the check, an older one is FENCED_LEADER_EPOCH, a
// newer one UNKNOWN_LEADER_EPOCH (refresh the metadata), and a wrong epoch returns no records.
TEST_F(KafkaDataVersionsTest, CurrentLeaderEpochIsChecked) {
  ASSERT_EQ(Produce(3, kTopic, 1, RecordsFor(3, {"le0"})).error, 0);
  for (int16_t v = 9; v <= MaxVersion(kFetch); ++v) {
    SCOPED_TRACE(absl::StrCat("Fetch v", v));
    for (int32_t epoch : {-1, 0}) {
      const Fetched ok = Fetch(v, kTopic, 1, 0, 0, -1, epoch);
      ASSERT_EQ(ok.partitions.size(), 1u);
      EXPECT_EQ(ok.partitions[0].error, 0) << "epoch " << epoch;
      EXPECT_EQ(ok.partitions[0].values, std::vector<std::string>{"le0"}) << "epoch " << epoch;
    }
    const Fetched newer = Fetch(v, kTopic, 1, 0, 0, -1, 1);
    ASSERT_EQ(newer.partitions.size(), 1u);
    EXPECT_EQ(newer.partitions[0].error, error::kUnknownLeaderEpoch);
    EXPECT_TRUE(newer.partitions[0].values.empty());
    const Fetched older = Fetch(v, kTopic, 1, 0, 0, -1, -5);
    ASSERT_EQ(older.partitions.size(), 1u);
    EXPECT_EQ(older.partitions[0].error, error::kFencedLeaderEpoch);
    // A partition that does not exist is that first.
    EXPECT_EQ(Fetch(v, kTopic, 9, 0, 0, -1, 1).partitions[0].error,
              error::kUnknownTopicOrPartition);
  }
  for (int16_t v = 4; v <= MaxVersion(kListOffsets); ++v) {
    SCOPED_TRACE(absl::StrCat("ListOffsets v", v));
    EXPECT_EQ(ListOffsets(v, kTopic, 1, -1, -1).error, 0);
    EXPECT_EQ(ListOffsets(v, kTopic, 1, -1, 0).offset, 1);
    EXPECT_EQ(ListOffsets(v, kTopic, 1, -1, 1).error, error::kUnknownLeaderEpoch);
    EXPECT_EQ(ListOffsets(v, kTopic, 1, -1, -5).error, error::kFencedLeaderEpoch);
  }
}

// KIP-227 without sessions: epochs 0 (create a session) and -1 (none) are full fetches whatever
// the id, answered with session id 0; an incremental epoch cannot name a session Ferry has.
TEST_F(KafkaDataVersionsTest, FetchSessionsAreDeclined) {
  ASSERT_EQ(Produce(3, kTopic, 2, RecordsFor(3, {"s0", "s1"})).error, 0);
  for (int16_t v = 7; v <= MaxVersion(kFetch); ++v) {
    SCOPED_TRACE(absl::StrCat("Fetch v", v));
    for (const auto& [id, epoch] :
         std::vector<std::pair<int32_t, int32_t>>{{0, 0}, {0, -1}, {12345, 0}, {12345, -1}}) {
      const Fetched full = Fetch(v, kTopic, 2, 0, id, epoch);
      EXPECT_EQ(full.error, 0) << id << "/" << epoch;
      EXPECT_EQ(full.session_id, 0);
      ASSERT_EQ(full.partitions.size(), 1u);
      EXPECT_EQ(full.partitions[0].values, (std::vector<std::string>{"s0", "s1"}));
    }
    const Fetched unknown = Fetch(v, kTopic, 2, 0, 12345, 1);
    EXPECT_EQ(unknown.error, error::kFetchSessionIdNotFound);
    EXPECT_EQ(unknown.session_id, 0);
    EXPECT_EQ(unknown.topics, 0);
    const Fetched no_session = Fetch(v, kTopic, 2, 0, 0, 3);
    EXPECT_EQ(no_session.error, error::kInvalidFetchSessionEpoch);
    EXPECT_EQ(no_session.topics, 0);
  }
}

TEST_F(KafkaDataVersionsTest, ListOffsetsAtEveryVersion) {
  // Timestamps out of offset order: the largest (3000) is at offset 1.
  ASSERT_EQ(Produce(3, kTopic, 2, RecordsFor(3, {"a", "b", "c"}, {1000, 3000, 2000})).error, 0);
  for (int16_t v = 0; v <= MaxVersion(kListOffsets); ++v) {
    SCOPED_TRACE(absl::StrCat("ListOffsets v", v));
    const Listed earliest = ListOffsets(v, kTopic, 2, -2);
    const Listed latest = ListOffsets(v, kTopic, 2, -1);
    const Listed by_time = ListOffsets(v, kTopic, 2, 1500);
    EXPECT_EQ(earliest.error, 0);
    EXPECT_EQ(latest.error, 0);
    EXPECT_EQ(by_time.error, 0);
    if (v == 0) {
      EXPECT_EQ(earliest.old_style_offsets, std::vector<int64_t>{0});
      EXPECT_EQ(latest.old_style_offsets, std::vector<int64_t>{3});
      EXPECT_EQ(by_time.old_style_offsets, std::vector<int64_t>{1});
      continue;
    }
    EXPECT_EQ(earliest.offset, 0);
    EXPECT_EQ(latest.offset, 3);
    EXPECT_EQ(by_time.offset, 1);
    EXPECT_EQ(by_time.timestamp, 3000);
    const Listed past = ListOffsets(v, kTopic, 2, 9000);
    EXPECT_EQ(past.error, 0);
    EXPECT_EQ(past.offset, -1);
    EXPECT_EQ(past.timestamp, -1);
    if (v >= 4) {
      EXPECT_EQ(latest.leader_epoch, 0);
      EXPECT_EQ(by_time.leader_epoch, 0);
      EXPECT_EQ(past.leader_epoch, -1);
    }
    const Listed max = ListOffsets(v, kTopic, 2, -3);
    if (v >= 7) {
      EXPECT_EQ(max.error, 0);
      EXPECT_EQ(max.offset, 1);
      EXPECT_EQ(max.timestamp, 3000);
      EXPECT_EQ(max.leader_epoch, 0);
    } else {
      EXPECT_EQ(max.error, error::kInvalidRequest);  // MAX_TIMESTAMP is v7+
    }
  }
}

TEST_F(KafkaDataVersionsTest, ListOffsetsErrorsAndEmptyPartitions) {
  for (int16_t v = 0; v <= MaxVersion(kListOffsets); ++v) {
    SCOPED_TRACE(absl::StrCat("ListOffsets v", v));
    EXPECT_EQ(ListOffsets(v, kTopic, 8, -1).error, error::kUnknownTopicOrPartition);
    EXPECT_EQ(ListOffsets(v, "no-such-topic", 0, -2).error, error::kUnknownTopicOrPartition);
    EXPECT_EQ(ListOffsets(v, kTopic, 0, -4).error, error::kInvalidRequest);
  }
  // An empty partition: no record has the largest timestamp.
  const Listed max = ListOffsets(7, kTopic, 0, -3);
  EXPECT_EQ(max.error, 0);
  EXPECT_EQ(max.offset, -1);
  EXPECT_EQ(max.timestamp, -1);
  EXPECT_EQ(max.leader_epoch, -1);
}

}  // namespace
}  // namespace ferry::kafka
