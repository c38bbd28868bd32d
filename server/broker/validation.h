// Checks of names a client chooses, with messages that say what is allowed.
#ifndef FERRY_SERVER_BROKER_VALIDATION_H_
#define FERRY_SERVER_BROKER_VALIDATION_H_

#include <string_view>

#include "absl/status/status.h"

namespace ferry::broker {

// Kafka's rule: 1 to 249 characters of [A-Za-z0-9._-], and neither "." nor "..".
absl::Status ValidateTopicName(std::string_view name);

// The name under which the Kafka door serves the committed-offsets log (Kafka's internal
// topic): no topic may be created with it.
inline constexpr std::string_view kOffsetsTopicName = "__consumer_offsets";
// INVALID_ARGUMENT for a name a topic may not be created with (kOffsetsTopicName).
absl::Status CheckTopicNameNotReserved(std::string_view name);

// 1 to 249 printable characters, no NUL (group names key committed offsets).
absl::Status ValidateGroupName(std::string_view name);

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_VALIDATION_H_
