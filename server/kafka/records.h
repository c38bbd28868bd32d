// Kafka record formats <-> Ferry records: record batch v2 (magic 2, CRC-32C, headers) and the
// legacy message sets (magic 0 and 1, CRC-32) that Produce v0-v2 send and Fetch v0-v3 expect.
// Compressed batches (gzip, snappy, lz4, zstd) are decompressed on arrival, within a cap, and
// their records come out like any others. Pure functions, thread-safe.
#ifndef FERRY_SERVER_KAFKA_RECORDS_H_
#define FERRY_SERVER_KAFKA_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/broker/types.h"

namespace ferry::kafka {

// How DecodeProduceRecords treats compressed data.
struct ProduceDecodeOptions {
  // The most bytes all compressed batches of one call may decompress to (the broker's largest
  // publish): past it the call fails with RESOURCE_EXHAUSTED (Kafka MESSAGE_TOO_LARGE).
  size_t max_decompressed_bytes = 16 << 20;
  // zstd: Kafka accepts it from Produce v7 on only.
  bool allow_zstd = true;
};

// The decompressed bytes that decoded records view; it must outlive the records. A deque, so
// adding a buffer never moves the ones before.
using DecompressedBuffers = std::deque<std::string>;

// Decodes the `records` field of a Produce request: one or more record batches (magic 2) or a
// message set (magic 0/1, compressed wrapper messages included). Appends one record per record
// (key, value, headers, timestamp, as views into `data` or into `buffers`; has_key / has_value
// set for a key / value of length >= 0, so a null one (-1) stays apart from an empty one). Errors:
//   DATA_LOSS           malformed or truncated data, a CRC mismatch or corrupt compressed
//                       data (Kafka CORRUPT_MESSAGE)
//   RESOURCE_EXHAUSTED  compressed data decompressing past the cap (MESSAGE_TOO_LARGE)
//   UNIMPLEMENTED       a codec refused (IsCompressionRefused: zstd when not allowed, an
//                       unknown codec; UNSUPPORTED_COMPRESSION_TYPE), a transactional batch
//                       (TRANSACTIONAL_ID_AUTHORIZATION_FAILED) or a control batch
//                       (UNSUPPORTED_FOR_MESSAGE_FORMAT)
absl::Status DecodeProduceRecords(std::string_view data, const ProduceDecodeOptions& options,
                                  DecompressedBuffers* buffers,
                                  std::vector<broker::RecordFields>* out);

// As above for uncompressed data only (records view `data` alone): every compressed batch is
// refused (IsCompressionRefused).
absl::Status DecodeProduceRecords(std::string_view data, std::vector<broker::RecordFields>* out);

// Whether a DecodeProduceRecords error is a refused codec (Kafka UNSUPPORTED_COMPRESSION_TYPE).
bool IsCompressionRefused(const absl::Status& s);

// A record read for a Fetch: its fields and offset.
struct FetchedRecord {
  broker::RecordFields fields;
  int64_t offset = 0;
};

// Appends one record batch v2 holding `records` (offsets ascending from records[0].offset;
// gaps are allowed, as in a compacted log) to `out`, with the CRC-32C filled in.
void EncodeRecordBatch(const std::vector<FetchedRecord>& records, std::string* out);

// As above for a batch of a compacted log: it spans [base_offset, last_offset] whatever the
// offsets of its records (any number, none included), so a consumer moves past the gaps (its
// next fetch offset is last_offset + 1, as after Kafka's log cleaner).
void EncodeCompactedRecordBatch(int64_t base_offset, int64_t last_offset,
                                const std::vector<FetchedRecord>& records, std::string* out);

// Appends a legacy message set (magic 0 or 1) holding `records`, one message per record.
void EncodeMessageSet(int8_t magic, const std::vector<FetchedRecord>& records, std::string* out);

// CRC-32C (Castagnoli), as record batch v2 uses.
uint32_t Crc32c(std::string_view data);
// CRC-32 (IEEE), as message sets v0/v1 use.
uint32_t Crc32(std::string_view data);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_RECORDS_H_
