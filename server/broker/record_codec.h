// The payload of a stored batch: the records in protobuf wire format, each framed as field 3
// of SubscribeResponse (`repeated Record records = 3`). A stored payload is therefore already a
// valid fragment of a SubscribeResponse, and a reader only walks the length prefixes to find
// a record. Offsets are not stored in records: a record's offset is the batch's base offset
// plus its index.
#ifndef FERRY_SERVER_BROKER_RECORD_CODEC_H_
#define FERRY_SERVER_BROKER_RECORD_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

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

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_RECORD_CODEC_H_
