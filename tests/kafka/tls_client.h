// A blocking OpenSSL client for tests of ferryd's TLS listeners, and a CA with certificates the
// openssl tool makes at test time. TlsClient speaks Kafka framing (as KafkaConn) or raw bytes
// over one TLS connection; every read has a deadline. Not thread-safe.
#ifndef FERRY_TESTS_KAFKA_TLS_CLIENT_H_
#define FERRY_TESTS_KAFKA_TLS_CLIENT_H_

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka::ktest {

// Runs a shell command quietly; true on exit 0.
inline bool Sh(const std::string& command) {
  return std::system(("bash -c '" + command + "' >/dev/null 2>&1").c_str()) == 0;
}

// A CA and certificates it signs, in `dir`: <name>.pem and <name>.key.
class Pki {
 public:
  explicit Pki(std::string dir) : dir_(std::move(dir)) {}

  bool MakeCa(const std::string& ca) const {
    return Sh(absl::StrCat("cd ", dir_, " && openssl req -x509 -newkey ec -pkeyopt ",
                           "ec_paramgen_curve:prime256v1 -nodes -keyout ", ca, ".key -out ", ca,
                           ".pem -days 2 -subj /CN=", ca));
  }
  // A certificate for subject CN `cn` and subjectAltName `san`, signed by `ca`, valid for
  // `days` (negative: expired already).
  bool MakeCert(const std::string& ca, const std::string& name, const std::string& cn,
                const std::string& san = "IP:127.0.0.1,DNS:localhost", int days = 2) const {
    return Sh(absl::StrCat(
        "cd ", dir_, " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ",
        "-keyout ", name, ".key -out ", name, ".csr -subj /CN=", cn, " && printf ",
        "\"subjectAltName=", san, "\" > ", name, ".ext && openssl x509 -req -in ", name,
        ".csr -CA ", ca, ".pem -CAkey ", ca, ".key -CAcreateserial -days ", days, " -out ", name,
        ".pem -extfile ", name, ".ext"));
  }
  std::string pem(const std::string& name) const { return absl::StrCat(dir_, "/", name, ".pem"); }
  std::string key(const std::string& name) const { return absl::StrCat(dir_, "/", name, ".key"); }

 private:
  std::string dir_;
};

class TlsClient {
 public:
  struct Options {
    std::string ca_file;    // trusted; the server certificate is verified against it
    std::string cert_file;  // client certificate (mTLS); empty: none
    std::string key_file;
    std::string host = "localhost";  // the name the server certificate must carry
  };

  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }

  // Connects to 127.0.0.1:`port` and completes the handshake; false with error() saying why.
  bool Connect(int port, const Options& o) {
    signal(SIGPIPE, SIG_IGN);  // a write to a connection the server closed fails, not kills
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      error_ = "connect failed";
      return false;
    }
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx_, o.ca_file.c_str(), nullptr) != 1) {
      return Failed("cannot load the CA");
    }
    if (!o.cert_file.empty() &&
        (SSL_CTX_use_certificate_chain_file(ctx_, o.cert_file.c_str()) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx_, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
      return Failed("cannot load the client certificate");
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, o.host.c_str());
    SSL_set_tlsext_host_name(ssl_, o.host.c_str());
    if (SSL_connect(ssl_) != 1) return Failed("handshake failed");
    return true;
  }

  const std::string& error() const { return error_; }

  bool SendRaw(std::string_view bytes) {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
           static_cast<int>(bytes.size());
  }

  // A request (header v1, or v2 when flexible) and its answer's body after the response
  // header; nullopt when the connection fails.
  std::optional<std::string> Call(int16_t key, int16_t version, std::string_view body) {
    std::string frame;
    Writer w(&frame);
    const size_t size_at = w.ReserveInt32();
    w.Int16(key);
    w.Int16(version);
    const int32_t correlation = next_correlation_++;
    w.Int32(correlation);
    w.String("tls-it");
    if (HasRequestHeaderV2(key, version)) w.UnsignedVarint(0);
    w.Raw(body);
    w.PatchInt32(size_at, static_cast<int32_t>(frame.size() - 4));
    if (!SendRaw(frame)) return std::nullopt;
    char size_buf[4];
    if (!ReadFull(size_buf, 4)) return std::nullopt;
    Reader sr(std::string_view(size_buf, 4));
    const int32_t size = sr.Int32();
    if (size < 4 || size > (64 << 20)) return std::nullopt;
    std::string response(static_cast<size_t>(size), '\0');
    if (!ReadFull(response.data(), response.size())) return std::nullopt;
    Reader r(response);
    if (r.Int32() != correlation) return std::nullopt;
    if (key != kApiVersions && IsFlexibleVersion(key, version)) {
      r.set_flexible(true);
      r.TaggedFields();
    }
    return std::string(r.rest());
  }

  // ApiVersions v0 answered with error 0.
  bool ApiVersionsOk() {
    std::optional<std::string> body = Call(kApiVersions, 0, "");
    if (!body.has_value()) return false;
    Reader r(*body);
    return r.Int16() == 0 && r.ok();
  }

 private:
  bool Failed(const std::string& what) {
    const unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
    ERR_clear_error();
    char buf[256] = {0};
    if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
    error_ = absl::StrCat(what, ": ", buf);
    return false;
  }

  bool ReadFull(char* buf, size_t n) {
    while (n > 0) {
      const int got = SSL_read(ssl_, buf, static_cast<int>(n));
      if (got <= 0) {
        ERR_clear_error();
        return false;
      }
      buf += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
  int32_t next_correlation_ = 1;
};

}  // namespace ferry::kafka::ktest

#endif  // FERRY_TESTS_KAFKA_TLS_CLIENT_H_
