// Command-line parsing for ferryctl: each command declares its options and positional
// arguments in a CommandSpec; Parse() checks argv against it and Usage() renders its --help.
//
// Options take `--name value`, `--name=value`, `-x value` or `-xvalue`; `--` ends options.
// Every command also accepts the common options (--broker, --timeout, --help).
// Thread-compatible plain data.
#ifndef FERRY_CLIENT_FERRYCTL_ARGS_H_
#define FERRY_CLIENT_FERRYCTL_ARGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::ctl {

struct OptionSpec {
  std::string name;        // long name, without "--"
  char short_name = 0;     // 0: no short form
  std::string value_name;  // empty: a switch that takes no value
  std::string help;
};

struct CommandSpec {
  std::string path = "";      // "topic create"
  std::string synopsis = "";  // "<topic> [options]"
  // What the command does. The first sentence lists it under its command group; the whole
  // text is filled to the terminal width, '\n' forcing a break.
  std::string summary = "";
  std::vector<OptionSpec> options = {};
  int min_args = 0;          // positional arguments
  int max_args = 0;          // -1: any number
  std::string details = "";  // printed verbatim after the options: notes and examples
};

// The parsed command line of one command.
class Args {
 public:
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The last value given for `name`, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  // Every value given for a repeatable option, in order.
  std::vector<std::string> GetAll(const std::string& name) const;
  // The last value of `name` as an integer within [min, max]; `fallback` when absent.
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback, int64_t min,
                                 int64_t max) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend absl::StatusOr<Args> Parse(const CommandSpec& spec, const std::vector<std::string>& argv);
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// The options every command accepts.
const std::vector<OptionSpec>& CommonOptions();

// Parses `argv` (the words after the command's path). A malformed command line is a
// UsageError (see errors.h). `--help` is recorded like any switch; the caller checks it first.
absl::StatusOr<Args> Parse(const CommandSpec& spec, const std::vector<std::string>& argv);

// The --help text of `spec`.
std::string Usage(const CommandSpec& spec);

// `text` up to and including its first ". ", or all of it.
std::string FirstSentence(const std::string& text);

}  // namespace ferry::ctl

#endif  // FERRY_CLIENT_FERRYCTL_ARGS_H_
