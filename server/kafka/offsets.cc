// OffsetCommit and OffsetFetch over the consumer groups' committed offsets, which Kafka and
// gRPC members share. Thread-safe: a commit blocks only its own connection's thread.
#include "server/kafka/offsets.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/broker.h"
#include "server/broker/validation.h"
#include "server/group/consumer_groups.h"
#include "server/kafka/groups.h"

namespace ferry::kafka {

Result HandleOffsetCommit(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const OffsetCommitRequest r = DecodeOffsetCommitRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  OffsetCommitResponse resp;
  using security::Operation;
  using security::ResourceType;
  const bool group_ok =
      Authorized(ctx, kOffsetCommit, Operation::kRead, ResourceType::kGroup, r.group_id);
  // Per request partition: its refusal, or kNone when it is committed.
  std::vector<int16_t> refused;
  std::vector<group::OffsetToCommit> offsets;
  for (const auto& t : r.topics) {
    const bool topic_ok =
        group_ok && Authorized(ctx, kOffsetCommit, Operation::kRead, ResourceType::kTopic, t.name);
    for (const auto& p : t.partitions) {
      if (!group_ok || !topic_ok) {
        refused.push_back(!group_ok ? error::kGroupAuthorizationFailed
                                    : error::kTopicAuthorizationFailed);
        continue;
      }
      refused.push_back(error::kNone);
      // Kafka stores any offset; clients rely on that: kafkajs resets a group by committing -2
      // (earliest) or -1 (latest), and a consumer given an offset past the end resets itself.
      // The engine keeps committed offsets inside the log and resolves those.
      offsets.push_back({{t.name, p.index},
                         p.offset,
                         p.metadata.value_or(""),
                         /*clamp_to_log=*/true});
    }
  }
  std::vector<int16_t> codes(offsets.size(), error::kNone);
  if (!offsets.empty()) {
    struct Wait {
      absl::Mutex mu;
      bool done ABSL_GUARDED_BY(mu) = false;
      absl::StatusOr<std::vector<absl::Status>> results;
    };
    auto wait = std::make_shared<Wait>();
    ctx.groups->Commit(r.group_id, r.member_id, r.generation_id, offsets,
                       [wait](absl::StatusOr<std::vector<absl::Status>> results) {
                         absl::MutexLock lock(&wait->mu);
                         wait->results = std::move(results);
                         wait->done = true;
                       });
    absl::MutexLock lock(&wait->mu);
    wait->mu.Await(absl::Condition(&wait->done));
    if (!wait->results.ok()) {
      // The request's own error: an invalid group name is the only one a Kafka commit can have.
      std::fill(codes.begin(), codes.end(), error::kInvalidGroupId);
    } else {
      for (size_t i = 0; i < codes.size() && i < wait->results->size(); ++i) {
        codes[i] = GroupErrorCode((*wait->results)[i]);
      }
    }
  }
  size_t i = 0;
  size_t k = 0;
  for (const auto& t : r.topics) {
    OffsetCommitResponse::Topic ot;
    ot.name = t.name;
    for (const auto& p : t.partitions) {
      const int16_t code = refused[k++];
      ot.partitions.push_back({p.index, code != error::kNone ? code : codes[i++]});
    }
    resp.topics.push_back(std::move(ot));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

namespace {

int16_t FetchErrorCode(const absl::Status& s) {
  if (s.ok()) return error::kNone;
  return absl::IsInvalidArgument(s) ? error::kInvalidGroupId : error::kUnknownServerError;
}

// One group's part of an OffsetFetch answer.
OffsetFetchResponse::Group FetchGroupOffsets(ApiContext& ctx, const OffsetFetchRequest::Group& r) {
  OffsetFetchResponse::Group resp;
  resp.group_id = r.group_id;
  using security::Operation;
  using security::ResourceType;
  if (!Authorized(ctx, kOffsetFetch, Operation::kDescribe, ResourceType::kGroup, r.group_id)) {
    resp.error_code = error::kGroupAuthorizationFailed;
    for (const auto& t : r.topics) {
      OffsetFetchResponse::Topic ot;
      ot.name = t.name;
      for (int32_t p : t.partitions) {
        OffsetFetchResponse::Partition op;
        op.index = p;
        op.error_code = error::kGroupAuthorizationFailed;
        ot.partitions.push_back(std::move(op));
      }
      resp.topics.push_back(std::move(ot));
    }
    return resp;
  }
  const auto topic_ok = [&](std::string_view topic) {
    return Authorized(ctx, kOffsetFetch, Operation::kDescribe, ResourceType::kTopic, topic);
  };
  if (r.all_topics) {
    // Null topics: every partition the group has committed.
    auto fetched = ctx.groups->FetchOffsets(r.group_id, {});
    resp.error_code = FetchErrorCode(fetched.status());
    if (fetched.ok()) {
      for (const auto& c : *fetched) {
        if (!topic_ok(c.topic)) continue;  // a topic it may not describe is left out
        if (resp.topics.empty() || resp.topics.back().name != c.topic) {
          resp.topics.push_back({c.topic, {}});
        }
        resp.topics.back().partitions.push_back({c.partition, c.offset, -1, c.metadata, 0});
      }
    }
    return resp;
  }
  std::vector<group::TopicPartition> tps;
  std::vector<bool> allowed;
  for (const auto& t : r.topics) {
    allowed.push_back(topic_ok(t.name));
    for (int32_t p : t.partitions) tps.emplace_back(t.name, p);
  }
  std::vector<storage::CommittedOffset> committed;
  int16_t code = error::kNone;
  if (!tps.empty()) {
    auto fetched = ctx.groups->FetchOffsets(r.group_id, tps);
    if (fetched.ok()) {
      committed = *std::move(fetched);
    } else {
      code = FetchErrorCode(fetched.status());
    }
  }
  size_t i = 0;
  size_t ti = 0;
  for (const auto& t : r.topics) {
    OffsetFetchResponse::Topic ot;
    ot.name = t.name;
    const bool may = allowed[ti++];
    for (int32_t p : t.partitions) {
      OffsetFetchResponse::Partition op;
      op.index = p;
      op.error_code = may ? code : error::kTopicAuthorizationFailed;
      if (may && code == error::kNone && i < committed.size()) {
        op.offset = committed[i].offset;
        op.metadata = committed[i].metadata;
      }
      ++i;
      ot.partitions.push_back(std::move(op));
    }
    resp.topics.push_back(std::move(ot));
  }
  resp.error_code = code;
  return resp;
}

}  // namespace

Result HandleOffsetFetch(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const OffsetFetchRequest r = DecodeOffsetFetchRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  // require_stable (v7+) asks to hold back offsets a transaction has yet to commit; Ferry
  // has no transactions, so every committed offset is stable.
  OffsetFetchResponse resp;
  for (const auto& g : r.groups) resp.groups.push_back(FetchGroupOffsets(ctx, g));
  return Result::Reply(EncodeResponse(h, resp));
}

std::string OffsetCommitErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, OffsetCommitResponse{});  // no topics, so nowhere for the error
}

std::string OffsetFetchErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, OffsetFetchResponse{});  // no topics or groups; the v2 error stays 0
}

}  // namespace ferry::kafka
