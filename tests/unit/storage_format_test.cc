// The on-disk format, byte for byte: stored batches, the meta column family's keys and values,
// and column family names. A change here breaks every existing data directory.
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "storage/catalog.h"
#include "storage/encoding.h"
#include "storage/partition_log.h"

namespace ferry::storage {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST(StorageFormatTest, BatchValueIsFormatCountMaxTimestampPayload) {
  const std::string value = EncodeBatchValue(0x01020304, 0x1112131415161718, "xy");
  EXPECT_EQ(value, Bytes({0x01, 0x04, 0x03, 0x02, 0x01, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12,
                          0x11, 'x', 'y'}));
  EXPECT_EQ(EncodeBatchHeader(0x01020304, 0x1112131415161718), value.substr(0, kBatchHeaderBytes));

  StoredBatch batch;
  ASSERT_TRUE(DecodeBatchValue(value, &batch).ok());
  EXPECT_EQ(batch.count, 0x01020304u);
  EXPECT_EQ(batch.max_timestamp_ms, 0x1112131415161718);
  EXPECT_EQ(batch.payload, "xy");
  BatchHeader header;
  ASSERT_TRUE(DecodeBatchHeader(value, &header).ok());
  EXPECT_EQ(header.count, 0x01020304u);
  EXPECT_EQ(header.max_timestamp_ms, 0x1112131415161718);
}

TEST(StorageFormatTest, BatchHeaderOfUnknownFormatOrShortIsDataLoss) {
  std::string value = EncodeBatchValue(1, 2, "p");
  BatchHeader header;
  EXPECT_TRUE(absl::IsDataLoss(DecodeBatchHeader(value.substr(0, kBatchHeaderBytes - 1), &header)));
  value[0] = 2;
  EXPECT_TRUE(absl::IsDataLoss(DecodeBatchHeader(value, &header)));
  StoredBatch batch;
  EXPECT_TRUE(absl::IsDataLoss(DecodeBatchValue(value, &batch)));
}

TEST(StorageFormatTest, OffsetKeyIsBigEndian) {
  EXPECT_EQ(OffsetKey(0x0102030405060708), Bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  int64_t offset = 0;
  ASSERT_TRUE(ParseOffsetKey(OffsetKey(42), &offset));
  EXPECT_EQ(offset, 42);
  EXPECT_FALSE(ParseOffsetKey("short", &offset));
}

TEST(StorageFormatTest, TopicMetaKeyAndValue) {
  EXPECT_EQ(TopicKey("orders"), "torders");
  TopicMeta meta;
  meta.name = "orders";
  meta.id = 7;
  meta.partitions = 3;
  meta.retention_ms = 1000;
  meta.retention_bytes = 0x100;
  meta.max_record_bytes = 0x10000;
  for (int i = 0; i < 16; ++i) meta.uuid[i] = static_cast<uint8_t>(0xa0 + i);
  const std::string value = EncodeTopicMeta(meta);
  EXPECT_EQ(value, Bytes({7,    0,    0,    0,    0,    0,    0,    0,     // id
                          3,    0,    0,    0,                             // partitions
                          0xe8, 0x03, 0,    0,    0,    0,    0,    0,     // retention ms
                          0x00, 0x01, 0,    0,    0,    0,    0,    0,     // retention bytes
                          0x00, 0x00, 0x01, 0x00,                          // max record bytes
                          0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,  // topic uuid
                          0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf}));
  TopicMeta decoded;
  ASSERT_TRUE(DecodeTopicMeta("orders", value, &decoded));
  EXPECT_EQ(decoded.name, "orders");
  EXPECT_EQ(decoded.id, 7u);
  EXPECT_EQ(decoded.partitions, 3);
  EXPECT_EQ(decoded.retention_ms, 1000);
  EXPECT_EQ(decoded.retention_bytes, 0x100);
  EXPECT_EQ(decoded.max_record_bytes, 0x10000);
  EXPECT_EQ(decoded.uuid, meta.uuid);
  EXPECT_FALSE(DecodeTopicMeta("orders", value.substr(1), &decoded));
}

// Data directories of a Ferry before topic UUIDs hold 32-byte values: they still decode, with
// no UUID (the catalog gives the topic one when it opens).
TEST(StorageFormatTest, TopicMetaWithoutUuidStillDecodes) {
  const std::string old_value = Bytes({7,    0,    0,    0,   0, 0, 0, 0,  // id
                                       3,    0,    0,    0,                // partitions
                                       0xe8, 0x03, 0,    0,   0, 0, 0, 0,  // retention ms
                                       0x00, 0x01, 0,    0,   0, 0, 0, 0,  // retention bytes
                                       0x00, 0x00, 0x01, 0x00});           // max record bytes
  TopicMeta decoded;
  decoded.uuid[0] = 1;
  ASSERT_TRUE(DecodeTopicMeta("orders", old_value, &decoded));
  EXPECT_EQ(decoded.id, 7u);
  EXPECT_EQ(decoded.partitions, 3);
  EXPECT_EQ(decoded.max_record_bytes, 0x10000);
  EXPECT_TRUE(IsZeroUuid(decoded.uuid));
  EXPECT_FALSE(DecodeTopicMeta("orders", old_value + "x", &decoded));
  const TopicUuid a = NewTopicUuid();
  EXPECT_FALSE(IsZeroUuid(a));
  EXPECT_NE(a, NewTopicUuid());
  EXPECT_EQ(a[6] >> 4, 4);  // version 4
}

TEST(StorageFormatTest, PartitionStatsKeyAndValue) {
  EXPECT_EQ(StatsKey(0x0102, 5), Bytes({'s', 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 5}));
  const std::string value = EncodePartitionStats({9, 4, 0x0201});
  EXPECT_EQ(value, Bytes({9,    0,    0, 0, 0, 0, 0, 0,     // next offset
                          4,    0,    0, 0, 0, 0, 0, 0,     // log start offset
                          0x01, 0x02, 0, 0, 0, 0, 0, 0}));  // bytes
  PartitionStats stats;
  ASSERT_TRUE(DecodePartitionStats(value, &stats));
  EXPECT_EQ(stats.next_offset, 9);
  EXPECT_EQ(stats.log_start_offset, 4);
  EXPECT_EQ(stats.size_bytes, 0x0201);
  EXPECT_FALSE(DecodePartitionStats(value.substr(1), &stats));
  EXPECT_EQ(std::string(kNextTopicIdKey), "n");
}

TEST(StorageFormatTest, PartitionColumnFamilyNames) {
  EXPECT_EQ(PartitionCfName(12, 3), "p.12.3");
  uint64_t id = 0;
  int32_t partition = 0;
  ASSERT_TRUE(ParsePartitionCfName("p.12.3", &id, &partition));
  EXPECT_EQ(id, 12u);
  EXPECT_EQ(partition, 3);
  EXPECT_FALSE(ParsePartitionCfName("meta", &id, &partition));
  EXPECT_FALSE(ParsePartitionCfName("p.12", &id, &partition));
  EXPECT_FALSE(ParsePartitionCfName("p.x.3", &id, &partition));
}

}  // namespace
}  // namespace ferry::storage
