// The payload of a stored batch: the records in protobuf wire format, each framed as field 3
// of SubscribeResponse (`repeated Record records = 3`). A stored payload is therefore already a
// valid fragment of a SubscribeResponse, and a reader only walks the length prefixes to find
// a record. Offsets are not stored in records: a record's offset is the batch's base offset
// plus its index.
#ifndef FERRY_SERVER_BROKER_RECORD_CODEC_H_
#define FERRY_SERVER_BROKER_RECORD_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::broker {

// Appends `record` to `payload`. The caller clears the record's offset: it is implied.
void AppendRecord(const v1::Record& record, std::string* payload);

// Walks a payload record by record.
class RecordReader {
 public:
  explicit RecordReader(std::string_view payload) : rest_(payload) {}
  // The next record's encoded bytes; false at the end. DATA_LOSS in `status()` when malformed.
  bool Next(std::string_view* record);
  const absl::Status& status() const { return status_; }

 private:
  std::string_view rest_;
  absl::Status status_;
};

// Bytes of a record that count against --max-record-bytes: key, value, header keys and values.
size_t RecordUserBytes(const v1::Record& record);

// A record in protobuf wire format, walked once without building a message: the publish path
// checks and partitions records by their views and stores their bytes as they came.
struct RecordView {
  std::string_view encoded;  // the Record message's bytes
  std::string_view key;      // the last `key` field, as protobuf parsing would keep
  int64_t timestamp_ms = 0;  // 0 when absent
  bool has_offset = false;   // an `offset` field is present (output-only: dropped on store)
  size_t user_bytes = 0;     // as RecordUserBytes
};

// Walks `encoded` (a v1::Record). INVALID_ARGUMENT when it is not a well-formed Record
// (bad wire types, truncation, a header key that is not UTF-8).
absl::Status ParseRecordView(std::string_view encoded, RecordView* out);

// A PublishRequest in wire format, its records as views into the request's bytes.
struct PublishRequestView {
  std::string_view topic;
  std::optional<int32_t> partition;
  uint64_t sequence = 0;
  std::vector<RecordView> records;
};
absl::Status ParsePublishRequest(std::string_view encoded, PublishRequestView* out);

// Appends `record` to a stored payload: its bytes as they came, plus the timestamp
// `now_ms` when it has none. A record that carries an offset is re-encoded without it.
void AppendRecordView(const RecordView& record, int64_t now_ms, std::string* payload);

// Appends a stored record (`encoded`, from RecordReader) as field 3 of a SubscribeResponse,
// with its `offset` set: the bytes of a ready-to-send message, with no per-record parsing.
void AppendRecordWithOffset(std::string_view encoded, int64_t offset, std::string* out);

// Bytes of `v` as an unsigned varint (protobuf's and Kafka's encoding alike).
size_t VarintSize(uint64_t v);
// Appends a varint / a length-delimited field, protobuf wire format.
void AppendVarint(uint64_t v, std::string* out);
void AppendTag(uint32_t field, uint32_t wire_type, std::string* out);

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_RECORD_CODEC_H_
