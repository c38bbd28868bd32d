// The wire-format publish and read paths must agree with protobuf's own encoding and parsing:
// stored bytes parse back to the records sent, with broker time and offsets filled in.
#include "server/broker/record_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/v1/ferry.pb.h"

namespace ferry::broker {
namespace {

v1::Record MakeRecord(std::string key, std::string value, int64_t ts) {
  v1::Record r;
  r.set_key(std::move(key));
  r.set_value(std::move(value));
  r.set_timestamp_ms(ts);
  v1::Header* h = r.add_headers();
  h->set_key("trace");
  h->set_value(std::string("\x00\xff", 2));
  return r;
}

// What the broker counts against a record's size: key, value, and header keys and values.
size_t UserBytes(const v1::Record& r) {
  size_t n = r.key().size() + r.value().size();
  for (const v1::Header& h : r.headers()) n += h.key().size() + h.value().size();
  return n;
}

// Stores `r` through the view path and parses what a reader would get back.
v1::Record StoreAndRead(const v1::Record& r, int64_t now_ms, int64_t offset) {
  const std::string encoded = r.SerializeAsString();
  RecordView view;
  EXPECT_TRUE(ParseRecordView(encoded, &view).ok());
  std::string payload;
  AppendRecordView(view, now_ms, &payload);
  RecordReader reader(payload);
  std::string_view stored;
  EXPECT_TRUE(reader.Next(&stored));
  std::string message;
  AppendRecordWithOffset(stored, offset, &message);
  v1::SubscribeResponse response;
  EXPECT_TRUE(response.ParseFromString(message));
  EXPECT_EQ(response.records_size(), 1);
  return response.records(0);
}

TEST(RecordCodecTest, ViewMeasuresKeyTimestampAndUserBytes) {
  const v1::Record r = MakeRecord("k1", "value", 42);
  const std::string encoded = r.SerializeAsString();
  RecordView view;
  ASSERT_TRUE(ParseRecordView(encoded, &view).ok());
  EXPECT_EQ(view.key, "k1");
  EXPECT_EQ(view.timestamp_ms, 42);
  EXPECT_FALSE(view.has_offset);
  EXPECT_EQ(view.user_bytes, UserBytes(r));
}

TEST(RecordCodecTest, StoredBytesReadBackWithOffsetAndOriginalTimestamp) {
  const v1::Record r = MakeRecord("k", "v", 1234);
  const v1::Record back = StoreAndRead(r, 999, 77);
  EXPECT_EQ(back.key(), "k");
  EXPECT_EQ(back.value(), "v");
  EXPECT_EQ(back.timestamp_ms(), 1234);
  EXPECT_EQ(back.offset(), 77);
  ASSERT_EQ(back.headers_size(), 1);
  EXPECT_EQ(back.headers(0).value(), std::string("\x00\xff", 2));
}

TEST(RecordCodecTest, MissingTimestampGetsBrokerTime) {
  const v1::Record back = StoreAndRead(MakeRecord("", "v", 0), 5555, 0);
  EXPECT_EQ(back.timestamp_ms(), 5555);
  EXPECT_EQ(back.offset(), 0);
}

TEST(RecordCodecTest, ClientOffsetIsDroppedOnStore) {
  v1::Record r = MakeRecord("k", "v", 10);
  r.set_offset(123456);
  const v1::Record back = StoreAndRead(r, 1, 9);
  EXPECT_EQ(back.offset(), 9);
  EXPECT_EQ(back.key(), "k");
  EXPECT_EQ(back.headers_size(), 1);
}

TEST(RecordCodecTest, PublishRequestWalk) {
  v1::PublishRequest req;
  req.set_topic("orders");
  req.set_partition(2);
  req.set_sequence(99);
  *req.add_records() = MakeRecord("a", "1", 0);
  *req.add_records() = MakeRecord("b", "22", 0);
  const std::string encoded = req.SerializeAsString();
  PublishBatch view;
  uint64_t sequence = 0;
  ASSERT_TRUE(ParsePublishRequest(encoded, &view, &sequence).ok());
  EXPECT_EQ(view.topic, "orders");
  ASSERT_TRUE(view.partition.has_value());
  EXPECT_EQ(*view.partition, 2);
  EXPECT_EQ(sequence, 99u);
  ASSERT_EQ(view.records.size(), 2u);
  EXPECT_EQ(view.records[1].key, "b");

  v1::PublishRequest unset;
  unset.set_topic("t");
  PublishBatch unset_view;
  ASSERT_TRUE(ParsePublishRequest(unset.SerializeAsString(), &unset_view, &sequence).ok());
  EXPECT_FALSE(unset_view.partition.has_value());

  v1::PublishRequest negative;
  negative.set_topic("t");
  negative.set_partition(-3);
  PublishBatch negative_view;
  ASSERT_TRUE(ParsePublishRequest(negative.SerializeAsString(), &negative_view, &sequence).ok());
  EXPECT_EQ(*negative_view.partition, -3);
}

TEST(RecordCodecTest, MalformedInputIsRejectedAtEveryTruncation) {
  v1::PublishRequest req;
  req.set_topic("t");
  *req.add_records() = MakeRecord("key", "value", 5);
  const std::string encoded = req.SerializeAsString();
  for (size_t n = 1; n < encoded.size(); ++n) {
    PublishBatch view;
    uint64_t sequence = 0;
    v1::PublishRequest reference;
    const bool protobuf_ok = reference.ParseFromString(encoded.substr(0, n));
    const bool ours_ok = ParsePublishRequest(encoded.substr(0, n), &view, &sequence).ok();
    // Never accept what protobuf rejects.
    if (!protobuf_ok) {
      EXPECT_FALSE(ours_ok) << "prefix of " << n << " bytes";
    }
  }
}

TEST(RecordCodecTest, HeaderKeyMustBeUtf8) {
  // Header key "\xff" is not UTF-8; protobuf's own parser would refuse the message too.
  std::string header = std::string("\x0a\x01\xff", 3);
  std::string record = "\x1a" + std::string(1, static_cast<char>(header.size())) + header;
  RecordView view;
  EXPECT_FALSE(ParseRecordView(record, &view).ok());
}

TEST(RecordCodecTest, EncodeRecordIsProtobufsRecordAndDecodesBack) {
  const std::string key = "k1", value = "hello", h1 = "trace", h2 = std::string("\x00\xff", 2);
  RecordFields fields;
  fields.key = key;
  fields.value = value;
  fields.headers = {{h1, h2}, {"empty", ""}, {"", "no key"}};
  fields.timestamp_ms = 1700000000000;
  std::string encoded = "prefix";
  EncodeRecord(fields, &encoded);
  ASSERT_EQ(encoded.substr(0, 6), "prefix");  // appended
  encoded.erase(0, 6);

  // Protobuf reads the same record.
  v1::Record parsed;
  ASSERT_TRUE(parsed.ParseFromString(encoded));
  EXPECT_EQ(parsed.key(), key);
  EXPECT_EQ(parsed.value(), value);
  EXPECT_EQ(parsed.timestamp_ms(), 1700000000000);
  EXPECT_EQ(parsed.offset(), 0);
  ASSERT_EQ(parsed.headers_size(), 3);
  EXPECT_EQ(parsed.headers(0).key(), h1);
  EXPECT_EQ(parsed.headers(0).value(), h2);
  EXPECT_EQ(parsed.headers(1).key(), "empty");
  EXPECT_EQ(parsed.headers(1).value(), "");
  EXPECT_EQ(parsed.headers(2).key(), "");
  EXPECT_EQ(parsed.headers(2).value(), "no key");
  // And the bytes are protobuf's own encoding of it.
  EXPECT_EQ(encoded, parsed.SerializeAsString());

  // DecodeRecord reads them back, as views into `encoded`.
  RecordFields back;
  ASSERT_TRUE(DecodeRecord(encoded, &back).ok());
  EXPECT_EQ(back.key, key);
  EXPECT_EQ(back.value, value);
  EXPECT_EQ(back.timestamp_ms, 1700000000000);
  ASSERT_EQ(back.headers.size(), 3u);
  EXPECT_EQ(back.headers[0].first, h1);
  EXPECT_EQ(back.headers[0].second, h2);
  EXPECT_EQ(back.headers[1].first, "empty");
  EXPECT_EQ(back.headers[1].second, "");
  EXPECT_EQ(back.headers[2].first, "");
  EXPECT_EQ(back.headers[2].second, "no key");
  EXPECT_GE(back.key.data(), encoded.data());
  EXPECT_LE(back.key.data() + back.key.size(), encoded.data() + encoded.size());

  // An empty key and value and no timestamp are absent, as protobuf leaves them.
  std::string empty;
  EncodeRecord(RecordFields(), &empty);
  EXPECT_EQ(empty, "");
  ASSERT_TRUE(DecodeRecord(empty, &back).ok());
  EXPECT_TRUE(back.key.empty());
  EXPECT_TRUE(back.value.empty());
  EXPECT_TRUE(back.headers.empty());
  EXPECT_EQ(back.timestamp_ms, 0);

  // And a record stored through the publish path reads back through DecodeRecord.
  RecordView view;
  ASSERT_TRUE(ParseRecordView(encoded, &view).ok());
  std::string payload;
  AppendRecordView(view, 999, &payload);
  RecordReader reader(payload);
  std::string_view stored;
  ASSERT_TRUE(reader.Next(&stored));
  ASSERT_TRUE(DecodeRecord(stored, &back).ok());
  EXPECT_EQ(back.key, key);
  EXPECT_EQ(back.timestamp_ms, 1700000000000);
  ASSERT_EQ(back.headers.size(), 3u);
  EXPECT_FALSE(reader.Next(&stored));
  EXPECT_TRUE(reader.status().ok());
}

TEST(RecordCodecTest, DecodeRecordRefusesMalformedBytes) {
  const v1::Record r = MakeRecord("key", "value", 5);
  const std::string encoded = r.SerializeAsString();
  RecordFields out;
  // A record cut inside a field.
  EXPECT_EQ(DecodeRecord(encoded.substr(0, 3), &out).code(), absl::StatusCode::kDataLoss);
  // A length past the end.
  EXPECT_EQ(DecodeRecord(std::string("\x0a\x7f", 2), &out).code(), absl::StatusCode::kDataLoss);
}

TEST(RecordCodecTest, EncodeBatchPointsAtEachRecordWithItsUserBytes) {
  const std::vector<std::string> keys = {"a", "", "ccc"};
  const std::vector<std::string> values = {"1", "22", std::string(1000, 'x')};
  std::vector<RecordFields> records(3);
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].key = keys[i];
    records[i].value = values[i];
    records[i].timestamp_ms = i == 1 ? 0 : static_cast<int64_t>(100 + i);
  }
  records[2].headers = {{"h", "vv"}, {"trace", std::string_view("\x00\xff", 2)}};

  std::string storage;
  PublishBatch batch;
  ASSERT_TRUE(EncodeBatch(records, &storage, &batch).ok());
  ASSERT_EQ(batch.records.size(), 3u);
  size_t at = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordView& view = batch.records[i];
    // The views follow one another through `storage`, each the record's own encoding.
    EXPECT_EQ(view.encoded.data(), storage.data() + at) << i;
    std::string alone;
    EncodeRecord(records[i], &alone);
    EXPECT_EQ(view.encoded, alone) << i;
    at += view.encoded.size();

    v1::Record parsed;
    ASSERT_TRUE(parsed.ParseFromArray(view.encoded.data(), static_cast<int>(view.encoded.size())));
    EXPECT_EQ(parsed.key(), keys[i]);
    EXPECT_EQ(parsed.value(), values[i]);
    EXPECT_EQ(view.key, keys[i]);
    EXPECT_EQ(view.timestamp_ms, records[i].timestamp_ms);
    EXPECT_FALSE(view.has_offset);
    EXPECT_EQ(view.user_bytes, UserBytes(parsed)) << i;
  }
  EXPECT_EQ(at, storage.size());
  EXPECT_EQ(batch.records[0].user_bytes, 2u);
  EXPECT_EQ(batch.records[1].user_bytes, 2u);
  EXPECT_EQ(batch.records[2].user_bytes, 3u + 1000 + 1 + 2 + 5 + 2);

  // A header key that is not UTF-8 is refused, as the gRPC door refuses it.
  std::vector<RecordFields> bad(1);
  bad[0].headers = {{"\xff", "v"}};
  std::string bad_storage;
  PublishBatch bad_batch;
  EXPECT_EQ(EncodeBatch(bad, &bad_storage, &bad_batch).code(), absl::StatusCode::kInvalidArgument);
}

// Null (absent) and empty (zero-length) keys and values stay apart, through both encoders and
// both parsers, and match protobuf's explicit presence (`optional bytes`).
TEST(RecordCodecTest, NullAndEmptyKeyAndValueRoundTrip) {
  struct Case {
    bool has_key, has_value;
  };
  for (const Case c :
       {Case{false, false}, Case{false, true}, Case{true, false}, Case{true, true}}) {
    SCOPED_TRACE(testing::Message() << "has_key=" << c.has_key << " has_value=" << c.has_value);
    RecordFields in;
    in.has_key = c.has_key;
    in.has_value = c.has_value;
    in.timestamp_ms = 7;
    std::string encoded;
    EncodeRecord(in, &encoded);

    RecordFields back;
    ASSERT_TRUE(DecodeRecord(encoded, &back).ok());
    EXPECT_EQ(back.has_key, c.has_key);
    EXPECT_EQ(back.has_value, c.has_value);
    EXPECT_EQ(back.key_present(), c.has_key);
    EXPECT_EQ(back.value_present(), c.has_value);
    EXPECT_TRUE(back.key.empty());
    EXPECT_TRUE(back.value.empty());

    RecordView view;
    ASSERT_TRUE(ParseRecordView(encoded, &view).ok());
    EXPECT_EQ(view.has_key, c.has_key);
    EXPECT_EQ(view.has_value, c.has_value);
    EXPECT_EQ(view.user_bytes, 0u);

    // protobuf agrees, and its own encoding of the same presence is byte-identical.
    v1::Record parsed;
    ASSERT_TRUE(parsed.ParseFromString(encoded));
    EXPECT_EQ(parsed.has_key(), c.has_key);
    EXPECT_EQ(parsed.has_value(), c.has_value);
    v1::Record proto;
    if (c.has_key) proto.set_key("");
    if (c.has_value) proto.set_value("");
    proto.set_timestamp_ms(7);
    EXPECT_EQ(proto.SerializeAsString(), encoded);

    // The gRPC publish path stores the bytes as they came; with an offset to strip and no
    // timestamp (both re-encode the record), presence survives too.
    for (const bool with_offset : {false, true}) {
      v1::Record sent = proto;
      sent.set_timestamp_ms(0);
      if (with_offset) sent.set_offset(12);
      const std::string sent_bytes = sent.SerializeAsString();
      RecordView sent_view;
      ASSERT_TRUE(ParseRecordView(sent_bytes, &sent_view).ok());
      std::string payload;
      AppendRecordView(sent_view, 999, &payload);
      RecordReader reader(payload);
      std::string_view stored;
      ASSERT_TRUE(reader.Next(&stored));
      ASSERT_TRUE(DecodeRecord(stored, &back).ok());
      EXPECT_EQ(back.has_key, c.has_key) << with_offset;
      EXPECT_EQ(back.has_value, c.has_value) << with_offset;
      EXPECT_EQ(back.timestamp_ms, 999);
      const v1::Record read = StoreAndRead(sent, 999, 3);
      EXPECT_EQ(read.has_key(), c.has_key) << with_offset;
      EXPECT_EQ(read.has_value(), c.has_value) << with_offset;
      EXPECT_EQ(read.offset(), 3);
    }
  }
}

TEST(RecordCodecTest, NonEmptyKeyAndValueArePresentWithoutTheFlags) {
  RecordFields in;
  in.key = "k";
  in.value = "v";
  std::string encoded;
  EncodeRecord(in, &encoded);
  RecordFields back;
  ASSERT_TRUE(DecodeRecord(encoded, &back).ok());
  EXPECT_TRUE(back.has_key);
  EXPECT_TRUE(back.has_value);
  EXPECT_EQ(back.key, "k");
  EXPECT_EQ(back.value, "v");
}

// Records stored before presence was kept: an empty key or value was left out (by the Kafka
// door and by proto3 stubs without `optional`), so they read back as null; a non-empty one as
// itself.
TEST(RecordCodecTest, OldEncodingsReadAsTheyImply) {
  // Timestamp only: what an empty key and value used to be stored as.
  const std::string old_empty("\x20\x07", 2);
  RecordFields back;
  ASSERT_TRUE(DecodeRecord(old_empty, &back).ok());
  EXPECT_FALSE(back.has_key);
  EXPECT_FALSE(back.has_value);
  EXPECT_EQ(back.timestamp_ms, 7);
  // key "k", value "v", timestamp 7.
  const std::string old_full("\x0a\x01k\x12\x01v\x20\x07", 8);
  ASSERT_TRUE(DecodeRecord(old_full, &back).ok());
  EXPECT_TRUE(back.has_key);
  EXPECT_TRUE(back.has_value);
  EXPECT_EQ(back.key, "k");
  EXPECT_EQ(back.value, "v");
  RecordView view;
  ASSERT_TRUE(ParseRecordView(old_empty, &view).ok());
  EXPECT_FALSE(view.has_key);
  EXPECT_FALSE(view.has_value);
}

}  // namespace
}  // namespace ferry::broker
