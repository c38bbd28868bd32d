// ferryctl: a kcat-like command-line client for Ferry: topics, produce, consume, groups.
// See `ferryctl --help` and client/ferryctl/README.md.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/ferry/rpc.h"
#include "client/ferryctl/commands.h"
#include "client/ferryctl/errors.h"
#include "client/ferryctl/output.h"
#include "common/version.h"

namespace ferry::ctl {
namespace {

constexpr char kDefaultBroker[] = "127.0.0.1:50051";

constexpr char kFooter[] =
    "Run 'ferryctl <command> --help' for a command's options. The options above are accepted\n"
    "before or after the command.\n"
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
    "  ferryctl consume orders -p 0 -o 5 --format json\n"
    "  ferryctl group describe billing --format json\n";

int Fail(const absl::Status& status, const std::string& broker, const std::string& help_path) {
  std::fprintf(stderr, "ferryctl: %s\n", ErrorMessage(status, broker).c_str());
  if (IsUsageError(status)) {
    std::fprintf(stderr, "Run 'ferryctl%s --help' for usage.\n", help_path.c_str());
  }
  return ExitCodeFor(status);
}

// " topic create": the subcommands the command line selected.
std::string SelectedPath(const CLI::App& app) {
  std::string path;
  const CLI::App* at = &app;
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    absl::StrAppend(&path, " ", at->get_name());
  }
  return path;
}

int Main(int argc, char** argv) {
  CLI::App app("ferryctl: command-line client for the Ferry broker.", "ferryctl");
  app.set_version_flag("--version", version::Line("ferryctl"), "print the version and exit");
  app.fallthrough();  // the options below also after the command
  app.require_subcommand(1);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.footer(kFooter);
  std::string broker;
  std::string timeout;
  std::string format = "text";
  app.add_option("-b,--broker", broker,
                 "broker address HOST:PORT (default: $FERRY_BROKER, else 127.0.0.1:50051)");
  app.add_option("--timeout", timeout,
                 "deadline of each call to the broker: seconds, or with a unit (500ms, 2m); "
                 "default 10s");
  app.add_option("--format", format, "output: text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  app.add_flag("--tls", tls,
               "connect over TLS, trusting the system's CAs (implied by the other --tls options)");
  app.add_option("--tls-ca", tls_ca, "PEM CA bundle the broker's certificate is checked against")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", tls_cert, "PEM client certificate, for a broker requiring mTLS")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  app.add_option("--tls-server-name", tls_server_name,
                 "the name the broker's certificate must carry, when not the --broker host");

  std::string user;
  std::string password;
  app.add_option("--user", user,
                 "user to authenticate as (default: $FERRY_USER); sent as Basic credentials, so "
                 "use TLS");
  app.add_option("--password", password,
                 "its password (default: $FERRY_PASSWORD, which keeps it out of shell history)");

  Runner run;
  AddTopicCommands(app, &run);
  AddProduceCommand(app, &run);
  AddConsumeCommand(app, &run);
  AddGroupCommands(app, &run);
  AddUserCommands(app, &run);
  AddAclCommands(app, &run);

  if (argc == 2 && std::string(argv[1]) == "help") {
    std::fputs(app.help().c_str(), stdout);
    return kExitOk;
  }
  if (argc < 2) {
    std::fputs("ferryctl: no command given\n\n", stderr);
    std::fputs(app.help().c_str(), stderr);
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    return Fail(UsageError(e.what()), "", SelectedPath(app));
  }
  const std::string help_path = SelectedPath(app);

  Context ctx;
  ctx.broker = broker;
  if (app.get_option("--broker")->count() == 0) {
    const char* env = std::getenv("FERRY_BROKER");
    ctx.broker = env != nullptr && *env != '\0' ? env : kDefaultBroker;
  }
  if (ctx.broker.empty()) return Fail(UsageError("--broker is empty"), "", help_path);
  if (!timeout.empty()) {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(timeout, "--timeout");
    if (!d.ok()) return Fail(d.status(), "", help_path);
    ctx.timeout = *d;
  }
  ctx.json = format == "json";
  if (tls_cert.empty() != tls_key.empty()) {
    return Fail(UsageError("--tls-cert and --tls-key come together"), "", help_path);
  }
  const auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  ctx.tls.enabled = tls || !tls_ca.empty() || !tls_cert.empty() || !tls_server_name.empty();
  if (!tls_ca.empty()) ctx.tls.ca_pem = read(tls_ca);
  if (!tls_cert.empty()) {
    ctx.tls.cert_pem = read(tls_cert);
    ctx.tls.key_pem = read(tls_key);
  }
  ctx.tls.server_name = tls_server_name;
  const auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v != nullptr ? v : "");
  };
  ctx.credentials.user = app.get_option("--user")->count() > 0 ? user : env("FERRY_USER");
  ctx.credentials.password =
      app.get_option("--password")->count() > 0 ? password : env("FERRY_PASSWORD");
  if (ctx.credentials.user.empty() && !ctx.credentials.password.empty()) {
    return Fail(UsageError("--password (or $FERRY_PASSWORD) needs --user (or $FERRY_USER)"), "",
                help_path);
  }
  ctx.channel = internal::NewChannel(ctx.broker, ctx.tls, ctx.credentials);
  ctx.admin = v1::Admin::NewStub(ctx.channel);
  absl::Status s = run(ctx);
  if (!s.ok()) return Fail(s, ctx.broker, help_path);
  return kExitOk;
}

}  // namespace
}  // namespace ferry::ctl

int main(int argc, char** argv) { return ferry::ctl::Main(argc, argv); }
