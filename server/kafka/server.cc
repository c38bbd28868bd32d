#include "server/kafka/server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/log.h"

namespace ferry::kafka {
namespace {

// Splits "host:port" (host may be "[v6]"); false when malformed.
bool SplitHostPort(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return absl::SimpleAtoi(address.substr(colon + 1), port) && *port >= 0 && *port <= 65535;
}

// Reads exactly `n` bytes; false on EOF or error.
bool ReadFull(int fd, char* buf, size_t n) {
  while (n > 0) {
    const ssize_t got = ::recv(fd, buf, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    buf += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

bool WriteFull(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t put = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    off += static_cast<size_t>(put);
  }
  return true;
}

std::string PeerName(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace

KafkaServer::KafkaServer(broker::Broker* broker, group::ConsumerGroups* groups,
                         const KafkaServerOptions& options)
    : options_(options), dispatcher_(broker, groups) {}

KafkaServer::~KafkaServer() { Stop(); }

absl::Status KafkaServer::Start() {
  std::string host;
  int port = 0;
  if (!SplitHostPort(options_.listen, &host, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--kafka-listen must be host:port, got '", options_.listen, "'"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int gai =
      getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
  if (gai != 0 || found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve Kafka listen address '",
                                                   options_.listen, "': ", gai_strerror(gai)));
  }
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || ::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    freeaddrinfo(found);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen for Kafka clients on ", options_.listen, ": ", why));
  }
  freeaddrinfo(found);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listen_fd_ = fd;

  std::string advertised_host = host;
  int advertised_port = port_;
  if (!options_.advertise.empty()) {
    std::string h;
    int p = 0;
    if (SplitHostPort(options_.advertise, &h, &p) && p > 0) {
      advertised_host = h;
      advertised_port = p;
    } else {
      advertised_host = options_.advertise;
    }
  } else if (host.empty() || host == "0.0.0.0" || host == "::") {
    advertised_host = "127.0.0.1";
  }
  dispatcher_.SetAdvertisedAddress(advertised_host, advertised_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  log::Event(log::Level::kInfo, "kafka_listening",
             {{"kafka_port", std::to_string(port_)},
              {"advertised", absl::StrCat(advertised_host, ":", advertised_port)}});
  return absl::OkStatus();
}

void KafkaServer::AcceptLoop() {
  while (!stopping_.load()) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_.load()) break;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: wait for connections to end rather than spin.
        log::Event(log::Level::kWarn, "kafka_accept_failed", {{"error", std::strerror(errno)}});
        absl::SleepFor(absl::Milliseconds(50));
        continue;
      }
      break;
    }
    ReapFinished();
    const std::string peer = PeerName(addr);
    absl::MutexLock lock(&mu_);
    if (stopping_.load() || static_cast<int>(connections_.size()) >= options_.max_connections) {
      log::Event(log::Level::kWarn, "kafka_connection_refused",
                 {{"peer", peer},
                  {"reason", "too many connections"},
                  {"max_connections", std::to_string(options_.max_connections)}});
      ::close(fd);
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const uint64_t id = next_id_++;
    Connection& c = connections_[id];
    c.fd = fd;
    c.thread = std::thread([this, id, fd, peer] { Serve(id, fd, peer); });
  }
}

void KafkaServer::Serve(uint64_t id, int fd, std::string peer) {
  log::Event(log::Level::kDebug, "kafka_connected", {{"peer", peer}});
  std::string frame;
  while (!stopping_.load()) {
    char size_buf[4];
    if (!ReadFull(fd, size_buf, 4)) break;  // the client closed
    const int32_t size =
        static_cast<int32_t>((static_cast<uint32_t>(static_cast<uint8_t>(size_buf[0])) << 24) |
                             (static_cast<uint32_t>(static_cast<uint8_t>(size_buf[1])) << 16) |
                             (static_cast<uint32_t>(static_cast<uint8_t>(size_buf[2])) << 8) |
                             static_cast<uint32_t>(static_cast<uint8_t>(size_buf[3])));
    if (size < 0 || size > options_.max_request_bytes) {
      log::Event(log::Level::kWarn, "kafka_connection_closed",
                 {{"peer", peer},
                  {"reason", "request size out of range"},
                  {"size", std::to_string(size)},
                  {"max_request_bytes", std::to_string(options_.max_request_bytes)}});
      break;
    }
    // Grow with the bytes that actually arrive, so a forged size costs nothing up front.
    frame.clear();
    bool complete = true;
    constexpr size_t kChunk = 1 << 20;
    while (frame.size() < static_cast<size_t>(size)) {
      const size_t n = std::min(kChunk, static_cast<size_t>(size) - frame.size());
      const size_t at = frame.size();
      frame.resize(at + n);
      if (!ReadFull(fd, frame.data() + at, n)) {
        complete = false;
        break;
      }
    }
    if (!complete) {
      log::Event(log::Level::kWarn, "kafka_connection_closed",
                 {{"peer", peer}, {"reason", "truncated request"}});
      break;
    }
    const Result result = dispatcher_.Handle(frame, peer.substr(0, peer.rfind(':')), [fd] {
      // The client shut its side (or the connection broke); requests it pipelined do not count.
      pollfd p{fd, POLLRDHUP, 0};
      return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    });
    if (result.kind == Result::Kind::kClose) {
      log::Event(log::Level::kWarn, "kafka_connection_closed",
                 {{"peer", peer}, {"reason", result.close_reason}});
      break;
    }
    if (result.kind == Result::Kind::kReply && !WriteFull(fd, result.frame)) break;
    if (frame.capacity() > 4 * kChunk) std::string().swap(frame);
  }
  ::shutdown(fd, SHUT_RDWR);
  absl::MutexLock lock(&mu_);
  finished_.push_back(id);
}

void KafkaServer::ReapFinished() {
  std::vector<std::thread> done;
  {
    absl::MutexLock lock(&mu_);
    for (uint64_t id : finished_) {
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      ::close(it->second.fd);
      done.push_back(std::move(it->second.thread));
      connections_.erase(it);
    }
    finished_.clear();
  }
  for (auto& t : done) t.join();
}

void KafkaServer::Stop() {
  if (stopping_.exchange(true)) return;
  dispatcher_.BeginShutdown();
  if (listen_fd_ >= 0) {
    // Wakes the blocked accept (EINVAL) on Linux.
    ::shutdown(listen_fd_, SHUT_RDWR);
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    // Wakes connection threads blocked in recv; their fds close once they are joined.
    for (auto& [id, c] : connections_) ::shutdown(c.fd, SHUT_RDWR);
    for (auto& [id, c] : connections_) threads.push_back(std::move(c.thread));
  }
  for (auto& t : threads) t.join();
  absl::MutexLock lock(&mu_);
  for (auto& [id, c] : connections_) ::close(c.fd);
  connections_.clear();
  finished_.clear();
  log::Event(log::Level::kInfo, "kafka_stopped");
}

}  // namespace ferry::kafka
