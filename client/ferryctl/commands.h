// ferryctl's commands: each adds its CLI11 subcommand (options and --help) to the command
// line and, when chosen, a Runner that runs it against the broker named in the Context. A
// command returns OK or the status to report; it prints its results on stdout (as text or, with
// --format json, JSON) and progress on stderr.
#ifndef FERRY_CLIENT_FERRYCTL_COMMANDS_H_
#define FERRY_CLIENT_FERRYCTL_COMMANDS_H_

#include <functional>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/ferry/tls.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace ferry::ctl {

// What every command needs: where the broker is, how long a call may take, how to print.
struct Context {
  std::string broker;
  TlsOptions tls;           // --tls, --tls-ca, --tls-cert, --tls-key, --tls-server-name
  Credentials credentials;  // --user, --password ($FERRY_USER, $FERRY_PASSWORD)
  absl::Duration timeout = absl::Seconds(10);
  bool json = false;  // --format json
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Admin::Stub> admin;

  // A ClientContext whose deadline is `timeout` from now.
  std::unique_ptr<grpc::ClientContext> CallContext() const;
  // The topic's description; NOT_FOUND when it does not exist.
  absl::StatusOr<v1::DescribeTopicResponse> DescribeTopic(const std::string& topic) const;
};

// The command chosen on the command line, bound to its parsed options.
using Runner = std::function<absl::Status(Context&)>;

// Each adds its (sub)commands to `app`; the one the command line chooses stores its Runner
// in *run while CLI11 parses.
void AddTopicCommands(CLI::App& app, Runner* run);  // topic create|list|describe|delete|...
void AddGroupCommands(CLI::App& app, Runner* run);  // group list|describe|reset-offsets|delete
void AddProduceCommand(CLI::App& app, Runner* run);
void AddConsumeCommand(CLI::App& app, Runner* run);
void AddUserCommands(CLI::App& app, Runner* run);  // user create|delete|list
void AddAclCommands(CLI::App& app, Runner* run);   // acl add|remove|list

// Writes `text` to stdout.
void PrintOut(const std::string& text);

}  // namespace ferry::ctl

#endif  // FERRY_CLIENT_FERRYCTL_COMMANDS_H_
