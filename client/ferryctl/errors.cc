#include "client/ferryctl/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ferry::ctl {
namespace {

// Marks a status as a command-line mistake rather than a broker answer: both may be
// INVALID_ARGUMENT, but only the first exits 2.
constexpr char kUsagePayload[] = "type.ferry.dev/ferryctl.usage";

// The host part of "host:port", "[v6]:port", "dns:///host:port" or
// "dns://resolver/host:port".
std::string HostOf(std::string address) {
  const size_t scheme = address.find("://");
  if (scheme != std::string::npos) {
    const size_t slash = address.find('/', scheme + 3);
    address = slash == std::string::npos ? "" : address.substr(slash + 1);
  }
  if (!address.empty() && address[0] == '[') return address.substr(1, address.find(']') - 1);
  return address.substr(0, address.rfind(':'));
}

}  // namespace

absl::Status UsageError(const std::string& message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

absl::Status FromGrpc(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

ExitCode ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (IsUsageError(status)) return kExitUsage;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnreachable;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    default:
      return kExitFailed;
  }
}

std::string ErrorMessage(const absl::Status& status, const std::string& broker) {
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      // gRPC 1.51 (c-ares): "DNS resolution failed for nosuchhost:50051: C-ares status is not
      // ARES_SUCCESS ... Domain name not found".
      if (absl::StrContains(message, "DNS resolution failed")) {
        return absl::StrCat("cannot resolve host '", HostOf(broker), "' (from --broker ", broker,
                            "; FERRY_BROKER sets the default): ", message);
      }
      if (absl::StrContains(message, "failed to connect")) {
        return absl::StrCat("cannot reach the broker at ", broker, " (is ferryd running there? ",
                            "--broker or FERRY_BROKER select another): ", message);
      }
      return absl::StrCat("broker ", broker, " is unavailable: ", message);
    case absl::StatusCode::kDeadlineExceeded:
      return absl::StrCat("broker ", broker, " did not answer in time (--timeout): ", message);
    default:
      return message;
  }
}

}  // namespace ferry::ctl
