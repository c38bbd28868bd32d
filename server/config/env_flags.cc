#include "server/config/env_flags.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace ferry::config {
namespace {

constexpr std::string_view kPrefix = "FERRY_";

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Kubernetes service links for a Service <svc>: <SVC>_SERVICE_HOST, <SVC>_SERVICE_PORT[_<NAME>],
// <SVC>_PORT, <SVC>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]. `rest` follows some <SVC> prefix.
bool IsServiceLinkSuffix(std::string_view name) {
  for (size_t at = 0; at < name.size(); ++at) {
    if (at != 0 && name[at - 1] != '_') continue;
    const std::string_view rest = name.substr(at);
    if (rest == "SERVICE_HOST" || rest == "SERVICE_PORT" || rest == "PORT") return true;
    if (rest.starts_with("SERVICE_PORT_")) return true;
    if (rest.starts_with("PORT_")) {
      std::string_view port = rest.substr(5);
      const size_t sep = port.find('_');
      if (sep == std::string_view::npos || !AllDigits(port.substr(0, sep))) continue;
      std::string_view proto = port.substr(sep + 1);
      for (std::string_view p : {"TCP", "UDP", "SCTP"}) {
        if (proto == p) return true;
        if (proto.starts_with(std::string(p) + "_")) {
          const std::string_view field = proto.substr(p.size() + 1);
          if (field == "PROTO" || field == "PORT" || field == "ADDR") return true;
        }
      }
    }
  }
  return false;
}

}  // namespace

std::string EnvVarForFlag(std::string_view flag_name) {
  return std::string(kPrefix) +
         (absl::AsciiStrToUpper(absl::StrReplaceAll(std::string(flag_name), {{"-", "_"}})));
}

bool IsKnownNonFlagVariable(std::string_view name) {
  if (!name.starts_with(kPrefix)) return false;
  if (name == "FERRY_BROKER") return true;
  return IsServiceLinkSuffix(name.substr(kPrefix.size()));
}

absl::Status ApplyEnvironmentFlags(const std::vector<absl::CommandLineFlag*>& flags,
                                   const std::vector<std::string>& environment,
                                   const std::vector<std::string>& command_line_flags,
                                   EnvFlagReport* report) {
  for (const std::string& entry : environment) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    const std::string_view name = std::string_view(entry).substr(0, eq);
    const std::string_view value = std::string_view(entry).substr(eq + 1);
    if (!name.starts_with(kPrefix)) continue;
    absl::CommandLineFlag* flag = nullptr;
    for (absl::CommandLineFlag* f : flags) {
      if (EnvVarForFlag(std::string(f->Name())) == name) flag = f;
    }
    if (flag == nullptr) {
      if (!IsKnownNonFlagVariable(name)) report->unknown.emplace_back(name);
      continue;
    }
    if (std::find(command_line_flags.begin(), command_line_flags.end(),
                  std::string(flag->Name())) != command_line_flags.end()) {
      report->overridden.emplace_back(name);
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(absl::string_view(value.data(), value.size()), &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(name), "=", std::string(value), ": ", error, " (the environment form of --",
          absl::StrReplaceAll(flag->Name(), {{"_", "-"}}), ")"));
    }
    report->applied.emplace_back(name);
  }
  return absl::OkStatus();
}

std::vector<std::string> FlagsOnCommandLine(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (!arg.starts_with("-") || arg == "-") continue;
    std::string_view name = arg;
    name.remove_prefix(name.starts_with("--") ? 2 : 1);
    name = name.substr(0, name.find('='));
    out.emplace_back(name);
    // A bool's --nofoo sets foo; the caller matches names, so list both spellings.
    if (name.starts_with("no")) out.emplace_back(name.substr(2));
  }
  return out;
}

}  // namespace ferry::config
