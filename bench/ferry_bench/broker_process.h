// BrokerProcess: a ferryd that ferry-bench starts for one run, on 127.0.0.1 with a free port
// and a temporary data directory (removed afterwards), stopped with SIGTERM (SIGKILL after a
// timeout). ProcessStats reads any process's CPU time and peak RSS from /proc, so the same
// figures come out for a broker ferry-bench started and one it was pointed at.
// Not thread-safe.
#ifndef FERRY_BENCH_FERRY_BENCH_BROKER_PROCESS_H_
#define FERRY_BENCH_FERRY_BENCH_BROKER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ferry/tls.h"
#include "grpcpp/security/credentials.h"

namespace ferry::bench {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double peak_rss_mb = 0;  // VmHWM
};

// Reads /proc/<pid>/stat and /proc/<pid>/status.
absl::StatusOr<ProcessStats> ReadProcessStats(pid_t pid);

// CPU seconds (user + system) of this process so far.
double SelfCpuSeconds();

// Plaintext, or TLS trusting `tls.ca_pem` when `tls.enabled`.
std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const TlsOptions& tls);

// Waits until the gRPC health service at `target` answers SERVING, or fails at `deadline`.
absl::Status AwaitServing(const std::string& target, absl::Time deadline,
                          const TlsOptions& tls = {});

// A self-signed certificate for 127.0.0.1 and localhost made with the openssl tool in `dir`
// (cert.pem, key.pem): ferryd serves it, and `tls` trusts it as its CA.
absl::Status MakeSelfSignedCertificate(const std::string& dir, TlsOptions* tls);

class BrokerProcess {
 public:
  BrokerProcess() = default;
  ~BrokerProcess();  // Stop()s and removes the directory
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  // Starts `ferryd` with `flags` added and waits until it is SERVING (or fails with the tail
  // of its log in the message).
  absl::Status Start(const std::string& ferryd, const std::vector<std::string>& flags,
                     absl::Duration timeout, const TlsOptions& tls = {});
  // SIGTERM, then SIGKILL after `timeout`. Returns an error when it did not exit with code 0.
  absl::Status Stop(absl::Duration timeout = absl::Seconds(10));

  pid_t pid() const { return pid_; }
  std::string target() const;  // 127.0.0.1:<port>
  std::string LogTail() const;

 private:
  bool Running(int* exit_code);

  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace ferry::bench

#endif  // FERRY_BENCH_FERRY_BENCH_BROKER_PROCESS_H_
