#include "server/kafka/requests.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::kafka {
namespace {

RequestBody ParseBody(int16_t key, int16_t v, Reader& r) {
  switch (key) {
    case kApiVersions:
      return DecodeApiVersionsRequest(v, r);
    case kMetadata:
      return DecodeMetadataRequest(v, r);
    case kProduce:
      return DecodeProduceRequest(v, r);
    case kFetch:
      return DecodeFetchRequest(v, r);
    case kListOffsets:
      return DecodeListOffsetsRequest(v, r);
    case kFindCoordinator:
      return DecodeFindCoordinatorRequest(v, r);
    case kJoinGroup:
      return DecodeJoinGroupRequest(v, r);
    case kSyncGroup:
      return DecodeSyncGroupRequest(v, r);
    case kHeartbeat:
      return DecodeHeartbeatRequest(v, r);
    case kLeaveGroup:
      return DecodeLeaveGroupRequest(v, r);
    case kOffsetCommit:
      return DecodeOffsetCommitRequest(v, r);
    case kOffsetFetch:
      return DecodeOffsetFetchRequest(v, r);
    case kListGroups:
      return DecodeListGroupsRequest(v, r);
    case kDescribeGroups:
      return DecodeDescribeGroupsRequest(v, r);
    case kSaslHandshake:
      return DecodeSaslHandshakeRequest(v, r);
    case kCreateTopics:
      return DecodeCreateTopicsRequest(v, r);
    case kDeleteTopics:
      return DecodeDeleteTopicsRequest(v, r);
    default:
      r.Fail("unknown api key");
      return ApiVersionsRequest{};
  }
}

}  // namespace

const std::vector<ApiVersionRange>& SupportedApis() {
  // Every range starts at v0: librdkafka turns group consumption off when a group API's does
  // not. Metadata v4 as the highest makes kafka-python take the broker for 0.11 (record batch
  // v2, Produce v3, Fetch v4).
  static const std::vector<ApiVersionRange> apis = {
      {kProduce, 0, 3},         {kFetch, 0, 4},        {kListOffsets, 0, 2},
      {kMetadata, 0, 4},        {kOffsetCommit, 0, 2}, {kOffsetFetch, 0, 2},
      {kFindCoordinator, 0, 1}, {kJoinGroup, 0, 2},    {kHeartbeat, 0, 1},
      {kLeaveGroup, 0, 1},      {kSyncGroup, 0, 1},    {kDescribeGroups, 0, 1},
      {kListGroups, 0, 1},      {kApiVersions, 0, 2},  {kCreateTopics, 0, 1},
      {kDeleteTopics, 0, 1},
  };
  return apis;
}

const ApiVersionRange* FindApi(int16_t api_key) {
  for (const auto& api : SupportedApis()) {
    if (api.api_key == api_key) return &api;
  }
  return nullptr;
}

absl::StatusOr<Request> ParseRequest(std::string_view frame) {
  std::string_view body;
  auto header = ParseRequestHeader(frame, &body);
  if (!header.ok()) return header.status();
  const ApiVersionRange* api = FindApi(header->api_key);
  if (api == nullptr && header->api_key != kSaslHandshake) {
    return absl::UnimplementedError(absl::StrCat("API key ", header->api_key, " (",
                                                 ApiName(header->api_key), ") is not served"));
  }
  const int16_t max_version = api != nullptr ? api->max_version : 1;
  if (header->api_version < 0 || header->api_version > max_version) {
    return absl::OutOfRangeError(absl::StrCat(ApiName(header->api_key), " v", header->api_version,
                                              " is not supported (0-", max_version, ")"));
  }
  Reader r(body);
  Request request;
  request.body = ParseBody(header->api_key, header->api_version, r);
  if (absl::Status s = CheckRequestBody(*header, r); !s.ok()) return s;
  request.header = *std::move(header);
  return request;
}

std::string EncodeVersionError(const RequestHeader& header, int16_t error_code) {
  RequestHeader h = header;
  if (h.api_key == kApiVersions) {
    h.api_version = 0;
    return EncodeResponse(h, ApiVersionsResponse{error_code, SupportedApis()});
  }
  const ApiVersionRange* api = FindApi(h.api_key);
  if (api == nullptr) {
    if (h.api_key != kSaslHandshake) return "";
    h.api_version = 1;
    return EncodeResponse(h, SaslHandshakeResponse{error_code, {}});
  }
  h.api_version = api->max_version;
  switch (h.api_key) {
    case kProduce:
      return EncodeResponse(h, ProduceResponse{});
    case kFetch:
      return EncodeResponse(h, FetchResponse{});
    case kListOffsets:
      return EncodeResponse(h, ListOffsetsResponse{});
    case kMetadata:
      return EncodeResponse(h, MetadataResponse{});
    case kOffsetCommit:
      return EncodeResponse(h, OffsetCommitResponse{});
    case kOffsetFetch:
      return EncodeResponse(h, OffsetFetchResponse{});
    case kFindCoordinator: {
      FindCoordinatorResponse r;
      r.error_code = error_code;
      return EncodeResponse(h, r);
    }
    case kJoinGroup: {
      JoinGroupResponse r;
      r.error_code = error_code;
      return EncodeResponse(h, r);
    }
    case kHeartbeat:
      return EncodeResponse(h, HeartbeatResponse{error_code});
    case kLeaveGroup:
      return EncodeResponse(h, LeaveGroupResponse{error_code});
    case kSyncGroup:
      return EncodeResponse(h, SyncGroupResponse{error_code, ""});
    case kCreateTopics:
      return EncodeResponse(h, CreateTopicsResponse{});
    case kListGroups:
      return EncodeResponse(h, ListGroupsResponse{error_code, {}});
    case kDescribeGroups:
      return EncodeResponse(h, DescribeGroupsResponse{});
    case kDeleteTopics:
      return EncodeResponse(h, DeleteTopicsResponse{});
    default:
      return "";
  }
}

}  // namespace ferry::kafka
