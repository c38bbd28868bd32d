// The config APIs: DescribeConfigs (key 32), AlterConfigs (33) and IncrementalAlterConfigs
// (44): their requests and responses, their wire format (configs_codec.cc, pure) and their
// handlers (configs.cc), over the broker's topic settings. Topics have three settable keys
// (retention.ms, retention.bytes, max.message.bytes) and a read-only cleanup.policy; the
// broker resource is read-only. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_CONFIGS_H_
#define FERRY_SERVER_KAFKA_CONFIGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/broker/types.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::broker {
struct BrokerOptions;
}  // namespace ferry::broker
namespace ferry::storage {
struct TopicMeta;
}  // namespace ferry::storage

namespace ferry::kafka {

// Kafka's resource types (ConfigResource.Type).
inline constexpr int8_t kResourceTopic = 2;
inline constexpr int8_t kResourceBroker = 4;

// Kafka's config sources (DescribeConfigsResponse ConfigSource).
namespace config_source {
inline constexpr int8_t kTopic = 1;         // DYNAMIC_TOPIC_CONFIG
inline constexpr int8_t kStaticBroker = 4;  // STATIC_BROKER_CONFIG (a ferryd flag)
inline constexpr int8_t kDefault = 5;       // DEFAULT_CONFIG
}  // namespace config_source

// Kafka's config types (DescribeConfigs v3+ ConfigType).
namespace config_type {
inline constexpr int8_t kBoolean = 1;
inline constexpr int8_t kString = 2;
inline constexpr int8_t kInt = 3;
inline constexpr int8_t kLong = 5;
inline constexpr int8_t kList = 7;
}  // namespace config_type

struct DescribeConfigsRequest {
  struct Resource {
    int8_t type = 0;
    std::string name;
    std::optional<std::vector<std::string>> keys;  // null: every key
  };
  std::vector<Resource> resources;
  bool include_synonyms = false;       // v1+
  bool include_documentation = false;  // v3+
};

struct DescribeConfigsResponse {
  struct Synonym {
    std::string name;
    std::optional<std::string> value;
    int8_t source = 0;
  };
  struct Config {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    bool is_default = false;  // v0; v1+ say it with `source`
    int8_t source = config_source::kDefault;
    bool is_sensitive = false;
    std::vector<Synonym> synonyms;             // v1+
    int8_t type = 0;                           // v3+
    std::optional<std::string> documentation;  // v3+
  };
  struct Result {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t type = 0;
    std::string name;
    std::vector<Config> configs;
  };
  std::vector<Result> results;
};

// AlterConfigs and IncrementalAlterConfigs (whose configs carry an operation).
struct AlterConfigsRequest {
  enum Op : int8_t { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };
  struct Config {
    std::string name;
    int8_t op = kSet;  // IncrementalAlterConfigs only
    std::optional<std::string> value;
  };
  struct Resource {
    int8_t type = 0;
    std::string name;
    std::vector<Config> configs;
  };
  std::vector<Resource> resources;
  bool validate_only = false;
};

struct AlterConfigsResponse {
  struct Resource {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    int8_t type = 0;
    std::string name;
  };
  std::vector<Resource> resources;
};

// Why a topic config was refused: a Kafka error code and a message for the user.
struct TopicConfigError {
  int16_t code;
  std::string message;
};

// The one check of a topic config given by its Kafka name (AlterConfigs,
// IncrementalAlterConfigs, CreateTopics): records it in `change`, or says why it is refused
// (INVALID_CONFIG for an unknown name or a bad value). `incremental`: `c.op` applies
// (IncrementalAlterConfigs); otherwise a null value means the default. `broker_max`: the
// broker's record limit, which max.message.bytes may not pass.
std::optional<TopicConfigError> ApplyTopicConfig(const AlterConfigsRequest::Config& c,
                                                 bool incremental, int32_t broker_max,
                                                 broker::TopicConfigChange* change);

// A topic's configs as DescribeConfigs shows them (with synonyms and documentation); `meta`
// holds its stored settings (0: unset).
std::vector<DescribeConfigsResponse::Config> TopicConfigs(const broker::BrokerOptions& options,
                                                          const storage::TopicMeta& meta);

// Each Decode*Request reads a request body in the format of `version` from `body`; a
// malformed body fails `body` (CheckRequestBody reports it). EncodeResponse returns the whole
// response frame in the format of `header` (its api key picks AlterConfigs or
// IncrementalAlterConfigs, whose responses share a layout).
DescribeConfigsRequest DecodeDescribeConfigsRequest(int16_t version, Reader& body);
AlterConfigsRequest DecodeAlterConfigsRequest(int16_t version, Reader& body);
AlterConfigsRequest DecodeIncrementalAlterConfigsRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const DescribeConfigsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const AlterConfigsResponse& r);

// The handlers (configs.cc) and the answers to an unsupported version (see ApiEntry).
Result HandleDescribeConfigs(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleAlterConfigs(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleIncrementalAlterConfigs(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string DescribeConfigsErrorResponse(const RequestHeader& header, int16_t error_code);
std::string AlterConfigsErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_CONFIGS_H_
