// KafkaServer: the Kafka wire-protocol listener, on standalone Asio. A fixed number of I/O
// threads run every connection (no thread per connection); requests are handled off the I/O
// threads by worker pools, one request at a time per connection and answered in order, as
// Kafka does, while the client may pipeline more. A malformed, oversized or unknown request
// closes only its own connection, as does a failed TLS handshake on an SSL or SASL_SSL listener.
// server.cc's opening comment explains the design. Thread-safe: Start and Stop from one thread;
// port() from any.
#ifndef FERRY_SERVER_KAFKA_SERVER_H_
#define FERRY_SERVER_KAFKA_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/kafka/listeners.h"
#include "server/kafka/observer.h"
#include "server/kafka/sasl.h"
#include "server/security/tls_principal.h"

namespace ferry::security {
class ServerTlsContext;
}  // namespace ferry::security

namespace ferry::kafka {

// PLAINTEXT on 127.0.0.1:9092, ferryd's default.
inline KafkaListener LoopbackListener() {
  KafkaListener l;
  l.host = "127.0.0.1";
  return l;
}

struct KafkaServerOptions {
  // Where to listen and what to tell clients, per listener (ParseKafkaListeners); at least one.
  std::vector<KafkaListener> listeners = {LoopbackListener()};
  // Connections at once; a new one over it is closed at once (idle ones are reaped by
  // `connections_max_idle`, so this never locks clients out for good).
  int max_connections = 1000;
  // Connections at once from one client address (Kafka's max.connections.per.ip).
  int max_connections_per_ip = 1000;
  int64_t max_request_bytes = 100 << 20;
  // A connection with no request in progress, nothing to send and nothing received for this
  // long is closed (Kafka's connections.max.idle.ms).
  absl::Duration connections_max_idle = absl::Milliseconds(600000);
  // Threads running the sockets (reads, writes, timers): never blocked by a handler.
  int io_threads = 2;
  // Threads for requests that answer at once (Metadata, ApiVersions, offsets, heartbeats...).
  int request_threads = 4;
  // Most threads for requests that may wait (Fetch long polls, JoinGroup and SyncGroup
  // barriers, Produce waiting for durability): started when needed, ended when idle. When all
  // are busy, such requests queue; other requests are never behind them.
  int max_waiting_requests = 1024;
  // Bytes a connection may have queued (requests read but not handled, responses not yet
  // taken by the client) before it stops reading new requests: a slow reader's back-pressure.
  int64_t max_queued_bytes = 4 << 20;
  // Where requests and connections are reported; may be null. Must outlive the server.
  KafkaObserver* observer = nullptr;
  // The authorizer and user store (null: everything allowed, no SASL), and what SASL listeners
  // accept. Must outlive the server.
  security::Security* security = nullptr;
  SaslOptions sasl;
  // The certificate of the SSL and SASL_SSL listeners (required when there is one), asked for
  // a context at every accept so a rotated certificate serves new connections.
  std::shared_ptr<security::ServerTlsContext> tls;
  // What a verified client certificate names as Session::tls_principal (--tls-principal).
  security::PrincipalField tls_principal = security::PrincipalField::kCn;
  // A TLS handshake not done within this (or connections_max_idle when shorter) closes its
  // connection.
  absl::Duration tls_handshake_timeout = absl::Seconds(10);
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
  // The bound port of the first listener, and of each (after Start).
  int port() const;
  std::vector<int> ports() const;
  // Stops accepting, ends long polls, closes every connection and joins the threads, in
  // bounded time. Idempotent.
  void Stop();

  class Impl;  // server.cc: the sockets, pools and connections

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_SERVER_H_
