#include "ferry_bench/broker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace ferry::bench {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// The port ferryd wrote, or 0 while the file is missing or incomplete (no newline yet).
int ReadPortFile(const std::string& path) {
  const std::string text = ReadFile(path);
  if (text.empty() || text.back() != '\n') return 0;
  int port = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port)) return 0;
  return port > 0 && port < 65536 ? port : 0;
}

std::string DescribeExit(int code) {
  if (code >= 128) return absl::StrCat("killed by signal ", code - 128);
  return absl::StrCat("exit code ", code);
}

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace

absl::StatusOr<ProcessStats> ReadProcessStats(pid_t pid) {
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  // The command name (field 2) is in parentheses and may hold spaces: fields count from the
  // last ')'.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("cannot read /proc/", pid, "/stat"));
  }
  std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InternalError(absl::StrCat("unexpected /proc/", pid, "/stat: ", stat));
  }
  ProcessStats stats;
  stats.cpu_seconds =
      static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  const std::string status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, "VmHWM:")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, "kB");
    int64_t kb = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kb)) {
      stats.peak_rss_mb = static_cast<double>(kb) / 1024.0;
    }
  }
  return stats;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const TlsOptions& tls) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.ca_pem;
  return grpc::SslCredentials(ssl);
}

absl::Status MakeSelfSignedCertificate(const std::string& dir, TlsOptions* tls) {
  const std::string cert = dir + "/cert.pem";
  const std::string command = absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '",
      dir, "/key.pem' -out '", cert, "' >/dev/null 2>&1");
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("openssl could not make a certificate: ", command));
  }
  std::ifstream in(cert);
  std::stringstream pem;
  pem << in.rdbuf();
  tls->enabled = true;
  tls->ca_pem = pem.str();
  tls->server_name = "localhost";
  return absl::OkStatus();
}

absl::Status AwaitServing(const std::string& target, absl::Time deadline, const TlsOptions& tls) {
  grpc::ChannelArguments args;
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  auto channel = grpc::CreateCustomChannel(target, ClientCredentials(tls), args);
  auto health = grpc::health::v1::Health::NewStub(channel);
  std::string last = "no answer";
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(std::min(deadline, absl::Now() + absl::Seconds(1))));
    context.set_wait_for_ready(true);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status s = health->Check(&context, request, &response);
    if (s.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    last = s.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
                  : absl::StrCat("status ", s.error_code(), ": ", s.error_message());
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the broker at ", target, " is not SERVING (last answer: ", last, ")"));
    }
    absl::SleepFor(kPollInterval);  // retry pacing, not synchronisation
  }
}

BrokerProcess::~BrokerProcess() {
  if (pid_ > 0) (void)Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

absl::Status BrokerProcess::Start(const std::string& ferryd, const std::vector<std::string>& flags,
                                  absl::Duration timeout, const TlsOptions& tls) {
  if (access(ferryd.c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot execute ferryd at ", ferryd, ": ", std::strerror(errno)));
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "ferry-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  dir_ = tmpl;
  const std::string port_file = dir_ + "/port";
  std::vector<std::string> args = {ferryd, "--listen=127.0.0.1:0", "--port-file=" + port_file,
                                   "--metrics-listen=", "--data-dir=" + dir_ + "/data"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log = dir_ + "/ferryd.log";
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("open ", log, ": ", strerror(errno)));

  // The child runs only async-signal-safe calls: this process may have gRPC threads.
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed benchmark
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close_range(3, ~0U, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  pid_ = pid;

  const absl::Time deadline = absl::Now() + timeout;
  int code = 0;
  while ((port_ = ReadPortFile(port_file)) == 0) {
    if (!Running(&code)) {
      return absl::InternalError(absl::StrCat("ferryd (", absl::StrJoin(args, " "), ") ended with ",
                                              DescribeExit(code), " before listening:\n",
                                              LogTail()));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "ferryd wrote no port within ", absl::FormatDuration(timeout), ":\n", LogTail()));
    }
    absl::SleepFor(kPollInterval);
  }
  absl::Status s = AwaitServing(target(), deadline, tls);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat(s.message(), "\n", LogTail()));
  return absl::OkStatus();
}

absl::Status BrokerProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, SIGTERM);
  const absl::Time until = absl::Now() + timeout;
  int code = 0;
  while (Running(&code)) {
    if (absl::Now() >= until) {
      kill(pid_, SIGKILL);
      int wait_status = 0;
      while (waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
      return absl::DeadlineExceededError(absl::StrCat(
          "ferryd did not stop within ", absl::FormatDuration(timeout), " of SIGTERM: killed"));
    }
    absl::SleepFor(kPollInterval);
  }
  if (code != 0) {
    return absl::InternalError(
        absl::StrCat("ferryd ended with ", DescribeExit(code), ":\n", LogTail()));
  }
  return absl::OkStatus();
}

bool BrokerProcess::Running(int* exit_code) {
  if (pid_ <= 0) return false;
  int wait_status = 0;
  const pid_t r = waitpid(pid_, &wait_status, WNOHANG);
  if (r == 0) return true;
  *exit_code = r == pid_ ? ExitCode(wait_status) : -1;
  pid_ = -1;
  return false;
}

std::string BrokerProcess::target() const { return absl::StrCat("127.0.0.1:", port_); }

std::string BrokerProcess::LogTail() const {
  std::string log = ReadFile(dir_ + "/ferryd.log");
  constexpr size_t kMax = 8192;
  if (log.size() > kMax) log = "..." + log.substr(log.size() - kMax);
  return log;
}

}  // namespace ferry::bench
