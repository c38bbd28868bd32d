// DeleteGroups and OffsetDelete over the engine's ConsumerGroups (the same calls the gRPC
// Admin service makes). Thread-safe: each blocks only its own connection's thread.
#include "server/kafka/group_admin.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "server/group/consumer_groups.h"

namespace ferry::kafka {

Result HandleDeleteGroups(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const DeleteGroupsRequest r = DecodeDeleteGroupsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  DeleteGroupsResponse resp;
  for (const auto& group : r.groups) {
    if (!Authorized(ctx, kDeleteGroups, security::Operation::kDelete,
                    security::ResourceType::kGroup, group)) {
      resp.results.emplace_back(group, error::kGroupAuthorizationFailed);
      continue;
    }
    const absl::Status s = ctx.groups->Delete(group);
    int16_t code = error::kNone;
    if (absl::IsInvalidArgument(s)) {
      code = error::kInvalidGroupId;
    } else if (absl::IsFailedPrecondition(s)) {
      code = error::kNonEmptyGroup;
    } else if (absl::IsNotFound(s)) {
      code = error::kGroupIdNotFound;
    } else if (!s.ok()) {
      code = error::kUnknownServerError;
    }
    resp.results.emplace_back(group, code);
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleOffsetDelete(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const OffsetDeleteRequest r = DecodeOffsetDeleteRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  OffsetDeleteResponse resp;
  if (!Authorized(ctx, kOffsetDelete, security::Operation::kDelete, security::ResourceType::kGroup,
                  r.group_id)) {
    resp.error_code = error::kGroupAuthorizationFailed;
    return Result::Reply(EncodeResponse(h, resp));
  }
  // A topic the principal may not read is refused, and its offsets kept (Kafka's rule).
  std::vector<bool> allowed;
  std::vector<group::TopicPartition> tps;
  for (const auto& t : r.topics) {
    allowed.push_back(Authorized(ctx, kOffsetDelete, security::Operation::kRead,
                                 security::ResourceType::kTopic, t.name));
    if (!allowed.back()) continue;
    for (int32_t p : t.partitions) tps.emplace_back(t.name, p);
  }
  auto results = ctx.groups->DeleteOffsets(r.group_id, tps);
  if (!results.ok()) {
    resp.error_code = absl::IsInvalidArgument(results.status()) ? error::kInvalidGroupId
                      : absl::IsNotFound(results.status())      ? error::kGroupIdNotFound
                                                                : error::kUnknownServerError;
    return Result::Reply(EncodeResponse(h, resp));
  }
  size_t i = 0;
  size_t ti = 0;
  for (const auto& t : r.topics) {
    OffsetDeleteResponse::Topic& out = resp.topics.emplace_back();
    out.name = t.name;
    const bool may = allowed[ti++];
    for (int32_t p : t.partitions) {
      if (!may) {
        out.partitions.emplace_back(p, error::kTopicAuthorizationFailed);
        continue;
      }
      const absl::Status& s = (*results)[i++];
      const int16_t code = s.ok()                          ? error::kNone
                           : absl::IsNotFound(s)           ? error::kUnknownTopicOrPartition
                           : absl::IsFailedPrecondition(s) ? error::kGroupSubscribedToTopic
                                                           : error::kUnknownServerError;
      out.partitions.emplace_back(p, code);
    }
  }
  return Result::Reply(EncodeResponse(h, resp));
}

std::string DeleteGroupsErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, DeleteGroupsResponse{});  // no groups, so nowhere for the error
}

std::string OffsetDeleteErrorResponse(const RequestHeader& h, int16_t error_code) {
  OffsetDeleteResponse r;
  r.error_code = error_code;
  return EncodeResponse(h, r);
}

}  // namespace ferry::kafka
