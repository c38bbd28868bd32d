#include "server/broker/record_codec.h"

namespace ferry::broker {
namespace {

// Field 3, wire type 2 (length-delimited).
constexpr uint8_t kRecordTag = (3 << 3) | 2;

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
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

}  // namespace

void AppendRecord(const v1::Record& record, std::string* payload) {
  const size_t size = record.ByteSizeLong();
  payload->push_back(static_cast<char>(kRecordTag));
  AppendVarint(size, payload);
  const size_t at = payload->size();
  payload->resize(at + size);
  record.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(payload->data() + at));
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

size_t RecordUserBytes(const v1::Record& record) {
  size_t n = record.key().size() + record.value().size();
  for (const auto& h : record.headers()) n += h.key().size() + h.value().size();
  return n;
}

}  // namespace ferry::broker
