// Kafka compression: each codec round-trips, xerial snappy decodes, corrupt and truncated
// input fail with DATA_LOSS, a decompression bomb stops at the cap, and compressed batches
// (v2 and legacy wrapper messages) decode to the same records as uncompressed ones.
#include "server/kafka/compression.h"

#include <array>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "compressed_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/broker/types.h"
#include "server/kafka/producer_id.h"
#include "server/kafka/records.h"

namespace ferry::kafka {
namespace {

using ::testing::HasSubstr;

constexpr Codec kCodecs[] = {Codec::kGzip, Codec::kSnappy, Codec::kLz4, Codec::kZstd};

std::string Text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "record " + std::to_string(i * 7919 % 1000) + " ";
  s.resize(n);
  return s;
}

TEST(CompressionTest, EachCodecRoundTrips) {
  for (Codec codec : kCodecs) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{300000}}) {
      const std::string plain = Text(n);
      std::string compressed;
      ASSERT_TRUE(Compress(codec, plain, &compressed).ok());
      std::string back = "prefix";
      ASSERT_TRUE(Decompress(codec, compressed, 1 << 20, &back).ok())
          << CodecName(static_cast<int>(codec)) << " " << n;
      EXPECT_EQ(back, "prefix" + plain) << CodecName(static_cast<int>(codec));
    }
  }
}

TEST(CompressionTest, XerialSnappyDecodes) {
  const std::string plain = Text(5000);
  std::string framed;
  ASSERT_TRUE(Compress(Codec::kSnappy, plain, &framed, /*xerial_snappy=*/true).ok());
  ASSERT_EQ(framed.substr(0, 8), std::string("\x82SNAPPY\0", 8));
  // A second block, as Java's SnappyOutputStream writes every 32 KiB.
  std::string raw;
  ASSERT_TRUE(Compress(Codec::kSnappy, "tail", &raw).ok());
  const uint32_t n = static_cast<uint32_t>(raw.size());
  framed += std::string{0, 0, static_cast<char>(n >> 8), static_cast<char>(n)} + raw;
  std::string back;
  ASSERT_TRUE(Decompress(Codec::kSnappy, framed, 1 << 20, &back).ok());
  EXPECT_EQ(back, plain + "tail");

  std::string truncated = framed.substr(0, framed.size() - 2);
  back.clear();
  EXPECT_EQ(Decompress(Codec::kSnappy, truncated, 1 << 20, &back).code(),
            absl::StatusCode::kDataLoss);
}

TEST(CompressionTest, CorruptInputIsDataLoss) {
  for (Codec codec : kCodecs) {
    std::string back;
    const absl::Status s = Decompress(codec, "this is not compressed data at all", 1 << 20, &back);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << CodecName(static_cast<int>(codec));
    EXPECT_THAT(std::string(s.message()), HasSubstr("malformed"));

    // Flipped bytes in the middle of a real stream.
    std::string compressed;
    ASSERT_TRUE(Compress(codec, Text(2000), &compressed).ok());
    for (size_t i = compressed.size() / 3; i < compressed.size() / 3 + 8; ++i)
      compressed[i] ^= 0x5a;
    back.clear();
    const absl::Status flipped = Decompress(codec, compressed, 1 << 20, &back);
    // Snappy has no checksum: a flip may decode to other bytes; never to the original.
    if (flipped.ok()) {
      EXPECT_NE(back, Text(2000));
    } else {
      EXPECT_EQ(flipped.code(), absl::StatusCode::kDataLoss);
    }
  }
}

TEST(CompressionTest, TruncatedInputIsDataLoss) {
  for (Codec codec : kCodecs) {
    std::string compressed;
    ASSERT_TRUE(Compress(codec, Text(20000), &compressed).ok());
    for (size_t keep : {size_t{0}, size_t{3}, compressed.size() / 2, compressed.size() - 1}) {
      std::string back;
      EXPECT_EQ(Decompress(codec, compressed.substr(0, keep), 1 << 20, &back).code(),
                absl::StatusCode::kDataLoss)
          << CodecName(static_cast<int>(codec)) << " keeping " << keep;
    }
  }
}

TEST(CompressionTest, BombStopsAtTheCap) {
  // 64 MiB of zeros compresses to a few KiB; the cap is 1 MiB.
  const std::string zeros(64 << 20, '\0');
  for (Codec codec : kCodecs) {
    std::string compressed;
    ASSERT_TRUE(Compress(codec, zeros, &compressed).ok());
    ASSERT_LT(compressed.size(), size_t{4} << 20);
    std::string back;
    const absl::Status s = Decompress(codec, compressed, 1 << 20, &back);
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << CodecName(static_cast<int>(codec));
    EXPECT_LE(back.size(), (size_t{1} << 20) + (size_t{64} << 10));
  }
  // Exactly at the cap is fine.
  std::string compressed;
  ASSERT_TRUE(Compress(Codec::kZstd, std::string(1000, 'a'), &compressed).ok());
  std::string back;
  EXPECT_TRUE(Decompress(Codec::kZstd, compressed, 1000, &back).ok());
  back.clear();
  EXPECT_EQ(Decompress(Codec::kZstd, compressed, 999, &back).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(CompressionTest, NoneAndUnknownCodecsAreInvalid) {
  std::string out;
  EXPECT_EQ(Decompress(Codec::kNone, "x", 10, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decompress(static_cast<Codec>(6), "x", 10, &out).code(),
            absl::StatusCode::kInvalidArgument);
}

std::vector<std::string> Values(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(Text(100) + std::to_string(i));
  return v;
}

TEST(CompressedBatchTest, EachCodecDecodesToTheSameRecords) {
  const std::vector<std::string> values = Values(150);
  for (Codec codec : kCodecs) {
    for (bool xerial : {false, true}) {
      if (xerial && codec != Codec::kSnappy) continue;
      // Two batches in one Produce, the second uncompressed.
      const std::string data =
          ktest::ValuesBatch(values, codec, xerial) + ktest::ValuesBatch({"plain"}, Codec::kNone);
      DecompressedBuffers buffers;
      std::vector<broker::RecordFields> out;
      const absl::Status s = DecodeProduceRecords(data, ProduceDecodeOptions{}, &buffers, &out);
      ASSERT_TRUE(s.ok()) << CodecName(static_cast<int>(codec)) << ": " << s;
      ASSERT_EQ(out.size(), values.size() + 1);
      for (size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(out[i].key, "k" + std::to_string(i));
        EXPECT_EQ(out[i].value, values[i]);
        EXPECT_EQ(out[i].timestamp_ms, 1700000000000 + static_cast<int64_t>(i));
      }
      EXPECT_EQ(out.back().value, "plain");
    }
  }
}

// What ferry_kafka_produced_batches_total{codec} counts: each batch of a Produce by its codec.
TEST(CompressedBatchTest, PeekCountsBatchesByCodec) {
  const std::vector<std::string> values = Values(20);
  const BatchProducer v2 = PeekBatchProducer(
      ktest::ValuesBatch(values, Codec::kZstd) + ktest::ValuesBatch(values, Codec::kLz4) +
      ktest::ValuesBatch(values, Codec::kZstd) + ktest::ValuesBatch({"plain"}, Codec::kNone));
  EXPECT_EQ(v2.batches, 4);
  EXPECT_EQ(v2.by_codec, (std::array<int, 5>{1, 0, 0, 1, 2}));
  for (int8_t magic : {0, 1}) {
    const BatchProducer legacy =
        PeekBatchProducer(ktest::CompressedMessageSet(magic, values, Codec::kSnappy));
    EXPECT_EQ(legacy.by_codec, (std::array<int, 5>{0, 0, 1, 0, 0})) << "magic " << int{magic};
  }
  // Cut inside the second batch's header: the first is counted, the second is not.
  const std::string two =
      ktest::ValuesBatch(values, Codec::kGzip) + ktest::ValuesBatch(values, Codec::kGzip);
  const std::string cut = two.substr(0, two.size() / 2 + 14);
  EXPECT_EQ(PeekBatchProducer(cut).by_codec[1], 1);
}

// Null (-1) and empty (0) keys and values inside compressed batches and compressed message
// sets (magic 0 and 1) stay apart.
TEST(CompressedBatchTest, NullAndEmptyStayApartInsideCompressedData) {
  std::vector<FetchedRecord> records(4);
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].offset = static_cast<int64_t>(i);
    records[i].fields.has_key = (i & 1) != 0;
    records[i].fields.has_value = (i & 2) == 0;
    records[i].fields.timestamp_ms = 1700000000000;
  }
  std::string batch;
  EncodeRecordBatch(records, &batch);
  const std::vector<std::string> inputs = {
      ktest::CompressBatch(batch, Codec::kGzip, false),
      ktest::CompressedMessageSetOf(0, records, Codec::kSnappy),
      ktest::CompressedMessageSetOf(1, records, Codec::kGzip)};
  for (size_t n = 0; n < inputs.size(); ++n) {
    DecompressedBuffers buffers;
    std::vector<broker::RecordFields> out;
    ASSERT_TRUE(DecodeProduceRecords(inputs[n], ProduceDecodeOptions{}, &buffers, &out).ok()) << n;
    ASSERT_EQ(out.size(), records.size()) << n;
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i].has_key, records[i].fields.has_key) << n << " " << i;
      EXPECT_EQ(out[i].has_value, records[i].fields.has_value) << n << " " << i;
    }
  }
}

TEST(CompressedBatchTest, ZstdIsRefusedWhenNotAllowed) {
  ProduceDecodeOptions options;
  options.allow_zstd = false;
  DecompressedBuffers buffers;
  std::vector<broker::RecordFields> out;
  const absl::Status s =
      DecodeProduceRecords(ktest::ValuesBatch(Values(3), Codec::kZstd), options, &buffers, &out);
  EXPECT_TRUE(IsCompressionRefused(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("Produce v7"));
  EXPECT_TRUE(out.empty());
  // The others stay allowed.
  EXPECT_TRUE(
      DecodeProduceRecords(ktest::ValuesBatch(Values(3), Codec::kLz4), options, &buffers, &out)
          .ok());
}

TEST(CompressedBatchTest, UnknownCodecIsRefused) {
  std::string data = ktest::ValuesBatch(Values(3), Codec::kGzip);
  data[ktest::kBatchAttributesAt + 1] = 6;
  ktest::PutInt32(&data, ktest::kBatchCrcAt,
                  Crc32c(std::string_view(data).substr(ktest::kBatchCrcAt + 4)));
  DecompressedBuffers buffers;
  std::vector<broker::RecordFields> out;
  const absl::Status s = DecodeProduceRecords(data, ProduceDecodeOptions{}, &buffers, &out);
  EXPECT_TRUE(IsCompressionRefused(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("unknown codec 6"));
}

TEST(CompressedBatchTest, CorruptCompressedRecordsAreDataLoss) {
  std::string data = ktest::ValuesBatch(Values(20), Codec::kLz4);
  // Corrupt the compressed bytes, then fix the CRC so only the codec can notice.
  for (size_t i = ktest::kBatchRecordsAt + 20; i < ktest::kBatchRecordsAt + 40; ++i)
    data[i] ^= 0x33;
  ktest::PutInt32(&data, ktest::kBatchCrcAt,
                  Crc32c(std::string_view(data).substr(ktest::kBatchCrcAt + 4)));
  DecompressedBuffers buffers;
  std::vector<broker::RecordFields> out;
  const absl::Status s = DecodeProduceRecords(data, ProduceDecodeOptions{}, &buffers, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_FALSE(IsCompressionRefused(s));
  EXPECT_TRUE(out.empty());
}

TEST(CompressedBatchTest, RecordCountMustMatchTheDecompressedRecords) {
  std::string data = ktest::ValuesBatch(Values(20), Codec::kGzip);
  ktest::PutInt32(&data, 57, 21);  // the record count
  ktest::PutInt32(&data, ktest::kBatchCrcAt,
                  Crc32c(std::string_view(data).substr(ktest::kBatchCrcAt + 4)));
  DecompressedBuffers buffers;
  std::vector<broker::RecordFields> out;
  EXPECT_EQ(DecodeProduceRecords(data, ProduceDecodeOptions{}, &buffers, &out).code(),
            absl::StatusCode::kDataLoss);
}

TEST(CompressedBatchTest, CapCoversAllBatchesOfOneCall) {
  const std::vector<std::string> values = Values(100);  // ~11 KB uncompressed each
  const std::string one = ktest::ValuesBatch(values, Codec::kZstd);
  ProduceDecodeOptions options;
  options.max_decompressed_bytes = 15000;
  DecompressedBuffers buffers;
  std::vector<broker::RecordFields> out;
  EXPECT_TRUE(DecodeProduceRecords(one, options, &buffers, &out).ok());
  out.clear();
  buffers.clear();
  const absl::Status s = DecodeProduceRecords(one + one, options, &buffers, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_TRUE(out.empty());
}

TEST(CompressedMessageSetTest, WrapperMessagesDecodeTheirInnerMessages) {
  const std::vector<std::string> values = {"a", "bb", Text(500)};
  for (int8_t magic : {0, 1}) {
    for (Codec codec : {Codec::kGzip, Codec::kSnappy}) {
      DecompressedBuffers buffers;
      std::vector<broker::RecordFields> out;
      const absl::Status s = DecodeProduceRecords(ktest::CompressedMessageSet(magic, values, codec),
                                                  ProduceDecodeOptions{}, &buffers, &out);
      ASSERT_TRUE(s.ok()) << s;
      ASSERT_EQ(out.size(), values.size());
      for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(out[i].value, values[i]);
    }
  }
}

TEST(CompressedMessageSetTest, NestedCompressionIsCorrupt) {
  // A wrapper whose inner message set is itself a compressed wrapper.
  const std::string inner_wrapper = ktest::CompressedMessageSet(1, {"x"}, Codec::kGzip);
  std::string compressed;
  ASSERT_TRUE(Compress(Codec::kGzip, inner_wrapper, &compressed).ok());
  FetchedRecord wrapper;
  wrapper.fields.value = compressed;
  std::string data;
  EncodeMessageSet(1, {wrapper}, &data);
  data[17] = 1;
  ktest::PutInt32(&data, 12, Crc32(std::string_view(data).substr(16)));
  DecompressedBuffers buffers;
  std::vector<broker::RecordFields> out;
  const absl::Status s = DecodeProduceRecords(data, ProduceDecodeOptions{}, &buffers, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("inside a compressed message"));
}

}  // namespace
}  // namespace ferry::kafka
