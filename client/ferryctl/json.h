// A small JSON text builder for ferryctl's --format json: strings escaped per RFC 8259, bytes
// that are not UTF-8 written as base64 with a "<name>_encoding" marker. Thread-compatible.
#ifndef FERRY_CLIENT_FERRYCTL_JSON_H_
#define FERRY_CLIENT_FERRYCTL_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::ctl {

// Whether `bytes` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

// Appends values in document order; the caller nests Begin/End pairs and puts a Key before
// each value inside an object. Commas are inserted as needed.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  // Ill-formed UTF-8 bytes come out as U+FFFD, so the text stays valid JSON.
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // `"name": value` when `value` is UTF-8, else `"name": base64(value), "name_encoding":
  // "base64"`; `"name": null` when `!present`.
  JsonWriter& Bytes(std::string_view name, std::string_view value, bool present = true);

  const std::string& str() const { return out_; }

 private:
  void BeforeValue();

  std::string out_;
  std::vector<bool> empty_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace ferry::ctl

#endif  // FERRY_CLIENT_FERRYCTL_JSON_H_
