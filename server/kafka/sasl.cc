// SaslHandshake and SaslAuthenticate over the engine's user store; the session remembers the
// exchange between requests and, once done, who the client is.
#include "server/kafka/sasl.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/kafka/observer.h"
#include "server/log.h"
#include "server/security/sasl_server.h"
#include "server/security/security.h"

namespace ferry::kafka {
namespace {

const SaslOptions& Options(const ApiContext& ctx) {
  static const SaslOptions* defaults = new SaslOptions();
  return ctx.sasl != nullptr ? *ctx.sasl : *defaults;
}

// The mechanisms this connection may use: PLAIN only over TLS unless allowed.
std::vector<std::string> Offered(const ApiContext& ctx) {
  std::vector<std::string> out;
  for (const std::string& m : Options(ctx).mechanisms) {
    if (m == "PLAIN" && !ctx.session->tls && !Options(ctx).plain_without_tls) continue;
    out.push_back(m);
  }
  return out;
}

void Report(const ApiContext& ctx, bool ok) {
  if (ctx.observer != nullptr) {
    ctx.observer->OnAuthentication(ctx.session->listener_name, ctx.session->sasl_mechanism, ok);
  }
}

// One step of the session's exchange. `reply(step)` frames the server's message; a failure
// closes the connection after `fail_frame` (when not empty).
struct StepOutcome {
  bool ok = false;
  bool done = false;
  std::string challenge;
  absl::Status error;
};

StepOutcome Step(ApiContext& ctx, std::string_view token) {
  Session& s = *ctx.session;
  StepOutcome out;
  if (token.size() > security::kMaxSaslMessageBytes) {
    out.error = absl::InvalidArgumentError(absl::StrCat(
        "SASL token of ", token.size(), " bytes, most ", security::kMaxSaslMessageBytes));
  } else {
    absl::StatusOr<security::SaslServer::Step> step = s.sasl->Evaluate(token);
    if (step.ok()) {
      out.ok = true;
      out.done = step->done;
      out.challenge = std::move(step->challenge);
    } else {
      out.error = step.status();
    }
  }
  if (!out.ok) {
    Report(ctx, false);
    log::Event(log::Level::kWarn, "kafka_authentication_failed",
               {{"peer", std::string(ctx.peer_host)},
                {"listener", s.listener_name},
                {"mechanism", s.sasl_mechanism},
                {"error", std::string(out.error.message())}});
    s.sasl.reset();
    return out;
  }
  if (out.done) {
    s.authenticated = true;
    s.principal = security::UserPrincipal(s.sasl->user());
    Report(ctx, true);
    log::Event(log::Level::kInfo, "kafka_authenticated",
               {{"peer", std::string(ctx.peer_host)},
                {"listener", s.listener_name},
                {"mechanism", s.sasl_mechanism},
                {"principal", s.principal.ToString()}});
    s.sasl.reset();
  }
  return out;
}

std::string TokenFrame(std::string_view token) {
  std::string f;
  const uint32_t n = static_cast<uint32_t>(token.size());
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<char>(n >> shift));
  f.append(token);
  return f;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseSaslMechanisms(std::string_view list) {
  std::vector<std::string> out;
  for (absl::string_view m :
       absl::StrSplit(absl::string_view(list.data(), list.size()), ',', absl::SkipWhitespace())) {
    std::string name = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(m));
    const auto& known = security::Security::SaslMechanisms();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat("--sasl-enabled-mechanisms: \"", name,
                                                     "\" is not served (",
                                                     absl::StrJoin(known, ", "), ")"));
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("--sasl-enabled-mechanisms names no mechanism");
  }
  return out;
}

bool AllowedBeforeAuthentication(int16_t api_key) {
  return api_key == kApiVersions || api_key == kSaslHandshake || api_key == kSaslAuthenticate;
}

Result HandleSaslHandshake(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const SaslHandshakeRequest r = DecodeSaslHandshakeRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  if (ctx.session == nullptr || !ctx.session->sasl_required || ctx.security == nullptr) {
    log::Event(log::Level::kWarn, "kafka_sasl_refused",
               {{"mechanism", r.mechanism},
                {"client_id", h.client_id.value_or("")},
                {"why", "the listener is not SASL_PLAINTEXT or SASL_SSL"}});
    return Result::Reply(EncodeResponse(h, SaslHandshakeResponse{error::kIllegalSaslState, {}}));
  }
  Session& s = *ctx.session;
  if (s.authenticated || s.sasl != nullptr) {
    return Result::ReplyThenClose(
        EncodeResponse(h, SaslHandshakeResponse{error::kIllegalSaslState, {}}),
        "SaslHandshake after the handshake");
  }
  const std::vector<std::string> offered = Offered(ctx);
  if (std::find(offered.begin(), offered.end(), r.mechanism) == offered.end()) {
    s.sasl_mechanism = "unsupported";
    Report(ctx, false);
    return Result::ReplyThenClose(
        EncodeResponse(h, SaslHandshakeResponse{error::kUnsupportedSaslMechanism, offered}),
        absl::StrCat("SASL mechanism \"", r.mechanism.substr(0, 64), "\" is not enabled",
                     r.mechanism == "PLAIN" ? " without TLS (--sasl-plain-without-tls)" : ""));
  }
  s.sasl_mechanism = r.mechanism;
  s.sasl = ctx.security->NewSaslServer(r.mechanism);
  s.raw_sasl_tokens = h.api_version == 0;
  return Result::Reply(EncodeResponse(h, SaslHandshakeResponse{error::kNone, offered}));
}

std::string SaslHandshakeErrorResponse(const RequestHeader& h, int16_t error_code) {
  return EncodeResponse(h, SaslHandshakeResponse{error_code, {}});
}

Result HandleSaslAuthenticate(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  SaslAuthenticateRequest r = DecodeSaslAuthenticateRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  SaslAuthenticateResponse resp;
  if (ctx.session == nullptr || ctx.session->sasl == nullptr || ctx.session->raw_sasl_tokens) {
    resp.error_code = error::kIllegalSaslState;
    resp.error_message = "SaslAuthenticate without a SaslHandshake v1 before it";
    return Result::ReplyThenClose(EncodeResponse(h, resp), *resp.error_message);
  }
  StepOutcome out = Step(ctx, r.auth_bytes);
  if (!out.ok) {
    resp.error_code = error::kSaslAuthenticationFailed;
    resp.error_message = std::string(out.error.message());
    return Result::ReplyThenClose(
        EncodeResponse(h, resp), absl::StrCat("SASL authentication failed: ", out.error.message()));
  }
  resp.auth_bytes = std::move(out.challenge);
  return Result::Reply(EncodeResponse(h, resp));
}

std::string SaslAuthenticateErrorResponse(const RequestHeader& h, int16_t error_code) {
  SaslAuthenticateResponse r;
  r.error_code = error_code;
  return EncodeResponse(h, r);
}

Result HandleSaslToken(ApiContext& ctx, std::string_view frame) {
  if (ctx.session == nullptr || ctx.session->sasl == nullptr) {
    return Result::Close("a SASL token with no exchange in progress");
  }
  StepOutcome out = Step(ctx, frame);
  if (!out.ok)
    return Result::Close(absl::StrCat("SASL authentication failed: ", out.error.message()));
  if (out.done) ctx.session->raw_sasl_tokens = false;
  return Result::Reply(TokenFrame(out.challenge));
}

}  // namespace ferry::kafka
