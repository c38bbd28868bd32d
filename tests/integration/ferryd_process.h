// FerrydProcess runs the real ferryd binary as a child process for integration tests: a fresh
// temporary directory, a port ferryd picks itself on 127.0.0.1, and clients to talk to it.
#ifndef FERRY_TESTS_INTEGRATION_FERRYD_PROCESS_H_
#define FERRY_TESTS_INTEGRATION_FERRYD_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace ferry::integration {

// One ferryd child process and its temporary directory (`dir()`), which holds the data dir,
// the port files and ferryd.log (ferryd's stdout and stderr). The directory is removed on
// destruction unless `set_keep_dir(true)` or the environment sets FERRY_KEEP_TEST_DIRS=1. When
// the current test has failed, the destructor prints the tail of the log.
// Not thread-safe: drive it from the test's main thread (stubs may be used from any thread).
class FerrydProcess {
 public:
  FerrydProcess();
  ~FerrydProcess();
  FerrydProcess(const FerrydProcess&) = delete;
  FerrydProcess& operator=(const FerrydProcess&) = delete;

  // Starts ferryd with --listen=127.0.0.1:0, --port-file, --metrics-listen= (disabled) and
  // --data-dir, then `extra_flags`; returns once grpc.health.v1 Check("") says SERVING.
  // On failure (20 s deadline) the result carries the tail of ferryd's log.
  ::testing::AssertionResult Start(std::vector<std::string> extra_flags = {});
  // Starts ferryd again on the same data dir with the same extra flags (a new port). A
  // process still running is first stopped with Terminate().
  ::testing::AssertionResult Restart();
  // SIGKILL and reap: a crash.
  void Kill9();
  // SIGTERM, then waits up to `deadline` for the exit, then SIGKILL. Returns the exit code,
  // 128 + signal when a signal ended the process, or -1 when no process was running.
  int Terminate(absl::Duration deadline = absl::Seconds(15));
  // Whether the child is still running (reaps it if it exited).
  bool running();

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // The Kafka listener's port (ferryd runs with --kafka-listen=127.0.0.1:0); 0 when unknown.
  int kafka_port() const;
  // Every Kafka listener's port, in --kafka-listen's order (the port file's lines).
  std::vector<int> kafka_ports() const;
  // "127.0.0.1:PORT" of the current process.
  std::string address() const;
  const std::string& dir() const { return dir_; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_path() const { return dir_ + "/ferryd.log"; }
  // The last `max_bytes` of ferryd.log.
  std::string LogTail(size_t max_bytes = 64 * 1024) const;

  // The channel to the current process; replaced by every (re)start.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // A channel with its own TCP connection, for tests that want independent clients.
  std::shared_ptr<grpc::Channel> NewChannel() const;
  std::unique_ptr<ferry::v1::Broker::Stub> broker() const;
  std::unique_ptr<ferry::v1::Admin::Stub> admin() const;
  std::unique_ptr<grpc::health::v1::Health::Stub> health() const;

  void set_keep_dir(bool keep) { keep_dir_ = keep; }
  // What channel() and NewChannel() connect with (default: plaintext); set before Start() for a
  // broker serving TLS. `target_name`: the name the server certificate is checked against.
  void set_channel_credentials(std::shared_ptr<grpc::ChannelCredentials> credentials,
                               std::string target_name = "") {
    credentials_ = std::move(credentials);
    target_name_ = std::move(target_name);
  }

 private:
  ::testing::AssertionResult Launch();
  // Waits for the port file and then for SERVING, until `deadline`.
  ::testing::AssertionResult AwaitServing(absl::Time deadline);
  // Fills `exit_status_` from a waitpid status and forgets the pid.
  void Reaped(int wait_status);

  std::string dir_;
  std::vector<std::string> extra_flags_;
  int starts_ = 0;
  std::string port_file_;
  std::string kafka_port_file_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_status_ = -1;
  bool keep_dir_ = false;
  bool start_failed_ = false;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::string target_name_;
};

// Polls `condition` every few milliseconds until it holds (true) or `timeout` passes (false).
// Tests wait with this, or on a mutex condition, never with a bare sleep.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

}  // namespace ferry::integration

#endif  // FERRY_TESTS_INTEGRATION_FERRYD_PROCESS_H_
