// What ferryctl prints: aligned tables for admin commands, and records rendered by a
// kcat-style format string for `consume`. Thread-compatible.
#ifndef FERRY_CLIENT_FERRYCTL_OUTPUT_H_
#define FERRY_CLIENT_FERRYCTL_OUTPUT_H_

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ferry/consumer.h"

namespace ferry::ctl {

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
// \n, \t, \r and \\ escapes. As kcat: %K and %S are -1 for a null key / value, and %k / %v
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
