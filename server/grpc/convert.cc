#include "server/grpc/convert.h"

#include "absl/strings/str_cat.h"

namespace ferry::grpc_server {

broker::TopicConfig FromProto(const v1::TopicConfig& config) {
  return {config.retention_ms(), config.retention_bytes(), config.max_record_bytes()};
}

void ToProto(const broker::TopicInfo& info, v1::TopicInfo* out) {
  out->set_name(info.name);
  out->set_partitions(info.partitions);
  out->mutable_config()->set_retention_ms(info.config.retention_ms);
  out->mutable_config()->set_retention_bytes(info.config.retention_bytes);
  out->mutable_config()->set_max_record_bytes(info.config.max_record_bytes);
}

absl::StatusOr<broker::StartPosition> StartFromProto(v1::StartPosition start, int64_t offset,
                                                     int64_t timestamp_ms) {
  switch (start) {
    case v1::START_POSITION_EARLIEST:
      return broker::StartPosition::Earliest();
    case v1::START_POSITION_LATEST:
      return broker::StartPosition::Latest();
    case v1::START_POSITION_OFFSET:
      return broker::StartPosition::AtOffset(offset);
    case v1::START_POSITION_TIMESTAMP:
      return broker::StartPosition::AtTimestamp(timestamp_ms);
    case v1::START_POSITION_UNSPECIFIED:
      return absl::InvalidArgumentError(
          "start is unspecified: use START_POSITION_OFFSET, EARLIEST, LATEST or TIMESTAMP");
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown start position ", static_cast<int>(start)));
  }
}

absl::StatusOr<broker::OffsetReset> ResetFromProto(v1::OffsetReset reset,
                                                   broker::OffsetReset unspecified) {
  switch (reset) {
    case v1::OFFSET_RESET_UNSPECIFIED:
      return unspecified;
    case v1::OFFSET_RESET_NONE:
      return broker::OffsetReset::kNone;
    case v1::OFFSET_RESET_EARLIEST:
      return broker::OffsetReset::kEarliest;
    case v1::OFFSET_RESET_LATEST:
      return broker::OffsetReset::kLatest;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown offset_reset ", static_cast<int>(reset)));
  }
}

absl::StatusOr<DirectStart> FromProto(const v1::DirectSubscription& sub) {
  auto start = StartFromProto(sub.start(), sub.offset(), sub.timestamp_ms());
  if (!start.ok()) return start.status();
  auto reset = ResetFromProto(sub.offset_reset(), broker::OffsetReset::kNone);
  if (!reset.ok()) return reset.status();
  return DirectStart{*start, *reset};
}

void ToProto(const std::vector<group::TopicPartition>& from,
             google::protobuf::RepeatedPtrField<v1::TopicPartition>* to) {
  for (const auto& tp : from) {
    v1::TopicPartition* out = to->Add();
    out->set_topic(tp.first);
    out->set_partition(tp.second);
  }
}

}  // namespace ferry::grpc_server
