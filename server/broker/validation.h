// Checks of names a client chooses, with messages that say what is allowed.
#ifndef FERRY_SERVER_BROKER_VALIDATION_H_
#define FERRY_SERVER_BROKER_VALIDATION_H_

#include <string_view>

#include "absl/status/status.h"

namespace ferry::broker {

// Kafka's rule: 1 to 249 characters of [A-Za-z0-9._-], and neither "." nor "..".
absl::Status ValidateTopicName(std::string_view name);

// 1 to 249 printable characters, no NUL (group names key committed offsets).
absl::Status ValidateGroupName(std::string_view name);

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_VALIDATION_H_
