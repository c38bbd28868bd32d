// SaslHandshake: every mechanism refused (Ferry has no authentication), and logged.
// Thread-safe.
#include "server/kafka/sasl.h"

#include <string>

#include "absl/status/status.h"
#include "server/log.h"

namespace ferry::kafka {

Result HandleSaslHandshake(ApiContext& /*ctx*/, const RequestHeader& h, Reader& body) {
  const SaslHandshakeRequest r = DecodeSaslHandshakeRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  log::Event(log::Level::kWarn, "kafka_sasl_refused",
             {{"mechanism", r.mechanism}, {"client_id", h.client_id.value_or("")}});
  return Result::Reply(
      EncodeResponse(h, SaslHandshakeResponse{error::kUnsupportedSaslMechanism, {}}));
}

std::string SaslHandshakeErrorResponse(const RequestHeader& h, int16_t error_code) {
  return EncodeResponse(h, SaslHandshakeResponse{error_code, {}});
}

}  // namespace ferry::kafka
