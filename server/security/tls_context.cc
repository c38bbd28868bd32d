#include "server/security/tls_context.h"

#include <openssl/err.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::security {
namespace {

// The first queued OpenSSL error's reason; the queue cleared.
std::string FirstError() {
  const unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "unknown error";
}

// What identifies the current content of `path` without reading it: a replaced file (a
// rename, the kubelet's symlink swap) has a new inode, one rewritten in place a new mtime.
std::string FileIdentity(const std::string& path) {
  if (path.empty()) return "-";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return absl::StrCat(path, " missing ", errno);
  return absl::StrCat(path, " ", st.st_dev, ":", st.st_ino, " ", st.st_size, " ", st.st_mtim.tv_sec,
                      ".", st.st_mtim.tv_nsec);
}

std::string FilesIdentity(const TlsConfig& c) {
  return absl::StrCat(FileIdentity(c.cert_file), "|", FileIdentity(c.key_file), "|",
                      FileIdentity(c.ca_file));
}

}  // namespace

absl::StatusOr<std::shared_ptr<SSL_CTX>> NewServerSslContext(const TlsConfig& config) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (ctx == nullptr) return absl::InternalError("cannot create a TLS context: " + FirstError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), config.cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate ", config.cert_file, ": ", FirstError()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("key ", config.key_file, ": ", FirstError()));
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "key ", config.key_file, " is not the private key of the certificate ", config.cert_file));
  }
  int verify = SSL_VERIFY_NONE;
  if (!config.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), config.ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("CA ", config.ca_file, ": ", FirstError()));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx.get(), names);
    // Client certificates are only asked for when there is a CA to verify them against: an
    // unverified certificate must not name a principal.
    if (config.client_auth == ClientAuth::kRequest) verify = SSL_VERIFY_PEER;
    if (config.client_auth == ClientAuth::kRequire) {
      verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
  }
  SSL_CTX_set_verify(ctx.get(), verify, nullptr);
  static const unsigned char kSessionContext[] = "ferry";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof(kSessionContext) - 1);
  ERR_clear_error();
  return ctx;
}

absl::StatusOr<std::shared_ptr<ServerTlsContext>> ServerTlsContext::Create(
    const TlsConfig& config, ReloadListener on_reload, std::function<absl::Time()> clock) {
  std::shared_ptr<ServerTlsContext> c(
      new ServerTlsContext(config, std::move(on_reload), std::move(clock)));
  absl::MutexLock lock(&c->mu_);
  c->files_ = FilesIdentity(config);
  absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx = NewServerSslContext(config);
  if (!ctx.ok()) return ctx.status();
  c->ctx_ = *std::move(ctx);
  c->last_check_ = c->clock_();
  return c;
}

std::shared_ptr<SSL_CTX> ServerTlsContext::Current() {
  absl::MutexLock lock(&mu_);
  if (clock_() - last_check_ >= config_.reload_interval) CheckLocked().IgnoreError();
  return ctx_;
}

absl::Status ServerTlsContext::CheckNow() {
  absl::MutexLock lock(&mu_);
  return CheckLocked();
}

absl::Status ServerTlsContext::CheckLocked() {
  last_check_ = clock_();
  const std::string files = FilesIdentity(config_);
  if (files == files_) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx = NewServerSslContext(config_);
  if (!ctx.ok()) {
    // Kept until the files change again (the writer finishes): reported once per state.
    if (files != failed_files_) {
      failed_files_ = files;
      if (on_reload_) on_reload_(ctx.status());
    }
    return ctx.status();
  }
  ctx_ = *std::move(ctx);
  files_ = files;
  failed_files_.clear();
  if (on_reload_) on_reload_(absl::OkStatus());
  return absl::OkStatus();
}

}  // namespace ferry::security
