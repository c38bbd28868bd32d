// Reads ferryd's flags from FERRY_<FLAG_NAME> environment variables (FERRY_KAFKA_LISTEN is
// --kafka-listen), so containers and Kubernetes can set any flag without a hand-kept list.
// Pure functions over the flags and the environment given; not thread-safe (run before threads).
#ifndef FERRY_SERVER_CONFIG_ENV_FLAGS_H_
#define FERRY_SERVER_CONFIG_ENV_FLAGS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/status/status.h"

namespace ferry::config {

// "kafka_listen" -> "FERRY_KAFKA_LISTEN".
std::string EnvVarForFlag(std::string_view flag_name);

// FERRY_* variables that are not ferryd flags but are expected in its environment: FERRY_BROKER
// (ferryctl's broker address) and the Kubernetes service-link variables of a Service named
// ferry or ferry-*: FERRY_SERVICE_HOST, FERRY_PORT_50051_TCP_ADDR, ...
bool IsKnownNonFlagVariable(std::string_view name);

// What ApplyEnvironmentFlags did, for ferryd to log once logging is set up.
struct EnvFlagReport {
  std::vector<std::string> applied;     // "FERRY_DATA_DIR" for each variable that set a flag
  std::vector<std::string> overridden;  // set in the environment and on the command line
  std::vector<std::string> unknown;     // FERRY_* names that match no flag (probably a typo)
};

// Sets each flag in `flags` from its FERRY_<NAME> variable in `environment` ("NAME=value"
// strings, like environ), except flags in `command_line_flags` (names with underscores): the
// command line wins. Returns InvalidArgument naming the variable when a value does not parse.
absl::Status ApplyEnvironmentFlags(const std::vector<absl::CommandLineFlag*>& flags,
                                   const std::vector<std::string>& environment,
                                   const std::vector<std::string>& command_line_flags,
                                   EnvFlagReport* report);

// The flag names (underscored) that normalized arguments set: "--data_dir=x", "--data_dir x",
// "--nosync" for a bool. Stops at "--".
std::vector<std::string> FlagsOnCommandLine(const std::vector<std::string>& args);

}  // namespace ferry::config

#endif  // FERRY_SERVER_CONFIG_ENV_FLAGS_H_
