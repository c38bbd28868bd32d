// Engine: what the gRPC services serve from. ferryd starts serving (health NOT_SERVING) before
// storage recovery finishes and attaches the engine afterwards; until then every RPC answers
// UNAVAILABLE, which clients retry.
// Thread-safe.
#ifndef FERRY_SERVER_GRPC_ENGINE_H_
#define FERRY_SERVER_GRPC_ENGINE_H_

#include <atomic>

#include "absl/status/status.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"

namespace ferry::grpc_server {

class Engine {
 public:
  // Once, when both are ready.
  void Attach(broker::Broker* broker, group::ConsumerGroups* groups) {
    groups_.store(groups, std::memory_order_release);
    broker_.store(broker, std::memory_order_release);
  }
  // Null until attached; groups() is non-null whenever broker() is.
  broker::Broker* broker() const { return broker_.load(std::memory_order_acquire); }
  group::ConsumerGroups* groups() const { return groups_.load(std::memory_order_acquire); }

  static absl::Status NotReady() {
    return absl::UnavailableError("the broker is starting: recovering its storage; retry shortly");
  }

 private:
  std::atomic<broker::Broker*> broker_{nullptr};
  std::atomic<group::ConsumerGroups*> groups_{nullptr};
};

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_ENGINE_H_
