// Fetch (key 1): its request and response, their wire format (fetch_codec.cc, pure) and its
// handler (fetch.cc), which reads the broker's logs. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_FETCH_H_
#define FERRY_SERVER_KAFKA_FETCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct FetchRequest {
  struct Partition {
    int32_t index = 0;
    int32_t current_leader_epoch = -1;  // v9+: checked (LeaderEpochError)
    int64_t fetch_offset = 0;
    int32_t last_fetched_epoch = -1;  // v12+
    int64_t log_start_offset = -1;    // v5+ (followers only)
    int32_t max_bytes = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  int32_t replica_id = -1;
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = INT32_MAX;  // v3+
  int8_t isolation_level = 0;     // v4+
  int32_t session_id = 0;         // v7+: incremental fetch sessions (KIP-227)
  int32_t session_epoch = -1;     // v7+
  std::vector<Topic> topics;
  std::vector<Topic> forgotten_topics;  // v7+: partitions only, no offsets
  std::string rack_id;                  // v11+
};

struct FetchResponse {
  struct Partition {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t high_watermark = -1;
    std::string records;            // a record batch or message set, already encoded
    int64_t log_start_offset = -1;  // v5+
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  int16_t error_code = 0;  // v7+: the request's own error (a fetch session refused)
  int32_t session_id = 0;  // v7+: always 0, Ferry creates no fetch sessions
  std::vector<Topic> topics;
};

// Reads a request body in the format of `version` from `body`; a malformed body fails `body`
// (CheckRequestBody reports it). EncodeResponse returns the whole response frame in the
// format of `header.api_version`.
FetchRequest DecodeFetchRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const FetchResponse& r);

// The handler (fetch.cc): long-polls up to max wait for min bytes, woken by appends to the
// partitions read and ended by shutdown (ServingState::BeginShutdown).
Result HandleFetch(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string FetchErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_FETCH_H_
