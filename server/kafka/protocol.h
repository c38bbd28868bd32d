// The Kafka request/response protocol as Ferry serves it: API keys, the advertised version
// ranges (the one table ApiVersions and the version check both read), request parsing and
// response encoding for the non-flexible versions served.
// Pure functions over bytes, thread-safe. ParseRequest never reads past its input and never
// allocates more than a small multiple of it, whatever the bytes.
#ifndef FERRY_SERVER_KAFKA_PROTOCOL_H_
#define FERRY_SERVER_KAFKA_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::kafka {

enum ApiKey : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kJoinGroup = 11,
  kHeartbeat = 12,
  kLeaveGroup = 13,
  kSyncGroup = 14,
  kDescribeGroups = 15,
  kListGroups = 16,
  kSaslHandshake = 17,
  kApiVersions = 18,
  kCreateTopics = 19,
  kDeleteTopics = 20,
};

struct ApiVersionRange {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
};

// Every API advertised in ApiVersions, in key order.
const std::vector<ApiVersionRange>& SupportedApis();
// The advertised range of `api_key`; nullptr when it is not served.
const ApiVersionRange* FindApi(int16_t api_key);
// Kafka's name of an API key ("Produce"), or "Unknown"; for log lines.
const char* ApiName(int16_t api_key);

// Kafka error codes Ferry returns.
namespace error {
constexpr int16_t kUnknownServerError = -1;
constexpr int16_t kNone = 0;
constexpr int16_t kOffsetOutOfRange = 1;
constexpr int16_t kCorruptMessage = 2;
constexpr int16_t kUnknownTopicOrPartition = 3;
constexpr int16_t kRequestTimedOut = 7;
constexpr int16_t kMessageTooLarge = 10;
constexpr int16_t kCoordinatorNotAvailable = 15;
constexpr int16_t kInvalidTopic = 17;
constexpr int16_t kRecordListTooLarge = 18;
constexpr int16_t kInvalidRequiredAcks = 21;
constexpr int16_t kIllegalGeneration = 22;
constexpr int16_t kInconsistentGroupProtocol = 23;
constexpr int16_t kInvalidGroupId = 24;
constexpr int16_t kUnknownMemberId = 25;
constexpr int16_t kInvalidSessionTimeout = 26;
constexpr int16_t kRebalanceInProgress = 27;
constexpr int16_t kUnsupportedSaslMechanism = 33;
constexpr int16_t kUnsupportedVersion = 35;
constexpr int16_t kTopicAlreadyExists = 36;
constexpr int16_t kInvalidPartitions = 37;
constexpr int16_t kInvalidReplicationFactor = 38;
constexpr int16_t kInvalidConfig = 40;
constexpr int16_t kInvalidRequest = 42;
constexpr int16_t kUnsupportedForMessageFormat = 43;
constexpr int16_t kKafkaStorageError = 56;
constexpr int16_t kGroupMaxSizeReached = 81;
constexpr int16_t kUnsupportedCompressionType = 76;
}  // namespace error

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

// --- requests ------------------------------------------------------------------------------

struct ApiVersionsRequest {};

struct MetadataRequest {
  std::optional<std::vector<std::string>> topics;  // nullopt: every topic
  bool allow_auto_topic_creation = true;           // v4+
};

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

struct FetchRequest {
  struct Partition {
    int32_t index = 0;
    int64_t fetch_offset = 0;
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
  std::vector<Topic> topics;
};

struct ListOffsetsRequest {
  struct Partition {
    int32_t index = 0;
    int64_t timestamp = -1;       // -1 latest, -2 earliest
    int32_t max_num_offsets = 1;  // v0
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  int32_t replica_id = -1;
  int8_t isolation_level = 0;  // v2+
  std::vector<Topic> topics;
};

struct FindCoordinatorRequest {
  std::string key;
  int8_t key_type = 0;  // v1+: 0 group, 1 transaction
};

struct JoinGroupRequest {
  struct Protocol {
    std::string name;
    std::string metadata;
  };
  std::string group_id;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = -1;  // v1+
  std::string member_id;
  std::string protocol_type;
  std::vector<Protocol> protocols;
};

struct SyncGroupRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::vector<std::pair<std::string, std::string>> assignments;  // member id, assignment
};

struct HeartbeatRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
};

struct LeaveGroupRequest {
  std::string group_id;
  std::string member_id;
};

struct OffsetCommitRequest {
  struct Partition {
    int32_t index = 0;
    int64_t offset = 0;
    int64_t timestamp = -1;  // v1
    std::optional<std::string> metadata;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::string group_id;
  int32_t generation_id = -1;      // v1+
  std::string member_id;           // v1+
  int64_t retention_time_ms = -1;  // v2+
  std::vector<Topic> topics;
};

struct OffsetFetchRequest {
  struct Topic {
    std::string name;
    std::vector<int32_t> partitions;
  };
  std::string group_id;
  std::vector<Topic> topics;
  bool all_topics = false;  // v2+: topics null, every partition the group committed
};

struct SaslHandshakeRequest {
  std::string mechanism;
};

struct ListGroupsRequest {};

struct DescribeGroupsRequest {
  std::vector<std::string> groups;
};

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
  std::vector<std::string> names;
  int32_t timeout_ms = 0;
};

using RequestBody =
    std::variant<ApiVersionsRequest, MetadataRequest, ProduceRequest, FetchRequest,
                 ListOffsetsRequest, FindCoordinatorRequest, JoinGroupRequest, SyncGroupRequest,
                 HeartbeatRequest, LeaveGroupRequest, OffsetCommitRequest, OffsetFetchRequest,
                 SaslHandshakeRequest, CreateTopicsRequest, DeleteTopicsRequest, ListGroupsRequest,
                 DescribeGroupsRequest>;

struct Request {
  RequestHeader header;
  RequestBody body;
};

// Parses the request header (v1: api key, version, correlation id, client id) at the start of
// a frame (the bytes after the size prefix); `body` gets the bytes after it. INVALID_ARGUMENT
// when the frame is too short for a header.
absl::StatusOr<RequestHeader> ParseRequestHeader(std::string_view frame, std::string_view* body);

// Parses a whole request frame. Errors: INVALID_ARGUMENT malformed (truncated, negative
// lengths, trailing bytes), UNIMPLEMENTED an API key Ferry does not serve, OUT_OF_RANGE a
// version outside the advertised range. Views in the result point into `frame`.
absl::StatusOr<Request> ParseRequest(std::string_view frame);

// --- responses -----------------------------------------------------------------------------

struct ApiVersionsResponse {
  int16_t error_code = 0;
  std::vector<ApiVersionRange> apis;
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

struct ProduceResponse {
  struct Partition {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t base_offset = -1;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};

struct FetchResponse {
  struct Partition {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t high_watermark = -1;
    std::string records;  // a record batch or message set, already encoded
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};

struct ListOffsetsResponse {
  struct Partition {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t timestamp = -1;
    int64_t offset = -1;  // v0: the single old-style offset, none when -1
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};

struct FindCoordinatorResponse {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int32_t node_id = -1;
  std::string host;
  int32_t port = -1;
};

struct JoinGroupResponse {
  int16_t error_code = 0;
  int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<std::pair<std::string, std::string>> members;  // member id, metadata
};

struct SyncGroupResponse {
  int16_t error_code = 0;
  std::string assignment;
};

struct HeartbeatResponse {
  int16_t error_code = 0;
};

struct LeaveGroupResponse {
  int16_t error_code = 0;
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
    std::string metadata;
    int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
  int16_t error_code = 0;  // v2+
};

struct ListGroupsResponse {
  int16_t error_code = 0;
  std::vector<std::pair<std::string, std::string>> groups;  // group id, protocol type
};

struct DescribeGroupsResponse {
  struct Member {
    std::string member_id;
    std::string client_id;
    std::string client_host;
    std::string metadata;    // ConsumerProtocolSubscription
    std::string assignment;  // ConsumerProtocolAssignment
  };
  struct Group {
    int16_t error_code = 0;
    std::string group_id;
    std::string state;  // Empty, Stable, PreparingRebalance, Dead
    std::string protocol_type;
    std::string protocol;
    std::vector<Member> members;
  };
  std::vector<Group> groups;
};

struct SaslHandshakeResponse {
  int16_t error_code = 0;
  std::vector<std::string> mechanisms;
};

struct CreateTopicsResponse {
  struct Topic {
    std::string name;
    int16_t error_code = 0;
    std::optional<std::string> error_message;  // v1+
  };
  std::vector<Topic> topics;
};

struct DeleteTopicsResponse {
  struct Topic {
    std::string name;
    int16_t error_code = 0;
  };
  std::vector<Topic> topics;
};

// Each returns a whole response frame: size prefix, correlation id, body in the format of
// `header.api_version`.
std::string EncodeResponse(const RequestHeader& header, const ApiVersionsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const MetadataResponse& r);
std::string EncodeResponse(const RequestHeader& header, const ProduceResponse& r);
std::string EncodeResponse(const RequestHeader& header, const FetchResponse& r);
std::string EncodeResponse(const RequestHeader& header, const ListOffsetsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const FindCoordinatorResponse& r);
std::string EncodeResponse(const RequestHeader& header, const JoinGroupResponse& r);
std::string EncodeResponse(const RequestHeader& header, const SyncGroupResponse& r);
std::string EncodeResponse(const RequestHeader& header, const HeartbeatResponse& r);
std::string EncodeResponse(const RequestHeader& header, const LeaveGroupResponse& r);
std::string EncodeResponse(const RequestHeader& header, const OffsetCommitResponse& r);
std::string EncodeResponse(const RequestHeader& header, const OffsetFetchResponse& r);
std::string EncodeResponse(const RequestHeader& header, const SaslHandshakeResponse& r);
std::string EncodeResponse(const RequestHeader& header, const ListGroupsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const DescribeGroupsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const CreateTopicsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const DeleteTopicsResponse& r);

// The answer to a request whose version is not advertised: ApiVersions in the v0 format with
// the supported list (as Kafka does, so the client can pick a version); any other served API
// in the format of its highest advertised version with `error_code` in its error fields and
// no topics. Empty for an API key that is not served.
std::string EncodeVersionError(const RequestHeader& header, int16_t error_code);

// --- the consumer protocol (embedded in JoinGroup / SyncGroup) -----------------------------

// ConsumerProtocolSubscription (version, topics, user data): the topics. INVALID_ARGUMENT when
// malformed. Later versions' extra fields are ignored.
absl::StatusOr<std::vector<std::string>> ParseSubscriptionTopics(std::string_view metadata);
// ConsumerProtocolSubscription v0: topics, empty user data.
std::string EncodeSubscription(const std::vector<std::string>& topics);
// ConsumerProtocolAssignment v0: [topic, [partition]], empty user data.
std::string EncodeAssignment(const std::vector<std::pair<std::string, int32_t>>& partitions);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_PROTOCOL_H_
