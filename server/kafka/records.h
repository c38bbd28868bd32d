// Kafka record formats <-> Ferry records: record batch v2 (magic 2, CRC-32C, headers) and the
// legacy message sets (magic 0 and 1, CRC-32) that Produce v0-v2 send and Fetch v0-v3 expect.
// Only uncompressed data is accepted; compressed batches are refused with a clear error.
// Pure functions, thread-safe.
#ifndef FERRY_SERVER_KAFKA_RECORDS_H_
#define FERRY_SERVER_KAFKA_RECORDS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/broker/types.h"

namespace ferry::kafka {

// Decodes the `records` field of a Produce request: one or more record batches (magic 2) or a
// message set (magic 0/1). Appends one record per record (key, value, headers, timestamp, as
// views into `data`; a null key or value becomes empty). Errors:
//   DATA_LOSS       malformed or truncated data, or a CRC mismatch (Kafka CORRUPT_MESSAGE)
//   UNIMPLEMENTED   a compressed batch (the handler answers UNSUPPORTED_COMPRESSION_TYPE), a
//                   transactional one (TRANSACTIONAL_ID_AUTHORIZATION_FAILED) or a control
//                   batch (UNSUPPORTED_FOR_MESSAGE_FORMAT): Ferry serves none of them yet
//                   (compression: issue 14, on its branch)
absl::Status DecodeProduceRecords(std::string_view data, std::vector<broker::RecordFields>* out);

// A record read for a Fetch: its fields and offset.
struct FetchedRecord {
  broker::RecordFields fields;
  int64_t offset = 0;
};

// Appends one record batch v2 holding `records` (their offsets must be consecutive from
// records[0].offset) to `out`, with the CRC-32C filled in.
void EncodeRecordBatch(const std::vector<FetchedRecord>& records, std::string* out);

// Appends a legacy message set (magic 0 or 1) holding `records`, one message per record.
void EncodeMessageSet(int8_t magic, const std::vector<FetchedRecord>& records, std::string* out);

// CRC-32C (Castagnoli), as record batch v2 uses.
uint32_t Crc32c(std::string_view data);
// CRC-32 (IEEE), as message sets v0/v1 use.
uint32_t Crc32(std::string_view data);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_RECORDS_H_
