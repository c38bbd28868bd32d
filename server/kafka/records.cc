// Kafka record formats: record batch v2 and legacy message sets v0/v1; compressed batches are
// decompressed (compression.h) into buffers the caller owns.
//
// Decoding treats every length and count as hostile: counts are checked against the bytes left
// before anything is reserved, and each record must fill exactly the bytes its length claims.
// Encoding computes every record's size up front so a record is written once, in place, with no
// temporary buffers (Fetch re-encodes every record it serves).
#include "server/kafka/records.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/broker/record_codec.h"
#include "server/kafka/compression.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

// The fixed fields of a record batch v2, from partitionLeaderEpoch to the record count: what
// batchLength covers at least.
constexpr int32_t kBatchHeaderAfterLength = 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
// Bytes of a v2 batch before the CRC-covered part: baseOffset, batchLength,
// partitionLeaderEpoch, magic, crc.
constexpr size_t kBatchCrcStart = 8 + 4 + 4 + 1 + 4;
// Smallest record: length, attributes, timestampDelta, offsetDelta, keyLength, valueLength and
// header count, one byte each.
constexpr size_t kMinRecordBytes = 7;
// Smallest header: keyLength and valueLength, one byte each.
constexpr size_t kMinHeaderBytes = 2;
// offset, messageSize (before the message proper).
constexpr size_t kLogOverhead = 8 + 4;
// crc, magic, attributes, key length, value length.
constexpr int32_t kMessageV0MinSize = 4 + 1 + 1 + 4 + 4;

constexpr int16_t kCompressionMask = 0x07;
constexpr int16_t kTransactionalBit = 0x10;
constexpr int16_t kControlBit = 0x20;

absl::Status Corrupt(std::string_view what, size_t at) {
  return absl::DataLossError(absl::StrCat(std::string(what), " (at byte ", at, ")"));
}

constexpr absl::string_view kRefusedCodecPayload = "ferry.kafka/compression-refused";

absl::Status CompressionRefused(int codec, std::string_view why) {
  absl::Status s =
      absl::UnimplementedError(absl::StrCat(CodecName(codec), " compression ", std::string(why)));
  s.SetPayload(kRefusedCodecPayload, absl::Cord("1"));
  return s;
}

// `s` with where it happened appended, its refused-codec mark kept.
absl::Status WithPosition(const absl::Status& s, std::string_view what, size_t at) {
  absl::Status out(s.code(),
                   absl::StrCat(s.message(), " (", std::string(what), " at byte ", at, ")"));
  if (auto p = s.GetPayload(kRefusedCodecPayload)) out.SetPayload(kRefusedCodecPayload, *p);
  return out;
}

// One DecodeProduceRecords call's compression state.
struct Decompression {
  const ProduceDecodeOptions* options = nullptr;
  DecompressedBuffers* buffers = nullptr;  // null: compressed data is refused
  size_t used = 0;                         // bytes decompressed so far
  bool nested = false;                     // inside a compressed wrapper message

  // Decompresses `in` into a new buffer and returns a view of it, or an error.
  absl::Status Run(int codec, std::string_view in, std::string_view* view) {
    if (buffers == nullptr) {
      return CompressionRefused(codec,
                                "is not supported here; set compression.type=none in the producer");
    }
    if (codec > static_cast<int>(Codec::kZstd)) return CompressionRefused(codec, "does not exist");
    if (codec == static_cast<int>(Codec::kZstd) && !options->allow_zstd) {
      return CompressionRefused(codec, "needs Produce v7 or later; upgrade the client");
    }
    std::string& buffer = buffers->emplace_back();
    const size_t cap =
        options->max_decompressed_bytes - std::min(used, options->max_decompressed_bytes);
    absl::Status s = Decompress(static_cast<Codec>(codec), in, cap, &buffer);
    if (!s.ok()) return s;
    used += buffer.size();
    *view = buffer;
    return absl::OkStatus();
  }
};

// Proto3 `string` fields (Header.key) must hold valid UTF-8: protobuf refuses to parse a
// message that does not, so a bad header key accepted here would make the stored record
// unreadable later. Strict: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const uint8_t c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += n + 1;
  }
  return true;
}

// Kafka's "no timestamp" is -1 and timestamps before the epoch are invalid; Ferry's 0 means
// "stamp with the broker's clock", the closest meaning for both.
int64_t NormalizeTimestamp(int64_t ts) { return ts < 0 ? 0 : ts; }

// One record of a v2 batch, already cut to its declared length.
absl::Status DecodeRecord(std::string_view bytes, int64_t base_timestamp, size_t at,
                          broker::RecordFields* rec) {
  Reader r(bytes);
  r.Int8();  // attributes: unused by Kafka so far.
  const int64_t timestamp_delta = r.Varlong();
  r.Varint();  // offsetDelta: the broker assigns offsets.
  const int32_t key_length = r.Varint();
  if (key_length < -1) return Corrupt("negative record key length", at);
  if (key_length >= 0) {
    rec->key = r.Bytes(static_cast<size_t>(key_length));
    rec->has_key = true;
  }
  const int32_t value_length = r.Varint();
  if (value_length < -1) return Corrupt("negative record value length", at);
  if (value_length >= 0) {
    rec->value = r.Bytes(static_cast<size_t>(value_length));
    rec->has_value = true;
  }
  const int32_t header_count = r.Varint();
  if (!r.ok()) return Corrupt(absl::StrCat("malformed record: ", r.error()), at);
  if (header_count < 0 || static_cast<size_t>(header_count) > r.remaining() / kMinHeaderBytes) {
    return Corrupt("record header count does not fit in the record", at);
  }
  rec->headers.reserve(static_cast<size_t>(header_count));
  for (int32_t i = 0; i < header_count; ++i) {
    const int32_t hkey_length = r.Varint();
    if (hkey_length < 0) return Corrupt("null or negative header key length", at);
    const std::string_view hkey = r.Bytes(static_cast<size_t>(hkey_length));
    const int32_t hvalue_length = r.Varint();
    if (hvalue_length < -1) return Corrupt("negative header value length", at);
    std::string_view hvalue;
    if (hvalue_length >= 0) hvalue = r.Bytes(static_cast<size_t>(hvalue_length));
    if (!r.ok()) return Corrupt(absl::StrCat("malformed record header: ", r.error()), at);
    if (!IsValidUtf8(hkey)) return Corrupt("record header key is not valid UTF-8", at);
    rec->headers.emplace_back(hkey, hvalue);
  }
  if (!r.ok()) return Corrupt(absl::StrCat("malformed record: ", r.error()), at);
  if (r.remaining() != 0) return Corrupt("record is shorter than its length says", at);
  // Unsigned addition: a forged delta must not be signed overflow.
  rec->timestamp_ms = NormalizeTimestamp(static_cast<int64_t>(
      static_cast<uint64_t>(base_timestamp) + static_cast<uint64_t>(timestamp_delta)));
  return absl::OkStatus();
}

// `batch` holds one whole record batch v2 (baseOffset through its last record); `at` is its
// position in the Produce data, for error messages.
absl::Status DecodeBatchV2(std::string_view batch, size_t at, Decompression& dec,
                           std::vector<broker::RecordFields>* out) {
  Reader r(batch);
  r.Int64();  // baseOffset: the broker assigns offsets.
  r.Int32();  // batchLength: the caller has cut the batch to it.
  r.Int32();  // partitionLeaderEpoch
  r.Int8();   // magic: the caller dispatched on it.
  const uint32_t crc = r.Uint32();
  const uint32_t computed = Crc32c(batch.substr(kBatchCrcStart));
  if (crc != computed) {
    return absl::DataLossError(
        absl::StrFormat("CRC mismatch in record batch at byte %d: batch says 0x%08x, data has "
                        "0x%08x (corrupt message)",
                        at, crc, computed));
  }
  const int16_t attributes = r.Int16();
  r.Int32();  // lastOffsetDelta
  const int64_t base_timestamp = r.Int64();
  r.Int64();  // maxTimestamp
  r.Int64();  // producerId, producerEpoch, baseSequence: the Produce handler checks them
  r.Int16();
  r.Int32();
  const int32_t count = r.Int32();
  if (!r.ok()) return Corrupt(absl::StrCat("malformed record batch header: ", r.error()), at);

  if (attributes & kTransactionalBit) {
    return absl::UnimplementedError(
        "transactional produce is not supported; do not set transactional.id in the producer");
  }
  if (attributes & kControlBit) {
    return absl::UnimplementedError(
        "control batches (transaction markers) are not supported by this broker");
  }
  // A compressed batch's records are the decompression of everything after its header;
  // positions in error messages are then the batch's own.
  const int codec = attributes & kCompressionMask;
  std::string_view plain;
  if (codec != 0) {
    if (absl::Status s = dec.Run(codec, r.rest(), &plain); !s.ok()) {
      return WithPosition(s, "record batch", at);
    }
    r = Reader(plain);
  }
  if (count < 0 || static_cast<size_t>(count) > r.remaining() / kMinRecordBytes) {
    return Corrupt(absl::StrCat("record batch claims ", count, " records but holds only ",
                                r.remaining(), " bytes of records"),
                   at);
  }
  // Geometric growth: reserving exactly per batch would reallocate on every one of many small
  // batches.
  const size_t needed = out->size() + static_cast<size_t>(count);
  if (needed > out->capacity()) out->reserve(std::max(needed, 2 * out->capacity()));
  for (int32_t i = 0; i < count; ++i) {
    const size_t record_at = codec != 0 ? at : at + r.position();
    const int32_t length = r.Varint();
    if (!r.ok()) return Corrupt(absl::StrCat("malformed record length: ", r.error()), record_at);
    if (length < 0 || static_cast<size_t>(length) > r.remaining()) {
      return Corrupt("record length exceeds its batch", record_at);
    }
    const std::string_view bytes = r.Bytes(static_cast<size_t>(length));
    broker::RecordFields& rec = out->emplace_back();
    if (absl::Status s = DecodeRecord(bytes, base_timestamp, record_at, &rec); !s.ok()) return s;
  }
  if (r.remaining() != 0) {
    return Corrupt(absl::StrCat("record batch has ", r.remaining(), " bytes after its last record"),
                   at + r.position());
  }
  return absl::OkStatus();
}

// `message` holds one whole legacy entry (offset, messageSize, message) of magic 0 or 1.
absl::Status DecodeAll(std::string_view data, Decompression& dec,
                       std::vector<broker::RecordFields>* out);

absl::Status DecodeMessage(std::string_view message, size_t at, Decompression& dec,
                           std::vector<broker::RecordFields>* out) {
  Reader r(message);
  r.Int64();  // offset
  r.Int32();  // messageSize
  const uint32_t crc = r.Uint32();
  const uint32_t computed = Crc32(r.rest());
  if (crc != computed) {
    return absl::DataLossError(
        absl::StrFormat("CRC mismatch in message at byte %d: message says 0x%08x, data has "
                        "0x%08x (corrupt message)",
                        at, crc, computed));
  }
  const int8_t magic = r.Int8();
  const int8_t attributes = r.Int8();
  int64_t timestamp = 0;
  if (magic == 1) timestamp = r.Int64();
  const std::optional<std::string_view> key = r.NullableBytes();
  const std::optional<std::string_view> value = r.NullableBytes();
  if (!r.ok()) return Corrupt(absl::StrCat("malformed message: ", r.error()), at);
  if (r.remaining() != 0) return Corrupt("message is shorter than its size says", at);
  if (const int codec = attributes & kCompressionMask; codec != 0) {
    // A wrapper message: its value is a compressed message set of the same magic, one level
    // deep (Kafka never nests further).
    if (dec.nested) return Corrupt("compressed message inside a compressed message", at);
    std::string_view inner;
    if (absl::Status s = dec.Run(codec, value.value_or(std::string_view()), &inner); !s.ok()) {
      return WithPosition(s, "message", at);
    }
    dec.nested = true;
    absl::Status s = DecodeAll(inner, dec, out);
    dec.nested = false;
    return s.ok() ? s : WithPosition(s, "compressed message", at);
  }
  broker::RecordFields& rec = out->emplace_back();
  if (key) {
    rec.key = *key;
    rec.has_key = true;
  }
  if (value) {
    rec.value = *value;
    rec.has_value = true;
  }
  rec.timestamp_ms = NormalizeTimestamp(timestamp);
  return absl::OkStatus();
}

absl::Status DecodeAll(std::string_view data, Decompression& dec,
                       std::vector<broker::RecordFields>* out) {
  size_t at = 0;
  while (at < data.size()) {
    Reader r(data.substr(at));
    r.Int64();  // baseOffset or offset
    const int32_t size = r.Int32();
    if (!r.ok()) return Corrupt("truncated record batch or message header", at);
    if (size < 0 || static_cast<size_t>(size) > r.remaining()) {
      return Corrupt(absl::StrCat("record batch or message of ", size, " bytes but only ",
                                  r.remaining(), " bytes left (partial trailing message)"),
                     at);
    }
    const std::string_view entry = data.substr(at, kLogOverhead + static_cast<size_t>(size));
    // magic sits at byte 16 in both formats: after partitionLeaderEpoch (v2) or crc (v0/v1).
    if (entry.size() <= 16) return Corrupt("record batch or message too short for its magic", at);
    const int8_t magic = static_cast<int8_t>(entry[16]);
    absl::Status s;
    if (magic == 2) {
      if (dec.nested) return Corrupt("record batch inside a compressed message", at);
      if (size < kBatchHeaderAfterLength) return Corrupt("record batch header is truncated", at);
      s = DecodeBatchV2(entry, at, dec, out);
    } else if (magic == 0 || magic == 1) {
      if (size < kMessageV0MinSize + (magic == 1 ? 8 : 0)) {
        return Corrupt("message is too short for its fields", at);
      }
      s = DecodeMessage(entry, at, dec, out);
    } else {
      return Corrupt(absl::StrCat("unknown record format magic ", magic), at);
    }
    if (!s.ok()) return s;
    at += entry.size();
  }
  return absl::OkStatus();
}

using broker::VarintSize;
size_t ZigzagSize(int64_t v) {
  return VarintSize((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

// Null (length -1) and empty (length 0) stay apart, as stored (RecordFields presence).
bool KeyIsNull(const broker::RecordFields& r) { return !r.key_present(); }
bool ValueIsNull(const broker::RecordFields& r) { return !r.value_present(); }

// The bytes of one v2 record after its length prefix.
size_t RecordBodySize(const broker::RecordFields& r, int64_t timestamp_delta,
                      int32_t offset_delta) {
  size_t n = 1 + ZigzagSize(timestamp_delta) + ZigzagSize(offset_delta);
  n += KeyIsNull(r) ? 1 : ZigzagSize(static_cast<int64_t>(r.key.size())) + r.key.size();
  n += ValueIsNull(r) ? 1 : ZigzagSize(static_cast<int64_t>(r.value.size())) + r.value.size();
  n += ZigzagSize(static_cast<int64_t>(r.headers.size()));
  for (const auto& [key, value] : r.headers) {
    n += ZigzagSize(static_cast<int64_t>(key.size())) + key.size();
    n += ZigzagSize(static_cast<int64_t>(value.size())) + value.size();
  }
  return n;
}

}  // namespace

absl::Status DecodeProduceRecords(std::string_view data, const ProduceDecodeOptions& options,
                                  DecompressedBuffers* buffers,
                                  std::vector<broker::RecordFields>* out) {
  const size_t before = out->size();
  Decompression dec{&options, buffers};
  absl::Status s = DecodeAll(data, dec, out);
  // All or nothing: a Produce with one bad batch appends none of it.
  if (!s.ok()) out->resize(before);
  return s;
}

bool IsCompressionRefused(const absl::Status& s) {
  return s.GetPayload(kRefusedCodecPayload).has_value();
}

absl::Status DecodeProduceRecords(std::string_view data, std::vector<broker::RecordFields>* out) {
  const size_t before = out->size();
  const ProduceDecodeOptions options;
  Decompression dec{&options, nullptr};
  absl::Status s = DecodeAll(data, dec, out);
  // All or nothing: a Produce with one bad batch appends none of it.
  if (!s.ok()) out->resize(before);
  return s;
}

void EncodeRecordBatch(const std::vector<FetchedRecord>& records, std::string* out) {
  // A batch with no records has no base offset; Fetch simply has nothing to send.
  if (records.empty()) return;
  EncodeCompactedRecordBatch(records.front().offset, records.back().offset, records, out);
}

void EncodeCompactedRecordBatch(int64_t base_offset, int64_t last_offset,
                                const std::vector<FetchedRecord>& records, std::string* out) {
  // An empty batch (all its records compacted away) has no timestamps: -1, as Kafka's.
  const int64_t base_timestamp = records.empty() ? -1 : records.front().fields.timestamp_ms;
  int64_t max_timestamp = base_timestamp;
  size_t estimate = kLogOverhead + kBatchHeaderAfterLength;
  for (const FetchedRecord& fr : records) {
    const broker::RecordFields& r = fr.fields;
    max_timestamp = std::max(max_timestamp, r.timestamp_ms);
    estimate += 32 + r.key.size() + r.value.size();
    for (const auto& [key, value] : r.headers) estimate += 10 + key.size() + value.size();
  }
  out->reserve(out->size() + estimate);

  Writer w(out);
  const size_t start = w.size();
  w.Int64(base_offset);
  const size_t length_at = w.ReserveInt32();
  w.Int32(0);  // partitionLeaderEpoch
  w.Int8(2);   // magic
  const size_t crc_at = w.ReserveInt32();
  w.Int16(0);  // attributes: no compression, CreateTime, not transactional, not control.
  w.Int32(static_cast<int32_t>(last_offset - base_offset));
  w.Int64(base_timestamp);
  w.Int64(max_timestamp);
  w.Int64(-1);  // producerId
  w.Int16(-1);  // producerEpoch
  w.Int32(-1);  // baseSequence
  w.Int32(static_cast<int32_t>(records.size()));
  for (const FetchedRecord& fr : records) {
    const broker::RecordFields& r = fr.fields;
    // Wrapping subtraction: the decoder adds it back the same way, for any pair of timestamps.
    const int64_t timestamp_delta = static_cast<int64_t>(static_cast<uint64_t>(r.timestamp_ms) -
                                                         static_cast<uint64_t>(base_timestamp));
    const int32_t offset_delta = static_cast<int32_t>(fr.offset - base_offset);
    w.Varint(static_cast<int32_t>(RecordBodySize(r, timestamp_delta, offset_delta)));
    w.Int8(0);  // attributes
    w.Varlong(timestamp_delta);
    w.Varint(offset_delta);
    if (KeyIsNull(r)) {
      w.Varint(-1);
    } else {
      w.Varint(static_cast<int32_t>(r.key.size()));
      w.Raw(r.key);
    }
    if (ValueIsNull(r)) {
      w.Varint(-1);
    } else {
      w.Varint(static_cast<int32_t>(r.value.size()));
      w.Raw(r.value);
    }
    w.Varint(static_cast<int32_t>(r.headers.size()));
    for (const auto& [key, value] : r.headers) {
      w.Varint(static_cast<int32_t>(key.size()));
      w.Raw(key);
      w.Varint(static_cast<int32_t>(value.size()));
      w.Raw(value);
    }
  }
  w.PatchInt32(length_at, static_cast<int32_t>(w.size() - start - kLogOverhead));
  const std::string_view covered = std::string_view(*out).substr(start + kBatchCrcStart);
  w.PatchInt32(crc_at, static_cast<int32_t>(Crc32c(covered)));
}

void EncodeMessageSet(int8_t magic, const std::vector<FetchedRecord>& records, std::string* out) {
  const size_t fixed = kLogOverhead + kMessageV0MinSize + (magic == 1 ? 8 : 0);
  size_t estimate = 0;
  for (const FetchedRecord& r : records) {
    estimate += fixed + r.fields.key.size() + r.fields.value.size();
  }
  out->reserve(out->size() + estimate);

  Writer w(out);
  for (const FetchedRecord& fr : records) {
    const broker::RecordFields& r = fr.fields;
    w.Int64(fr.offset);
    const size_t size_at = w.ReserveInt32();
    const size_t crc_at = w.ReserveInt32();
    w.Int8(magic);
    w.Int8(0);  // attributes: no compression, CreateTime.
    if (magic == 1) w.Int64(r.timestamp_ms);
    if (KeyIsNull(r)) {
      w.NullBytes();
    } else {
      w.BytesField(r.key);
    }
    if (ValueIsNull(r)) {
      w.NullBytes();
    } else {
      w.BytesField(r.value);
    }
    w.PatchInt32(size_at, static_cast<int32_t>(w.size() - size_at - 4));
    const std::string_view covered = std::string_view(*out).substr(crc_at + 4);
    w.PatchInt32(crc_at, static_cast<int32_t>(Crc32(covered)));
  }
}

}  // namespace ferry::kafka
