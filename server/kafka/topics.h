// The topic admin APIs, CreateTopics (key 19) and DeleteTopics (key 20): their requests and
// responses, their wire format (topics_codec.cc, pure) and their handlers (topics.cc), over
// the broker's topics. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_TOPICS_H_
#define FERRY_SERVER_KAFKA_TOPICS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct CreateTopicsRequest {
  struct Config {
    std::string name;
    std::optional<std::string> value;
  };
  struct Topic {
    std::string name;
    int32_t num_partitions = -1;
    int16_t replication_factor = -1;
    std::vector<std::pair<int32_t, std::vector<int32_t>>> assignments;  // partition, brokers
    std::vector<Config> configs;
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;  // v1+
};

struct DeleteTopicsRequest {
  struct Topic {
    std::optional<std::string> name;  // null (v6+): by `topic_id`
    Uuid topic_id{};                  // v6+
  };
  std::vector<Topic> topics;  // v0-5 name them only
  int32_t timeout_ms = 0;
};

struct CreateTopicsResponse {
  struct Config {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    int8_t source = -1;
    bool is_sensitive = false;
  };
  struct Topic {
    std::string name;
    Uuid topic_id{};  // v7+
    int16_t error_code = 0;
    std::optional<std::string> error_message;  // v1+
    int32_t num_partitions = -1;               // v5+
    int16_t replication_factor = -1;           // v5+
    std::vector<Config> configs;               // v5+
  };
  std::vector<Topic> topics;
};

struct DeleteTopicsResponse {
  struct Topic {
    std::optional<std::string> name;  // null (v6+) for an unknown topic id
    Uuid topic_id{};                  // v6+
    int16_t error_code = 0;
    std::optional<std::string> error_message;  // v5+
  };
  std::vector<Topic> topics;
};

// Each Decode*Request reads a request body in the format of `version` from `body`; a
// malformed body fails `body` (CheckRequestBody reports it). Each EncodeResponse returns the
// whole response frame in the format of `header.api_version`.
CreateTopicsRequest DecodeCreateTopicsRequest(int16_t version, Reader& body);
DeleteTopicsRequest DecodeDeleteTopicsRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const CreateTopicsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const DeleteTopicsResponse& r);

// The handlers (topics.cc) and the answers to an unsupported version (see ApiEntry).
Result HandleCreateTopics(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleDeleteTopics(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string CreateTopicsErrorResponse(const RequestHeader& header, int16_t error_code);
std::string DeleteTopicsErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_TOPICS_H_
