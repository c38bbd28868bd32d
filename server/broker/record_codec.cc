#include "server/broker/record_codec.h"

#include "absl/strings/str_cat.h"

namespace ferry::broker {
namespace {

// Field 3, wire type 2 (length-delimited).
constexpr uint8_t kRecordTag = (3 << 3) | 2;
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

// Strict UTF-8, as protobuf checks proto3 `string` fields on parse.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const uint8_t cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

bool ReadVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

// One field of a message: its number, wire type, and value (varint) or bytes.
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t varint = 0;
  std::string_view bytes;
};

// Reads the next field of `in`; false at the end or, with `*bad` set, on malformed input.
bool NextField(std::string_view* in, Field* f, bool* bad) {
  if (in->empty()) return false;
  uint64_t tag;
  if (!ReadVarint(in, &tag) || tag > UINT32_MAX || (tag >> 3) == 0) {
    *bad = true;
    return false;
  }
  f->number = static_cast<uint32_t>(tag >> 3);
  f->wire_type = static_cast<uint32_t>(tag & 7);
  switch (f->wire_type) {
    case kVarint:
      if (!ReadVarint(in, &f->varint)) break;
      return true;
    case kFixed64:
    case kFixed32: {
      const size_t n = f->wire_type == kFixed64 ? 8 : 4;
      if (in->size() < n) break;
      f->bytes = in->substr(0, n);
      in->remove_prefix(n);
      return true;
    }
    case kLengthDelimited: {
      uint64_t len;
      if (!ReadVarint(in, &len) || len > in->size()) break;
      f->bytes = in->substr(0, len);
      in->remove_prefix(len);
      return true;
    }
    default:
      break;  // groups (3, 4) are not used by the API
  }
  *bad = true;
  return false;
}

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed ", std::string(what)));
}

}  // namespace

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void AppendTag(uint32_t field, uint32_t wire_type, std::string* out) {
  AppendVarint((static_cast<uint64_t>(field) << 3) | wire_type, out);
}

absl::Status ParseRecordView(std::string_view encoded, RecordView* out) {
  *out = RecordView();
  out->encoded = encoded;
  std::string_view in = encoded;
  size_t value_bytes = 0, header_bytes = 0;
  Field f;
  bool bad = false;
  while (NextField(&in, &f, &bad)) {
    switch (f.number) {
      case 1:  // key
        if (f.wire_type != kLengthDelimited) return Malformed("record: key is not bytes");
        out->key = f.bytes;
        out->has_key = true;
        break;
      case 2:  // value
        if (f.wire_type != kLengthDelimited) return Malformed("record: value is not bytes");
        value_bytes = f.bytes.size();
        out->has_value = true;
        break;
      case 3: {  // a header: key (string), value (bytes)
        if (f.wire_type != kLengthDelimited) return Malformed("record: header is not a message");
        std::string_view h = f.bytes, hkey, hvalue;
        Field hf;
        while (NextField(&h, &hf, &bad)) {
          if (hf.number == 1 && hf.wire_type == kLengthDelimited) hkey = hf.bytes;
          if (hf.number == 2 && hf.wire_type == kLengthDelimited) hvalue = hf.bytes;
        }
        if (bad) return Malformed("record header");
        if (!IsUtf8(hkey)) {
          return absl::InvalidArgumentError("a record header key is not valid UTF-8");
        }
        header_bytes += hkey.size() + hvalue.size();
        break;
      }
      case 4:  // timestamp_ms
        if (f.wire_type != kVarint) return Malformed("record: timestamp_ms is not a varint");
        out->timestamp_ms = static_cast<int64_t>(f.varint);
        break;
      case 5:  // offset: output only
        out->has_offset = true;
        break;
      default:
        break;  // unknown fields are kept, as protobuf keeps them
    }
  }
  if (bad) return Malformed("record");
  out->user_bytes = out->key.size() + value_bytes + header_bytes;
  return absl::OkStatus();
}

absl::Status ParsePublishRequest(std::string_view encoded, PublishBatch* out, uint64_t* sequence) {
  out->topic = {};
  out->partition.reset();
  *sequence = 0;
  out->records.clear();
  std::string_view in = encoded;
  Field f;
  bool bad = false;
  while (NextField(&in, &f, &bad)) {
    switch (f.number) {
      case 1:
        if (f.wire_type != kLengthDelimited) return Malformed("publish request: topic");
        out->topic = f.bytes;
        break;
      case 2:
        if (f.wire_type != kVarint) return Malformed("publish request: partition");
        out->partition = static_cast<int32_t>(f.varint);
        break;
      case 3: {
        if (f.wire_type != kLengthDelimited) return Malformed("publish request: record");
        RecordView& r = out->records.emplace_back();
        absl::Status s = ParseRecordView(f.bytes, &r);
        if (!s.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("record ", out->records.size() - 1, ": ", s.message()));
        }
        break;
      }
      case 4:
        if (f.wire_type != kVarint) return Malformed("publish request: sequence");
        *sequence = f.varint;
        break;
      default:
        break;
    }
  }
  if (bad) return Malformed("publish request");
  if (!IsUtf8(out->topic)) return absl::InvalidArgumentError("topic name is not valid UTF-8");
  return absl::OkStatus();
}

void AppendRecordView(const RecordView& record, int64_t now_ms, std::string* payload) {
  const bool stamp = record.timestamp_ms == 0;
  const size_t stamp_bytes = stamp ? 1 + VarintSize(static_cast<uint64_t>(now_ms)) : 0;
  if (!record.has_offset) {
    payload->push_back(static_cast<char>(kRecordTag));
    AppendVarint(record.encoded.size() + stamp_bytes, payload);
    payload->append(record.encoded.data(), record.encoded.size());
  } else {
    // Rare: a client set the output-only offset. Copy every field but that one.
    std::string body;
    std::string_view in = record.encoded;
    Field f;
    bool bad = false;
    while (true) {
      const char* start = in.data();
      if (!NextField(&in, &f, &bad)) break;
      if (f.number != 5) body.append(start, static_cast<size_t>(in.data() - start));
    }
    payload->push_back(static_cast<char>(kRecordTag));
    AppendVarint(body.size() + stamp_bytes, payload);
    payload->append(body);
  }
  if (stamp) {
    payload->push_back(static_cast<char>((4 << 3) | kVarint));
    AppendVarint(static_cast<uint64_t>(now_ms), payload);
  }
}

void AppendRecordWithOffset(std::string_view encoded, int64_t offset, std::string* out) {
  const uint64_t off = static_cast<uint64_t>(offset);
  out->push_back(static_cast<char>(kRecordTag));
  AppendVarint(encoded.size() + 1 + VarintSize(off), out);
  out->append(encoded.data(), encoded.size());
  out->push_back(static_cast<char>((5 << 3) | kVarint));
  AppendVarint(off, out);
}

void EncodeRecord(const RecordFields& record, std::string* out) {
  const auto bytes_field = [out](uint32_t field, std::string_view v) {
    AppendTag(field, kLengthDelimited, out);
    AppendVarint(v.size(), out);
    out->append(v.data(), v.size());
  };
  // Presence is the null/empty distinction: absent is null, zero-length is empty.
  if (record.key_present()) bytes_field(1, record.key);
  if (record.value_present()) bytes_field(2, record.value);
  for (const auto& [key, value] : record.headers) {
    const size_t size = (key.empty() ? 0 : 1 + VarintSize(key.size()) + key.size()) +
                        (value.empty() ? 0 : 1 + VarintSize(value.size()) + value.size());
    AppendTag(3, kLengthDelimited, out);
    AppendVarint(size, out);
    if (!key.empty()) bytes_field(1, key);
    if (!value.empty()) bytes_field(2, value);
  }
  if (record.timestamp_ms != 0) {
    AppendTag(4, kVarint, out);
    AppendVarint(static_cast<uint64_t>(record.timestamp_ms), out);
  }
}

absl::Status EncodeBatch(const std::vector<RecordFields>& records, std::string* storage,
                         PublishBatch* out) {
  size_t begin = storage->size();
  std::vector<size_t> ends;
  ends.reserve(records.size());
  for (const RecordFields& r : records) {
    EncodeRecord(r, storage);
    ends.push_back(storage->size());
  }
  // Views only once `storage` stops growing.
  out->records.resize(records.size());
  for (size_t i = 0; i < ends.size(); ++i) {
    absl::Status s = ParseRecordView(std::string_view(*storage).substr(begin, ends[i] - begin),
                                     &out->records[i]);
    if (!s.ok()) return s;
    begin = ends[i];
  }
  return absl::OkStatus();
}

absl::Status DecodeRecord(std::string_view encoded, RecordFields* out) {
  *out = RecordFields();
  std::string_view in = encoded;
  Field f;
  bool bad = false;
  while (NextField(&in, &f, &bad)) {
    if (f.number == 1 && f.wire_type == kLengthDelimited) {
      out->key = f.bytes;
      out->has_key = true;
    } else if (f.number == 2 && f.wire_type == kLengthDelimited) {
      out->value = f.bytes;
      out->has_value = true;
    } else if (f.number == 3 && f.wire_type == kLengthDelimited) {
      std::string_view h = f.bytes, hkey, hvalue;
      Field hf;
      while (NextField(&h, &hf, &bad)) {
        if (hf.number == 1 && hf.wire_type == kLengthDelimited) hkey = hf.bytes;
        if (hf.number == 2 && hf.wire_type == kLengthDelimited) hvalue = hf.bytes;
      }
      out->headers.emplace_back(hkey, hvalue);
    } else if (f.number == 4 && f.wire_type == kVarint) {
      out->timestamp_ms = static_cast<int64_t>(f.varint);
    }
  }
  if (bad) return absl::DataLossError("a stored record cannot be decoded");
  return absl::OkStatus();
}

bool RecordReader::Next(std::string_view* record) {
  if (rest_.empty() || !status_.ok()) return false;
  uint64_t len;
  if (static_cast<uint8_t>(rest_.front()) != kRecordTag) {
    status_ = absl::DataLossError("stored batch: unexpected field tag");
    return false;
  }
  rest_.remove_prefix(1);
  if (!ReadVarint(&rest_, &len) || len > rest_.size()) {
    status_ = absl::DataLossError("stored batch: truncated record");
    return false;
  }
  *record = rest_.substr(0, len);
  rest_.remove_prefix(len);
  return true;
}

}  // namespace ferry::broker
