#include "server/metrics/https_listener.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "server/security/tls_session.h"

namespace ferry::metrics {
namespace {

constexpr size_t kMaxRequestBytes = 16 << 10;
constexpr absl::Duration kConnectionDeadline = absl::Seconds(10);

// Sends all of `data` before `deadline`; false when the peer is gone or too slow.
bool SendAll(int fd, std::string_view data, absl::Time deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (ms <= 0 || ::poll(&p, 1, static_cast<int>(ms)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpsListener>> HttpsListener::Start(
    const std::string& listen, std::shared_ptr<security::ServerTlsContext> tls, Responder respond) {
  const auto fail = [&](const std::string& why) {
    return absl::FailedPreconditionError(
        absl::StrCat("metrics listener (--metrics-listen): cannot listen on ", listen, ": ", why));
  };
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return fail("not host:port");
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
      rc != 0) {
    return fail(std::string("cannot resolve: ") + gai_strerror(rc));
  }
  std::unique_ptr<HttpsListener> l(new HttpsListener());
  l->tls_ = std::move(tls);
  l->respond_ = std::move(respond);
  std::string error = "no address";
  for (addrinfo* a = res; a != nullptr && l->listen_fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      l->listen_fd_ = fd;
    } else {
      error = std::strerror(errno);
      ::close(fd);
    }
  }
  freeaddrinfo(res);
  if (l->listen_fd_ < 0) return fail(error);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(l->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  l->port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  for (int i = 0; i < 2; ++i) l->threads_.emplace_back([raw = l.get()] { raw->Run(); });
  return l;
}

HttpsListener::~HttpsListener() {
  stopping_.store(true);
  // Wakes the threads blocked in accept; a connection in progress ends by its deadline or
  // when its poll sees the flag.
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  for (auto& t : threads_) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void HttpsListener::Run() {
  while (!stopping_.load()) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_.load()) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Out of descriptors or the like: give connections time to end rather than spin.
      pollfd p{listen_fd_, POLLIN, 0};
      ::poll(&p, 1, 50);
      continue;
    }
    Serve(fd);
    ::close(fd);
  }
}

void HttpsListener::Serve(int fd) {
  const absl::Time deadline = absl::Now() + kConnectionDeadline;
  security::TlsSession tls(tls_->Current());
  std::string request;
  std::string out;
  char buf[4096];
  // Handshake and the request head, up to its blank line.
  while (request.find("\r\n\r\n") == std::string::npos) {
    if (request.size() > kMaxRequestBytes || stopping_.load()) return;
    pollfd p{fd, POLLIN, 0};
    const int64_t ms = std::min<int64_t>(absl::ToInt64Milliseconds(deadline - absl::Now()), 200);
    if (absl::Now() >= deadline) return;
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(ms, 1)));
    if (ready < 0 && errno != EINTR) return;
    if (ready <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return;
    }
    tls.Feed(std::string_view(buf, static_cast<size_t>(n)));
    bool closed = false;
    const absl::Status s = tls.Read(&request, &closed);
    out.clear();
    tls.TakeOutput(&out);
    if (!out.empty() && !SendAll(fd, out, deadline)) return;
    if (!s.ok() || closed) return;  // a plaintext client, an untrusted certificate...
  }
  // "GET /metrics?x HTTP/1.1", then headers.
  const absl::string_view head(request.data(), request.find("\r\n\r\n"));
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() != 3) return;
  absl::string_view path = parts[1];
  path = path.substr(0, path.find('?'));
  bool gzip = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string line = absl::AsciiStrToLower(lines[i]);
    if (absl::StartsWith(line, "accept-encoding:") && absl::StrContains(line, "gzip")) gzip = true;
  }
  const std::string response = respond_(std::string(parts[0]), std::string(path), gzip);
  if (!tls.Write(response).ok()) return;
  out.clear();
  tls.TakeOutput(&out);
  SendAll(fd, out, deadline);
}

}  // namespace ferry::metrics
