#include "client/ferryctl/args.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "client/ferryctl/errors.h"

namespace ferry::ctl {
namespace {

const OptionSpec* FindLong(const CommandSpec& spec, const std::string& name) {
  for (const auto* list : {&spec.options, &CommonOptions()}) {
    for (const OptionSpec& o : *list) {
      if (o.name == name) return &o;
    }
  }
  return nullptr;
}

const OptionSpec* FindShort(const CommandSpec& spec, char c) {
  for (const auto* list : {&spec.options, &CommonOptions()}) {
    for (const OptionSpec& o : *list) {
      if (o.short_name != 0 && o.short_name == c) return &o;
    }
  }
  return nullptr;
}

std::string OptionLabel(const OptionSpec& o) {
  std::string label = o.short_name != 0 ? absl::StrCat("-", std::string(1, o.short_name), ", ")
                                        : std::string("    ");
  absl::StrAppend(&label, "--", o.name);
  if (!o.value_name.empty()) absl::StrAppend(&label, " ", o.value_name);
  return label;
}

constexpr size_t kHelpWidth = 100;

// `text` filled into lines of at most kHelpWidth columns: the first continues at `column`, the
// others start after `indent` spaces. A '\n' in `text` forces a line break.
std::string Wrap(const std::string& text, size_t indent, size_t column) {
  std::string out;
  bool first_line = true;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!first_line) {
      absl::StrAppend(&out, "\n", std::string(indent, ' '));
      column = indent;
    }
    first_line = false;
    bool line_start = true;
    for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      if (!line_start && column + 1 + word.size() > kHelpWidth) {
        absl::StrAppend(&out, "\n", std::string(indent, ' '));
        column = indent;
        line_start = true;
      }
      if (!line_start) {
        out += ' ';
        ++column;
      }
      absl::StrAppend(&out, word);
      column += word.size();
      line_start = false;
    }
  }
  return out;
}

void AppendOptions(const std::vector<OptionSpec>& options, size_t width, std::string* out) {
  for (const OptionSpec& o : options) {
    const std::string label = OptionLabel(o);
    absl::StrAppend(out, "  ", label, std::string(width - label.size() + 2, ' '),
                    Wrap(o.help, width + 4, width + 4), "\n");
  }
}

}  // namespace

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

absl::StatusOr<int64_t> Args::GetInt(const std::string& name, int64_t fallback, int64_t min,
                                     int64_t max) const {
  if (!Has(name)) return fallback;
  const std::string text = Get(name);
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return UsageError(absl::StrCat("--", name, " wants an integer, got '", text, "'"));
  }
  if (value < min || value > max) {
    return UsageError(
        absl::StrCat("--", name, " must be between ", min, " and ", max, ", got ", value));
  }
  return value;
}

const std::vector<OptionSpec>& CommonOptions() {
  static const auto* options = new std::vector<OptionSpec>{
      {"broker", 'b', "HOST:PORT", "broker address (default: $FERRY_BROKER, else 127.0.0.1:50051)"},
      {"timeout", 0, "DURATION",
       "deadline of each call to the broker, e.g. 500ms, 10s (default 10s)"},
      {"help", 'h', "", "show this help"},
  };
  return *options;
}

absl::StatusOr<Args> Parse(const CommandSpec& spec, const std::vector<std::string>& argv) {
  Args args;
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (options_done || word.size() < 2 || word[0] != '-') {
      args.positional_.push_back(word);  // "-" alone is a positional too (stdin)
      continue;
    }
    if (word == "--") {
      options_done = true;
      continue;
    }
    const OptionSpec* option = nullptr;
    std::string value;
    bool has_inline_value = false;
    if (word[1] == '-') {
      std::string name = word.substr(2);
      const size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline_value = true;
      }
      option = FindLong(spec, name);
      if (option == nullptr) return UsageError(absl::StrCat("unknown option --", name));
      if (has_inline_value && option->value_name.empty()) {
        return UsageError(absl::StrCat("--", name, " takes no value"));
      }
    } else {
      option = FindShort(spec, word[1]);
      if (option == nullptr) return UsageError(absl::StrCat("unknown option ", word.substr(0, 2)));
      if (word.size() > 2) {
        if (option->value_name.empty()) {
          return UsageError(
              absl::StrCat("-", std::string(1, word[1]), " takes no value (got '", word, "')"));
        }
        value = word.substr(2);
        has_inline_value = true;
      }
    }
    if (!option->value_name.empty() && !has_inline_value) {
      if (i + 1 >= argv.size()) {
        return UsageError(
            absl::StrCat("--", option->name, " needs a value (", option->value_name, ")"));
      }
      value = argv[++i];
    }
    args.values_[option->name].push_back(value);
  }
  if (args.Has("help")) return args;
  const int n = static_cast<int>(args.positional_.size());
  if (n < spec.min_args) {
    return UsageError(
        absl::StrCat("missing argument; usage: ferryctl ", spec.path, " ", spec.synopsis));
  }
  if (spec.max_args >= 0 && n > spec.max_args) {
    return UsageError(absl::StrCat("unexpected argument '", args.positional_[spec.max_args], "'"));
  }
  return args;
}

std::string Usage(const CommandSpec& spec) {
  std::string out = absl::StrCat("Usage: ferryctl ", spec.path, " ", spec.synopsis, "\n\n",
                                 Wrap(spec.summary, 0, 0), "\n");
  size_t width = 0;
  for (const auto* list : {&spec.options, &CommonOptions()}) {
    for (const OptionSpec& o : *list) width = std::max(width, OptionLabel(o).size());
  }
  if (!spec.options.empty()) {
    absl::StrAppend(&out, "\nOptions:\n");
    AppendOptions(spec.options, width, &out);
  }
  absl::StrAppend(&out, "\nCommon options:\n");
  AppendOptions(CommonOptions(), width, &out);
  if (!spec.details.empty()) absl::StrAppend(&out, "\n", spec.details);
  return out;
}

std::string FirstSentence(const std::string& text) {
  const size_t end = text.find(". ");
  return end == std::string::npos ? text : text.substr(0, end + 1);
}

}  // namespace ferry::ctl
