// What ferryctl prints: aligned tables for admin commands, records rendered by a kcat-style
// format string or as JSON for `consume`; and the escapes and durations it reads in flags.
// Thread-compatible.
#ifndef FERRY_CLIENT_FERRYCTL_OUTPUT_H_
#define FERRY_CLIENT_FERRYCTL_OUTPUT_H_

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ferry/consumer.h"

namespace ferry::ctl {

// `text` with the escapes \n \t \r \0 \\ and \xHH replaced by the bytes they name; `flag`
// ("-K") names the flag in the usage error for an unknown escape.
absl::StatusOr<std::string> Unescape(const std::string& text, const std::string& flag);

// A duration flag: "1" or "1.5" (seconds), or with a unit as absl::ParseDuration takes it
// ("500ms", "2m", "1h30m"). Must be positive.
absl::StatusOr<absl::Duration> ParseDurationFlag(const std::string& text, const std::string& flag);

// One JSON object (no newline) for `record`: topic, partition, offset, timestamp (ms), key,
// value (null when absent; base64 with key_encoding / value_encoding "base64" when not UTF-8)
// and headers, an array of {"key", "value"} objects in record order.
std::string RecordJson(const ConsumerRecord& record);

// Rows of whitespace-free cells printed in aligned columns separated by two spaces, so
// `awk '{print $6}'` finds a column. Empty cells print as "-".
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// A parsed kcat-style format: %t topic, %p partition, %o offset, %k key, %v value,
// %T timestamp (ms), %h headers (k=v,k=v), %K key length, %S value length, %% a percent sign;
// the escapes of Unescape(). As kcat: %K and %S are -1 for a null key / value, and %k / %v
// print a null one as nothing, or as `null_text` when set (kcat -Z: "NULL").
class RecordFormat {
 public:
  static absl::StatusOr<RecordFormat> Parse(const std::string& format);
  std::string Render(const ConsumerRecord& record) const;
  void set_null_text(std::string text) { null_text_ = std::move(text); }

 private:
  struct Piece {
    char field = 0;  // 0: `text`
    std::string text;
  };
  std::vector<Piece> pieces_;
  std::string null_text_;
};

}  // namespace ferry::ctl

#endif  // FERRY_CLIENT_FERRYCTL_OUTPUT_H_
