#include "server/security/tls_session.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::security {
namespace {

// One reason for a failed SSL call: the first queued error (the cause; later ones are
// consequences), the certificate verification result when that failed, or what the peer did.
std::string Reason(SSL* ssl, int ssl_error) {
  const unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  ERR_clear_error();
  std::string why;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    why = reason != nullptr ? reason : absl::StrCat("error ", code);
  } else if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN) {
    why = "unexpected end of stream";
  } else {
    why = absl::StrCat("SSL error ", ssl_error);
  }
  const long verify = SSL_get_verify_result(ssl);  // NOLINT(runtime/int): OpenSSL's type
  if (verify != X509_V_OK) {
    why = absl::StrCat(why, ": ", X509_verify_cert_error_string(verify));
  }
  return why;
}

}  // namespace

TlsSession::TlsSession(std::shared_ptr<SSL_CTX> ctx) : ctx_(std::move(ctx)) {
  ssl_ = SSL_new(ctx_.get());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  // An empty memory BIO reads as "retry later", not as end of stream.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::Feed(std::string_view ciphertext) {
  size_t off = 0;
  while (off < ciphertext.size()) {
    const int n = BIO_write(in_, ciphertext.data() + off,
                            static_cast<int>(std::min<size_t>(ciphertext.size() - off, 1 << 30)));
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

absl::Status TlsSession::Read(std::string* plaintext, bool* closed) {
  *closed = false;
  ERR_clear_error();
  if (!handshake_done_) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      const int e = SSL_get_error(ssl_, rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return absl::OkStatus();
      return absl::UnavailableError(absl::StrCat("TLS handshake failed: ", Reason(ssl_, e)));
    }
    handshake_done_ = true;
  }
  char buf[16384];
  while (true) {
    const int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n > 0) {
      plaintext->append(buf, static_cast<size_t>(n));
      continue;
    }
    const int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return absl::OkStatus();
    if (e == SSL_ERROR_ZERO_RETURN) {
      *closed = true;
      return absl::OkStatus();
    }
    return absl::UnavailableError(absl::StrCat("TLS record failed: ", Reason(ssl_, e)));
  }
}

absl::Status TlsSession::Write(std::string_view plaintext) {
  ERR_clear_error();
  size_t off = 0;
  while (off < plaintext.size()) {
    const int n = SSL_write(ssl_, plaintext.data() + off,
                            static_cast<int>(std::min<size_t>(plaintext.size() - off, 1 << 30)));
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("TLS write failed: ", Reason(ssl_, SSL_get_error(ssl_, n))));
    }
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

void TlsSession::TakeOutput(std::string* out) {
  while (true) {
    const int pending = static_cast<int>(BIO_ctrl_pending(out_));
    if (pending <= 0) return;
    const size_t at = out->size();
    out->resize(at + static_cast<size_t>(pending));
    const int n = BIO_read(out_, out->data() + at, pending);
    out->resize(at + static_cast<size_t>(n > 0 ? n : 0));
    if (n <= 0) return;
  }
}

bool TlsSession::HasOutput() const { return BIO_ctrl_pending(out_) > 0; }

X509* TlsSession::verified_peer_certificate() const {
  if (!handshake_done_ || SSL_get_verify_result(ssl_) != X509_V_OK) return nullptr;
  return SSL_get0_peer_certificate(ssl_);
}

std::string TlsSession::version() const { return SSL_get_version(ssl_); }

std::string TlsSession::cipher() const {
  const char* name = SSL_get_cipher_name(ssl_);
  return name != nullptr ? name : "";
}

}  // namespace ferry::security
