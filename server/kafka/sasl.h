// SaslHandshake (key 17): the request and response and their wire format. Ferry serves it
// only to refuse every mechanism, and does not list it in ApiVersions.
// Pure functions, thread-safe.
#ifndef FERRY_SERVER_KAFKA_SASL_H_
#define FERRY_SERVER_KAFKA_SASL_H_

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_SASL_H_
