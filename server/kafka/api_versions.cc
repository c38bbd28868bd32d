// ApiVersions: the served ranges from the API table, in the format asked for; an
// unsupported version is answered in the v0 format. Thread-safe.
#include "server/kafka/api_versions.h"

#include "absl/status/status.h"

namespace ferry::kafka {

Result HandleApiVersions(ApiContext& /*ctx*/, const RequestHeader& h, Reader& body) {
  DecodeApiVersionsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  return Result::Reply(EncodeResponse(h, ApiVersionsResponse{error::kNone, SupportedApis()}));
}

std::string ApiVersionsErrorResponse(const RequestHeader& header, int16_t error_code) {
  // The v0 format whatever was asked, with the supported list (as Kafka does, so the client
  // can pick a version).
  RequestHeader h = header;
  h.api_version = 0;
  h.flexible = false;
  return EncodeResponse(h, ApiVersionsResponse{error_code, SupportedApis()});
}

}  // namespace ferry::kafka
