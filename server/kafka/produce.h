// Produce (key 0): its request and response, their wire format (produce_codec.cc, pure) and
// its handler (produce.cc), which appends through the broker. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_PRODUCE_H_
#define FERRY_SERVER_KAFKA_PRODUCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct ProduceRequest {
  struct Partition {
    int32_t index = 0;
    std::optional<std::string_view> records;  // a view into the request frame
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::optional<std::string> transactional_id;  // v3+
  int16_t acks = 1;
  int32_t timeout_ms = 0;
  std::vector<Topic> topics;
};

struct ProduceResponse {
  struct Partition {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t base_offset = -1;
    int64_t log_start_offset = -1;             // v5+
    std::optional<std::string> error_message;  // v8+: why, when error_code is not 0
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};

// Reads a request body in the format of `version` from `body`; a malformed body fails `body`
// (CheckRequestBody reports it). The records are views into the bytes `body` reads.
// EncodeResponse returns the whole response frame in the format of `header.api_version`.
ProduceRequest DecodeProduceRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const ProduceResponse& r);

// The handler (produce.cc): blocks until every append is durable; acks=0 answers nothing,
// and closes the connection when an append failed (no response can carry its error).
Result HandleProduce(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string ProduceErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_PRODUCE_H_
