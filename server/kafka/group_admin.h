// The group administration APIs, DeleteGroups (key 42, v0-2, flexible from v2) and OffsetDelete
// (key 47, v0): their requests and responses, their wire format (group_admin_codec.cc, pure)
// and their handlers (group_admin.cc), over the engine's ConsumerGroups, as the gRPC Admin
// service's DeleteGroup. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_GROUP_ADMIN_H_
#define FERRY_SERVER_KAFKA_GROUP_ADMIN_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct DeleteGroupsRequest {
  std::vector<std::string> groups;
};

struct DeleteGroupsResponse {
  std::vector<std::pair<std::string, int16_t>> results;  // group id, error code
};

struct OffsetDeleteRequest {
  struct Topic {
    std::string name;
    std::vector<int32_t> partitions;
  };
  std::string group_id;
  std::vector<Topic> topics;
};

struct OffsetDeleteResponse {
  struct Topic {
    std::string name;
    std::vector<std::pair<int32_t, int16_t>> partitions;  // index, error code
  };
  int16_t error_code = 0;
  std::vector<Topic> topics;
};

// Each Decode*Request reads a request body in the format of `version` from `body`; a
// malformed body fails `body` (CheckRequestBody reports it). Each EncodeResponse returns the
// whole response frame in the format of `header.api_version`.
DeleteGroupsRequest DecodeDeleteGroupsRequest(int16_t version, Reader& body);
OffsetDeleteRequest DecodeOffsetDeleteRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const DeleteGroupsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const OffsetDeleteResponse& r);

// DeleteGroups: per group, NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND when it
// has neither members nor committed offsets, INVALID_GROUP_ID for a bad name. OffsetDelete:
// GROUP_ID_NOT_FOUND for such a group; per partition, GROUP_SUBSCRIBED_TO_TOPIC while a member
// subscribes to the topic, UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist.
// Both block until the deletion is durable.
Result HandleDeleteGroups(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleOffsetDelete(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string DeleteGroupsErrorResponse(const RequestHeader& header, int16_t error_code);
std::string OffsetDeleteErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_GROUP_ADMIN_H_
