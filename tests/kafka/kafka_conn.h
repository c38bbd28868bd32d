// A raw-socket mini Kafka client for tests: one TCP connection speaking Kafka framing, request
// header v1 or v2 and response header v0 or v1 as Ferry's API table says for the version.
// Not thread-safe.
#ifndef FERRY_TESTS_KAFKA_KAFKA_CONN_H_
#define FERRY_TESTS_KAFKA_KAFKA_CONN_H_

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka::ktest {

// One TCP connection speaking Kafka framing. Every read has a deadline so a broker that does
// not answer fails the test instead of hanging it.
class KafkaConn {
 public:
  ~KafkaConn() {
    if (fd_ >= 0) close(fd_);
  }

  bool Connect(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return false;
    timeval tv{15, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return true;
  }

  bool SendRaw(std::string_view bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Sends a request (header v1, or v2 when the version is flexible by Ferry's API table;
  // client id "it"); returns its correlation id.
  int32_t Send(int16_t key, int16_t version, std::string_view body) {
    std::string frame;
    Writer w(&frame);
    const size_t size_at = w.ReserveInt32();
    w.Int16(key);
    w.Int16(version);
    const int32_t correlation = next_correlation_++;
    w.Int32(correlation);
    w.String("it");
    if (HasRequestHeaderV2(key, version)) w.UnsignedVarint(0);  // no header tagged fields
    w.Raw(body);
    w.PatchInt32(size_at, static_cast<int32_t>(frame.size() - 4));
    EXPECT_TRUE(SendRaw(frame));
    return correlation;
  }

  // One response frame's body (after the response header), checked against `correlation`.
  // `flexible_header`: response header v1 (tagged fields after the correlation id).
  std::optional<std::string> Receive(int32_t correlation, bool flexible_header = false) {
    char size_buf[4];
    if (!RecvFull(size_buf, 4)) return std::nullopt;
    Reader sr(std::string_view(size_buf, 4));
    const int32_t size = sr.Int32();
    if (size < 4 || size > (64 << 20)) return std::nullopt;
    std::string frame(static_cast<size_t>(size), '\0');
    if (!RecvFull(frame.data(), frame.size())) return std::nullopt;
    Reader r(frame);
    EXPECT_EQ(r.Int32(), correlation);
    if (flexible_header) {
      r.set_flexible(true);
      r.TaggedFields();
      EXPECT_TRUE(r.ok()) << r.error();
    }
    return std::string(r.rest());
  }

  // A request and its answer; the headers' forms follow Ferry's API table (ApiVersions
  // answers with header v0 whatever the version).
  std::optional<std::string> Call(int16_t key, int16_t version, std::string_view body) {
    return Receive(Send(key, version, body),
                   key != kApiVersions && IsFlexibleVersion(key, version));
  }

  // True when the broker closes the connection (EOF or reset) within the receive timeout.
  bool ClosedByPeer() {
    char buf[256];
    while (true) {
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }

  // Drops the connection from this side.
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  bool RecvFull(char* buf, size_t n) {
    while (n > 0) {
      const ssize_t got = recv(fd_, buf, n, 0);
      if (got <= 0) return false;
      buf += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }

  int fd_ = -1;
  int32_t next_correlation_ = 1;
};

}  // namespace ferry::kafka::ktest

#endif  // FERRY_TESTS_KAFKA_KAFKA_CONN_H_
