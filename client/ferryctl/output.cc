#include "client/ferryctl/output.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/ferryctl/errors.h"
#include "client/ferryctl/json.h"

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

namespace {

// Appends the byte the escape at text[*i] ('\\') names and moves *i to the escape's last char.
absl::Status AppendEscape(const std::string& text, size_t* i, std::string* out,
                          const std::string& flag) {
  if (*i + 1 >= text.size()) {
    return UsageError(absl::StrCat(flag, " ends with a lone \\ (write \\\\ for a backslash)"));
  }
  const char e = text[++*i];
  switch (e) {
    case 'n':
      *out += '\n';
      return absl::OkStatus();
    case 't':
      *out += '\t';
      return absl::OkStatus();
    case 'r':
      *out += '\r';
      return absl::OkStatus();
    case '0':
      *out += '\0';
      return absl::OkStatus();
    case '\\':
      *out += '\\';
      return absl::OkStatus();
    case 'x': {
      int value = 0;
      if (*i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[*i + 1])) &&
          std::isxdigit(static_cast<unsigned char>(text[*i + 2]))) {
        value = std::stoi(text.substr(*i + 1, 2), nullptr, 16);
        *out += static_cast<char>(value);
        *i += 2;
        return absl::OkStatus();
      }
      return UsageError(absl::StrCat("\\x in ", flag, " wants two hex digits, as in \\x1f"));
    }
    default:
      return UsageError(absl::StrCat("unknown escape \\", std::string(1, e), " in ", flag,
                                     " (known: \\n \\t \\r \\0 \\\\ \\xHH)"));
  }
}

}  // namespace

absl::StatusOr<std::string> Unescape(const std::string& text, const std::string& flag) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    absl::Status s = AppendEscape(text, &i, &out, flag);
    if (!s.ok()) return s;
  }
  return out;
}

absl::StatusOr<absl::Duration> ParseDurationFlag(const std::string& text, const std::string& flag) {
  absl::Duration d;
  double seconds = 0;
  bool ok = false;
  if (absl::SimpleAtod(text, &seconds) && !text.empty() &&
      text.find_first_not_of("0123456789.") == std::string::npos) {
    d = absl::Seconds(seconds);
    ok = true;
  } else {
    ok = absl::ParseDuration(text, &d);
  }
  if (!ok || d <= absl::ZeroDuration()) {
    return UsageError(absl::StrCat(flag,
                                   " wants a positive duration: seconds, or with a unit "
                                   "like 500ms, 10s or 2m; got '",
                                   text, "'"));
  }
  return d;
}

std::string RecordJson(const ConsumerRecord& record) {
  JsonWriter json;
  json.BeginObject()
      .Key("topic")
      .String(record.topic)
      .Key("partition")
      .Int(record.partition)
      .Key("offset")
      .Int(record.offset)
      .Key("timestamp")
      .Int(record.timestamp_ms)
      .Bytes("key", record.key, record.has_key)
      .Bytes("value", record.value, record.has_value)
      .Key("headers")
      .BeginArray();
  for (const auto& [key, value] : record.headers) {
    json.BeginObject().Bytes("key", key).Bytes("value", value).EndObject();
  }
  json.EndArray().EndObject();
  return json.str();
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
    if (c == '\\') {
      absl::Status s = AppendEscape(format, &i, &text, "--format");
      if (!s.ok()) return s;
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
