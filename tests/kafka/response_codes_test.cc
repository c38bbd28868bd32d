// ResponseErrorCode against the responses Ferry's own encoders write: every served API and
// version parses, top-level codes and the first non-zero per-partition code are found.
#include "server/kafka/response_codes.h"

#include "gtest/gtest.h"
#include "server/kafka/api.h"
#include "server/kafka/fetch.h"
#include "server/kafka/group_admin.h"
#include "server/kafka/groups.h"
#include "server/kafka/metadata.h"
#include "server/kafka/offsets.h"
#include "server/kafka/produce.h"
#include "server/kafka/protocol.h"
#include "server/kafka/topics.h"

namespace ferry::kafka {
namespace {

RequestHeader Header(int16_t key, int16_t version) {
  RequestHeader h;
  h.api_key = key;
  h.api_version = version;
  h.correlation_id = 7;
  h.flexible = IsFlexibleVersion(key, version);
  return h;
}

TEST(ResponseErrorCodeTest, EveryServedVersionsErrorResponseParses) {
  for (const ApiEntry& api : Apis()) {
    for (int16_t v = api.min_version; v <= api.max_version; ++v) {
      const RequestHeader h = Header(api.key, v);
      const std::string frame = api.error_response(h, error::kRebalanceInProgress);
      const auto code = ResponseErrorCode(api.key, v, h.flexible, frame);
      ASSERT_TRUE(code.has_value()) << ApiName(api.key) << " v" << v;
      // Per-partition APIs answer a version error with no partitions, so nowhere for a code.
      EXPECT_TRUE(*code == error::kRebalanceInProgress || *code == 0)
          << ApiName(api.key) << " v" << v << ": " << *code;
    }
  }
}

TEST(ResponseErrorCodeTest, FirstNonZeroPartitionCode) {
  FetchResponse fetch;
  fetch.topics.push_back({"a", {{0, 0, 5, "records", 0}, {1, error::kOffsetOutOfRange, 5, "", 0}}});
  fetch.topics.push_back({"b", {{0, error::kUnknownTopicOrPartition, -1, "", -1}}});
  for (int16_t v = 0; v <= 12; ++v) {
    const RequestHeader h = Header(kFetch, v);
    EXPECT_EQ(ResponseErrorCode(kFetch, v, h.flexible, EncodeResponse(h, fetch)),
              error::kOffsetOutOfRange)
        << "Fetch v" << v;
  }
  ProduceResponse produce;
  produce.topics.push_back(
      {"a", {{0, 0, 10, 0, std::nullopt}, {1, error::kMessageTooLarge, -1, -1, "too large"}}});
  for (int16_t v = 0; v <= 9; ++v) {
    const RequestHeader h = Header(kProduce, v);
    EXPECT_EQ(ResponseErrorCode(kProduce, v, h.flexible, EncodeResponse(h, produce)),
              error::kMessageTooLarge)
        << "Produce v" << v;
  }
  MetadataResponse metadata;
  metadata.brokers.push_back({0, "127.0.0.1", 9092});
  metadata.topics.push_back({0, "ok", {{0, 0, 0, {0}, {0}}}});
  metadata.topics.push_back({error::kInvalidTopic, "bad name", {}});
  metadata.topics[0].topic_id[3] = 9;
  metadata.topics.push_back({error::kUnknownTopicId, std::nullopt, {}});
  for (int16_t v = 0; v <= FindApi(kMetadata)->max_version; ++v) {
    const RequestHeader h = Header(kMetadata, v);
    EXPECT_EQ(ResponseErrorCode(kMetadata, v, h.flexible, EncodeResponse(h, metadata)),
              error::kInvalidTopic)
        << "Metadata v" << v;
  }
  metadata.topics.resize(1);
  const RequestHeader h = Header(kMetadata, 4);
  EXPECT_EQ(ResponseErrorCode(kMetadata, 4, false, EncodeResponse(h, metadata)), 0);
}

TEST(ResponseErrorCodeTest, TopicAdminCodesEveryVersion) {
  CreateTopicsResponse create;
  CreateTopicsResponse::Topic ok;
  ok.name = "a";
  ok.topic_id[0] = 1;
  ok.num_partitions = 3;
  ok.replication_factor = 1;
  ok.configs.push_back({"retention.ms", "-1", false, 5, false});
  create.topics.push_back(ok);
  CreateTopicsResponse::Topic exists;
  exists.name = "b";
  exists.error_code = error::kTopicAlreadyExists;
  exists.error_message = "topic 'b' already exists";
  create.topics.push_back(exists);
  for (int16_t v = 0; v <= FindApi(kCreateTopics)->max_version; ++v) {
    const RequestHeader h = Header(kCreateTopics, v);
    EXPECT_EQ(ResponseErrorCode(kCreateTopics, v, h.flexible, EncodeResponse(h, create)),
              error::kTopicAlreadyExists)
        << "CreateTopics v" << v;
  }
  DeleteTopicsResponse del;
  del.topics.push_back({"a", {}, 0, std::nullopt});
  del.topics.push_back({std::nullopt, {}, error::kUnknownTopicId, "no topic has this topic id"});
  for (int16_t v = 0; v <= FindApi(kDeleteTopics)->max_version; ++v) {
    const RequestHeader h = Header(kDeleteTopics, v);
    EXPECT_EQ(ResponseErrorCode(kDeleteTopics, v, h.flexible, EncodeResponse(h, del)),
              error::kUnknownTopicId)
        << "DeleteTopics v" << v;
  }
}

TEST(ResponseErrorCodeTest, GroupAndMemberCodes) {
  LeaveGroupResponse leave;
  leave.members.push_back({"a", std::nullopt, 0});
  leave.members.push_back({"b", "static-b", error::kUnknownMemberId});
  for (int16_t v = 3; v <= 4; ++v) {
    const RequestHeader h = Header(kLeaveGroup, v);
    EXPECT_EQ(ResponseErrorCode(kLeaveGroup, v, h.flexible, EncodeResponse(h, leave)),
              error::kUnknownMemberId)
        << "LeaveGroup v" << v;
  }
  OffsetFetchResponse fetch;
  fetch.groups.push_back({"g1", {{"t", {{0, 5, -1, "", 0}}}}, 0});
  fetch.groups.push_back({"g2", {}, error::kInvalidGroupId});
  const RequestHeader fh = Header(kOffsetFetch, 8);
  EXPECT_EQ(ResponseErrorCode(kOffsetFetch, 8, fh.flexible, EncodeResponse(fh, fetch)),
            error::kInvalidGroupId);
  FindCoordinatorResponse find;
  find.coordinators.push_back({"g", 0, "h", 9092, 0, std::nullopt});
  find.coordinators.push_back({"", -1, "", -1, error::kInvalidGroupId, "empty"});
  const RequestHeader ch = Header(kFindCoordinator, 4);
  EXPECT_EQ(ResponseErrorCode(kFindCoordinator, 4, ch.flexible, EncodeResponse(ch, find)),
            error::kInvalidGroupId);
  DeleteGroupsResponse del;
  del.results = {{"a", 0}, {"b", error::kNonEmptyGroup}};
  for (int16_t v = 0; v <= 2; ++v) {
    const RequestHeader h = Header(kDeleteGroups, v);
    EXPECT_EQ(ResponseErrorCode(kDeleteGroups, v, h.flexible, EncodeResponse(h, del)),
              error::kNonEmptyGroup)
        << "DeleteGroups v" << v;
  }
  OffsetDeleteResponse od;
  od.topics.push_back({"t", {{0, 0}, {1, error::kGroupSubscribedToTopic}}});
  const RequestHeader oh = Header(kOffsetDelete, 0);
  EXPECT_EQ(ResponseErrorCode(kOffsetDelete, 0, false, EncodeResponse(oh, od)),
            error::kGroupSubscribedToTopic);
}

TEST(ResponseErrorCodeTest, UnknownLayoutsAndTruncatedFrames) {
  EXPECT_FALSE(ResponseErrorCode(999, 0, false, std::string(12, '\0')).has_value());
  EXPECT_FALSE(ResponseErrorCode(kFetch, 13, true, std::string(12, '\0')).has_value());
  EXPECT_FALSE(ResponseErrorCode(kHeartbeat, 1, false, std::string(9, '\0')).has_value());
}

}  // namespace
}  // namespace ferry::kafka
