// ferryctl's commands: each is a CommandSpec (its options and --help) and a function that runs
// it against the broker named in the Context. A command returns OK or the status to report;
// it prints its results on stdout and progress on stderr.
#ifndef FERRY_CLIENT_FERRYCTL_COMMANDS_H_
#define FERRY_CLIENT_FERRYCTL_COMMANDS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/ferryctl/args.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace ferry::ctl {

// What every command needs: where the broker is, and how long a call may take.
struct Context {
  std::string broker;
  absl::Duration timeout = absl::Seconds(10);
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Admin::Stub> admin;

  // A ClientContext whose deadline is `timeout` from now.
  std::unique_ptr<grpc::ClientContext> CallContext() const;
  // The topic's description; NOT_FOUND when it does not exist.
  absl::StatusOr<v1::DescribeTopicResponse> DescribeTopic(const std::string& topic) const;
};

using CommandFn = absl::Status (*)(Context& context, const Args& args);

struct Command {
  CommandSpec spec;
  CommandFn run;
};

std::vector<Command>
TopicCommands();  // topic create|list|describe|delete|add-partitions|alter|delete-records
std::vector<Command> GroupCommands();  // group list|describe|reset-offsets|delete
Command ProduceCommand();
Command ConsumeCommand();

}  // namespace ferry::ctl

#endif  // FERRY_CLIENT_FERRYCTL_COMMANDS_H_
