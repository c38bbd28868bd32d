// The Kafka request/response framing Ferry serves: API keys, error codes, the request header
// and its parser, the response frame, and the helpers every API's codec shares.
// Pure functions over bytes, thread-safe. Nothing here reads past its input.
#ifndef FERRY_SERVER_KAFKA_PROTOCOL_H_
#define FERRY_SERVER_KAFKA_PROTOCOL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/kafka/wire.h"

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
  kDeleteRecords = 21,
  kInitProducerId = 22,
  kAddPartitionsToTxn = 24,
  kAddOffsetsToTxn = 25,
  kEndTxn = 26,
  kTxnOffsetCommit = 28,
  kDescribeAcls = 29,
  kCreateAcls = 30,
  kDeleteAcls = 31,
  kDescribeConfigs = 32,
  kAlterConfigs = 33,
  kSaslAuthenticate = 36,
  kCreatePartitions = 37,
  kDeleteGroups = 42,
  kIncrementalAlterConfigs = 44,
  kOffsetDelete = 47,
  kDescribeUserScramCredentials = 50,
  kAlterUserScramCredentials = 51,
  kDescribeCluster = 60,
  kDescribeProducers = 61,
  kDescribeTransactions = 65,
  kListTransactions = 66,
};

// The versions of one API Ferry serves, as ApiVersions lists them.
struct ApiVersionRange {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
};

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
constexpr int16_t kTopicAuthorizationFailed = 29;
constexpr int16_t kGroupAuthorizationFailed = 30;
constexpr int16_t kClusterAuthorizationFailed = 31;
constexpr int16_t kUnsupportedSaslMechanism = 33;
constexpr int16_t kIllegalSaslState = 34;
constexpr int16_t kUnsupportedVersion = 35;
constexpr int16_t kTopicAlreadyExists = 36;
constexpr int16_t kInvalidPartitions = 37;
constexpr int16_t kInvalidReplicationFactor = 38;
constexpr int16_t kInvalidReplicaAssignment = 39;
constexpr int16_t kInvalidConfig = 40;
constexpr int16_t kInvalidRequest = 42;
constexpr int16_t kUnsupportedForMessageFormat = 43;
constexpr int16_t kOutOfOrderSequenceNumber = 45;
constexpr int16_t kInvalidProducerEpoch = 47;
constexpr int16_t kTransactionalIdAuthorizationFailed = 53;
constexpr int16_t kSecurityDisabled = 54;
constexpr int16_t kKafkaStorageError = 56;
constexpr int16_t kSaslAuthenticationFailed = 58;
constexpr int16_t kUnknownProducerId = 59;
constexpr int16_t kNonEmptyGroup = 68;
constexpr int16_t kGroupIdNotFound = 69;
constexpr int16_t kFetchSessionIdNotFound = 70;
constexpr int16_t kInvalidFetchSessionEpoch = 71;
constexpr int16_t kMemberIdRequired = 79;
constexpr int16_t kGroupMaxSizeReached = 81;
constexpr int16_t kFencedInstanceId = 82;
constexpr int16_t kGroupSubscribedToTopic = 86;
constexpr int16_t kFencedLeaderEpoch = 74;
constexpr int16_t kUnknownLeaderEpoch = 75;
constexpr int16_t kUnsupportedCompressionType = 76;
constexpr int16_t kInvalidRecord = 87;
constexpr int16_t kProducerFenced = 90;
constexpr int16_t kResourceNotFound = 91;
constexpr int16_t kDuplicateResource = 92;
constexpr int16_t kUnacceptableCredential = 93;
constexpr int16_t kUnknownTopicId = 100;
constexpr int16_t kTransactionalIdNotFound = 105;
constexpr int16_t kUnsupportedEndpointType = 119;
}  // namespace error

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  // A flexible version of its API: request header v2 (tagged fields after the client id),
  // body in the compact forms, and the response likewise (response header v1, except
  // ApiVersions, whose response header is always v0 so any client can read it).
  bool flexible = false;
};

// Parses the request header at the start of a frame (the bytes after the size prefix): api
// key, version, correlation id, client id (always a NULLABLE_STRING), and, when
// `is_flexible(key, version)` says the version is flexible, the header's tagged fields (v2).
// `body` gets the bytes after it. INVALID_ARGUMENT when the frame is too short for a header.
// The only header parser: the dispatcher calls it once per request and hands the body to the
// API's handler.
absl::StatusOr<RequestHeader> ParseRequestHeader(
    std::string_view frame, std::string_view* body,
    bool (*is_flexible)(int16_t api_key, int16_t api_version) = nullptr);

// Called once an API's decoder has read a request body from `body`: INVALID_ARGUMENT
// ("malformed <Api> v<N> request: <why>") when the body was malformed (truncated, negative
// lengths, forged counts); OK otherwise. Bytes left after the body are ignored, as Kafka does
// (some clients send them).
absl::Status CheckRequestBody(const RequestHeader& header, const Reader& body);

// A response frame under construction: size prefix, correlation id and, for a flexible
// version (except ApiVersions), the header's empty tagged fields written up front (response
// header v0 or v1); the body goes to w(), which is flexible when the version is; Finish()
// fills in the size.
class ResponseFrame {
 public:
  explicit ResponseFrame(const RequestHeader& header);
  ResponseFrame(const ResponseFrame&) = delete;
  ResponseFrame& operator=(const ResponseFrame&) = delete;

  Writer& w() { return w_; }
  std::string Finish();

 private:
  std::string out_;
  Writer w_;
  size_t size_at_ = 0;
};

// A Kafka topic id (a UUID, Kafka 2.8+); all zero: none.
using Uuid = std::array<uint8_t, 16>;

// An "authorized operations" bitfield the client did not ask for (Kafka's default).
inline constexpr int32_t kAuthorizedOperationsOmitted = INT32_MIN;

// --- helpers for the API codecs --------------------------------------------------------------

// The smallest encoding of a string, so a forged array count fails before any allocation.
inline constexpr size_t kMinString = 2;

inline std::string Str(std::string_view v) { return std::string(v); }

inline std::optional<std::string> OptStr(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

// A topic array ([name, [partition]]) whose partitions are read by `read`, each at least
// `min_partition_bytes` long.
template <typename Topic, typename ReadPartition>
std::vector<Topic> ReadTopics(Reader& r, size_t min_partition_bytes, ReadPartition read) {
  std::vector<Topic> topics;
  const int32_t n = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Topic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(min_partition_bytes);
    for (int32_t j = 0; j < np && r.ok(); ++j) t.partitions.push_back(read());
    topics.push_back(std::move(t));
  }
  return topics;
}

// A topic array whose partitions are written by `write`.
template <typename Topic, typename WritePartition>
void WriteTopics(Writer& w, const std::vector<Topic>& topics, WritePartition write) {
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) write(p);
  }
}

inline void WriteInt32Array(Writer& w, const std::vector<int32_t>& values) {
  w.ArrayCount(static_cast<int32_t>(values.size()));
  for (int32_t v : values) w.Int32(v);
}

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_PROTOCOL_H_
