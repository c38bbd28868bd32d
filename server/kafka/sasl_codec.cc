// SaslHandshake v0-1 and SaslAuthenticate v0-2 (flexible from v2) on the wire.
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

SaslAuthenticateRequest DecodeSaslAuthenticateRequest(int16_t, Reader& r) {
  SaslAuthenticateRequest s;
  s.auth_bytes = std::string(r.BytesField());
  r.TaggedFields();
  return s;
}

std::string EncodeResponse(const RequestHeader& h, const SaslAuthenticateResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int16(r.error_code);
  w.NullableString(r.error_message.has_value() ? std::optional<std::string_view>(*r.error_message)
                                               : std::nullopt);
  w.BytesField(r.auth_bytes);
  if (h.api_version >= 1) w.Int64(r.session_lifetime_ms);
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
