// ApiVersions (key 18): the request and response and their wire format.
// Pure functions, thread-safe.
#ifndef FERRY_SERVER_KAFKA_API_VERSIONS_H_
#define FERRY_SERVER_KAFKA_API_VERSIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct ApiVersionsRequest {};

struct ApiVersionsResponse {
  int16_t error_code = 0;
  std::vector<ApiVersionRange> apis;
};

// Each Decode*Request reads a request body in the format of `version` from `body`; a
// malformed body fails `body` (CheckRequestBody reports it). Each EncodeResponse returns the
// whole response frame in the format of `header.api_version`.
ApiVersionsRequest DecodeApiVersionsRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const ApiVersionsResponse& r);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_API_VERSIONS_H_
