// The group APIs, FindCoordinator (key 10, v0-4), JoinGroup (11, v0-7), Heartbeat (12, v0-4),
// LeaveGroup (13, v0-4), SyncGroup (14, v0-5), DescribeGroups (15, v0-5) and ListGroups (16,
// v0-4), flexible versions included: their requests and responses, their
// wire format and the consumer protocol embedded in JoinGroup and SyncGroup (groups_codec.cc,
// pure), and their handlers (groups.cc), over Ferry's coordinator. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_GROUPS_H_
#define FERRY_SERVER_KAFKA_GROUPS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

// The member id JoinGroup names as the group's leader: no member has it, so every Kafka member
// is a follower and takes the assignment the coordinator computed from SyncGroup.
inline constexpr char kCoordinatorLeaderId[] = "ferry-coordinator";

// --- requests ------------------------------------------------------------------------------

struct FindCoordinatorRequest {
  // v0-3: the one key; v4+: the batched coordinator keys.
  std::vector<std::string> keys;
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
  std::optional<std::string> group_instance_id;  // v5+: static membership
  std::string protocol_type;
  std::vector<Protocol> protocols;
};

struct SyncGroupRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;                  // v3+
  std::optional<std::string> protocol_type;                      // v5+
  std::optional<std::string> protocol_name;                      // v5+
  std::vector<std::pair<std::string, std::string>> assignments;  // member id, assignment
};

struct HeartbeatRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
};

struct LeaveGroupRequest {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v3+
  };
  std::string group_id;
  // v0-2: the one member of the request's member id; v3+: the batch.
  std::vector<Member> members;
};

struct ListGroupsRequest {
  std::vector<std::string> states_filter;  // v4+: empty lists every group
};

struct DescribeGroupsRequest {
  std::vector<std::string> groups;
  bool include_authorized_operations = false;  // v3+
};

// Each reads a request body in the format of `version` from `body`; a malformed body fails
// `body` (CheckRequestBody reports it).
FindCoordinatorRequest DecodeFindCoordinatorRequest(int16_t version, Reader& body);
JoinGroupRequest DecodeJoinGroupRequest(int16_t version, Reader& body);
SyncGroupRequest DecodeSyncGroupRequest(int16_t version, Reader& body);
HeartbeatRequest DecodeHeartbeatRequest(int16_t version, Reader& body);
LeaveGroupRequest DecodeLeaveGroupRequest(int16_t version, Reader& body);
ListGroupsRequest DecodeListGroupsRequest(int16_t version, Reader& body);
DescribeGroupsRequest DecodeDescribeGroupsRequest(int16_t version, Reader& body);

// --- responses -----------------------------------------------------------------------------

struct FindCoordinatorResponse {
  struct Coordinator {
    std::string key;  // v4+
    int32_t node_id = -1;
    std::string host;
    int32_t port = -1;
    int16_t error_code = 0;
    std::optional<std::string> error_message;  // v1+
  };
  // v0-3 write the first (an empty one when there is none) as the response's own fields.
  std::vector<Coordinator> coordinators;
};

struct JoinGroupResponse {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v5+
    std::string metadata;
  };
  int16_t error_code = 0;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;  // v7+
  std::optional<std::string> protocol_name;  // null from v7 (else empty) when unset
  std::string leader;
  std::string member_id;
  std::vector<Member> members;
};

struct SyncGroupResponse {
  int16_t error_code = 0;
  std::optional<std::string> protocol_type;  // v5+
  std::optional<std::string> protocol_name;  // v5+
  std::string assignment;
};

struct HeartbeatResponse {
  int16_t error_code = 0;
};

struct LeaveGroupResponse {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    int16_t error_code = 0;
  };
  int16_t error_code = 0;
  std::vector<Member> members;  // v3+
};

struct ListGroupsResponse {
  struct Group {
    std::string group_id;
    std::string protocol_type;
    std::string state;  // v4+
  };
  int16_t error_code = 0;
  std::vector<Group> groups;
};

// The authorized operations DescribeGroups reports when asked (Ferry authorizes everything):
// the bits of READ (3), DELETE (6) and DESCRIBE (8), Kafka's operations on a group.
inline constexpr int32_t kGroupAuthorizedOperations = (1 << 3) | (1 << 6) | (1 << 8);
// (kAuthorizedOperationsOmitted, protocol.h, when not asked.)

struct DescribeGroupsResponse {
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v4+
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
    int32_t authorized_operations = kAuthorizedOperationsOmitted;  // v3+
  };
  std::vector<Group> groups;
};

// Each returns the whole response frame in the format of `header.api_version`.
std::string EncodeResponse(const RequestHeader& header, const FindCoordinatorResponse& r);
std::string EncodeResponse(const RequestHeader& header, const JoinGroupResponse& r);
std::string EncodeResponse(const RequestHeader& header, const SyncGroupResponse& r);
std::string EncodeResponse(const RequestHeader& header, const HeartbeatResponse& r);
std::string EncodeResponse(const RequestHeader& header, const LeaveGroupResponse& r);
std::string EncodeResponse(const RequestHeader& header, const ListGroupsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const DescribeGroupsResponse& r);

// --- the consumer protocol (embedded in JoinGroup / SyncGroup) -----------------------------

// ConsumerProtocolSubscription: the topics and, from v1, the partitions the member owns (what a
// cooperative member keeps across a rejoin). INVALID_ARGUMENT when malformed. Later versions'
// other fields (generation, rack) are ignored.
struct Subscription {
  std::vector<std::string> topics;
  std::optional<std::vector<std::pair<std::string, int32_t>>> owned;  // v1+
};
absl::StatusOr<Subscription> ParseSubscription(std::string_view metadata);
// ConsumerProtocolSubscription v0: topics, empty user data.
std::string EncodeSubscription(const std::vector<std::string>& topics);
// ConsumerProtocolAssignment v0: [topic, [partition]], empty user data.
std::string EncodeAssignment(const std::vector<std::pair<std::string, int32_t>>& partitions);

// --- the handlers (groups.cc) --------------------------------------------------------------

// Each serves its API over ConsumerGroups; JoinGroup blocks at the group's join barrier, then
// while the partitions moving to the member arrive (at most the rebalance timeout, or 5 s).
// JoinGroup v4+ answers a new member without an instance id with MEMBER_ID_REQUIRED and the id
// to join with, as Kafka does.
Result HandleFindCoordinator(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleJoinGroup(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleSyncGroup(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleHeartbeat(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleLeaveGroup(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleListGroups(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleDescribeGroups(ApiContext& ctx, const RequestHeader& header, Reader& body);

// The answers to an unsupported version (see ApiEntry).
std::string FindCoordinatorErrorResponse(const RequestHeader& header, int16_t error_code);
std::string JoinGroupErrorResponse(const RequestHeader& header, int16_t error_code);
std::string SyncGroupErrorResponse(const RequestHeader& header, int16_t error_code);
std::string HeartbeatErrorResponse(const RequestHeader& header, int16_t error_code);
std::string LeaveGroupErrorResponse(const RequestHeader& header, int16_t error_code);
std::string ListGroupsErrorResponse(const RequestHeader& header, int16_t error_code);
std::string DescribeGroupsErrorResponse(const RequestHeader& header, int16_t error_code);

// A coordinator refusal as Kafka's group error codes (also for OffsetCommit's results).
int16_t GroupErrorCode(const absl::Status& s);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_GROUPS_H_
