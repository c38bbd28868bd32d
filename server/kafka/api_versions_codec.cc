// ApiVersions v0-2 on the wire: an empty request; the list of served version ranges.
#include "server/kafka/api_versions.h"

namespace ferry::kafka {

ApiVersionsRequest DecodeApiVersionsRequest(int16_t, Reader&) { return ApiVersionsRequest{}; }

std::string EncodeResponse(const RequestHeader& h, const ApiVersionsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int16(r.error_code);
  w.ArrayCount(static_cast<int32_t>(r.apis.size()));
  for (const auto& api : r.apis) {
    w.Int16(api.api_key);
    w.Int16(api.min_version);
    w.Int16(api.max_version);
  }
  if (h.api_version >= 1) w.Int32(0);  // throttle_time_ms
  return f.Finish();
}

}  // namespace ferry::kafka
