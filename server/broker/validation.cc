#include "server/broker/validation.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace ferry::broker {

constexpr size_t kMaxNameLength = 249;

absl::Status ValidateTopicName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("topic name is empty");
  if (name == "." || name == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("topic name '", std::string(name), "' is not allowed"));
  }
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "topic name is ", name.size(), " characters long; the limit is ", kMaxNameLength));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("topic name '", std::string(name),
                       "' is invalid: use only letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTopicNameNotReserved(std::string_view name) {
  if (name != kOffsetsTopicName) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "topic name '", std::string(name),
      "' is reserved: the Kafka listener serves it, read-only, from the groups' committed "
      "offsets"));
}

absl::Status ValidateGroupName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("group name is empty");
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group name is ", name.size(), " characters long; the limit is ", kMaxNameLength));
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("group name contains a control character");
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::broker
