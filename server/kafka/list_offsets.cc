// ListOffsets: a partition's end, its log start, the first offset at or after a timestamp,
// or the record with the largest timestamp, from the broker's logs. Thread-safe.
#include "server/kafka/list_offsets.h"

#include <utility>

#include "absl/status/status.h"
#include "server/broker/broker.h"
#include "server/kafka/consumer_offsets.h"

namespace ferry::kafka {

Result HandleListOffsets(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const ListOffsetsRequest r = DecodeListOffsetsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  ListOffsetsResponse resp;
  for (const auto& topic : r.topics) {
    ListOffsetsResponse::Topic lt;
    lt.name = topic.name;
    const bool may_describe = Authorized(ctx, kListOffsets, security::Operation::kDescribe,
                                         security::ResourceType::kTopic, topic.name);
    for (const auto& p : topic.partitions) {
      ListOffsetsResponse::Partition lp;
      lp.index = p.index;
      if (!may_describe) {
        lp.error_code = error::kTopicAuthorizationFailed;
        lt.partitions.push_back(lp);
        continue;
      }
      if (IsConsumerOffsetsTopic(topic.name)) {
        if (p.timestamp < -3 || (p.timestamp == -3 && h.api_version < 7)) {
          lp.error_code = error::kInvalidRequest;
        } else {
          const ConsumerOffsetsListed listed =
              ListConsumerOffsets(*ctx.broker, p.index, p.timestamp);
          lp.error_code = listed.error_code;
          lp.offset = listed.offset;
          if (p.timestamp >= 0 || p.timestamp == -3) lp.timestamp = listed.timestamp;
          // No entry at or after the timestamp: v0 gives the end, v1+ gives none.
          if (h.api_version == 0 && p.timestamp >= 0 && lp.offset < 0) {
            lp.offset = ListConsumerOffsets(*ctx.broker, p.index, -1).offset;
          }
        }
        if (h.api_version == 0 && p.max_num_offsets <= 0) lp.offset = -1;
        if (lp.error_code == error::kNone && lp.offset >= 0) lp.leader_epoch = 0;
        lt.partitions.push_back(lp);
        continue;
      }
      auto log = ctx.broker->GetPartition(topic.name, p.index);
      if (!log.ok()) {
        lp.error_code = error::kUnknownTopicOrPartition;
      } else if (const int16_t fenced = LeaderEpochError(p.current_leader_epoch);
                 fenced != error::kNone) {
        lp.error_code = fenced;
      } else if (p.timestamp == -3 && h.api_version >= 7) {
        // Kafka's MAX_TIMESTAMP (KIP-734): none (-1, -1) when the log is empty.
        auto match = ctx.broker->FindMaxTimestamp(**log);
        if (match.ok()) {
          lp.offset = match->offset;
          lp.timestamp = match->timestamp_ms;
        } else {
          lp.error_code = error::kUnknownServerError;
        }
      } else if (p.timestamp == -1 || p.timestamp == -2) {
        // Kafka's LATEST and EARLIEST timestamps.
        auto offset = ctx.broker->ResolveStart(
            **log,
            p.timestamp == -1 ? broker::StartPosition::Latest() : broker::StartPosition::Earliest(),
            broker::OffsetReset::kNone);
        if (offset.ok()) {
          lp.offset = *offset;
        } else {
          lp.error_code = error::kUnknownServerError;
        }
      } else if (p.timestamp < 0) {
        lp.error_code = error::kInvalidRequest;
      } else {
        auto match = ctx.broker->FindOffsetForTimestamp(**log, p.timestamp);
        if (!match.ok()) {
          lp.error_code = error::kUnknownServerError;
        } else if (match->timestamp_ms < 0) {
          // No record at or after the timestamp: v0 gives the end, v1+ gives none.
          if (h.api_version == 0) lp.offset = match->offset;
        } else {
          lp.offset = match->offset;
          lp.timestamp = match->timestamp_ms;
        }
      }
      if (h.api_version == 0 && p.max_num_offsets <= 0) lp.offset = -1;
      if (lp.error_code == error::kNone && lp.offset >= 0) lp.leader_epoch = 0;
      lt.partitions.push_back(lp);
    }
    resp.topics.push_back(std::move(lt));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

std::string ListOffsetsErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, ListOffsetsResponse{});  // no topics, so nowhere for the error
}

}  // namespace ferry::kafka
