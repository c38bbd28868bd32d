// Unary callback methods that answer request bytes protobuf cannot parse with INVALID_ARGUMENT
// and a message naming the method and the message type. gRPC's own callback handler answers
// them with UNIMPLEMENTED and no message, the same as a method the server does not have.
//
// A service derives from StrictUnaryMethods<GeneratedCallbackService> and calls
// Strict("Method", &Self::Method) in its constructor for each unary method it serves with
// generated message types (raw methods parse their own bytes). A test sends malformed bytes to
// every method of the services, so one left out is caught.
// Thread-safe once constructed: each call's request is its own.
#ifndef FERRY_SERVER_GRPC_STRICT_UNARY_H_
#define FERRY_SERVER_GRPC_STRICT_UNARY_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "google/protobuf/descriptor.h"

namespace ferry::grpc_server {
namespace strict_internal {

// The position of `method` in `service` (a full name, "ferry.v1.Broker"), which is the index
// generated gRPC code registers it under; -1 if there is no such method.
int MethodIndex(const std::string& service, const std::string& method);

// The reactor of a rejected call: finishes at once with `status`.
class RejectReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit RejectReactor(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// Wraps gRPC's handler: a request that does not parse is handed on as an empty message, its
// holder flagged, and RunHandler answers the call with a RejectReactor instead of the method.
template <class Req, class Resp>
class StrictUnaryHandler final : public grpc::internal::MethodHandler {
 public:
  using Method =
      std::function<grpc::ServerUnaryReactor*(grpc::CallbackServerContext*, const Req*, Resp*)>;

  StrictUnaryHandler(std::string full_method, Method method)
      : full_method_(std::move(full_method)),
        inner_([this, method = std::move(method)](grpc::CallbackServerContext* ctx, const Req* req,
                                                  Resp* resp) -> grpc::ServerUnaryReactor* {
          // gRPC's RunHandler calls this on the thread running ours, before it returns.
          if (running_malformed_) {
            return new RejectReactor(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                                  "malformed request to " + full_method_ +
                                                      ": the bytes are not a valid " +
                                                      Req::descriptor()->full_name() + " message"));
          }
          return method(ctx, req, resp);
        }) {
    inner_.SetMessageAllocator(&allocator_);
  }

  void RunHandler(const HandlerParameter& param) override {
    running_malformed_ =
        param.internal_data != nullptr && static_cast<Holder*>(param.internal_data)->malformed;
    inner_.RunHandler(param);
    running_malformed_ = false;
  }

  void* Deserialize(grpc_call* call, grpc_byte_buffer* req, grpc::Status* status,
                    void** handler_data) override {
    void* request = inner_.Deserialize(call, req, status, handler_data);
    if (status->ok()) return request;
    auto* holder = static_cast<Holder*>(*handler_data);
    holder->malformed = true;
    holder->req.Clear();
    *status = grpc::Status::OK;
    return &holder->req;
  }

 private:
  // One call's request and response, and whether the request bytes failed to parse.
  struct Holder final : grpc::MessageHolder<Req, Resp> {
    Holder() {
      this->set_request(&req);
      this->set_response(&resp);
    }
    void Release() override { delete this; }
    Req req;
    Resp resp;
    bool malformed = false;
  };

  class Allocator final : public grpc::MessageAllocator<Req, Resp> {
   public:
    grpc::MessageHolder<Req, Resp>* AllocateMessages() override { return new Holder(); }
  };

  static thread_local bool running_malformed_;

  const std::string full_method_;
  Allocator allocator_;
  grpc::internal::CallbackUnaryHandler<Req, Resp> inner_;
};

template <class Req, class Resp>
thread_local bool StrictUnaryHandler<Req, Resp>::running_malformed_ = false;

}  // namespace strict_internal

template <class Generated>
class StrictUnaryMethods : public Generated {
 protected:
  explicit StrictUnaryMethods(std::string service_name) : service_name_(std::move(service_name)) {}

  // Serves `name` through `method` (a member of Self) with malformed requests rejected.
  template <class Self, class Req, class Resp>
  void Strict(const std::string& name,
              grpc::ServerUnaryReactor* (Self::*method)(grpc::CallbackServerContext*, const Req*,
                                                        Resp*)) {
    const int index = strict_internal::MethodIndex(service_name_, name);
    GPR_ASSERT(index >= 0);
    Self* self = static_cast<Self*>(this);
    this->MarkMethodCallback(
        index, new strict_internal::StrictUnaryHandler<Req, Resp>(
                   "/" + service_name_ + "/" + name,
                   [self, method](grpc::CallbackServerContext* ctx, const Req* req, Resp* resp) {
                     return (self->*method)(ctx, req, resp);
                   }));
  }

 private:
  const std::string service_name_;
};

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_STRICT_UNARY_H_
