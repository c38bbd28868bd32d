#include "server/grpc/auth.h"

#include <map>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"

namespace ferry::grpc_server {
namespace {

constexpr std::string_view kDoor = "grpc";
constexpr std::string_view kBasic = "basic";
constexpr std::string_view kMtls = "mtls";

std::string_view View(const grpc::string_ref& s) { return std::string_view(s.data(), s.size()); }
// Debian's Abseil has its own string_view, not std's.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// "the cluster", "topic orders", "group billing", "transactional id tx-1".
std::string ResourceText(security::ResourceType type, std::string_view name) {
  switch (type) {
    case security::ResourceType::kCluster:
      return "the cluster";
    case security::ResourceType::kTransactionalId:
      return absl::StrCat("transactional id ", A(name));
    default:
      return absl::StrCat(A(security::Name(type)), " ", A(name));
  }
}

// The PEM of the client certificate the TLS handshake verified (gRPC sets the property only
// on a TLS peer that sent one); empty when there is none.
std::string PeerCertificatePem(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return "";
  std::vector<grpc::string_ref> pem = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pem.empty()) return "";
  return std::string(View(pem.front()));
}

}  // namespace

std::string PeerHost(std::string_view peer) {
  if (peer.starts_with("ipv4:")) {
    std::string_view rest = peer.substr(5);
    size_t colon = rest.rfind(':');
    return std::string(colon == std::string_view::npos ? rest : rest.substr(0, colon));
  }
  if (peer.starts_with("ipv6:[")) {
    std::string_view rest = peer.substr(6);
    size_t close = rest.find(']');
    if (close != std::string_view::npos) return std::string(rest.substr(0, close));
  }
  return std::string(peer);
}

absl::StatusOr<Caller> Caller::Authenticate(const grpc::ServerContextBase& context,
                                            const security::Security* security,
                                            const AuthOptions& options) {
  const bool checking = security != nullptr && security->authorizer_enabled();
  Caller caller(checking ? security : nullptr, &options);
  const auto failed = [&](std::string_view mechanism, std::string message) {
    if (options.observer != nullptr) {
      options.observer->Authenticated(kDoor, options.listener, mechanism, false);
    }
    return absl::UnauthenticatedError(std::move(message));
  };
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end() && security != nullptr) {
    std::string_view value = View(it->second);
    size_t space = value.find(' ');
    if (space == std::string_view::npos ||
        !absl::EqualsIgnoreCase(A(value.substr(0, space)), "basic")) {
      return failed(kBasic,
                    "unsupported authorization metadata: send 'Basic base64(user:password)'");
    }
    if (!options.tls && !options.basic_without_tls) {
      return failed(kBasic,
                    "a password needs TLS: this listener is plaintext, so ferryd refuses Basic "
                    "credentials (serve TLS with --tls-cert/--tls-key, or allow passwords "
                    "without TLS with --sasl-plain-without-tls)");
    }
    std::string decoded;
    size_t colon = std::string::npos;
    if (absl::Base64Unescape(absl::StripAsciiWhitespace(A(value.substr(space + 1))), &decoded)) {
      colon = decoded.find(':');
    }
    if (colon == std::string::npos || colon == 0) {
      return failed(kBasic, "malformed Basic credentials: send base64 of 'user:password'");
    }
    std::string_view user = std::string_view(decoded).substr(0, colon);
    std::string_view password = std::string_view(decoded).substr(colon + 1);
    if (!security->CheckPassword(user, password)) {
      return failed(kBasic, "invalid user or password");
    }
    caller.principal_ = security::UserPrincipal(std::string(user));
    if (options.observer != nullptr) {
      options.observer->Authenticated(kDoor, options.listener, kBasic, true);
    }
  } else if (checking && options.tls && options.verified_client_certs) {
    std::string pem = PeerCertificatePem(context);
    if (!pem.empty()) {
      absl::StatusOr<std::string> name =
          security::PrincipalNameFromPem(pem, options.cert_principal);
      if (!name.ok()) {
        return failed(kMtls, absl::StrCat("the client certificate names no principal: ",
                                          name.status().message()));
      }
      caller.principal_ = security::UserPrincipal(*std::move(name));
      if (options.observer != nullptr) {
        options.observer->Authenticated(kDoor, options.listener, kMtls, true);
      }
    }
  }
  if (caller.checking()) caller.host_ = PeerHost(context.peer());
  return caller;
}

bool Caller::Allowed(security::Operation op, security::ResourceType type,
                     std::string_view name) const {
  return security_ == nullptr || security_->Authorize(principal_, host_, op, type, name);
}

absl::Status Caller::Check(security::Operation op, security::ResourceType type,
                           std::string_view name) const {
  if (Allowed(op, type, name)) return absl::OkStatus();
  std::string_view operation = security::Name(op);
  if (options_->observer != nullptr) {
    options_->observer->Denied(kDoor, options_->listener, operation);
  }
  return absl::PermissionDeniedError(absl::StrCat(principal_.ToString(), " may not ",
                                                  absl::StrReplaceAll(A(operation), {{"_", " "}}),
                                                  " ", ResourceText(type, name)));
}

}  // namespace ferry::grpc_server
