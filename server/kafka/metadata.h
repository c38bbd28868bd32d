// Metadata (key 3): its request and response, their wire format (metadata_codec.cc, pure)
// and its handler (metadata.cc), over the broker's topics. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_METADATA_H_
#define FERRY_SERVER_KAFKA_METADATA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct MetadataRequest {
  std::optional<std::vector<std::string>> topics;  // nullopt: every topic
  bool allow_auto_topic_creation = true;           // v4+
};

struct MetadataResponse {
  struct Broker {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
  };
  struct Partition {
    int16_t error_code = 0;
    int32_t index = 0;
    int32_t leader = 0;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
  };
  struct Topic {
    int16_t error_code = 0;
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Broker> brokers;
  std::string cluster_id;
  int32_t controller_id = 0;
  std::vector<Topic> topics;
};

// Reads a request body in the format of `version` from `body`; a malformed body fails `body`
// (CheckRequestBody reports it). EncodeResponse returns the whole response frame in the
// format of `header.api_version`.
MetadataRequest DecodeMetadataRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const MetadataResponse& r);

// The handler (metadata.cc) and the answer to an unsupported version (see ApiEntry).
Result HandleMetadata(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string MetadataErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_METADATA_H_
