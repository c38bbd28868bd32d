// Builds compressed record batches v2 and message sets for the Kafka tests: Ferry's encoder
// writes the uncompressed batch, then its records are compressed in place and the attributes
// and CRC-32C fixed, as a Kafka client does. Header-only.
#ifndef FERRY_TESTS_KAFKA_COMPRESSED_BATCH_H_
#define FERRY_TESTS_KAFKA_COMPRESSED_BATCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/kafka/compression.h"
#include "server/kafka/records.h"

namespace ferry::kafka::ktest {

// baseOffset through the record count: where a v2 batch's records start.
constexpr size_t kBatchRecordsAt = 61;
constexpr size_t kBatchAttributesAt = 21;
constexpr size_t kBatchCrcAt = 17;

inline void PutInt32(std::string* s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[at + i] = static_cast<char>(v >> (24 - 8 * i));
}

// Compresses the records of the uncompressed batch v2 `batch` with `codec`.
inline std::string CompressBatch(const std::string& batch, Codec codec, bool xerial = false) {
  std::string out = batch.substr(0, kBatchRecordsAt);
  EXPECT_TRUE(Compress(codec, std::string_view(batch).substr(kBatchRecordsAt), &out, xerial).ok());
  PutInt32(&out, 8, static_cast<uint32_t>(out.size() - 12));  // batchLength
  out[kBatchAttributesAt + 1] =
      static_cast<char>((out[kBatchAttributesAt + 1] & ~7) | static_cast<int>(codec));
  PutInt32(&out, kBatchCrcAt, Crc32c(std::string_view(out).substr(kBatchCrcAt + 4)));
  return out;
}

// A batch v2 of `values` (keys "k<i>") at offsets 0.., with `codec`.
inline std::string ValuesBatch(const std::vector<std::string>& values, Codec codec,
                               bool xerial = false) {
  std::vector<FetchedRecord> records(values.size());
  std::vector<std::string> keys(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    keys[i] = "k" + std::to_string(i);
    records[i].offset = static_cast<int64_t>(i);
    records[i].fields.key = keys[i];
    records[i].fields.value = values[i];
    records[i].fields.has_value = true;  // "" is an empty value, not null
    records[i].fields.timestamp_ms = 1700000000000 + static_cast<int64_t>(i);
  }
  std::string batch;
  EncodeRecordBatch(records, &batch);
  return codec == Codec::kNone ? batch : CompressBatch(batch, codec, xerial);
}

// A legacy message set (magic 0 or 1) of one wrapper message whose value is the `codec`
// compression of an inner message set of `records` (offsets 0..).
inline std::string CompressedMessageSetOf(int8_t magic, const std::vector<FetchedRecord>& records,
                                          Codec codec) {
  std::string inner;
  EncodeMessageSet(magic, records, &inner);
  std::string compressed;
  EXPECT_TRUE(Compress(codec, inner, &compressed).ok());
  // One message with that value, then its attributes set to the codec and the CRC redone.
  FetchedRecord wrapper;
  wrapper.offset = static_cast<int64_t>(records.size()) - 1;
  wrapper.fields.value = compressed;
  wrapper.fields.timestamp_ms = 1700000000000;
  std::string out;
  EncodeMessageSet(magic, {wrapper}, &out);
  out[17] = static_cast<char>(codec);  // offset 8, size 4, crc 4, magic 1, then attributes
  PutInt32(&out, 12, Crc32(std::string_view(out).substr(16)));
  return out;
}

// As above, of `values` (keyless, timestamp 1700000000000).
inline std::string CompressedMessageSet(int8_t magic, const std::vector<std::string>& values,
                                        Codec codec) {
  std::vector<FetchedRecord> records(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    records[i].offset = static_cast<int64_t>(i);
    records[i].fields.value = values[i];
    records[i].fields.has_value = true;
    records[i].fields.timestamp_ms = 1700000000000;
  }
  return CompressedMessageSetOf(magic, records, codec);
}

}  // namespace ferry::kafka::ktest

#endif  // FERRY_TESTS_KAFKA_COMPRESSED_BATCH_H_
