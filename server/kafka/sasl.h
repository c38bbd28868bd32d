// SaslHandshake (key 17): its request and response, their wire format (sasl_codec.cc, pure)
// and its handler (sasl.cc), which refuses every mechanism: Ferry has no authentication, and
// does not list SaslHandshake in ApiVersions. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_SASL_H_
#define FERRY_SERVER_KAFKA_SASL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct SaslHandshakeRequest {
  std::string mechanism;
};

struct SaslHandshakeResponse {
  int16_t error_code = 0;
  std::vector<std::string> mechanisms;
};

// Reads a request body in the format of `version` from `body`; a malformed body fails `body`
// (CheckRequestBody reports it). EncodeResponse returns the whole response frame in the
// format of `header.api_version`.
SaslHandshakeRequest DecodeSaslHandshakeRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const SaslHandshakeResponse& r);

// The handler (sasl.cc): UNSUPPORTED_SASL_MECHANISM, no mechanisms.
Result HandleSaslHandshake(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string SaslHandshakeErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_SASL_H_
