// Engine: what the gRPC services serve from. ferryd starts serving (health NOT_SERVING) before
// storage recovery finishes and attaches the engine afterwards; until then every RPC answers
// UNAVAILABLE, which clients retry. The "not ready" answer is given here and nowhere else.
// Thread-safe.
#ifndef FERRY_SERVER_GRPC_ENGINE_H_
#define FERRY_SERVER_GRPC_ENGINE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/grpc/status.h"

namespace ferry::grpc_server {

// The engine's two halves, both non-null.
struct Ready {
  broker::Broker* broker;
  group::ConsumerGroups* groups;
};

class Engine {
 public:
  // Once, when both are ready.
  void Attach(broker::Broker* broker, group::ConsumerGroups* groups) {
    groups_.store(groups, std::memory_order_release);
    broker_.store(broker, std::memory_order_release);
  }
  // UNAVAILABLE until attached.
  absl::StatusOr<Ready> Get() const {
    broker::Broker* broker = broker_.load(std::memory_order_acquire);
    if (broker == nullptr) {
      return absl::UnavailableError(
          "the broker is starting: recovering its storage; retry shortly");
    }
    return Ready{broker, groups_.load(std::memory_order_acquire)};
  }

 private:
  std::atomic<broker::Broker*> broker_{nullptr};
  std::atomic<group::ConsumerGroups*> groups_{nullptr};
};

// Serves a unary call from the engine: `fn(const Ready&)` returns the call's status (answered at
// once) or its own reactor (it answers later). Before the engine is ready: UNAVAILABLE.
template <typename Fn>
grpc::ServerUnaryReactor* ServeUnary(const Engine* engine, grpc::CallbackServerContext* context,
                                     Fn&& fn) {
  absl::StatusOr<Ready> ready = engine->Get();
  if constexpr (std::is_same_v<std::invoke_result_t<Fn, const Ready&>, grpc::ServerUnaryReactor*>) {
    if (ready.ok()) return fn(*ready);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!ready.ok()) {
    reactor->Finish(ToGrpcStatus(ready.status()));
  } else if constexpr (!std::is_same_v<std::invoke_result_t<Fn, const Ready&>,
                                       grpc::ServerUnaryReactor*>) {
    reactor->Finish(ToGrpcStatus(fn(*ready)));
  }
  return reactor;
}

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_ENGINE_H_
