// How ferryctl fails: exit codes, usage errors, and the translation of gRPC statuses into a
// message and an exit code the user (or a script) can act on.
#ifndef FERRY_CLIENT_FERRYCTL_ERRORS_H_
#define FERRY_CLIENT_FERRYCTL_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace ferry::ctl {

// ferryctl's exit status. Documented in `ferryctl --help` and client/ferryctl/README.md.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,       // the broker refused or failed the operation
  kExitUsage = 2,        // bad command line
  kExitUnreachable = 3,  // no broker at the address, or it did not answer in time
  kExitNotFound = 4,     // unknown topic, partition or group
};

// A malformed command line: exit 2 with a hint to run --help.
absl::Status UsageError(const std::string& message);
bool IsUsageError(const absl::Status& status);

// A gRPC status as an absl::Status with the same code; `what` ("describe topic 'orders'")
// prefixes the broker's message.
absl::Status FromGrpc(const grpc::Status& status, const std::string& what);

// The exit code for a failed `status`.
ExitCode ExitCodeFor(const absl::Status& status);

// The one-line message printed after "ferryctl: " for a failed `status`; `broker` is the
// address, named when it could not be reached.
std::string ErrorMessage(const absl::Status& status, const std::string& broker);

}  // namespace ferry::ctl

#endif  // FERRY_CLIENT_FERRYCTL_ERRORS_H_
