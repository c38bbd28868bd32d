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
#include "server/broker/types.h"

namespace ferry::broker {

// Appends the stored encoding of `record` (a ferry.v1.Record message, no offset) to `out`:
// for a door whose records arrive in another format (Kafka's record batches). A null key or
// value (RecordFields::key_present() false) is left out; an empty one is written as a
// zero-length field, so the two stay apart.
void EncodeRecord(const RecordFields& record, std::string* out);

// Encodes `records` into `*storage` and points `out->records` at them: a publish batch for a
// door whose records arrive in another format. INVALID_ARGUMENT as ParseRecordView.
absl::Status EncodeBatch(const std::vector<RecordFields>& records, std::string* storage,
                         PublishBatch* out);

// The fields of a stored record (`encoded`, from RecordReader), as views into it, with
// has_key / has_value set when the field is present (absent: null). Records stored before
// presence was kept wrote empty keys and values as absent, so they read back as null.
// DATA_LOSS when it is malformed.
absl::Status DecodeRecord(std::string_view encoded, RecordFields* out);

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

// Walks `encoded` (a stored-format record). INVALID_ARGUMENT when it is not a well-formed Record
// (bad wire types, truncation, a header key that is not UTF-8).
absl::Status ParseRecordView(std::string_view encoded, RecordView* out);

// A ferry.v1.PublishRequest in wire format (the gRPC door's publish calls): its records as
// views into `encoded`, and the stream sequence number (0 when absent) in `*sequence`.
absl::Status ParsePublishRequest(std::string_view encoded, PublishBatch* out, uint64_t* sequence);

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
