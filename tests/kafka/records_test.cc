// Kafka record formats: byte-exact against kafka-python's builders, round trips, and every way
// a hostile or broken producer can get the bytes wrong (truncation, CRCs, forged counts and
// lengths, compression, transactions).
#include "server/kafka/records.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/broker/types.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

using ::testing::HasSubstr;

// Reference bytes built with Debian's python3-kafka (kafka.record.default_records /
// legacy_records builders), so the decoder and encoder are checked against a real client.
//
// DefaultRecordBatchBuilder(magic=2, compression_type=0, producer_id=-1, ...):
//   append(0, timestamp=1700000000000, key=b"k1", value=b"hello",
//          headers=[("h1", b"v1"), ("h2", None)])
//   append(1, timestamp=1700000000005, key=None, value=b"", headers=[])
//   append(2, timestamp=1700000000003, key=b"", value=None, headers=[])
constexpr char kPythonBatchWithNulls[] =
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x57\x00\x00\x00\x00\x02\x9d\x4c\x36\x66\x00"
    "\x00\x00\x00\x00\x02\x00\x00\x01\x8b\xcf\xe5\x68\x00\x00\x00\x01\x8b\xcf\xe5\x68\x05\xff"
    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x03\x2e\x00\x00\x00\x04"
    "\x6b\x31\x0a\x68\x65\x6c\x6c\x6f\x04\x04\x68\x31\x04\x76\x31\x04\x68\x32\x01\x0c\x00\x0a"
    "\x02\x01\x00\x00\x0c\x00\x06\x04\x00\x01\x00";

// As above but in the shape Ferry encodes (empty key sent as null, no null values):
//   append(0, 1700000000000, b"k1", b"hello", [("h1", b"v1"), ("h2", b"")])
//   append(1, 1700000000005, None, b"", [])
//   append(2, 1700000000003, b"kk", b"v", [("\u00fc-\u043a", b"\x00\xff")])
constexpr char kPythonBatch[] =
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x63\x00\x00\x00\x00\x02\x6a\xa9\xd1\xd4\x00"
    "\x00\x00\x00\x00\x02\x00\x00\x01\x8b\xcf\xe5\x68\x00\x00\x00\x01\x8b\xcf\xe5\x68\x05\xff"
    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x03\x2e\x00\x00\x00\x04"
    "\x6b\x31\x0a\x68\x65\x6c\x6c\x6f\x04\x04\x68\x31\x04\x76\x31\x04\x68\x32\x00\x0c\x00\x0a"
    "\x02\x01\x00\x00\x24\x00\x06\x04\x04\x6b\x6b\x02\x76\x02\x0a\xc3\xbc\x2d\xd0\xba\x04\x00"
    "\xff";

// LegacyRecordBatchBuilder(magic=0 and magic=1, compression_type=0):
//   append(0, timestamp=1700000000000, key=b"k1", value=b"hello")
//   append(1, timestamp=1700000000007, key=None, value=b"world")
constexpr char kPythonMessageSetV0[] =
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x15\x71\xef\x57\x70\x00\x00\x00\x00\x00\x02"
    "\x6b\x31\x00\x00\x00\x05\x68\x65\x6c\x6c\x6f\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00"
    "\x13\x8b\xc0\xcd\x77\x00\x00\xff\xff\xff\xff\x00\x00\x00\x05\x77\x6f\x72\x6c\x64";
constexpr char kPythonMessageSetV1[] =
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1d\x9e\x34\x95\x96\x01\x00\x00\x00\x01\x8b"
    "\xcf\xe5\x68\x00\x00\x00\x00\x02\x6b\x31\x00\x00\x00\x05\x68\x65\x6c\x6c\x6f\x00\x00\x00"
    "\x00\x00\x00\x00\x01\x00\x00\x00\x1b\xe7\x49\x16\xbf\x01\x00\x00\x00\x01\x8b\xcf\xe5\x68"
    "\x07\xff\xff\xff\xff\x00\x00\x00\x05\x77\x6f\x72\x6c\x64";

// DefaultRecordBatchBuilder(compression_type=1 /* gzip */):
//   append(0, timestamp=1700000000000, key=b"k", value=b"a" * 100, headers=[])
constexpr char kPythonGzipBatch[] =
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x52\x00\x00\x00\x00\x02\x33\xc8\x91\x41\x00"
    "\x01\x00\x00\x00\x00\x00\x00\x01\x8b\xcf\xe5\x68\x00\x00\x00\x01\x8b\xcf\xe5\x68\x00\xff"
    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x01\x1f\x8b\x08\x00\xe6"
    "\xf8\x06\x6b\x02\xff\xbb\xc1\xc8\xc0\xc0\xc0\x94\x7d\x82\x31\x91\x0e\x80\x01\x00\x6e\x59"
    "\xbf\x3e\x6e\x00\x00\x00";

template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

constexpr int64_t kT = 1700000000000;

// A record as a test writes it: owning the bytes that the codec's views point at, so a test
// keeps these alive for as long as it uses the FetchedRecords built from them.
struct TestRecord {
  std::string key;
  std::string value;
  int64_t timestamp_ms = 0;
  int64_t offset = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  // An empty `key` is null unless `empty_key`; `value` is null only with `null_value`.
  bool empty_key = false;
  bool null_value = false;
};

TestRecord MakeRecord(std::string key, std::string value, int64_t ts, int64_t offset,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  return TestRecord{std::move(key), std::move(value), ts, offset, std::move(headers)};
}

// What Fetch hands the encoders: views into `records`, which must outlive the result.
std::vector<FetchedRecord> Fetched(const std::vector<TestRecord>& records) {
  std::vector<FetchedRecord> out;
  for (const TestRecord& r : records) {
    FetchedRecord& f = out.emplace_back();
    f.fields.key = r.key;
    f.fields.value = r.value;
    f.fields.has_key = r.empty_key;
    f.fields.has_value = !r.null_value;
    f.fields.timestamp_ms = r.timestamp_ms;
    for (const auto& [k, v] : r.headers) f.fields.headers.emplace_back(k, v);
    f.offset = r.offset;
  }
  return out;
}

// Decoded records carry no offset (RecordFields has none): the broker assigns them.
void ExpectSameRecord(const broker::RecordFields& got, const TestRecord& want,
                      bool with_headers = true, bool with_timestamp = true) {
  EXPECT_EQ(got.key, want.key);
  EXPECT_EQ(got.value, want.value);
  if (with_timestamp) {
    EXPECT_EQ(got.timestamp_ms, want.timestamp_ms);
  }
  if (!with_headers) {
    EXPECT_EQ(got.headers.size(), 0u);
    return;
  }
  ASSERT_EQ(got.headers.size(), want.headers.size());
  for (size_t i = 0; i < got.headers.size(); ++i) {
    EXPECT_EQ(got.headers[i].first, want.headers[i].first);
    EXPECT_EQ(got.headers[i].second, want.headers[i].second);
  }
}

// Rewrites a v2 batch's CRC after a test has edited it, so the edit is what gets checked.
void FixBatchCrc(std::string* batch, size_t at = 0) {
  const size_t end =
      at + 12 + static_cast<uint32_t>(Reader(std::string_view(*batch).substr(at + 8)).Int32());
  const uint32_t crc = Crc32c(std::string_view(*batch).substr(at + 21, end - at - 21));
  Writer(batch).PatchInt32(at + 17, static_cast<int32_t>(crc));
}

void SetInt16(std::string* s, size_t at, int16_t v) {
  (*s)[at] = static_cast<char>(static_cast<uint16_t>(v) >> 8);
  (*s)[at + 1] = static_cast<char>(v);
}
void SetInt64(std::string* s, size_t at, int64_t v) {
  for (int i = 0; i < 8; ++i)
    (*s)[at + i] = static_cast<char>(static_cast<uint64_t>(v) >> (56 - 8 * i));
}

// Field positions in a record batch v2.
constexpr size_t kAttributesAt = 21;
constexpr size_t kProducerIdAt = 43;
constexpr size_t kCountAt = 57;
constexpr size_t kFirstRecordAt = 61;

TEST(CrcTest, KnownCheckValues) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32(""), 0u);
}

uint32_t BitwiseCrc(uint32_t poly, std::string_view s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (poly ^ (c >> 1)) : (c >> 1);
  }
  return c ^ 0xFFFFFFFFu;
}

TEST(CrcTest, FastPathsAgreeWithTheBitwiseDefinitionAtEveryLengthAndAlignment) {
  // Whatever fast path each CRC takes (SSE4.2, slicing-by-8), it must agree with the plain
  // bitwise definition for every length and start alignment.
  std::string data(300, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + 7);
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len = 0; start + len <= data.size(); ++len) {
      const std::string_view s = std::string_view(data).substr(start, len);
      ASSERT_EQ(Crc32c(s), BitwiseCrc(0x82F63B78u, s)) << start << " " << len;
      ASSERT_EQ(Crc32(s), BitwiseCrc(0xEDB88320u, s)) << start << " " << len;
    }
  }
}

TEST(RecordBatchTest, DecodesKafkaPythonBatchWithNulls) {
  const std::string data = Bytes(kPythonBatchWithNulls);  // what `out` points into
  std::vector<broker::RecordFields> out;
  ASSERT_TRUE(DecodeProduceRecords(data, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  // A null header value, key or value becomes empty.
  ExpectSameRecord(out[0], MakeRecord("k1", "hello", kT, 0, {{"h1", "v1"}, {"h2", ""}}));
  ExpectSameRecord(out[1], MakeRecord("", "", kT + 5, 0));
  ExpectSameRecord(out[2], MakeRecord("", "", kT + 3, 0));
}

std::vector<TestRecord> PythonBatchRecords() {
  return {MakeRecord("k1", "hello", kT, 0, {{"h1", "v1"}, {"h2", ""}}),
          MakeRecord("", "", kT + 5, 1),
          MakeRecord("kk", "v", kT + 3, 2, {{"\xc3\xbc-\xd0\xba", std::string("\x00\xff", 2)}})};
}

// Kafka's -1 (null) and 0 (empty) lengths stay apart: decoded as presence, encoded back as
// the same lengths.
TEST(RecordBatchTest, NullAndEmptyKeysAndValuesStayApart) {
  const std::string data = Bytes(kPythonBatchWithNulls);
  std::vector<broker::RecordFields> out;
  ASSERT_TRUE(DecodeProduceRecords(data, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].has_key && out[0].has_value);
  EXPECT_FALSE(out[1].key_present());    // key=None
  EXPECT_TRUE(out[1].has_value);         // value=b""
  EXPECT_TRUE(out[2].has_key);           // key=b""
  EXPECT_FALSE(out[2].value_present());  // value=None

  // The four combinations through a v2 batch and message sets v0 and v1.
  std::vector<TestRecord> records;
  for (int i = 0; i < 4; ++i) {
    TestRecord& r = records.emplace_back(MakeRecord("", "", kT + i, i));
    r.empty_key = (i & 1) != 0;
    r.null_value = (i & 2) != 0;
  }
  for (const int magic : {2, 1, 0}) {
    SCOPED_TRACE(magic);
    std::string encoded;
    if (magic == 2) {
      EncodeRecordBatch(Fetched(records), &encoded);
    } else {
      EncodeMessageSet(static_cast<int8_t>(magic), Fetched(records), &encoded);
    }
    std::vector<broker::RecordFields> back;
    ASSERT_TRUE(DecodeProduceRecords(encoded, &back).ok());
    ASSERT_EQ(back.size(), 4u);
    for (size_t i = 0; i < back.size(); ++i) {
      EXPECT_EQ(back[i].has_key, records[i].empty_key) << i;
      EXPECT_EQ(back[i].has_value, !records[i].null_value) << i;
      EXPECT_TRUE(back[i].key.empty() && back[i].value.empty()) << i;
    }
  }
}

TEST(RecordBatchTest, EncodesTheSameBytesAsKafkaPython) {
  const std::vector<TestRecord> records = PythonBatchRecords();
  std::string encoded = "prefix";
  EncodeRecordBatch(Fetched(records), &encoded);
  EXPECT_EQ(encoded, "prefix" + Bytes(kPythonBatch));

  const std::string python = Bytes(kPythonBatch);  // what `out` points into
  std::vector<broker::RecordFields> out;
  ASSERT_TRUE(DecodeProduceRecords(python, &out).ok());
  ASSERT_EQ(out.size(), records.size());
  for (size_t i = 0; i < out.size(); ++i) ExpectSameRecord(out[i], records[i]);
}

TEST(RecordBatchTest, EncodesBaseOffsetDeltasAndMaxTimestamp) {
  std::vector<TestRecord> records = {MakeRecord("a", "1", kT + 9, 1000),
                                     MakeRecord("b", "2", kT + 20, 1001),
                                     MakeRecord("c", "3", kT, 1002)};
  std::string encoded;
  EncodeRecordBatch(Fetched(records), &encoded);
  Reader r(encoded);
  EXPECT_EQ(r.Int64(), 1000);                                      // baseOffset
  EXPECT_EQ(static_cast<size_t>(r.Int32()), encoded.size() - 12);  // batchLength
  EXPECT_EQ(r.Int32(), 0);                                         // partitionLeaderEpoch
  EXPECT_EQ(r.Int8(), 2);                                          // magic
  r.Uint32();
  EXPECT_EQ(r.Int16(), 0);        // attributes
  EXPECT_EQ(r.Int32(), 2);        // lastOffsetDelta
  EXPECT_EQ(r.Int64(), kT + 9);   // baseTimestamp
  EXPECT_EQ(r.Int64(), kT + 20);  // maxTimestamp
  EXPECT_EQ(r.Int64(), -1);       // producerId
  EXPECT_EQ(r.Int16(), -1);       // producerEpoch
  EXPECT_EQ(r.Int32(), -1);       // baseSequence
  EXPECT_EQ(r.Int32(), 3);        // records
  ASSERT_TRUE(r.ok());

  std::vector<broker::RecordFields> out;
  ASSERT_TRUE(DecodeProduceRecords(encoded, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < out.size(); ++i) ExpectSameRecord(out[i], records[i]);
}

TEST(RecordBatchTest, RoundTripsBinaryDataLargeFieldsAndManyHeaders) {
  std::vector<TestRecord> records;
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  records.push_back(MakeRecord(binary, std::string(1 << 20, 'x'), kT, 7));
  records.push_back(MakeRecord("", "", 0, 8));  // keyless, empty value, "now"
  std::vector<std::pair<std::string, std::string>> headers;
  for (int i = 0; i < 200; ++i) headers.emplace_back("h" + std::to_string(i), binary.substr(i));
  records.push_back(MakeRecord(std::string(300, 'k'), binary, kT - 5000, 9, headers));
  // Timestamps far apart in both directions need multi-byte varlong deltas.
  records.push_back(MakeRecord("k", "v", int64_t{1} << 50, 10));
  for (int i = 0; i < 1000; ++i) {
    records.push_back(MakeRecord(std::to_string(i), std::to_string(i * i), kT + i, 11 + i));
  }
  std::string encoded;
  EncodeRecordBatch(Fetched(records), &encoded);
  std::vector<broker::RecordFields> out;
  const absl::Status s = DecodeProduceRecords(encoded, &out);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(out.size(), records.size());
  for (size_t i = 0; i < out.size(); ++i) ExpectSameRecord(out[i], records[i]);
}

TEST(RecordBatchTest, DecodesSeveralConcatenatedBatchesAndMixedFormats) {
  const std::vector<TestRecord> a = {MakeRecord("a", "1", kT, 0), MakeRecord("b", "2", kT, 1)};
  const std::vector<TestRecord> b = {MakeRecord("c", "3", kT + 1, 2)};
  std::string data;
  EncodeRecordBatch(Fetched(a), &data);
  EncodeRecordBatch(Fetched(b), &data);
  data += Bytes(kPythonBatch);
  std::vector<broker::RecordFields> out = {{"already", "there", true, true, {}, 1}};
  ASSERT_TRUE(DecodeProduceRecords(data, &out).ok());
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0].key, "already");
  ExpectSameRecord(out[1], a[0]);
  ExpectSameRecord(out[2], a[1]);
  ExpectSameRecord(out[3], b[0]);
  EXPECT_EQ(out[6].key, "kk");
}

TEST(RecordBatchTest, ManySmallBatches) {
  // librdkafka sends one batch per partition, but a Produce may concatenate many.
  std::string data;
  std::vector<TestRecord> records;
  for (int i = 0; i < 5000; ++i) records.push_back(MakeRecord("k", std::to_string(i), kT, i));
  for (const FetchedRecord& r : Fetched(records)) EncodeRecordBatch({r}, &data);
  std::vector<broker::RecordFields> out;
  ASSERT_TRUE(DecodeProduceRecords(data, &out).ok());
  ASSERT_EQ(out.size(), records.size());
  for (size_t i = 0; i < out.size(); ++i) ExpectSameRecord(out[i], records[i]);
}

TEST(RecordBatchTest, EmptyInputsAndOutputs) {
  std::vector<broker::RecordFields> out;
  EXPECT_TRUE(DecodeProduceRecords("", &out).ok());
  EXPECT_TRUE(out.empty());
  std::string encoded = "x";
  EncodeRecordBatch({}, &encoded);
  EncodeMessageSet(1, {}, &encoded);
  EXPECT_EQ(encoded, "x");

  // A batch that holds no records is well-formed and adds nothing.
  std::vector<TestRecord> one = {MakeRecord("k", "v", kT, 0)};
  std::string batch;
  EncodeRecordBatch(Fetched(one), &batch);
  batch.resize(kFirstRecordAt);
  Writer(&batch).PatchInt32(8, static_cast<int32_t>(kFirstRecordAt - 12));
  Writer(&batch).PatchInt32(kCountAt, 0);
  FixBatchCrc(&batch);
  EXPECT_TRUE(DecodeProduceRecords(batch, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(RecordBatchTest, NoTimestampBecomesNow) {
  std::vector<TestRecord> records = {MakeRecord("k", "v", -1, 0)};
  std::string encoded;
  EncodeRecordBatch(Fetched(records), &encoded);
  std::vector<broker::RecordFields> out;
  ASSERT_TRUE(DecodeProduceRecords(encoded, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp_ms, 0);
}

TEST(RecordBatchTest, CrcMismatchIsDataLoss) {
  for (size_t at : {size_t{21}, size_t{40}, Bytes(kPythonBatch).size() - 1}) {
    std::string data = Bytes(kPythonBatch);
    data[at] ^= 0x01;
    std::vector<broker::RecordFields> out;
    const absl::Status s = DecodeProduceRecords(data, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << at;
    EXPECT_THAT(std::string(s.message()), HasSubstr("CRC mismatch"));
    EXPECT_TRUE(out.empty());
  }
  // The CRC itself damaged.
  std::string data = Bytes(kPythonBatch);
  data[18] ^= 0x40;
  std::vector<broker::RecordFields> out;
  EXPECT_EQ(DecodeProduceRecords(data, &out).code(), absl::StatusCode::kDataLoss);
}

TEST(RecordBatchTest, EveryTruncationIsDataLossAndAppendsNothing) {
  std::string data = Bytes(kPythonBatch) + Bytes(kPythonBatchWithNulls) +
                     Bytes(kPythonMessageSetV0) + Bytes(kPythonMessageSetV1);
  // Whole entries end at these positions; any other cut leaves a partial one.
  std::vector<size_t> boundaries = {0};
  for (const std::string& part : {Bytes(kPythonBatch), Bytes(kPythonBatchWithNulls)}) {
    boundaries.push_back(boundaries.back() + part.size());
  }
  boundaries.push_back(boundaries.back() + 33);  // first v0 message
  boundaries.push_back(boundaries.back() + 31);  // second v0 message
  boundaries.push_back(boundaries.back() + 41);  // first v1 message
  boundaries.push_back(boundaries.back() + 39);  // second v1 message
  ASSERT_EQ(boundaries.back(), data.size());
  for (size_t n = 0; n <= data.size(); ++n) {
    std::vector<broker::RecordFields> out = {{"keep", "me", true, true, {}, 1}};
    const absl::Status s = DecodeProduceRecords(std::string_view(data).substr(0, n), &out);
    const bool whole = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    if (whole) {
      EXPECT_TRUE(s.ok()) << n << ": " << s;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << n << ": " << s;
      ASSERT_EQ(out.size(), 1u) << n;
      EXPECT_EQ(out[0].key, "keep");
    }
  }
}

TEST(RecordBatchTest, ForgedRecordCountsAreDataLoss) {
  for (int32_t count : {0x7fffffff, 1 << 20, -1, 2, 4}) {
    std::string data = Bytes(kPythonBatch);
    Writer(&data).PatchInt32(kCountAt, count);
    FixBatchCrc(&data);
    std::vector<broker::RecordFields> out;
    const absl::Status s = DecodeProduceRecords(data, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << count << ": " << s;
    EXPECT_TRUE(out.empty());
  }
}

TEST(RecordBatchTest, ForgedLengthsAreDataLoss) {
  // The batch length: longer than the data, shorter than the header, negative.
  for (int32_t length : {0x7fffffff, 1000, 48, 10, 0, -1, -100}) {
    std::string data = Bytes(kPythonBatch);
    Writer(&data).PatchInt32(8, length);
    std::vector<broker::RecordFields> out;
    EXPECT_EQ(DecodeProduceRecords(data, &out).code(), absl::StatusCode::kDataLoss) << length;
  }
  // The first record's length (zigzag varint 0x2e = 23), up and down, and negative.
  for (char length : {'\x2c', '\x30', '\x7e', '\x01', '\x00'}) {
    std::string data = Bytes(kPythonBatch);
    ASSERT_EQ(data[kFirstRecordAt], '\x2e');
    data[kFirstRecordAt] = length;
    FixBatchCrc(&data);
    std::vector<broker::RecordFields> out;
    EXPECT_EQ(DecodeProduceRecords(data, &out).code(), absl::StatusCode::kDataLoss)
        << static_cast<int>(length);
  }
  // Key, value and header lengths inside the first record, which starts
  // 2e 00 00 00 04 "k1" 0a "hello" 04 | 04 "h1" 04 "v1" 04 "h2" 00.
  const struct {
    size_t at;
    char value;
  } kFields[] = {
      {kFirstRecordAt + 4, '\x7e'},   // key length 63
      {kFirstRecordAt + 4, '\x03'},   // key length -2
      {kFirstRecordAt + 7, '\x0e'},   // value length 7
      {kFirstRecordAt + 7, '\x05'},   // value length -3
      {kFirstRecordAt + 13, '\x7e'},  // header count 63
      {kFirstRecordAt + 13, '\x01'},  // header count -1
      {kFirstRecordAt + 14, '\x01'},  // header key null
      {kFirstRecordAt + 14, '\x08'},  // header key length 4
      {kFirstRecordAt + 17, '\x03'},  // header value length -2
      {kFirstRecordAt + 17, '\x0a'},  // header value length 5
  };
  for (const auto& f : kFields) {
    std::string data = Bytes(kPythonBatch);
    data[f.at] = f.value;
    FixBatchCrc(&data);
    std::vector<broker::RecordFields> out;
    const absl::Status s = DecodeProduceRecords(data, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << f.at << " " << static_cast<int>(f.value);
    EXPECT_TRUE(out.empty());
  }
}

TEST(RecordBatchTest, TrailingBytesInsideABatchAreDataLoss) {
  std::string data = Bytes(kPythonBatch) + "junk";
  Writer(&data).PatchInt32(8, static_cast<int32_t>(data.size() - 12));
  FixBatchCrc(&data);
  std::vector<broker::RecordFields> out;
  const absl::Status s = DecodeProduceRecords(data, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("after its last record"));
}

TEST(RecordBatchTest, InvalidUtf8HeaderKeyIsRefused) {
  std::vector<TestRecord> records = {MakeRecord("k", "v", kT, 0, {{"ok", "v"}})};
  std::string data;
  EncodeRecordBatch(Fetched(records), &data);
  const size_t at = data.find("ok");
  for (std::string bad : {"\xff\x41", "\xc0\xaf", "\xed\xa0"}) {
    std::string copy = data;
    copy.replace(at, 2, bad);
    FixBatchCrc(&copy);
    std::vector<broker::RecordFields> out;
    const absl::Status s = DecodeProduceRecords(copy, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(s.message()), HasSubstr("UTF-8"));
  }
}

TEST(RecordBatchTest, UnknownMagicIsDataLoss) {
  std::string data = Bytes(kPythonBatch);
  data[16] = 3;
  std::vector<broker::RecordFields> out;
  const absl::Status s = DecodeProduceRecords(data, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("magic 3"));
}

TEST(RecordBatchTest, CompressionIsRefusedNamingTheCodec) {
  std::vector<broker::RecordFields> out;
  absl::Status s = DecodeProduceRecords(Bytes(kPythonGzipBatch), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(s.message()), HasSubstr("gzip compression is not supported"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("compression.type=none"));

  const std::pair<int16_t, const char*> kCodecs[] = {
      {1, "gzip"}, {2, "snappy"}, {3, "lz4"}, {4, "zstd"}, {7, "unknown codec 7"}};
  for (const auto& [codec, name] : kCodecs) {
    std::string data = Bytes(kPythonBatch);
    SetInt16(&data, kAttributesAt, codec);
    FixBatchCrc(&data);
    s = DecodeProduceRecords(data, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << name;
    EXPECT_THAT(std::string(s.message()), HasSubstr(name));
    EXPECT_TRUE(out.empty());
  }
}

TEST(RecordBatchTest, TransactionalAndControlBatchesAreRefused) {
  const struct {
    int16_t attributes;
    int64_t producer_id;
    const char* says;
  } kCases[] = {{0x10, -1, "transactional"}, {0x10, 42, "transactional"}, {0x20, -1, "control"}};
  for (const auto& c : kCases) {
    std::string data = Bytes(kPythonBatch);
    SetInt16(&data, kAttributesAt, c.attributes);
    SetInt64(&data, kProducerIdAt, c.producer_id);
    FixBatchCrc(&data);
    std::vector<broker::RecordFields> out;
    const absl::Status s = DecodeProduceRecords(data, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << c.says;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.says));
  }
  // Idempotent batches decode: the Produce handler checks their sequences.
  for (int64_t producer_id : {0, 42}) {
    std::string data = Bytes(kPythonBatch);
    SetInt64(&data, kProducerIdAt, producer_id);
    FixBatchCrc(&data);
    std::vector<broker::RecordFields> out;
    EXPECT_TRUE(DecodeProduceRecords(data, &out).ok()) << producer_id;
    EXPECT_FALSE(out.empty());
  }
  // The timestamp-type bit (LogAppendTime) alone is harmless.
  std::string data = Bytes(kPythonBatch);
  SetInt16(&data, kAttributesAt, 0x08);
  FixBatchCrc(&data);
  std::vector<broker::RecordFields> out;
  EXPECT_TRUE(DecodeProduceRecords(data, &out).ok());
}

TEST(RecordBatchTest, OneBadBatchAppendsNothingFromTheGoodOnes) {
  std::string data = Bytes(kPythonBatch) + Bytes(kPythonGzipBatch);
  std::vector<broker::RecordFields> out;
  EXPECT_EQ(DecodeProduceRecords(data, &out).code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(out.empty());
}

TEST(MessageSetTest, DecodesKafkaPythonV0AndV1) {
  for (const std::string& data : {Bytes(kPythonMessageSetV0), Bytes(kPythonMessageSetV1)}) {
    const bool v1 = data[16] == 1;
    std::vector<broker::RecordFields> out;
    const absl::Status s = DecodeProduceRecords(data, &out);
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(out.size(), 2u);
    ExpectSameRecord(out[0], MakeRecord("k1", "hello", v1 ? kT : 0, 0));
    ExpectSameRecord(out[1], MakeRecord("", "world", v1 ? kT + 7 : 0, 0));
  }
}

TEST(MessageSetTest, EncodesTheSameBytesAsKafkaPython) {
  const std::vector<TestRecord> records = {MakeRecord("k1", "hello", kT, 0),
                                           MakeRecord("", "world", kT + 7, 1)};
  std::string v0, v1;
  EncodeMessageSet(0, Fetched(records), &v0);
  EncodeMessageSet(1, Fetched(records), &v1);
  EXPECT_EQ(v0, Bytes(kPythonMessageSetV0));
  EXPECT_EQ(v1, Bytes(kPythonMessageSetV1));
}

TEST(MessageSetTest, RoundTripsWithOffsetsAndTimestamps) {
  std::vector<TestRecord> records;
  for (int i = 0; i < 100; ++i) {
    records.push_back(MakeRecord(i % 3 ? std::to_string(i) : "", std::string(i * 10, 'v'), kT + i,
                                 500 + i, {{"dropped", "v0/v1 have no headers"}}));
  }
  for (int8_t magic : {0, 1}) {
    std::string data;
    EncodeMessageSet(magic, Fetched(records), &data);
    Reader r(data);
    EXPECT_EQ(r.Int64(), 500);
    std::vector<broker::RecordFields> out;
    ASSERT_TRUE(DecodeProduceRecords(data, &out).ok());
    ASSERT_EQ(out.size(), records.size());
    for (size_t i = 0; i < out.size(); ++i) {
      ExpectSameRecord(out[i], records[i], /*with_headers=*/false, /*with_timestamp=*/magic == 1);
      if (magic == 0) {
        EXPECT_EQ(out[i].timestamp_ms, 0);
      }
    }
  }
}

TEST(MessageSetTest, CrcMismatchIsDataLoss) {
  std::string data = Bytes(kPythonMessageSetV1);
  data[30] ^= 0x20;  // inside the first message's key
  std::vector<broker::RecordFields> out;
  const absl::Status s = DecodeProduceRecords(data, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("CRC mismatch"));
}

TEST(MessageSetTest, PartialTrailingMessageIsDataLoss) {
  // What a v0-v2 producer never sends but a broken one might: the last message cut short.
  const std::string data = Bytes(kPythonMessageSetV0);
  std::vector<broker::RecordFields> out;
  const absl::Status s = DecodeProduceRecords(data.substr(0, data.size() - 3), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("partial"));
  EXPECT_TRUE(out.empty());
}

void FixMessageCrc(std::string* data, size_t at = 0) {
  const size_t size = static_cast<uint32_t>(Reader(std::string_view(*data).substr(at + 8)).Int32());
  const uint32_t crc = Crc32(std::string_view(*data).substr(at + 16, size - 4));
  Writer(data).PatchInt32(at + 12, static_cast<int32_t>(crc));
}

TEST(MessageSetTest, ForgedFieldLengthsAreDataLoss) {
  // v1 message: offset(8) size(4) crc(4) magic attributes timestamp(8) key_len(4) "k1" ...
  const struct {
    size_t at;
    int32_t value;
  } kFields[] = {{26, 3}, {26, -2}, {26, 0x7fffffff}, {32, 6}, {32, 4}, {32, -5}};
  for (const auto& f : kFields) {
    std::string data = Bytes(kPythonMessageSetV1);
    Writer(&data).PatchInt32(f.at, f.value);
    FixMessageCrc(&data);
    std::vector<broker::RecordFields> out;
    EXPECT_EQ(DecodeProduceRecords(data, &out).code(), absl::StatusCode::kDataLoss)
        << f.at << " " << f.value;
  }
  // A message size too small for the fields of its magic.
  std::string data = Bytes(kPythonMessageSetV1);
  Writer(&data).PatchInt32(8, 10);
  std::vector<broker::RecordFields> out;
  EXPECT_EQ(DecodeProduceRecords(data, &out).code(), absl::StatusCode::kDataLoss);
}

TEST(MessageSetTest, CompressionIsRefusedNamingTheCodec) {
  const std::pair<int8_t, const char*> kCodecs[] = {{1, "gzip"}, {2, "snappy"}, {3, "lz4"}};
  for (const auto& [codec, name] : kCodecs) {
    std::string data = Bytes(kPythonMessageSetV0);
    data[17] = codec;
    FixMessageCrc(&data);
    std::vector<broker::RecordFields> out;
    const absl::Status s = DecodeProduceRecords(data, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << name;
    EXPECT_THAT(std::string(s.message()), HasSubstr(std::string(name) + " compression"));
  }
}

}  // namespace
}  // namespace ferry::kafka
