// Internal to the client library: the gRPC channel every client object opens, and the mapping
// of grpc::Status to absl::Status. Not part of the public API.
#ifndef FERRY_CLIENT_FERRY_RPC_H_
#define FERRY_CLIENT_FERRY_RPC_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/ferry/tls.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/client_interceptor.h"

namespace ferry::internal {

// Unary calls of the client library give up after this long.
inline constexpr absl::Duration kRpcTimeout = absl::Seconds(10);

// Adds `authorization: Basic ...` to every call of a channel. An interceptor rather than call
// credentials: gRPC sends call credentials only over TLS, and a broker started with
// --sasl-plain-without-tls takes passwords over plaintext too; and no call site can forget it.
class BasicAuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BasicAuthInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;
};

class BasicAuthInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BasicAuthInterceptorFactory(const Credentials& c)
      : header_("Basic " + absl::Base64Escape(c.user + ":" + c.password)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new BasicAuthInterceptor(&header_);
  }

 private:
  const std::string header_;
};

// A channel with its own connection (client objects do not share one), which reconnects
// within about a second of a broker coming back: gRPC's default reconnect backoff grows to
// two minutes, far too slow to follow a broker restart.
inline std::shared_ptr<grpc::Channel> NewChannel(const std::string& target,
                                                 const TlsOptions& tls = {},
                                                 const Credentials& credentials = {}) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> auth;
  if (!credentials.user.empty()) {
    auth.push_back(std::make_unique<BasicAuthInterceptorFactory>(credentials));
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  if (!tls.enabled) {
    return grpc::experimental::CreateCustomChannelWithInterceptors(
        target, grpc::InsecureChannelCredentials(), args, std::move(auth));
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.ca_pem;
  ssl.pem_cert_chain = tls.cert_pem;
  ssl.pem_private_key = tls.key_pem;
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, grpc::SslCredentials(ssl),
                                                                 args, std::move(auth));
}

// absl::StatusCode and grpc::StatusCode share their numbering (google.rpc.Code).
inline absl::Status ToStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

inline void SetTimeout(grpc::ClientContext* context, absl::Duration timeout = kRpcTimeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace ferry::internal

#endif  // FERRY_CLIENT_FERRY_RPC_H_
