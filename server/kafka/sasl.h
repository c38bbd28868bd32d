// SASL on the Kafka door: SaslHandshake (key 17, v0-1) and SaslAuthenticate (key 36, v0-2),
// their wire formats (sasl_codec.cc, pure) and handlers (sasl.cc) over the engine's user store
// (security::Security). On a SASL_PLAINTEXT or SASL_SSL listener a connection must
// authenticate before any request but ApiVersions and these two (the dispatcher enforces it,
// closing the connection as Kafka does). After a v0 handshake the client sends the mechanism's
// messages as bare size-prefixed tokens, not requests (kafka-python does): HandleSaslToken
// answers them. A failed authentication is answered (SASL_AUTHENTICATION_FAILED with Kafka's
// message; a bare token is not answered) and the connection closed. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_SASL_H_
#define FERRY_SERVER_KAFKA_SASL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

// What SASL listeners accept (Kafka's sasl.enabled.mechanisms).
struct SaslOptions {
  std::vector<std::string> mechanisms = {"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"};
  // PLAIN sends the password itself: refused on SASL_PLAINTEXT unless this is set.
  bool plain_without_tls = false;
};

// INVALID_ARGUMENT naming --sasl-enabled-mechanisms for a mechanism Ferry does not serve.
absl::StatusOr<std::vector<std::string>> ParseSaslMechanisms(std::string_view list);

struct SaslHandshakeRequest {
  std::string mechanism;
};

struct SaslHandshakeResponse {
  int16_t error_code = 0;
  std::vector<std::string> mechanisms;
};

struct SaslAuthenticateRequest {
  std::string auth_bytes;
};

struct SaslAuthenticateResponse {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::string auth_bytes;
  int64_t session_lifetime_ms = 0;  // v1+; 0: no re-authentication required
};

// Read a request body in the format of `version` from `body`; a malformed body fails `body`
// (CheckRequestBody reports it). EncodeResponse returns the whole response frame in the
// format of `header.api_version`.
SaslHandshakeRequest DecodeSaslHandshakeRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const SaslHandshakeResponse& r);
SaslAuthenticateRequest DecodeSaslAuthenticateRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const SaslAuthenticateResponse& r);

Result HandleSaslHandshake(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string SaslHandshakeErrorResponse(const RequestHeader& header, int16_t error_code);
Result HandleSaslAuthenticate(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string SaslAuthenticateErrorResponse(const RequestHeader& header, int16_t error_code);

// A bare token after a v0 handshake (`frame`: the bytes after its size prefix).
Result HandleSaslToken(ApiContext& ctx, std::string_view frame);

// Whether a request of `api_key` may be served on `session` now: false on a SASL listener
// before authentication, except ApiVersions, SaslHandshake and SaslAuthenticate.
bool AllowedBeforeAuthentication(int16_t api_key);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_SASL_H_
