// Metadata: this node as the only broker, and each topic asked for (or every topic) with
// its partitions, creating named unknown topics when auto-creation is on.
// Thread-safe.
#include "server/kafka/metadata.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "server/broker/broker.h"

namespace ferry::kafka {

Result HandleMetadata(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const MetadataRequest r = DecodeMetadataRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  MetadataResponse resp;
  {
    ServingState::Address advertised = ctx.serving->advertised();
    resp.brokers.push_back({kNodeId, std::move(advertised.host), advertised.port});
  }
  resp.cluster_id = "ferry";
  resp.controller_id = kNodeId;
  std::vector<std::shared_ptr<const storage::Topic>> topics;
  if (!r.topics.has_value()) {
    topics = ctx.broker->ListTopics();
    std::sort(topics.begin(), topics.end(),
              [](const auto& a, const auto& b) { return a->meta.name < b->meta.name; });
  }
  const auto add_topic = [&](const storage::Topic& t) {
    MetadataResponse::Topic mt;
    mt.name = t.meta.name;
    for (int32_t p = 0; p < t.meta.partitions; ++p) {
      mt.partitions.push_back({error::kNone, p, kNodeId, {kNodeId}, {kNodeId}});
    }
    resp.topics.push_back(std::move(mt));
  };
  for (const auto& t : topics) add_topic(*t);
  if (r.topics.has_value()) {
    for (const auto& name : *r.topics) {
      // Kafka creates a topic a client asks metadata for, when auto-creation is on, but never
      // its internal topics (__consumer_offsets, ...).
      auto topic = r.allow_auto_topic_creation && !name.starts_with("__")
                       ? ctx.broker->FindOrCreateTopic(name)
                       : ctx.broker->GetTopic(name);
      if (topic.ok()) {
        add_topic(**topic);
        continue;
      }
      MetadataResponse::Topic mt;
      mt.name = name;
      mt.error_code = absl::IsInvalidArgument(topic.status()) ? error::kInvalidTopic
                                                              : error::kUnknownTopicOrPartition;
      resp.topics.push_back(std::move(mt));
    }
  }
  return Result::Reply(EncodeResponse(h, resp));
}

std::string MetadataErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, MetadataResponse{});  // no topics, so nowhere for the error
}

}  // namespace ferry::kafka
