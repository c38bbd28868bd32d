// ResponseErrorCode against the responses Ferry's own encoders write: every served API and
// version parses, top-level codes and the first non-zero per-partition code are found.
#include "server/kafka/response_codes.h"

#include "gtest/gtest.h"
#include "server/kafka/api.h"
#include "server/kafka/fetch.h"
#include "server/kafka/metadata.h"
#include "server/kafka/produce.h"
#include "server/kafka/protocol.h"

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
  fetch.topics.push_back({"a", {{0, 0, 5, "records"}, {1, error::kOffsetOutOfRange, 5, ""}}});
  fetch.topics.push_back({"b", {{0, error::kUnknownTopicOrPartition, -1, ""}}});
  for (int16_t v = 0; v <= 4; ++v) {
    const RequestHeader h = Header(kFetch, v);
    EXPECT_EQ(ResponseErrorCode(kFetch, v, h.flexible, EncodeResponse(h, fetch)),
              error::kOffsetOutOfRange)
        << "Fetch v" << v;
  }
  ProduceResponse produce;
  produce.topics.push_back({"a", {{0, 0, 10}, {1, error::kMessageTooLarge, -1}}});
  for (int16_t v = 0; v <= 3; ++v) {
    const RequestHeader h = Header(kProduce, v);
    EXPECT_EQ(ResponseErrorCode(kProduce, v, h.flexible, EncodeResponse(h, produce)),
              error::kMessageTooLarge)
        << "Produce v" << v;
  }
  MetadataResponse metadata;
  metadata.brokers.push_back({0, "127.0.0.1", 9092});
  metadata.topics.push_back({0, "ok", {{0, 0, 0, {0}, {0}}}});
  metadata.topics.push_back({error::kInvalidTopic, "bad name", {}});
  for (int16_t v = 0; v <= 4; ++v) {
    const RequestHeader h = Header(kMetadata, v);
    EXPECT_EQ(ResponseErrorCode(kMetadata, v, h.flexible, EncodeResponse(h, metadata)),
              error::kInvalidTopic)
        << "Metadata v" << v;
  }
  metadata.topics.resize(1);
  const RequestHeader h = Header(kMetadata, 4);
  EXPECT_EQ(ResponseErrorCode(kMetadata, 4, false, EncodeResponse(h, metadata)), 0);
}

TEST(ResponseErrorCodeTest, UnknownLayoutsAndTruncatedFrames) {
  EXPECT_FALSE(ResponseErrorCode(999, 0, false, std::string(12, '\0')).has_value());
  EXPECT_FALSE(ResponseErrorCode(kFetch, 13, true, std::string(12, '\0')).has_value());
  EXPECT_FALSE(ResponseErrorCode(kHeartbeat, 1, false, std::string(9, '\0')).has_value());
}

}  // namespace
}  // namespace ferry::kafka
