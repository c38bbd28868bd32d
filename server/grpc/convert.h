// The gRPC door's edge: ferry.v1 messages to the engine's types (types.h) and back. Requests
// the engine cannot express (an unspecified or unknown enum value) are refused here with
// INVALID_ARGUMENT. Pure functions, thread-safe.
#ifndef FERRY_SERVER_GRPC_CONVERT_H_
#define FERRY_SERVER_GRPC_CONVERT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "ferry/v1/ferry.pb.h"
#include "server/broker/types.h"
#include "server/group/group_coordinator.h"

namespace ferry::grpc_server {

broker::TopicConfig FromProto(const v1::TopicConfig& config);
void ToProto(const broker::TopicInfo& info, v1::TopicInfo* out);

// A direct subscription's start and reset; an unspecified reset is kNone.
struct DirectStart {
  broker::StartPosition start;
  broker::OffsetReset reset = broker::OffsetReset::kNone;
};
absl::StatusOr<DirectStart> FromProto(const v1::DirectSubscription& sub);
// A start position from its enum and the offset or timestamp that go with it.
absl::StatusOr<broker::StartPosition> StartFromProto(v1::StartPosition start, int64_t offset,
                                                     int64_t timestamp_ms);
// A reset policy. `unspecified` is what OFFSET_RESET_UNSPECIFIED means where it is used.
absl::StatusOr<broker::OffsetReset> ResetFromProto(v1::OffsetReset reset,
                                                   broker::OffsetReset unspecified);

void ToProto(const std::vector<group::TopicPartition>& from,
             google::protobuf::RepeatedPtrField<v1::TopicPartition>* to);

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_CONVERT_H_
