// ApiVersions v0-3 on the wire: an empty request until v3, which names the client software
// and is flexible; the list of served version ranges. The response header stays v0 (see
// ResponseFrame) so that a client can read the answer whatever version it asked for.
#include "server/kafka/api_versions.h"

namespace ferry::kafka {

ApiVersionsRequest DecodeApiVersionsRequest(int16_t v, Reader& r) {
  ApiVersionsRequest req;
  if (v >= 3) {
    req.client_software_name = Str(r.String());
    req.client_software_version = Str(r.String());
    r.TaggedFields();
  }
  return req;
}

std::string EncodeResponse(const RequestHeader& h, const ApiVersionsResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int16(r.error_code);
  w.ArrayCount(static_cast<int32_t>(r.apis.size()));
  for (const auto& api : r.apis) {
    w.Int16(api.api_key);
    w.Int16(api.min_version);
    w.Int16(api.max_version);
    w.TaggedFields();
  }
  if (h.api_version >= 1) w.Int32(0);  // throttle_time_ms
  w.TaggedFields();                    // no supported or finalized features
  return f.Finish();
}

}  // namespace ferry::kafka
