// ServerTlsContext: the OpenSSL server context of a TlsConfig (TLS 1.2 and later, its client
// certificate policy), rebuilt when its files change so a rotated certificate serves new
// connections without a restart; connections already open keep the context they started with.
// A change that does not make a context (a half-written file, a key that does not match) keeps
// the old one and is reported once. No gRPC or Kafka types. Thread-safe.
#ifndef FERRY_SERVER_SECURITY_TLS_CONTEXT_H_
#define FERRY_SERVER_SECURITY_TLS_CONTEXT_H_

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/security/tls_config.h"

namespace ferry::security {

class ServerTlsContext {
 public:
  // Told of every rebuild after the first: OK when the new files serve, else why not (once
  // per state of the files).
  using ReloadListener = std::function<void(const absl::Status&)>;

  // Builds the context of `config` (TlsEnabled) now; the error says which file is wrong.
  // `clock` paces the checks (tests inject one).
  static absl::StatusOr<std::shared_ptr<ServerTlsContext>> Create(
      const TlsConfig& config, ReloadListener on_reload = nullptr,
      std::function<absl::Time()> clock = [] { return absl::Now(); });

  // The context for a new connection. Checks the files' identity (inode, size, mtime) when
  // reload_interval has passed since the last check, and rebuilds when they changed.
  std::shared_ptr<SSL_CTX> Current() ABSL_LOCKS_EXCLUDED(mu_);
  // Checks the files now; OK when unchanged or rebuilt, else why the new files do not serve
  // (the old context stays).
  absl::Status CheckNow() ABSL_LOCKS_EXCLUDED(mu_);

  const TlsConfig& config() const { return config_; }

 private:
  ServerTlsContext(TlsConfig config, ReloadListener on_reload, std::function<absl::Time()> clock)
      : config_(std::move(config)), on_reload_(std::move(on_reload)), clock_(std::move(clock)) {}

  absl::Status CheckLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TlsConfig config_;
  const ReloadListener on_reload_;
  const std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_ ABSL_GUARDED_BY(mu_);
  std::string files_ ABSL_GUARDED_BY(mu_);         // identity of the files ctx_ was built from
  std::string failed_files_ ABSL_GUARDED_BY(mu_);  // identity of files that failed, reported
  absl::Time last_check_ ABSL_GUARDED_BY(mu_);
};

// Builds a server SSL_CTX from `config`'s files now (what ServerTlsContext holds).
absl::StatusOr<std::shared_ptr<SSL_CTX>> NewServerSslContext(const TlsConfig& config);

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_TLS_CONTEXT_H_
