// The committed-offset APIs, OffsetCommit (key 8, v0-8) and OffsetFetch (key 9, v0-8), flexible
// versions included: their requests and
// responses, their wire format (offsets_codec.cc, pure) and their handlers (offsets.cc), over
// the consumer groups' offsets. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_OFFSETS_H_
#define FERRY_SERVER_KAFKA_OFFSETS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct OffsetCommitRequest {
  struct Partition {
    int32_t index = 0;
    int64_t offset = 0;
    int32_t leader_epoch = -1;  // v6+
    int64_t timestamp = -1;     // v1
    std::optional<std::string> metadata;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::string group_id;
  int32_t generation_id = -1;                    // v1+
  std::string member_id;                         // v1+
  std::optional<std::string> group_instance_id;  // v7+
  int64_t retention_time_ms = -1;                // v2-4
  std::vector<Topic> topics;
};

struct OffsetFetchRequest {
  struct Topic {
    std::string name;
    std::vector<int32_t> partitions;
  };
  struct Group {
    std::string group_id;
    std::vector<Topic> topics;
    bool all_topics = false;  // topics null (v2+): every partition the group committed
  };
  // v0-7: the request's one group; v8+: the batch.
  std::vector<Group> groups;
  bool require_stable = false;  // v7+
};

struct OffsetCommitResponse {
  struct Partition {
    int32_t index = 0;
    int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};

struct OffsetFetchResponse {
  struct Partition {
    int32_t index = 0;
    int64_t offset = -1;
    int32_t leader_epoch = -1;  // v5+
    std::string metadata;
    int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  struct Group {
    std::string group_id;  // v8+
    std::vector<Topic> topics;
    int16_t error_code = 0;  // v2+
  };
  // v0-7 write the first (an empty one when there is none) as the response's own fields.
  std::vector<Group> groups;
};

// Each Decode*Request reads a request body in the format of `version` from `body`; a
// malformed body fails `body` (CheckRequestBody reports it). Each EncodeResponse returns the
// whole response frame in the format of `header.api_version`.
OffsetCommitRequest DecodeOffsetCommitRequest(int16_t version, Reader& body);
OffsetFetchRequest DecodeOffsetFetchRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const OffsetCommitResponse& r);
std::string EncodeResponse(const RequestHeader& header, const OffsetFetchResponse& r);

// The handlers (offsets.cc) and the answers to an unsupported version (see ApiEntry).
// OffsetCommit blocks until the commit is durable.
Result HandleOffsetCommit(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleOffsetFetch(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string OffsetCommitErrorResponse(const RequestHeader& header, int16_t error_code);
std::string OffsetFetchErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_OFFSETS_H_
