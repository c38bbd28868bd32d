// ApiVersions (key 18): its request and response, their wire format (api_versions_codec.cc,
// pure) and its handler (api_versions.cc), which answers from the API table. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_API_VERSIONS_H_
#define FERRY_SERVER_KAFKA_API_VERSIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct ApiVersionsRequest {
  std::string client_software_name;  // v3+
  std::string client_software_version;
};

struct ApiVersionsResponse {
  int16_t error_code = 0;
  std::vector<ApiVersionRange> apis;
};

// Each Decode*Request reads a request body in the format of `version` from `body`; a
// malformed body fails `body` (CheckRequestBody reports it). Each EncodeResponse returns the
// whole response frame in the format of `header.api_version`.
ApiVersionsRequest DecodeApiVersionsRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const ApiVersionsResponse& r);

// The handler (api_versions.cc): the ranges of the advertised APIs. An unsupported version
// is answered in the v0 format with the list, as Kafka does, so the client can pick a version.
Result HandleApiVersions(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string ApiVersionsErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_API_VERSIONS_H_
