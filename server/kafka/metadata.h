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
  struct Topic {
    Uuid topic_id{};                  // v10+
    std::optional<std::string> name;  // null (v12+, or empty before): by topic_id
  };
  std::optional<std::vector<Topic>> topics;            // nullopt: every topic
  bool allow_auto_topic_creation = true;               // v4+
  bool include_cluster_authorized_operations = false;  // v8-10
  bool include_topic_authorized_operations = false;    // v8+
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
    int32_t leader_epoch = 0;  // v7+
  };
  struct Topic {
    int16_t error_code = 0;
    std::optional<std::string> name;  // null (v12+) for an unknown topic id
    std::vector<Partition> partitions;
    Uuid topic_id{};                                               // v10+
    bool is_internal = false;                                      // v1+
    int32_t authorized_operations = kAuthorizedOperationsOmitted;  // v8+
  };
  std::vector<Broker> brokers;
  std::string cluster_id;
  int32_t controller_id = 0;
  std::vector<Topic> topics;
  int32_t cluster_authorized_operations = kAuthorizedOperationsOmitted;  // v8-10
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
