// ResponseErrorCode: the Kafka error code a response frame carries, for the request metrics
// (ferry_kafka_requests_total{code}). APIs with a top-level error code give it; APIs with
// codes per topic, partition or group give the first non-zero one (0 when all are 0).
// Pure function over bytes, thread-safe; reads only the frame it is given.
#ifndef FERRY_SERVER_KAFKA_RESPONSE_CODES_H_
#define FERRY_SERVER_KAFKA_RESPONSE_CODES_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace ferry::kafka {

// `frame` is a whole response frame (size prefix, response header, body) of `api_key` at
// `api_version`, flexible when `flexible` (response header v1, except ApiVersions). nullopt
// when the layout of that version is not known here (an API or version added to the table
// without teaching this function) or the frame does not parse.
std::optional<int16_t> ResponseErrorCode(int16_t api_key, int16_t api_version, bool flexible,
                                         std::string_view frame);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_RESPONSE_CODES_H_
