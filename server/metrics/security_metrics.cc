#include "server/metrics/security_metrics.h"

namespace ferry::metrics {

SecurityMetrics::SecurityMetrics(prometheus::Registry* registry)
    : authentications_(prometheus::BuildCounter()
                           .Name("ferry_authentications_total")
                           .Help("Clients that authenticated, by front door, listener and "
                                 "mechanism (gRPC: basic or mtls; Kafka: the SASL mechanism).")
                           .Register(*registry)),
      failures_(prometheus::BuildCounter()
                    .Name("ferry_authentication_failures_total")
                    .Help("Failed authentications (wrong user or password, malformed "
                          "credentials, a password refused without TLS), by front door, "
                          "listener and mechanism.")
                    .Register(*registry)),
      denials_(prometheus::BuildCounter()
                   .Name("ferry_authorization_denials_total")
                   .Help("Requests refused by the ACL authorizer, by front door, listener and "
                         "the operation refused (read, write, create, ...).")
                   .Register(*registry)) {}

prometheus::Counter* SecurityMetrics::Series(
    prometheus::Family<prometheus::Counter>& family,
    std::map<Key, prometheus::Counter*, std::less<>>& cache, const char* third_label,
    std::string_view door, std::string_view listener, std::string_view third) {
  Key key{std::string(door), std::string(listener), std::string(third)};
  auto it = cache.find(key);
  if (it == cache.end()) {
    prometheus::Counter* c = &family.Add({{"door", std::get<0>(key)},
                                          {"listener", std::get<1>(key)},
                                          {third_label, std::get<2>(key)}});
    it = cache.emplace(std::move(key), c).first;
  }
  return it->second;
}

void SecurityMetrics::Authenticated(std::string_view door, std::string_view listener,
                                    std::string_view mechanism, bool ok) {
  prometheus::Counter* c;
  {
    absl::MutexLock lock(&mu_);
    c = ok ? Series(authentications_, authentications_by_key_, "mechanism", door, listener,
                    mechanism)
           : Series(failures_, failures_by_key_, "mechanism", door, listener, mechanism);
  }
  c->Increment();
}

void SecurityMetrics::Denied(std::string_view door, std::string_view listener,
                             std::string_view operation) {
  prometheus::Counter* c;
  {
    absl::MutexLock lock(&mu_);
    c = Series(denials_, denials_by_key_, "operation", door, listener, operation);
  }
  c->Increment();
}

}  // namespace ferry::metrics
