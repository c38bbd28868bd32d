// Kafka wire primitives: big-endian integers, (unsigned/zigzag) varints, strings, bytes and
// arrays, as the Kafka protocol guide defines them. A Reader never reads past its buffer: a
// short or malformed input sets a sticky error that the caller checks once at the end.
// A flexible Reader or Writer (the "flexible versions" of an API, KIP-482) reads and writes
// strings, bytes and arrays in their compact forms (unsigned varint length + 1, 0 for null),
// and TaggedFields() reads or writes a tagged-field section; not flexible, TaggedFields() is a
// no-op. So one codec serves both forms: it calls TaggedFields() at the end of every struct.
// Not thread-safe; cheap to copy.
#ifndef FERRY_SERVER_KAFKA_WIRE_H_
#define FERRY_SERVER_KAFKA_WIRE_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::kafka {

class Reader {
 public:
  Reader() = default;
  explicit Reader(std::string_view data, bool flexible = false)
      : data_(data), flexible_(flexible) {}

  bool flexible() const { return flexible_; }
  void set_flexible(bool flexible) { flexible_ = flexible; }
  bool ok() const { return ok_; }
  // Why the first failure happened (empty while ok()).
  const char* error() const { return error_; }
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  std::string_view rest() const { return data_.substr(pos_); }
  // Marks the input malformed (for checks the caller makes, e.g. a negative count).
  void Fail(const char* why) {
    if (ok_) error_ = why;
    ok_ = false;
    pos_ = data_.size();
  }

  int8_t Int8() { return static_cast<int8_t>(Fixed<uint8_t>()); }
  int16_t Int16() { return static_cast<int16_t>(Fixed<uint16_t>()); }
  int32_t Int32() { return static_cast<int32_t>(Fixed<uint32_t>()); }
  int64_t Int64() { return static_cast<int64_t>(Fixed<uint64_t>()); }
  uint32_t Uint32() { return Fixed<uint32_t>(); }
  bool Bool() { return Int8() != 0; }

  // Unsigned LEB128 (at most 5 bytes for 32 bits, 10 for 64).
  uint64_t UnsignedVarint64() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) {
        Fail("truncated varint");
        return 0;
      }
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    Fail("varint longer than 10 bytes");
    return 0;
  }
  uint32_t UnsignedVarint() {
    const uint64_t v = UnsignedVarint64();
    if (v > UINT32_MAX) Fail("varint over 32 bits");
    return static_cast<uint32_t>(v);
  }
  // Zigzag-encoded signed varints (record fields).
  int32_t Varint() {
    const uint32_t v = UnsignedVarint();
    return static_cast<int32_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  int64_t Varlong() {
    const uint64_t v = UnsignedVarint64();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }

  // Raw bytes; a view into the input.
  std::string_view Bytes(size_t n) {
    if (n > remaining()) {
      Fail("field longer than the data left");
      return {};
    }
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  // STRING: int16 length + bytes. NULLABLE_STRING: length -1 is null. Flexible: the compact
  // forms (a null where a STRING is due fails).
  std::string_view String() {
    if (flexible_) {
      auto s = CompactNullable("null where a string is due");
      return s ? *s : std::string_view();
    }
    const int16_t n = Int16();
    if (n < 0) {
      Fail("negative string length");
      return {};
    }
    return Bytes(static_cast<size_t>(n));
  }
  std::optional<std::string_view> NullableString() {
    if (flexible_) return CompactNullable(nullptr);
    const int16_t n = Int16();
    if (n == -1) return std::nullopt;
    if (n < 0) {
      Fail("negative string length");
      return std::nullopt;
    }
    return Bytes(static_cast<size_t>(n));
  }
  // BYTES: int32 length + bytes. NULLABLE_BYTES: length -1 is null.
  std::optional<std::string_view> NullableBytes() {
    if (flexible_) return CompactNullable(nullptr);
    const int32_t n = Int32();
    if (n == -1) return std::nullopt;
    if (n < 0) {
      Fail("negative bytes length");
      return std::nullopt;
    }
    return Bytes(static_cast<size_t>(n));
  }
  std::string_view BytesField() {
    auto b = NullableBytes();
    return b ? *b : std::string_view();
  }
  // ARRAY: int32 count; -1 is null (returned as 0). Fails when the count cannot fit in the
  // bytes left at `min_element_bytes` each, so a forged count never drives a huge allocation.
  int32_t ArrayCount(size_t min_element_bytes = 1) {
    const int32_t n = NullableArrayCount(min_element_bytes);
    return n < 0 ? 0 : n;
  }
  // As ArrayCount, but a null array is -1.
  int32_t NullableArrayCount(size_t min_element_bytes = 1) {
    int32_t n = 0;
    if (flexible_) {
      const uint32_t c = UnsignedVarint();
      if (!ok_) return 0;
      if (c > static_cast<uint32_t>(INT32_MAX)) {
        Fail("array length over 31 bits");
        return 0;
      }
      n = static_cast<int32_t>(c) - 1;
    } else {
      n = Int32();
    }
    if (n == -1) return -1;
    if (n < 0) {
      Fail("negative array length");
      return 0;
    }
    if (min_element_bytes > 0 && static_cast<size_t>(n) > remaining() / min_element_bytes) {
      Fail("array longer than the data left");
      return 0;
    }
    return n;
  }

  // A tagged-field section (flexible only; a no-op otherwise). `on_field(tag, data)` sees each
  // field; without it every field is skipped (Ferry knows no tags unless a codec says so).
  // Tags must increase, as the protocol requires.
  template <typename OnField>
  void TaggedFields(OnField on_field) {
    if (!flexible_) return;
    const uint32_t n = UnsignedVarint();
    if (n > remaining()) {
      Fail("more tagged fields than bytes left");
      return;
    }
    int64_t last = -1;
    for (uint32_t i = 0; i < n && ok_; ++i) {
      const uint32_t tag = UnsignedVarint();
      const uint32_t size = UnsignedVarint();
      if (!ok_) return;
      if (static_cast<int64_t>(tag) <= last) {
        Fail("tagged fields out of order");
        return;
      }
      last = tag;
      std::string_view data = Bytes(size);
      if (ok_) on_field(tag, data);
    }
  }
  void TaggedFields() {
    TaggedFields([](uint32_t, std::string_view) {});
  }

 private:
  // A compact string or bytes field: unsigned varint length + 1, 0 for null. A null fails
  // with `null_error` when it is given (the field is not nullable).
  std::optional<std::string_view> CompactNullable(const char* null_error) {
    const uint32_t c = UnsignedVarint();
    if (!ok_) return std::nullopt;
    if (c == 0) {
      if (null_error != nullptr) Fail(null_error);
      return std::nullopt;
    }
    return Bytes(c - 1);
  }

  template <typename T>
  T Fixed() {
    if (sizeof(T) > remaining()) {
      Fail("truncated field");
      return 0;
    }
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      v = static_cast<T>((v << 8) | static_cast<uint8_t>(data_[pos_ + i]));
    }
    pos_ += sizeof(T);
    return v;
  }

  std::string_view data_;
  size_t pos_ = 0;
  bool flexible_ = false;
  bool ok_ = true;
  const char* error_ = "";
};

// Appends to a string. Patch* overwrite earlier fixed-width fields (sizes, CRCs).
class Writer {
 public:
  explicit Writer(std::string* out, bool flexible = false) : out_(out), flexible_(flexible) {}

  bool flexible() const { return flexible_; }
  void set_flexible(bool flexible) { flexible_ = flexible; }
  size_t size() const { return out_->size(); }
  std::string* buffer() { return out_; }

  void Int8(int8_t v) { out_->push_back(static_cast<char>(v)); }
  void Int16(int16_t v) { Fixed(static_cast<uint16_t>(v)); }
  void Int32(int32_t v) { Fixed(static_cast<uint32_t>(v)); }
  void Int64(int64_t v) { Fixed(static_cast<uint64_t>(v)); }
  void Uint32(uint32_t v) { Fixed(v); }
  void Bool(bool v) { Int8(v ? 1 : 0); }

  void UnsignedVarint(uint64_t v) {
    while (v >= 0x80) {
      out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_->push_back(static_cast<char>(v));
  }
  void Varint(int32_t v) {
    UnsignedVarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
  }
  void Varlong(int64_t v) {
    UnsignedVarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }

  void Raw(std::string_view bytes) { out_->append(bytes.data(), bytes.size()); }
  void String(std::string_view s) {
    if (flexible_) {
      UnsignedVarint(s.size() + 1);
    } else {
      Int16(static_cast<int16_t>(s.size()));
    }
    Raw(s);
  }
  void NullableString(const std::optional<std::string_view>& s) {
    if (!s) {
      if (flexible_) {
        UnsignedVarint(0);
      } else {
        Int16(-1);
      }
      return;
    }
    String(*s);
  }
  void BytesField(std::string_view b) {
    BytesLength(b.size());
    Raw(b);
  }
  // The length prefix of a BYTES field whose `n` bytes the caller appends next.
  void BytesLength(size_t n) {
    if (flexible_) {
      UnsignedVarint(n + 1);
    } else {
      Int32(static_cast<int32_t>(n));
    }
  }
  void NullBytes() {
    if (flexible_) {
      UnsignedVarint(0);
    } else {
      Int32(-1);
    }
  }
  void NullableBytes(const std::optional<std::string_view>& b) {
    if (b) {
      BytesField(*b);
    } else {
      NullBytes();
    }
  }
  void ArrayCount(int32_t n) {
    if (flexible_) {
      UnsignedVarint(static_cast<uint64_t>(n) + 1);
    } else {
      Int32(n);
    }
  }
  void NullArray() {
    if (flexible_) {
      UnsignedVarint(0);
    } else {
      Int32(-1);
    }
  }
  // An empty tagged-field section (flexible only; a no-op otherwise).
  void TaggedFields() {
    if (flexible_) UnsignedVarint(0);
  }

  // Reserves an int32 to fill in later (a size or a CRC); returns its position.
  size_t ReserveInt32() {
    const size_t at = out_->size();
    Int32(0);
    return at;
  }
  void PatchInt32(size_t at, int32_t v) {
    const uint32_t u = static_cast<uint32_t>(v);
    for (int i = 0; i < 4; ++i) (*out_)[at + i] = static_cast<char>(u >> (24 - 8 * i));
  }

 private:
  template <typename T>
  void Fixed(T v) {
    char buf[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i) {
      buf[i] = static_cast<char>(v >> (8 * (sizeof(T) - 1 - i)));
    }
    out_->append(buf, sizeof(T));
  }

  std::string* out_;
  bool flexible_ = false;
};

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_WIRE_H_
