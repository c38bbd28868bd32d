// SaslHandshake v0-1 on the wire: the mechanism asked for; an error and the mechanisms served.
#include "server/kafka/sasl.h"

namespace ferry::kafka {

SaslHandshakeRequest DecodeSaslHandshakeRequest(int16_t, Reader& r) {
  SaslHandshakeRequest s;
  s.mechanism = Str(r.String());
  return s;
}

std::string EncodeResponse(const RequestHeader& h, const SaslHandshakeResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int16(r.error_code);
  w.ArrayCount(static_cast<int32_t>(r.mechanisms.size()));
  for (const auto& m : r.mechanisms) w.String(m);
  return f.Finish();
}

}  // namespace ferry::kafka
