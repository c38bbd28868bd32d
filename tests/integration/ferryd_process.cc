#include "integration/ferryd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

#ifndef FERRYD_PATH
#error "FERRYD_PATH must name the ferryd binary (set by tests/CMakeLists.txt)"
#endif

namespace ferry::integration {
namespace {

// On SIGTERM, ferryd's gRPC server sends GOAWAY and waits (up to --shutdown-timeout-ms) for
// each client to acknowledge it. A C++ client reads an idle connection only when its backup
// poller runs, every 5 s by default, so every Terminate() would take 5 s. Poll faster; set
// before this process initialises gRPC (channels are created later, in tests).
const bool kFastBackupPoll = [] {
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/0);
  return true;
}();

constexpr absl::Duration kStartDeadline = absl::Seconds(20);
constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

// The port ferryd wrote, or 0 while the file is missing or incomplete (no newline yet).
int ReadPortFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return 0;
  std::stringstream content;
  content << in.rdbuf();
  const std::string text = content.str();
  if (text.empty() || text.back() != '\n') return 0;
  int port = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port)) return 0;
  return port > 0 && port < 65536 ? port : 0;
}

std::string DescribeWaitStatus(int exit_status) {
  if (exit_status >= 128) return absl::StrCat("killed by signal ", exit_status - 128);
  return absl::StrCat("exit code ", exit_status);
}

}  // namespace

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

FerrydProcess::FerrydProcess() {
  char tmpl[] = "/tmp/ferry-it-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    return;
  }
  dir_ = tmpl;
  const char* keep = getenv("FERRY_KEEP_TEST_DIRS");
  keep_dir_ = keep != nullptr && std::string(keep) == "1";
}

FerrydProcess::~FerrydProcess() {
  if (pid_ > 0) Kill9();
  if (dir_.empty()) return;
  // A failed start has printed the log already.
  if (::testing::Test::HasFailure() && !start_failed_) {
    std::cerr << "---- ferryd log (" << log_path() << "), last 64 KiB ----\n"
              << LogTail() << "---- end of ferryd log ----\n";
  }
  if (keep_dir_) {
    std::cerr << "kept ferryd test directory " << dir_ << "\n";
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

::testing::AssertionResult FerrydProcess::Start(std::vector<std::string> extra_flags) {
  if (pid_ > 0) return ::testing::AssertionFailure() << "ferryd is already running";
  extra_flags_ = std::move(extra_flags);
  return Launch();
}

::testing::AssertionResult FerrydProcess::Restart() {
  if (pid_ > 0) {
    const int code = Terminate();
    if (code != 0) {
      return ::testing::AssertionFailure()
             << "ferryd did not stop cleanly before the restart: " << DescribeWaitStatus(code);
    }
  }
  return Launch();
}

int FerrydProcess::kafka_port() const {
  std::ifstream in(kafka_port_file_);
  int port = 0;
  if (!(in >> port)) return 0;
  return port;
}

std::vector<int> FerrydProcess::kafka_ports() const {
  std::ifstream in(kafka_port_file_);
  std::vector<int> ports;
  for (int port = 0; in >> port;) ports.push_back(port);
  return ports;
}

::testing::AssertionResult FerrydProcess::Launch() {
  if (dir_.empty()) return ::testing::AssertionFailure() << "no temporary directory";
  if (access(FERRYD_PATH, X_OK) != 0) {
    return ::testing::AssertionFailure()
           << "cannot execute ferryd at " << FERRYD_PATH << ": " << std::strerror(errno);
  }
  ++starts_;
  port_file_ = absl::StrCat(dir_, "/port.", starts_);
  kafka_port_file_ = absl::StrCat(dir_, "/kafka_port.", starts_);
  port_ = 0;
  channel_.reset();

  std::vector<std::string> args = {FERRYD_PATH, "--listen=127.0.0.1:0", "--port-file=" + port_file_,
                                   "--metrics-listen=", "--data-dir=" + data_dir(),
                                   // A free port, so parallel tests never contend for 9092.
                                   "--kafka-listen=127.0.0.1:0",
                                   "--kafka-port-file=" + kafka_port_file_};
  args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const int log_fd = open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return ::testing::AssertionFailure() << "open " << log_path() << ": " << std::strerror(errno);
  }
  const std::string banner =
      absl::StrCat("==== start #", starts_, ": ", absl::StrJoin(args, " "), " ====\n");
  if (write(log_fd, banner.data(), banner.size()) < 0) {
    // The banner only helps a reader of the log; the start goes on without it.
  }

  // The child runs only async-signal-safe calls: this process has gRPC threads.
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Die with the test process rather than outlive a crashed test.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    // Start from a clean signal mask whatever the forking thread had blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close_range(3, ~0U, 0);
    execv(argv[0], argv.data());
    static const char kMessage[] = "FerrydProcess: execv of ferryd failed\n";
    if (write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1) < 0) _exit(127);
    _exit(127);
  }
  close(log_fd);
  if (pid < 0) return ::testing::AssertionFailure() << "fork: " << std::strerror(errno);
  pid_ = pid;
  exit_status_ = -1;

  ::testing::AssertionResult result = AwaitServing(absl::Now() + kStartDeadline);
  if (!result) {
    start_failed_ = true;
    if (pid_ > 0) Kill9();
    result << "\n---- ferryd log (" << log_path() << ") ----\n"
           << LogTail() << "---- end of ferryd log ----";
  }
  return result;
}

::testing::AssertionResult FerrydProcess::AwaitServing(absl::Time deadline) {
  while ((port_ = ReadPortFile(port_file_)) == 0) {
    if (!running()) {
      return ::testing::AssertionFailure()
             << "ferryd (" << FERRYD_PATH << ") ended with " << DescribeWaitStatus(exit_status_)
             << " before writing " << port_file_;
    }
    if (absl::Now() >= deadline) {
      return ::testing::AssertionFailure()
             << "ferryd wrote no port to " << port_file_ << " within " << kStartDeadline;
    }
    absl::SleepFor(kPollInterval);
  }

  channel_ = NewChannel();
  auto health = grpc::health::v1::Health::NewStub(channel_);
  std::string last_result = "no answer";
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(std::min(deadline, absl::Now() + absl::Seconds(1))));
    context.set_wait_for_ready(true);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = health->Check(&context, request, &response);
    if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return ::testing::AssertionSuccess();
    }
    last_result = status.ok()
                      ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
                      : absl::StrCat("status ", status.error_code(), ": ", status.error_message());
    if (!running()) {
      return ::testing::AssertionFailure()
             << "ferryd ended with " << DescribeWaitStatus(exit_status_) << " after listening on "
             << address();
    }
    if (absl::Now() >= deadline) {
      return ::testing::AssertionFailure()
             << "ferryd on " << address() << " was not SERVING within " << kStartDeadline
             << " (last health check: " << last_result << ")";
    }
    absl::SleepFor(kPollInterval);
  }
}

void FerrydProcess::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int wait_status = 0;
  while (waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
  }
  Reaped(wait_status);
}

int FerrydProcess::Terminate(absl::Duration deadline) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const absl::Time until = absl::Now() + deadline;
  while (running()) {
    if (absl::Now() >= until) {
      std::cerr << "FerrydProcess: ferryd (pid " << pid_ << ") still running " << deadline
                << " after SIGTERM; sending SIGKILL\n";
      Kill9();
      break;
    }
    absl::SleepFor(kPollInterval);
  }
  return exit_status_;
}

bool FerrydProcess::running() {
  if (pid_ <= 0) return false;
  int wait_status = 0;
  const pid_t r = waitpid(pid_, &wait_status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) {
    Reaped(wait_status);
  } else {
    pid_ = -1;  // Not our child any more (cannot happen unless someone else reaped it).
  }
  return false;
}

void FerrydProcess::Reaped(int wait_status) {
  if (WIFEXITED(wait_status)) {
    exit_status_ = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    exit_status_ = 128 + WTERMSIG(wait_status);
  } else {
    exit_status_ = -1;
  }
  pid_ = -1;
}

std::string FerrydProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::string FerrydProcess::LogTail(size_t max_bytes) const {
  std::ifstream in(log_path(), std::ios::binary);
  if (!in) return "(no log)\n";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from = size > static_cast<std::streamoff>(max_bytes)
                                  ? size - static_cast<std::streamoff>(max_bytes)
                                  : 0;
  in.seekg(from);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::shared_ptr<grpc::Channel> FerrydProcess::NewChannel() const {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!target_name_.empty()) args.SetSslTargetNameOverride(target_name_);
  return grpc::CreateCustomChannel(
      address(), credentials_ != nullptr ? credentials_ : grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<ferry::v1::Broker::Stub> FerrydProcess::broker() const {
  return ferry::v1::Broker::NewStub(channel_);
}

std::unique_ptr<ferry::v1::Admin::Stub> FerrydProcess::admin() const {
  return ferry::v1::Admin::NewStub(channel_);
}

std::unique_ptr<grpc::health::v1::Health::Stub> FerrydProcess::health() const {
  return grpc::health::v1::Health::NewStub(channel_);
}

}  // namespace ferry::integration
