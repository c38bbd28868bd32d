// HttpsListener: the metrics endpoint over HTTPS (--metrics-tls). Debian's civetweb loads
// OpenSSL with dlopen("libssl.so"), a name only libssl-dev provides (the runtime image has
// libssl.so.3 alone), and cannot change its certificate while running; so HTTPS is served here
// with Ferry's own TLS session and reloading context instead: one request per connection
// (Connection: close), as Prometheus scrapes, on two threads that each serve one connection at
// a time with a 10 s deadline. Thread-safe: Start, then the destructor stops it.
#ifndef FERRY_SERVER_METRICS_HTTPS_LISTENER_H_
#define FERRY_SERVER_METRICS_HTTPS_LISTENER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "server/security/tls_context.h"

namespace ferry::metrics {

class HttpsListener {
 public:
  // The whole response to a request: method, path without the query, accepts gzip.
  using Responder = std::function<std::string(std::string_view, std::string_view, bool)>;

  // Listens on `listen` (host:port; port 0 picks one). FAILED_PRECONDITION when it cannot.
  static absl::StatusOr<std::unique_ptr<HttpsListener>> Start(
      const std::string& listen, std::shared_ptr<security::ServerTlsContext> tls,
      Responder respond);
  ~HttpsListener();  // stops accepting, ends the connections in progress, joins the threads

  int port() const { return port_; }

 private:
  HttpsListener() = default;
  void Run();
  void Serve(int fd);

  std::shared_ptr<security::ServerTlsContext> tls_;
  Responder respond_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace ferry::metrics

#endif  // FERRY_SERVER_METRICS_HTTPS_LISTENER_H_
