#include "integration/http_get.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ferry::integration {

// GET http://127.0.0.1:`port``path` over a plain socket (HTTP/1.0: the server closes the
// connection after the body, so the body is everything after the headers).
::testing::AssertionResult HttpGet(int port, const std::string& path, HttpResponse* out,
                                   const std::string& method, const std::string& extra_headers) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ::testing::AssertionFailure() << "socket: " << std::strerror(errno);
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  timeval tv{};
  tv.tv_sec = 5;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ::testing::AssertionFailure()
           << "connect 127.0.0.1:" << port << ": " << std::strerror(errno);
  }
  const std::string request = absl::StrCat(method, " ", path, " HTTP/1.0\r\nHost: 127.0.0.1:", port,
                                           "\r\n", extra_headers, "\r\n");
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return ::testing::AssertionFailure() << "send GET " << path << ": " << std::strerror(errno);
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[16384];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return ::testing::AssertionFailure() << "recv GET " << path << " (after " << raw.size()
                                           << " bytes): " << std::strerror(errno);
    }
    raw.append(buffer, static_cast<size_t>(n));
  }
  const size_t header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    return ::testing::AssertionFailure()
           << "GET " << path << ": no end of headers in \"" << raw << "\"";
  }
  out->headers = raw.substr(0, header_end);
  out->body = raw.substr(header_end + 4);
  // "HTTP/1.1 200 OK"
  std::vector<std::string> status_line =
      absl::StrSplit(out->headers.substr(0, out->headers.find("\r\n")), ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &out->status)) {
    return ::testing::AssertionFailure()
           << "GET " << path << ": bad status line in \"" << out->headers << "\"";
  }
  return ::testing::AssertionSuccess();
}

std::string HttpGetBody(int port, const std::string& path) {
  HttpResponse response;
  return HttpGet(port, path, &response) ? response.body : "";
}

}  // namespace ferry::integration
