// ListOffsets (key 2): its request and response, their wire format (list_offsets_codec.cc,
// pure) and its handler (list_offsets.cc), over the broker's logs. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_LIST_OFFSETS_H_
#define FERRY_SERVER_KAFKA_LIST_OFFSETS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct ListOffsetsRequest {
  struct Partition {
    int32_t index = 0;
    int32_t current_leader_epoch = -1;  // v4+: checked (LeaderEpochError)
    int64_t timestamp = -1;             // -1 latest, -2 earliest, -3 max timestamp (v7+)
    int32_t max_num_offsets = 1;        // v0
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  int32_t replica_id = -1;
  int8_t isolation_level = 0;  // v2+
  std::vector<Topic> topics;
};

struct ListOffsetsResponse {
  struct Partition {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t timestamp = -1;
    int64_t offset = -1;        // v0: the single old-style offset, none when -1
    int32_t leader_epoch = -1;  // v4+
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};

// Reads a request body in the format of `version` from `body`; a malformed body fails `body`
// (CheckRequestBody reports it). EncodeResponse returns the whole response frame in the
// format of `header.api_version`.
ListOffsetsRequest DecodeListOffsetsRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const ListOffsetsResponse& r);

// The handler (list_offsets.cc) and the answer to an unsupported version (see ApiEntry).
Result HandleListOffsets(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string ListOffsetsErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_LIST_OFFSETS_H_
