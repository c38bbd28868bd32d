// Engine: what the gRPC services serve from. ferryd starts serving (health NOT_SERVING) before
// storage recovery finishes and attaches the engine afterwards; until then every RPC answers
// UNAVAILABLE, which clients retry. The "not ready" answer is given here and nowhere else, and
// so is authentication: ServeUnary (and the streams, through Authenticate) hand each call its
// Caller (auth.h). Thread-safe.
#ifndef FERRY_SERVER_GRPC_ENGINE_H_
#define FERRY_SERVER_GRPC_ENGINE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/grpc/auth.h"
#include "server/grpc/status.h"
#include "server/security/security.h"

namespace ferry::grpc_server {

// The engine's parts, all non-null.
struct Ready {
  broker::Broker* broker;
  group::ConsumerGroups* groups;
  security::Security* security;
};

class Engine {
 public:
  // `auth`: how calls are authenticated (the listener's TLS, the certificate mapping).
  explicit Engine(AuthOptions auth = {}) : auth_(std::move(auth)) {}

  // Once, when all are ready.
  void Attach(broker::Broker* broker, group::ConsumerGroups* groups, security::Security* security) {
    groups_.store(groups, std::memory_order_release);
    security_.store(security, std::memory_order_release);
    broker_.store(broker, std::memory_order_release);
  }
  // UNAVAILABLE until attached.
  absl::StatusOr<Ready> Get() const {
    broker::Broker* broker = broker_.load(std::memory_order_acquire);
    if (broker == nullptr) {
      return absl::UnavailableError(
          "the broker is starting: recovering its storage; retry shortly");
    }
    return Ready{broker, groups_.load(std::memory_order_acquire),
                 security_.load(std::memory_order_acquire)};
  }
  // The caller of `context`'s call; UNAUTHENTICATED for bad credentials.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context,
                                      const Ready& ready) const {
    return Caller::Authenticate(context, ready.security, auth_);
  }
  const AuthOptions& auth() const { return auth_; }

 private:
  const AuthOptions auth_;
  std::atomic<broker::Broker*> broker_{nullptr};
  std::atomic<group::ConsumerGroups*> groups_{nullptr};
  std::atomic<security::Security*> security_{nullptr};
};

// Serves a unary call from the engine: `fn(const Ready&, const Caller&)` checks what the caller
// may do and returns the call's status (answered at once) or its own reactor (it answers later).
// Before the engine is ready: UNAVAILABLE; bad credentials: UNAUTHENTICATED.
template <typename Fn>
grpc::ServerUnaryReactor* ServeUnary(const Engine* engine, grpc::CallbackServerContext* context,
                                     Fn&& fn) {
  using Result = std::invoke_result_t<Fn, const Ready&, const Caller&>;
  absl::StatusOr<Ready> ready = engine->Get();
  absl::StatusOr<Caller> caller =
      ready.ok() ? engine->Authenticate(*context, *ready) : absl::StatusOr<Caller>(ready.status());
  if constexpr (std::is_same_v<Result, grpc::ServerUnaryReactor*>) {
    if (caller.ok()) return fn(*ready, *caller);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
  } else if constexpr (!std::is_same_v<Result, grpc::ServerUnaryReactor*>) {
    reactor->Finish(ToGrpcStatus(fn(*ready, *caller)));
  }
  return reactor;
}

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_ENGINE_H_
