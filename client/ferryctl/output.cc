#include "client/ferryctl/output.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/ferryctl/errors.h"

namespace ferry::ctl {

Table::Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

void Table::AddRow(std::vector<std::string> row) {
  for (std::string& cell : row) {
    if (cell.empty()) cell.push_back('-');  // not `= "-"`: GCC 12 -Wrestrict false positive
  }
  rows_.push_back(std::move(row));
}

std::string Table::Render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

absl::StatusOr<RecordFormat> RecordFormat::Parse(const std::string& format) {
  RecordFormat parsed;
  std::string text;
  auto flush_text = [&] {
    if (!text.empty()) parsed.pieces_.push_back({0, std::move(text)});
    text.clear();
  };
  for (size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c == '\\' && i + 1 < format.size()) {
      const char e = format[++i];
      switch (e) {
        case 'n':
          text += '\n';
          break;
        case 't':
          text += '\t';
          break;
        case 'r':
          text += '\r';
          break;
        case '\\':
          text += '\\';
          break;
        default:
          return UsageError(absl::StrCat("unknown escape \\", std::string(1, e),
                                         " in --format (known: \\n \\t \\r \\\\)"));
      }
      continue;
    }
    if (c != '%') {
      text += c;
      continue;
    }
    if (i + 1 >= format.size()) return UsageError("--format ends with a lone %");
    const char f = format[++i];
    if (f == '%') {
      text += '%';
      continue;
    }
    if (std::string("tpokvThKS").find(f) == std::string::npos) {
      return UsageError(absl::StrCat("unknown field %", std::string(1, f),
                                     " in --format (known: %t %p %o %k %v %T %h %K %S %%)"));
    }
    flush_text();
    parsed.pieces_.push_back({f, ""});
  }
  flush_text();
  return parsed;
}

std::string RecordFormat::Render(const ConsumerRecord& record) const {
  std::string out;
  for (const Piece& piece : pieces_) {
    switch (piece.field) {
      case 0:
        out += piece.text;
        break;
      case 't':
        out += record.topic;
        break;
      case 'p':
        absl::StrAppend(&out, record.partition);
        break;
      case 'o':
        absl::StrAppend(&out, record.offset);
        break;
      case 'k':
        out += record.has_key ? record.key : null_text_;
        break;
      case 'v':
        out += record.has_value ? record.value : null_text_;
        break;
      case 'T':
        absl::StrAppend(&out, record.timestamp_ms);
        break;
      case 'K':
        absl::StrAppend(&out, record.has_key ? static_cast<int64_t>(record.key.size()) : -1);
        break;
      case 'S':
        absl::StrAppend(&out, record.has_value ? static_cast<int64_t>(record.value.size()) : -1);
        break;
      case 'h':
        for (size_t i = 0; i < record.headers.size(); ++i) {
          if (i > 0) out += ',';
          absl::StrAppend(&out, record.headers[i].first, "=", record.headers[i].second);
        }
        break;
    }
  }
  return out;
}

}  // namespace ferry::ctl
