// Metadata: this node as the only broker, and each topic asked for (or every topic) with
// its partitions, creating named unknown topics when auto-creation is on; topics asked for by
// id (v10+) are looked up by their UUID. Ferry has no ACLs: asked for authorized operations
// (v8+), it answers every operation allowed.
// Thread-safe.
#include "server/kafka/metadata.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "server/broker/broker.h"
#include "server/kafka/consumer_offsets.h"
#include "storage/offset_store.h"

namespace ferry::kafka {
namespace {

// Kafka's AclOperation codes, as bits of an authorized-operations field.
constexpr int32_t Op(int bit) { return int32_t{1} << bit; }
// READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
constexpr int32_t kTopicOperations =
    Op(3) | Op(4) | Op(5) | Op(6) | Op(7) | Op(8) | Op(10) | Op(11);
// CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
constexpr int32_t kClusterOperations = Op(5) | Op(7) | Op(8) | Op(9) | Op(10) | Op(11) | Op(12);

bool IsZero(const Uuid& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

Result HandleMetadata(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const MetadataRequest r = DecodeMetadataRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  MetadataResponse resp;
  {
    ServingState::Address advertised = ctx.serving->advertised(ctx.listener);
    resp.brokers.push_back({kNodeId, std::move(advertised.host), advertised.port});
  }
  resp.cluster_id = "ferry";
  resp.controller_id = kNodeId;
  if (r.include_cluster_authorized_operations) {
    resp.cluster_authorized_operations = kClusterOperations;
  }
  const int32_t topic_operations =
      r.include_topic_authorized_operations ? kTopicOperations : kAuthorizedOperationsOmitted;
  std::vector<std::shared_ptr<const storage::Topic>> topics;
  if (!r.topics.has_value()) {
    topics = ctx.broker->ListTopics();
    std::sort(topics.begin(), topics.end(),
              [](const auto& a, const auto& b) { return a->meta.name < b->meta.name; });
  }
  using security::Operation;
  using security::ResourceType;
  const auto may_describe = [&](std::string_view name) {
    return Authorized(ctx, kMetadata, Operation::kDescribe, ResourceType::kTopic, name);
  };
  const auto denied = [&](std::string name) {
    MetadataResponse::Topic mt;
    mt.name = std::move(name);
    mt.error_code = error::kTopicAuthorizationFailed;
    resp.topics.push_back(std::move(mt));
  };
  const auto add_topic = [&](const storage::Topic& t) {
    MetadataResponse::Topic mt;
    mt.name = t.meta.name;
    mt.topic_id = t.meta.uuid;
    mt.authorized_operations = topic_operations;
    for (int32_t p = 0; p < t.meta.partitions; ++p) {
      mt.partitions.push_back({error::kNone, p, kNodeId, {kNodeId}, {kNodeId}, 0});
    }
    resp.topics.push_back(std::move(mt));
  };
  // Kafka's internal topic, derived from the committed offsets (consumer_offsets.h).
  const auto add_offsets_topic = [&] {
    MetadataResponse::Topic mt;
    mt.name = std::string(kConsumerOffsetsTopic);
    mt.topic_id = ConsumerOffsetsTopicId();
    mt.is_internal = true;
    mt.authorized_operations = topic_operations;
    const int32_t n = ctx.broker->offsets().log_partitions();
    for (int32_t p = 0; p < n; ++p) {
      mt.partitions.push_back({error::kNone, p, kNodeId, {kNodeId}, {kNodeId}, 0});
    }
    resp.topics.push_back(std::move(mt));
  };
  if (!r.topics.has_value()) {
    bool listed = false;
    // Only what the principal may describe (a client listing topics is not told of others).
    const bool offsets_visible = may_describe(kConsumerOffsetsTopic);
    for (const auto& t : topics) {
      if (!listed && t->meta.name >= kConsumerOffsetsTopic) {
        if (offsets_visible) add_offsets_topic();
        listed = true;
      }
      // A stored topic of that name (made before the name was reserved) is hidden here.
      if (!IsConsumerOffsetsTopic(t->meta.name) && may_describe(t->meta.name)) add_topic(*t);
    }
    if (!listed && offsets_visible) add_offsets_topic();
  }
  if (r.topics.has_value()) {
    for (const auto& wanted : *r.topics) {
      if ((wanted.name.has_value() && IsConsumerOffsetsTopic(*wanted.name)) ||
          (!wanted.name.has_value() && wanted.topic_id == ConsumerOffsetsTopicId())) {
        if (may_describe(kConsumerOffsetsTopic)) {
          add_offsets_topic();
        } else {
          denied(std::string(kConsumerOffsetsTopic));
        }
        continue;
      }
      if (!wanted.name.has_value()) {
        auto topic =
            IsZero(wanted.topic_id) ? nullptr : ctx.broker->FindTopicByUuid(wanted.topic_id);
        if (topic != nullptr && !may_describe(topic->meta.name)) {
          MetadataResponse::Topic mt;
          mt.error_code = error::kTopicAuthorizationFailed;
          mt.topic_id = wanted.topic_id;
          resp.topics.push_back(std::move(mt));
          continue;
        }
        if (topic != nullptr) {
          add_topic(*topic);
          continue;
        }
        MetadataResponse::Topic mt;
        mt.error_code = error::kUnknownTopicId;
        mt.topic_id = wanted.topic_id;
        resp.topics.push_back(std::move(mt));
        continue;
      }
      const std::string& name = *wanted.name;
      if (!may_describe(name)) {
        denied(name);
        continue;
      }
      // Kafka creates a topic a client asks metadata for, when auto-creation is on and the
      // principal may create it, but never its internal topics (__consumer_offsets, ...).
      const bool may_create =
          Authorized(ctx, kMetadata, Operation::kCreate, ResourceType::kCluster,
                     security::kClusterName) ||
          Authorized(ctx, kMetadata, Operation::kCreate, ResourceType::kTopic, name);
      auto topic = r.allow_auto_topic_creation && !name.starts_with("__") && may_create
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
