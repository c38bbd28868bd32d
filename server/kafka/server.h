// KafkaServer: the Kafka wire-protocol listener. Accepts TCP connections and serves each on
// its own thread, one request at a time and in order (as Kafka does per connection), through
// the Dispatcher. A malformed, oversized or unknown request closes only its own connection.
// Thread-safe: Start and Stop from one thread; port() from any.
#ifndef FERRY_SERVER_KAFKA_SERVER_H_
#define FERRY_SERVER_KAFKA_SERVER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/kafka/dispatcher.h"

namespace ferry::kafka {

struct KafkaServerOptions {
  std::string listen = "127.0.0.1:9092";  // host:port; port 0 picks one
  // host[:port] given to clients in Metadata; empty: the listen address (127.0.0.1 when
  // listening on 0.0.0.0), with the bound port when none is given.
  std::string advertise;
  int max_connections = 1000;
  int64_t max_request_bytes = 100 << 20;
};

class KafkaServer {
 public:
  KafkaServer(broker::Broker* broker, group::ConsumerGroups* groups,
              const KafkaServerOptions& options);
  ~KafkaServer();  // Stop()s.
  KafkaServer(const KafkaServer&) = delete;
  KafkaServer& operator=(const KafkaServer&) = delete;

  // Binds and starts accepting. FAILED_PRECONDITION / INVALID_ARGUMENT when it cannot listen.
  absl::Status Start();
  // The bound port (after Start).
  int port() const { return port_; }
  // Stops accepting, ends long polls, closes every connection and joins their threads.
  // Idempotent.
  void Stop();

 private:
  void AcceptLoop();
  void Serve(uint64_t id, int fd, std::string peer);
  // Joins the threads of connections that ended.
  void ReapFinished() ABSL_LOCKS_EXCLUDED(mu_);

  const KafkaServerOptions options_;
  Dispatcher dispatcher_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};

  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  struct Connection {
    int fd;
    std::thread thread;
  };
  std::map<uint64_t, Connection> connections_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> finished_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_SERVER_H_
