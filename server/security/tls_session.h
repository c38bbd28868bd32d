// TlsSession: the server side of one TLS connection over memory BIOs, so the caller keeps its
// own socket I/O (readiness reads, asynchronous writes): ciphertext the peer sent goes in with
// Feed, plaintext comes out of Read; plaintext goes in with Write, ciphertext for the peer comes
// out of TakeOutput. A failure is one status whose message is the reason, with OpenSSL's error
// queue cleared. Not thread-safe: one connection's calls at a time (a strand).
#ifndef FERRY_SERVER_SECURITY_TLS_SESSION_H_
#define FERRY_SERVER_SECURITY_TLS_SESSION_H_

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ferry::security {

class TlsSession {
 public:
  // Accepts a handshake with the settings of `ctx`, which it keeps alive.
  explicit TlsSession(std::shared_ptr<SSL_CTX> ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Ciphertext received from the peer.
  void Feed(std::string_view ciphertext);
  // Advances the handshake with what was fed and appends the plaintext it decrypts to
  // `plaintext`. OK also when more bytes are needed; `*closed` once the peer sent close_notify.
  // UNAVAILABLE with the reason when the handshake or a record fails: close the connection.
  absl::Status Read(std::string* plaintext, bool* closed);
  // Encrypts `plaintext` (after the handshake); its records are in TakeOutput.
  absl::Status Write(std::string_view plaintext);
  // Appends the ciphertext due to the peer (handshake messages, records, alerts) to `out`.
  void TakeOutput(std::string* out);
  bool HasOutput() const;

  bool handshake_done() const { return handshake_done_; }
  // After the handshake: the client's certificate when it sent one and it verified; null
  // otherwise. Owned by the session.
  X509* verified_peer_certificate() const;
  std::string version() const;  // "TLSv1.3"
  std::string cipher() const;

 private:
  std::shared_ptr<SSL_CTX> ctx_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
  bool handshake_done_ = false;
};

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_TLS_SESSION_H_
