// ferryctl: a kcat-like command-line client for Ferry: topics, produce, consume, groups.
// See `ferryctl --help` and client/ferryctl/README.md.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/ferryctl/args.h"
#include "client/ferryctl/commands.h"
#include "client/ferryctl/errors.h"

namespace ferry::ctl {
namespace {

constexpr char kDefaultBroker[] = "127.0.0.1:50051";

constexpr char kMainUsage[] =
    "ferryctl: command-line client for the Ferry broker.\n"
    "\n"
    "Usage: ferryctl [--broker HOST:PORT] <command> [<subcommand>] [options]\n"
    "\n"
    "Commands:\n"
    "  topic create|list|describe|delete|add-partitions|alter|delete-records\n"
    "                                                     manage topics\n"
    "  produce <topic>                                    send stdin lines as records\n"
    "  consume <topic>                                    print records of partitions or a group\n"
    "  group list|describe|reset-offsets|delete           manage consumer groups\n"
    "\n"
    "Run 'ferryctl <command> --help' for a command's options.\n"
    "\n"
    "Common options (accepted by every command):\n"
    "  -b, --broker HOST:PORT  broker address (default: $FERRY_BROKER, else 127.0.0.1:50051)\n"
    "      --timeout DURATION  deadline of each call to the broker, e.g. 500ms (default 10s)\n"
    "  -h, --help              show help\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  the broker refused or failed the operation (the message says why)\n"
    "  2  bad command line\n"
    "  3  the broker could not be reached, or did not answer within --timeout\n"
    "  4  unknown topic, partition or group\n"
    "\n"
    "Examples:\n"
    "  ferryctl topic create orders --partitions 3\n"
    "  printf 'k1:v1\\nk2:v2\\n' | ferryctl produce orders -K :\n"
    "  ferryctl consume orders --group billing -e -f '%k=%v (p%p@%o)\\n'\n"
    "  ferryctl group describe billing\n";

int Fail(const absl::Status& status, const std::string& broker, const std::string& help_path) {
  std::fprintf(stderr, "ferryctl: %s\n", ErrorMessage(status, broker).c_str());
  if (IsUsageError(status)) {
    std::fprintf(stderr, "Run 'ferryctl%s --help' for usage.\n", help_path.c_str());
  }
  return ExitCodeFor(status);
}

int UsageFail(const std::string& message, const std::string& help_path) {
  return Fail(UsageError(message), "", help_path);
}

std::string GroupUsage(const std::string& name, const std::vector<Command>& commands) {
  std::string out =
      absl::StrCat("Usage: ferryctl ", name, " <subcommand> [options]\n\n", "Subcommands:\n");
  for (const Command& c : commands) {
    const std::string sub = c.spec.path.substr(name.size() + 1);
    const std::string first_line = FirstSentence(c.spec.summary);
    absl::StrAppend(&out, "  ", sub, std::string(sub.size() < 16 ? 16 - sub.size() : 1, ' '),
                    first_line, "\n");
  }
  absl::StrAppend(&out, "\nRun 'ferryctl ", name, " <subcommand> --help' for its options.\n");
  return out;
}

// The broker when the command has no --broker: one given before the command, else
// $FERRY_BROKER, else 127.0.0.1:50051.
std::string BrokerDefault(const std::string& global_broker) {
  if (!global_broker.empty()) return global_broker;
  const char* env = std::getenv("FERRY_BROKER");
  if (env != nullptr && *env != '\0') return env;
  return kDefaultBroker;
}

int Run(const Command& command, const std::vector<std::string>& words,
        const std::string& global_broker, const std::string& global_timeout) {
  const std::string help_path = " " + command.spec.path;
  absl::StatusOr<Args> args = Parse(command.spec, words);
  if (!args.ok()) return Fail(args.status(), "", help_path);
  if (args->Has("help")) {
    std::fputs(Usage(command.spec).c_str(), stdout);
    return kExitOk;
  }
  Context ctx;
  ctx.broker = args->Get("broker", BrokerDefault(global_broker));
  if (ctx.broker.empty()) return UsageFail("--broker is empty", help_path);
  const std::string timeout = args->Get("timeout", global_timeout);
  if (!timeout.empty() &&
      (!absl::ParseDuration(timeout, &ctx.timeout) || ctx.timeout <= absl::ZeroDuration())) {
    return UsageFail(
        absl::StrCat("--timeout wants a positive duration like 500ms or 10s, got '", timeout, "'"),
        help_path);
  }
  ctx.channel = grpc::CreateChannel(ctx.broker, grpc::InsecureChannelCredentials());
  ctx.admin = v1::Admin::NewStub(ctx.channel);
  absl::Status s = command.run(ctx, *args);
  if (!s.ok()) return Fail(s, ctx.broker, help_path);
  return kExitOk;
}

int Main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  // Common options may also come before the command: `ferryctl --broker X topic list`.
  std::string broker;
  std::string timeout;
  size_t i = 0;
  for (; i < words.size() && words[i].size() > 1 && words[i][0] == '-'; ++i) {
    const std::string& w = words[i];
    if (w == "-h" || w == "--help") {
      std::fputs(kMainUsage, stdout);
      return kExitOk;
    }
    std::string* target = nullptr;
    std::string value;
    if (w == "-b" || w == "--broker") {
      target = &broker;
    } else if (w == "--timeout") {
      target = &timeout;
    } else if (w.rfind("--broker=", 0) == 0) {
      broker = w.substr(9);
      continue;
    } else if (w.rfind("--timeout=", 0) == 0) {
      timeout = w.substr(10);
      continue;
    } else {
      return UsageFail(absl::StrCat("unknown option ", w, " (before the command)"), "");
    }
    if (i + 1 >= words.size()) return UsageFail(absl::StrCat(w, " needs a value"), "");
    *target = words[++i];
  }
  if (i >= words.size()) {
    std::fputs("ferryctl: no command given\n\n", stderr);
    std::fputs(kMainUsage, stderr);
    return kExitUsage;
  }
  const std::string name = words[i++];
  if (name == "help") {
    std::fputs(kMainUsage, stdout);
    return kExitOk;
  }
  std::vector<Command> commands;
  bool has_subcommands = true;
  if (name == "topic") {
    commands = TopicCommands();
  } else if (name == "group") {
    commands = GroupCommands();
  } else if (name == "produce") {
    commands = {ProduceCommand()};
    has_subcommands = false;
  } else if (name == "consume") {
    commands = {ConsumeCommand()};
    has_subcommands = false;
  } else {
    return UsageFail(
        absl::StrCat("unknown command '", name, "' (commands: topic, produce, consume, group)"),
        "");
  }
  if (!has_subcommands) {
    return Run(commands[0], std::vector<std::string>(words.begin() + i, words.end()), broker,
               timeout);
  }
  if (i >= words.size()) {
    return UsageFail(absl::StrCat("'", name, "' needs a subcommand"), " " + name);
  }
  const std::string sub = words[i++];
  if (sub == "-h" || sub == "--help" || sub == "help") {
    std::fputs(GroupUsage(name, commands).c_str(), stdout);
    return kExitOk;
  }
  for (const Command& c : commands) {
    if (c.spec.path == absl::StrCat(name, " ", sub)) {
      return Run(c, std::vector<std::string>(words.begin() + i, words.end()), broker, timeout);
    }
  }
  std::string known;
  for (const Command& c : commands) {
    absl::StrAppend(&known, known.empty() ? "" : ", ", c.spec.path.substr(name.size() + 1));
  }
  return UsageFail(absl::StrCat("unknown subcommand '", name, " ", sub, "' (", known, ")"),
                   " " + name);
}

}  // namespace
}  // namespace ferry::ctl

int main(int argc, char** argv) { return ferry::ctl::Main(argc, argv); }
