// The wire-format publish and read paths must agree with protobuf's own encoding and parsing:
// stored bytes parse back to the records sent, with broker time and offsets filled in.
#include "server/broker/record_codec.h"

#include <gtest/gtest.h>

#include <string>

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
  EXPECT_EQ(view.user_bytes, RecordUserBytes(r));
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
  PublishRequestView view;
  ASSERT_TRUE(ParsePublishRequest(encoded, &view).ok());
  EXPECT_EQ(view.topic, "orders");
  ASSERT_TRUE(view.partition.has_value());
  EXPECT_EQ(*view.partition, 2);
  EXPECT_EQ(view.sequence, 99u);
  ASSERT_EQ(view.records.size(), 2u);
  EXPECT_EQ(view.records[1].key, "b");

  v1::PublishRequest unset;
  unset.set_topic("t");
  PublishRequestView unset_view;
  ASSERT_TRUE(ParsePublishRequest(unset.SerializeAsString(), &unset_view).ok());
  EXPECT_FALSE(unset_view.partition.has_value());

  v1::PublishRequest negative;
  negative.set_topic("t");
  negative.set_partition(-3);
  PublishRequestView negative_view;
  ASSERT_TRUE(ParsePublishRequest(negative.SerializeAsString(), &negative_view).ok());
  EXPECT_EQ(*negative_view.partition, -3);
}

TEST(RecordCodecTest, MalformedInputIsRejectedAtEveryTruncation) {
  v1::PublishRequest req;
  req.set_topic("t");
  *req.add_records() = MakeRecord("key", "value", 5);
  const std::string encoded = req.SerializeAsString();
  for (size_t n = 1; n < encoded.size(); ++n) {
    PublishRequestView view;
    v1::PublishRequest reference;
    const bool protobuf_ok = reference.ParseFromString(encoded.substr(0, n));
    const bool ours_ok = ParsePublishRequest(encoded.substr(0, n), &view).ok();
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

}  // namespace
}  // namespace ferry::broker
