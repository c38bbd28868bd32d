// __consumer_offsets over the Kafka door against a real ferryd: Metadata lists it (internal,
// --offsets-topic-partitions partitions), ListOffsets and Fetch at every served version read
// the groups' commits as Kafka's offset commit records (key v1, value v3) at their sequences,
// a newer commit supersedes the older (compaction), a deleted group leaves tombstones, writes
// and admin changes are refused, and the offsets never go backwards across kill -9.
// Requests and answers are encoded by hand here from Kafka's schemas.
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "ferry/v1/ferry.pb.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"
#include "kafka/kafka_conn.h"
#include "kafka/kafka_requests.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/records.h"
#include "server/kafka/wire.h"
#include "storage/offset_store.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using ktest::KafkaConn;

constexpr char kOffsetsTopic[] = "__consumer_offsets";
constexpr char kTopic[] = "cof-orders";  // auto-created: 3 partitions
constexpr int32_t kLogPartitions = 7;    // --offsets-topic-partitions
constexpr char kGroup[] = "lag-monitor-group";

int16_t MaxVersion(int16_t key) { return FindApi(key)->max_version; }

struct Body {
  Body(int16_t key, int16_t version) : w(&bytes, IsFlexibleVersion(key, version)) {}
  std::string bytes;
  Writer w;
};

// One record of __consumer_offsets, decoded from Kafka's formats.
struct OffsetRecord {
  int64_t offset = -1;  // in __consumer_offsets
  int16_t key_version = -1;
  std::string group;
  std::string topic;
  int32_t partition = -1;
  bool tombstone = false;
  int16_t value_version = -1;
  int64_t committed = -1;
  int32_t leader_epoch = 0;
  std::string metadata;
  int64_t commit_timestamp = -1;
};

void DecodeKeyValue(std::optional<std::string_view> key, std::optional<std::string_view> value,
                    OffsetRecord* out) {
  ASSERT_TRUE(key.has_value());
  Reader k(*key);
  out->key_version = k.Int16();
  out->group = std::string(k.String());
  out->topic = std::string(k.String());
  out->partition = k.Int32();
  EXPECT_TRUE(k.ok() && k.remaining() == 0) << "key";
  if (!value.has_value()) {
    out->tombstone = true;
    return;
  }
  Reader v(*value);
  out->value_version = v.Int16();
  out->committed = v.Int64();
  out->leader_epoch = v.Int32();
  out->metadata = std::string(v.String());
  out->commit_timestamp = v.Int64();
  EXPECT_TRUE(v.ok() && v.remaining() == 0) << "value";
}

std::optional<std::string_view> VarBytes(Reader& r) {
  const int32_t n = r.Varint();
  if (n < 0) return std::nullopt;
  return r.Bytes(static_cast<size_t>(n));
}

// Record batches (magic 2) or a message set (magic 0/1), checking each batch's CRC;
// `next_offset` is where a consumer fetches next (after the last batch's lastOffsetDelta).
std::vector<OffsetRecord> DecodeRecords(std::string_view data, int8_t* magic_out,
                                        int64_t* next_offset) {
  std::vector<OffsetRecord> out;
  Reader r(data);
  while (r.remaining() > 0 && r.ok()) {
    const int64_t base = r.Int64();
    const int32_t length = r.Int32();
    Reader b(r.Bytes(static_cast<size_t>(length)));
    EXPECT_TRUE(r.ok());
    if (length < 5) break;
    const size_t crc_end = 5;  // partitionLeaderEpoch(4) magic(1), then the crc
    std::string_view whole = b.rest();
    b.Int32();
    const int8_t magic = b.Int8();
    *magic_out = magic;
    if (magic == 2) {
      const uint32_t crc = b.Uint32();
      EXPECT_EQ(crc, Crc32c(whole.substr(crc_end + 4))) << "batch CRC";
      EXPECT_EQ(b.Int16(), 0) << "attributes";
      const int32_t last_delta = b.Int32();
      b.Int64();  // first timestamp
      b.Int64();  // max timestamp
      b.Int64();
      b.Int16();
      b.Int32();
      const int32_t count = b.Int32();
      int32_t seen_last = -1;
      for (int32_t i = 0; i < count && b.ok(); ++i) {
        const int32_t rec_len = b.Varint();
        Reader rec(b.Bytes(static_cast<size_t>(rec_len)));
        rec.Int8();
        rec.Varlong();
        const int32_t delta = rec.Varint();
        EXPECT_GT(delta, seen_last) << "offset deltas ascend";
        seen_last = delta;
        OffsetRecord o;
        o.offset = base + delta;
        auto key = VarBytes(rec);
        auto value = VarBytes(rec);
        DecodeKeyValue(key, value, &o);
        EXPECT_EQ(rec.Varint(), 0) << "headers";
        EXPECT_TRUE(rec.ok() && rec.remaining() == 0);
        out.push_back(std::move(o));
      }
      // A compacted batch may span past its last record (gaps at its end), never short of it.
      EXPECT_GE(last_delta, seen_last) << "lastOffsetDelta";
      *next_offset = base + last_delta + 1;
      EXPECT_TRUE(b.ok() && b.remaining() == 0);
    } else {
      // A message: offset, size, then crc magic attributes [timestamp] key value.
      Reader m(whole);
      const uint32_t crc = m.Uint32();
      EXPECT_EQ(crc, Crc32(whole.substr(4))) << "message CRC";
      const int8_t mm = m.Int8();
      EXPECT_EQ(m.Int8(), 0);
      if (mm == 1) m.Int64();
      OffsetRecord o;
      o.offset = base;
      auto key = m.NullableBytes();
      auto value = m.NullableBytes();
      DecodeKeyValue(key, value, &o);
      *magic_out = mm;
      *next_offset = base + 1;
      out.push_back(std::move(o));
    }
  }
  EXPECT_TRUE(r.ok()) << r.error();
  return out;
}

struct FetchedLog {
  int16_t error = -100;
  int64_t high_watermark = -2;
  int64_t log_start_offset = -2;
  int8_t magic = -1;
  int64_t next_offset = -1;  // -1: no records field content
  std::vector<OffsetRecord> records;
};

class KafkaConsumerOffsetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start({absl::StrCat("--offsets-topic-partitions=", kLogPartitions)}));
    Connect();
    Body m(kMetadata, 0);  // v0 creates the topic
    m.w.ArrayCount(1);
    m.w.String(kTopic);
    Call(kMetadata, 0, m);
    // Records to commit positions in.
    for (int32_t p = 0; p < 3; ++p) {
      std::vector<FetchedRecord> records(20);
      for (int i = 0; i < 20; ++i) {
        records[i].fields.value = "v";
        records[i].offset = i;
      }
      std::string batch;
      EncodeRecordBatch(records, &batch);
      auto got = conn_.Call(kProduce, 3, ktest::ProduceBody(3, kTopic, p, batch));
      ASSERT_TRUE(got.has_value());
      ASSERT_EQ(ktest::ParseProduce(3, *got).error, 0);
    }
  }

  void Connect() {
    conn_ = KafkaConn();
    ASSERT_TRUE(conn_.Connect(ferryd_.kafka_port()));
  }

  std::string Call(int16_t key, int16_t version, const Body& body) {
    auto got = conn_.Call(key, version, body.bytes);
    EXPECT_TRUE(got.has_value()) << ApiName(key) << " v" << version << " got no answer";
    return got.value_or("");
  }

  // A standalone OffsetCommit v2 (generation -1, no member) of one partition.
  int16_t Commit(const std::string& group, int32_t partition, int64_t offset,
                 const std::string& metadata) {
    Body b(kOffsetCommit, 2);
    b.w.String(group);
    b.w.Int32(-1);
    b.w.String("");
    b.w.Int64(-1);  // retention
    b.w.ArrayCount(1);
    b.w.String(kTopic);
    b.w.ArrayCount(1);
    b.w.Int32(partition);
    b.w.Int64(offset);
    b.w.NullableString(metadata);
    const std::string body = Call(kOffsetCommit, 2, b);
    Reader r(body);
    r.ArrayCount();
    r.String();
    r.ArrayCount();
    r.Int32();
    return r.Int16();
  }

  // Fetch of one __consumer_offsets partition from `offset`, at `v`.
  FetchedLog Fetch(int16_t v, int32_t partition, int64_t offset, KafkaConn* conn = nullptr,
                   int32_t max_wait_ms = 0, int32_t min_bytes = 0) {
    Body b(kFetch, v);
    b.w.Int32(-1);
    b.w.Int32(max_wait_ms);
    b.w.Int32(min_bytes);
    if (v >= 3) b.w.Int32(1 << 20);
    if (v >= 4) b.w.Int8(0);
    if (v >= 7) {
      b.w.Int32(0);
      b.w.Int32(-1);
    }
    b.w.ArrayCount(1);
    b.w.String(kOffsetsTopic);
    b.w.ArrayCount(1);
    b.w.Int32(partition);
    if (v >= 9) b.w.Int32(-1);
    b.w.Int64(offset);
    if (v >= 12) b.w.Int32(-1);
    if (v >= 5) b.w.Int64(-1);
    b.w.Int32(1 << 20);
    b.w.TaggedFields();
    b.w.TaggedFields();
    if (v >= 7) b.w.ArrayCount(0);
    if (v >= 11) b.w.String("");
    b.w.TaggedFields();
    std::string body;
    if (conn == nullptr) {
      body = Call(kFetch, v, b);
    } else {
      auto got = conn->Call(kFetch, v, b.bytes);
      EXPECT_TRUE(got.has_value());
      body = got.value_or("");
    }
    Reader r(body, IsFlexibleVersion(kFetch, v));
    FetchedLog out;
    if (v >= 1) r.Int32();
    if (v >= 7) {
      EXPECT_EQ(r.Int16(), 0);
      r.Int32();
    }
    EXPECT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.String(), kOffsetsTopic);
    EXPECT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.Int32(), partition);
    out.error = r.Int16();
    out.high_watermark = r.Int64();
    if (v >= 4) {
      EXPECT_EQ(r.Int64(), out.high_watermark) << "last stable offset";
    }
    if (v >= 5) out.log_start_offset = r.Int64();
    if (v >= 4) r.NullableArrayCount();
    if (v >= 11) r.Int32();
    auto records = r.NullableBytes();
    r.TaggedFields();
    r.TaggedFields();
    r.TaggedFields();
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << "Fetch v" << v << ": " << r.error();
    if (records.has_value()) {
      out.records = DecodeRecords(*records, &out.magic, &out.next_offset);
    }
    return out;
  }

  // ListOffsets v1+ of one __consumer_offsets partition: {error, offset}.
  std::pair<int16_t, int64_t> ListOffsets(int16_t v, int32_t partition, int64_t timestamp) {
    Body b(kListOffsets, v);
    b.w.Int32(-1);
    if (v >= 2) b.w.Int8(0);
    b.w.ArrayCount(1);
    b.w.String(kOffsetsTopic);
    b.w.ArrayCount(1);
    b.w.Int32(partition);
    if (v >= 4) b.w.Int32(-1);
    b.w.Int64(timestamp);
    if (v == 0) b.w.Int32(1);
    b.w.TaggedFields();
    b.w.TaggedFields();
    b.w.TaggedFields();
    const std::string body = Call(kListOffsets, v, b);
    Reader r(body, IsFlexibleVersion(kListOffsets, v));
    if (v >= 2) r.Int32();
    EXPECT_EQ(r.ArrayCount(), 1);
    r.String();
    EXPECT_EQ(r.ArrayCount(), 1);
    r.Int32();
    const int16_t error = r.Int16();
    int64_t offset = -1;
    if (v == 0) {
      const int32_t n = r.ArrayCount();
      for (int32_t i = 0; i < n; ++i) offset = r.Int64();
    } else {
      r.Int64();
      offset = r.Int64();
      if (v >= 4) r.Int32();
    }
    r.TaggedFields();
    r.TaggedFields();
    r.TaggedFields();
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << "ListOffsets v" << v;
    return {error, offset};
  }

  struct MetaTopic {
    int16_t error = -100;
    std::string name;
    bool is_internal = false;
    int32_t partitions = -1;
  };
  // Metadata v1: `topics` by name, or every topic (nullopt).
  std::vector<MetaTopic> Metadata(std::optional<std::vector<std::string>> topics) {
    Body b(kMetadata, 1);
    if (topics.has_value()) {
      b.w.ArrayCount(static_cast<int32_t>(topics->size()));
      for (const auto& t : *topics) b.w.String(t);
    } else {
      b.w.NullArray();
    }
    const std::string body = Call(kMetadata, 1, b);
    Reader r(body);
    const int32_t brokers = r.ArrayCount();
    for (int32_t i = 0; i < brokers; ++i) {
      r.Int32();
      r.String();
      r.Int32();
      r.NullableString();
    }
    r.Int32();
    std::vector<MetaTopic> out;
    const int32_t n = r.ArrayCount();
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      MetaTopic t;
      t.error = r.Int16();
      t.name = std::string(r.String());
      t.is_internal = r.Bool();
      t.partitions = r.ArrayCount();
      for (int32_t p = 0; p < t.partitions; ++p) {
        r.Int16();
        r.Int32();
        r.Int32();
        const int32_t reps = r.ArrayCount(4);
        for (int32_t k = 0; k < reps; ++k) r.Int32();
        const int32_t isr = r.ArrayCount(4);
        for (int32_t k = 0; k < isr; ++k) r.Int32();
      }
      out.push_back(std::move(t));
    }
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
    return out;
  }

  FerrydProcess ferryd_;
  KafkaConn conn_;
};

TEST_F(KafkaConsumerOffsetsTest, MetadataListsItAsInternal) {
  const auto named = Metadata(std::vector<std::string>{kOffsetsTopic});
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].error, 0);
  EXPECT_EQ(named[0].name, kOffsetsTopic);
  EXPECT_TRUE(named[0].is_internal);
  EXPECT_EQ(named[0].partitions, kLogPartitions);
  bool listed = false;
  for (const auto& t : Metadata(std::nullopt)) {
    if (t.name == kOffsetsTopic) {
      listed = true;
      EXPECT_TRUE(t.is_internal);
      EXPECT_EQ(t.partitions, kLogPartitions);
    } else {
      EXPECT_FALSE(t.is_internal) << t.name;
    }
  }
  EXPECT_TRUE(listed);
}

TEST_F(KafkaConsumerOffsetsTest, FetchReturnsTheCommitsInKafkasFormatAtEveryVersion) {
  const int32_t p = storage::OffsetLogPartitionFor(kGroup, kLogPartitions);
  EXPECT_EQ(ListOffsets(1, p, -1).second, 0);
  ASSERT_EQ(Commit(kGroup, 0, 5, "first"), 0);
  ASSERT_EQ(Commit(kGroup, 1, 7, ""), 0);
  ASSERT_EQ(Commit(kGroup, 2, 3, "x"), 0);
  EXPECT_EQ(ListOffsets(1, p, -1).second, 3);
  // The same key again: the newer commit supersedes (compaction), leaving a gap at 0.
  ASSERT_EQ(Commit(kGroup, 0, 9, "second"), 0);
  for (int16_t v = 0; v <= MaxVersion(kListOffsets); ++v) {
    SCOPED_TRACE(absl::StrCat("ListOffsets v", v));
    EXPECT_EQ(ListOffsets(v, p, -1), std::make_pair(int16_t{0}, int64_t{4}));
    EXPECT_EQ(ListOffsets(v, p, -2), std::make_pair(int16_t{0}, int64_t{0}));
  }
  for (int16_t v = 0; v <= MaxVersion(kFetch); ++v) {
    SCOPED_TRACE(absl::StrCat("Fetch v", v));
    const FetchedLog f = Fetch(v, p, 0);
    EXPECT_EQ(f.error, 0);
    EXPECT_EQ(f.high_watermark, 4);
    if (v >= 5) {
      EXPECT_EQ(f.log_start_offset, 0);
    }
    EXPECT_EQ(f.magic, v >= 4 ? 2 : v >= 2 ? 1 : 0);
    ASSERT_EQ(f.records.size(), 3u);
    const int64_t want_offsets[] = {1, 2, 3};
    const int32_t want_partitions[] = {1, 2, 0};
    const int64_t want_committed[] = {7, 3, 9};
    const char* want_metadata[] = {"", "x", "second"};
    for (size_t i = 0; i < 3; ++i) {
      const OffsetRecord& o = f.records[i];
      EXPECT_EQ(o.offset, want_offsets[i]);
      EXPECT_EQ(o.key_version, 1);
      EXPECT_EQ(o.group, kGroup);
      EXPECT_EQ(o.topic, kTopic);
      EXPECT_EQ(o.partition, want_partitions[i]);
      EXPECT_FALSE(o.tombstone);
      EXPECT_EQ(o.value_version, 3);
      EXPECT_EQ(o.committed, want_committed[i]);
      EXPECT_EQ(o.leader_epoch, -1);
      EXPECT_EQ(o.metadata, want_metadata[i]);
      EXPECT_GT(o.commit_timestamp, 1'600'000'000'000);
    }
    // From the middle, and at the end.
    EXPECT_EQ(f.next_offset, 4);
    const FetchedLog mid = Fetch(v, p, 3);
    ASSERT_EQ(mid.records.size(), 1u);
    EXPECT_EQ(mid.records[0].offset, 3);
    EXPECT_TRUE(Fetch(v, p, 4).records.empty());
    EXPECT_EQ(Fetch(v, p, 5).error, error::kOffsetOutOfRange);
  }
  // Another partition of the topic has nothing.
  const int32_t other = (p + 1) % kLogPartitions;
  EXPECT_EQ(ListOffsets(1, other, -1).second, 0);
  EXPECT_TRUE(Fetch(MaxVersion(kFetch), other, 0).records.empty());
  EXPECT_EQ(Fetch(4, kLogPartitions, 0).error, error::kUnknownTopicOrPartition);
}

TEST_F(KafkaConsumerOffsetsTest, DeletingAGroupLeavesTombstones) {
  const int32_t p = storage::OffsetLogPartitionFor(kGroup, kLogPartitions);
  ASSERT_EQ(Commit(kGroup, 0, 5, ""), 0);
  ASSERT_EQ(Commit(kGroup, 1, 6, ""), 0);
  Body b(kDeleteGroups, 1);
  b.w.ArrayCount(1);
  b.w.String(kGroup);
  const std::string body = Call(kDeleteGroups, 1, b);
  Reader r(body);
  r.Int32();
  ASSERT_EQ(r.ArrayCount(), 1);
  r.String();
  ASSERT_EQ(r.Int16(), 0);
  const FetchedLog f = Fetch(MaxVersion(kFetch), p, 0);
  EXPECT_EQ(f.high_watermark, 4);
  ASSERT_EQ(f.records.size(), 2u);
  EXPECT_EQ(f.records[0].offset, 2);
  EXPECT_EQ(f.records[1].offset, 3);
  for (const auto& o : f.records) {
    EXPECT_TRUE(o.tombstone);
    EXPECT_EQ(o.group, kGroup);
  }
  // After a restart the tombstones are gone, but their offsets are not given again.
  ASSERT_TRUE(ferryd_.Restart());
  Connect();
  EXPECT_EQ(ListOffsets(1, p, -1).second, 4);
  const FetchedLog gone = Fetch(MaxVersion(kFetch), p, 0);
  EXPECT_TRUE(gone.records.empty());
  // An empty batch spanning the gap, so a consumer's position reaches the end (4).
  EXPECT_EQ(gone.magic, 2);
  EXPECT_EQ(gone.next_offset, 4);
  ASSERT_EQ(Commit(kGroup, 0, 1, ""), 0);
  const FetchedLog again = Fetch(MaxVersion(kFetch), p, 0);
  ASSERT_EQ(again.records.size(), 1u);
  EXPECT_EQ(again.records[0].offset, 4);
}

TEST_F(KafkaConsumerOffsetsTest, OffsetsNeverGoBackAfterKill9) {
  const int32_t p = storage::OffsetLogPartitionFor(kGroup, kLogPartitions);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Commit(kGroup, i % 3, i + 1, ""), 0);
  EXPECT_EQ(ListOffsets(1, p, -1).second, 5);
  ferryd_.Kill9();
  ASSERT_TRUE(ferryd_.Restart());
  Connect();
  EXPECT_EQ(ListOffsets(1, p, -1).second, 5);
  const FetchedLog f = Fetch(MaxVersion(kFetch), p, 0);
  ASSERT_EQ(f.records.size(), 3u);
  EXPECT_EQ(f.records[0].offset, 2);
  EXPECT_EQ(f.records[2].offset, 4);
  EXPECT_EQ(f.records[2].committed, 5);
  ASSERT_EQ(Commit(kGroup, 0, 10, ""), 0);
  EXPECT_EQ(ListOffsets(1, p, -1).second, 6);
}

TEST_F(KafkaConsumerOffsetsTest, ALongPollIsWokenByACommit) {
  const int32_t p = storage::OffsetLogPartitionFor(kGroup, kLogPartitions);
  KafkaConn poller;
  ASSERT_TRUE(poller.Connect(ferryd_.kafka_port()));
  FetchedLog got;
  absl::Time answered;
  const absl::Time started = absl::Now();
  std::thread fetch([&] {
    got = Fetch(MaxVersion(kFetch), p, 0, &poller, /*max_wait_ms=*/30000, /*min_bytes=*/1);
    answered = absl::Now();
  });
  // The commit may come before or after the poll starts waiting: either way it is answered
  // with the commit, long before the 30 s wait is over.
  ASSERT_EQ(Commit(kGroup, 0, 4, ""), 0);
  fetch.join();
  ASSERT_EQ(got.records.size(), 1u);
  EXPECT_EQ(got.records[0].committed, 4);
  EXPECT_LT(answered - started, absl::Seconds(15));
}

TEST_F(KafkaConsumerOffsetsTest, WritesAndChangesAreRefused) {
  std::vector<FetchedRecord> records(1);
  records[0].fields.value = "forged";
  std::string batch;
  EncodeRecordBatch(records, &batch);
  auto got = conn_.Call(kProduce, 3, ktest::ProduceBody(3, kOffsetsTopic, 0, batch));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(ktest::ParseProduce(3, *got).error, error::kInvalidTopic);
  // CreateTopics v0: it exists.
  {
    Body b(kCreateTopics, 0);
    b.w.ArrayCount(1);
    b.w.String(kOffsetsTopic);
    b.w.Int32(1);
    b.w.Int16(1);
    b.w.ArrayCount(0);
    b.w.ArrayCount(0);
    b.w.Int32(1000);
    const std::string body = Call(kCreateTopics, 0, b);
    Reader r(body);
    ASSERT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.String(), kOffsetsTopic);
    EXPECT_EQ(r.Int16(), error::kTopicAlreadyExists);
  }
  // DeleteTopics v0.
  {
    Body b(kDeleteTopics, 0);
    b.w.ArrayCount(1);
    b.w.String(kOffsetsTopic);
    b.w.Int32(1000);
    const std::string body = Call(kDeleteTopics, 0, b);
    Reader r(body);
    ASSERT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.String(), kOffsetsTopic);
    EXPECT_EQ(r.Int16(), error::kInvalidTopic);
  }
  // Still there, and still served.
  EXPECT_EQ(Metadata(std::vector<std::string>{kOffsetsTopic}).at(0).partitions, kLogPartitions);
}

TEST_F(KafkaConsumerOffsetsTest, GrpcCommitsShowAndTheNameIsReservedOverGrpc) {
  {
    v1::CommitOffsetRequest req;
    req.set_group("grpc-group");
    req.set_generation(-1);
    v1::OffsetCommit* c = req.add_offsets();
    c->set_topic(kTopic);
    c->set_partition(2);
    c->set_offset(11);
    c->set_metadata("from-grpc");
    v1::CommitOffsetResponse resp;
    grpc::ClientContext ctx;
    integration::SetDeadline(&ctx);
    ASSERT_TRUE(integration::IsOk(ferryd_.broker()->CommitOffset(&ctx, req, &resp)));
  }
  const int32_t p = storage::OffsetLogPartitionFor("grpc-group", kLogPartitions);
  const FetchedLog f = Fetch(MaxVersion(kFetch), p, 0);
  ASSERT_EQ(f.records.size(), 1u);
  EXPECT_EQ(f.records[0].group, "grpc-group");
  EXPECT_EQ(f.records[0].partition, 2);
  EXPECT_EQ(f.records[0].committed, 11);
  EXPECT_EQ(f.records[0].metadata, "from-grpc");

  v1::CreateTopicRequest create;
  create.set_topic(kOffsetsTopic);
  create.set_partitions(1);
  v1::CreateTopicResponse created;
  grpc::ClientContext ctx;
  integration::SetDeadline(&ctx);
  const grpc::Status s = ferryd_.admin()->CreateTopic(&ctx, create, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("reserved"), std::string::npos) << s.error_message();
}

}  // namespace
}  // namespace ferry::kafka
