#include "server/grpc/strict_unary.h"

#include "google/protobuf/descriptor.h"

namespace ferry::grpc_server::strict_internal {
namespace {

const google::protobuf::ServiceDescriptor* Service(const std::string& name) {
  return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
}

}  // namespace

int MethodIndex(const std::string& service, const std::string& method) {
  const auto* s = Service(service);
  const auto* m = s == nullptr ? nullptr : s->FindMethodByName(method);
  // Generated gRPC code numbers a service's methods in the order the .proto declares them,
  // which is the descriptor's order.
  return m == nullptr ? -1 : m->index();
}

}  // namespace ferry::grpc_server::strict_internal
