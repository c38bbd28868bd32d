// Every served request in one variant, the advertised version ranges and the version-error
// answer, over the per-API codecs. Pure functions, thread-safe.
#ifndef FERRY_SERVER_KAFKA_REQUESTS_H_
#define FERRY_SERVER_KAFKA_REQUESTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "server/kafka/api_versions.h"
#include "server/kafka/fetch.h"
#include "server/kafka/groups.h"
#include "server/kafka/list_offsets.h"
#include "server/kafka/metadata.h"
#include "server/kafka/offsets.h"
#include "server/kafka/produce.h"
#include "server/kafka/protocol.h"
#include "server/kafka/sasl.h"
#include "server/kafka/topics.h"

namespace ferry::kafka {

// Every API advertised in ApiVersions, in key order.
const std::vector<ApiVersionRange>& SupportedApis();
// The advertised range of `api_key`; nullptr when it is not served.
const ApiVersionRange* FindApi(int16_t api_key);

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

// Parses a whole request frame. Errors: INVALID_ARGUMENT malformed (truncated, negative
// lengths, trailing bytes), UNIMPLEMENTED an API key Ferry does not serve, OUT_OF_RANGE a
// version outside the advertised range. Views in the result point into `frame`.
absl::StatusOr<Request> ParseRequest(std::string_view frame);

// The answer to a request whose version is not advertised: ApiVersions in the v0 format with
// the supported list (as Kafka does, so the client can pick a version); any other served API
// in the format of its highest advertised version with `error_code` in its error fields and
// no topics. Empty for an API key that is not served.
std::string EncodeVersionError(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_REQUESTS_H_
