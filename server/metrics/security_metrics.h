// SecurityMetrics: authentication and authorization outcomes of both front doors, in the
// prometheus registry:
//   ferry_authentications_total{door,listener,mechanism}          clients that authenticated
//   ferry_authentication_failures_total{door,listener,mechanism}  wrong password, bad credentials
//   ferry_authorization_denials_total{door,listener,operation}    requests an ACL refused
// No principal or resource label: the series stay bounded whoever connects.
// Thread-safe; a series is made on first use and cached, so a report costs a map lookup under a
// short lock and an atomic increment.
#ifndef FERRY_SERVER_METRICS_SECURITY_METRICS_H_
#define FERRY_SERVER_METRICS_SECURITY_METRICS_H_

#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "server/security/observer.h"

namespace ferry::metrics {

class SecurityMetrics final : public security::SecurityObserver {
 public:
  explicit SecurityMetrics(prometheus::Registry* registry);

  void Authenticated(std::string_view door, std::string_view listener, std::string_view mechanism,
                     bool ok) override ABSL_LOCKS_EXCLUDED(mu_);
  void Denied(std::string_view door, std::string_view listener, std::string_view operation) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using Key = std::tuple<std::string, std::string, std::string>;
  prometheus::Counter* Series(prometheus::Family<prometheus::Counter>& family,
                              std::map<Key, prometheus::Counter*, std::less<>>& cache,
                              const char* third_label, std::string_view door,
                              std::string_view listener, std::string_view third)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  prometheus::Family<prometheus::Counter>& authentications_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Counter>& denials_;

  absl::Mutex mu_;
  std::map<Key, prometheus::Counter*, std::less<>> authentications_by_key_ ABSL_GUARDED_BY(mu_);
  std::map<Key, prometheus::Counter*, std::less<>> failures_by_key_ ABSL_GUARDED_BY(mu_);
  std::map<Key, prometheus::Counter*, std::less<>> denials_by_key_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::metrics

#endif  // FERRY_SERVER_METRICS_SECURITY_METRICS_H_
