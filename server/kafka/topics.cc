// CreateTopics and DeleteTopics over the broker's topics: Kafka's topic configs checked and
// mapped to Ferry's by configs.cc's one check (ApplyTopicConfig), replication factor 1 only,
// validate_only honoured (everything checked, nothing created). DeleteTopics v6 names topics
// by name or by id. Thread-safe.
#include "server/kafka/topics.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/broker/broker.h"
#include "server/broker/validation.h"
#include "server/kafka/configs.h"
#include "server/kafka/consumer_offsets.h"

namespace ferry::kafka {
namespace {

bool IsZero(const Uuid& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

// The created (or, validating only, the would-be) topic's partitions and configs, as the
// response (v5+) reports them.
void Describe(const broker::BrokerOptions& options, const storage::TopicMeta& meta,
              CreateTopicsResponse::Topic* out) {
  out->topic_id = meta.uuid;
  out->num_partitions = meta.partitions;
  out->replication_factor = 1;
  for (auto& c : TopicConfigs(options, meta)) {
    out->configs.push_back({c.name, c.value, c.read_only, c.source, c.is_sensitive});
  }
}

CreateTopicsResponse::Topic CreateOne(ApiContext& ctx, const CreateTopicsRequest::Topic& t,
                                      bool validate_only) {
  const broker::BrokerOptions& options = ctx.broker->options();
  CreateTopicsResponse::Topic out;
  out.name = t.name;
  const auto fail = [&](int16_t code, std::string message) {
    out.error_code = code;
    out.error_message = std::move(message);
    return out;
  };
  if (!Authorized(ctx, kCreateTopics, security::Operation::kCreate,
                  security::ResourceType::kCluster, security::kClusterName) &&
      !Authorized(ctx, kCreateTopics, security::Operation::kCreate, security::ResourceType::kTopic,
                  t.name)) {
    return fail(
        error::kTopicAuthorizationFailed,
        DeniedMessage(ctx, security::Operation::kCreate, security::ResourceType::kTopic, t.name));
  }
  if (absl::Status valid = broker::ValidateTopicName(t.name); !valid.ok()) {
    return fail(error::kInvalidTopic, std::string(valid.message()));
  }
  if (IsConsumerOffsetsTopic(t.name)) {
    // It exists (Metadata lists it), as on a Kafka broker.
    return fail(error::kTopicAlreadyExists,
                "topic '__consumer_offsets' already exists: it is derived from the groups' "
                "committed offsets");
  }
  if (t.replication_factor != 1 && t.replication_factor != -1) {
    return fail(error::kInvalidReplicationFactor,
                absl::StrCat("Ferry keeps one copy of each partition: replication factor must "
                             "be 1 or -1 (the broker's default), got ",
                             t.replication_factor));
  }
  int32_t partitions = t.num_partitions;
  if (!t.assignments.empty()) partitions = static_cast<int32_t>(t.assignments.size());
  if (partitions == 0 || partitions < -1 || partitions > options.max_partitions) {
    return fail(error::kInvalidPartitions,
                absl::StrCat("partitions must be between 1 and ", options.max_partitions,
                             " (or -1 for the broker's default, ", options.default_partitions,
                             "), got ", partitions));
  }
  if (partitions == -1) partitions = options.default_partitions;
  broker::TopicConfigChange change;
  for (const auto& c : t.configs) {
    AlterConfigsRequest::Config config{c.name, AlterConfigsRequest::kSet, c.value};
    if (auto e =
            ApplyTopicConfig(config, /*incremental=*/false, options.max_record_bytes, &change)) {
      return fail(e->code, absl::StrCat("topic '", t.name, "': ", e->message));
    }
  }
  const broker::TopicConfig config{change.retention_ms.value_or(0),
                                   change.retention_bytes.value_or(0),
                                   change.max_record_bytes.value_or(0)};
  if (absl::Status valid = ctx.broker->ValidateTopicConfig(config); !valid.ok()) {
    return fail(error::kInvalidConfig, std::string(valid.message()));
  }
  const auto exists = [&] {
    return fail(error::kTopicAlreadyExists, absl::StrCat("topic '", t.name, "' already exists"));
  };
  if (validate_only) {
    if (ctx.broker->FindTopic(t.name) != nullptr) return exists();
    storage::TopicMeta meta;
    meta.name = t.name;
    meta.partitions = partitions;
    meta.retention_ms = config.retention_ms;
    meta.retention_bytes = config.retention_bytes;
    meta.max_record_bytes = config.max_record_bytes;
    Describe(options, meta, &out);
    out.topic_id = {};  // not created: no id yet
    return out;
  }
  auto created = ctx.broker->CreateTopic(t.name, partitions, config);
  if (absl::IsAlreadyExists(created.status())) return exists();
  if (absl::IsInvalidArgument(created.status())) {
    return fail(error::kInvalidConfig, std::string(created.status().message()));
  }
  if (!created.ok())
    return fail(error::kUnknownServerError, std::string(created.status().message()));
  Describe(options, (*created)->meta, &out);
  return out;
}

}  // namespace

Result HandleCreateTopics(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const CreateTopicsRequest r = DecodeCreateTopicsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  // A name given twice is refused in each of its entries and created by none, as Kafka does:
  // which entry's settings would win is not the client's to guess.
  absl::flat_hash_map<std::string, int> seen;
  for (const auto& t : r.topics) ++seen[t.name];
  CreateTopicsResponse resp;
  for (const auto& t : r.topics) {
    if (seen[t.name] > 1) {
      CreateTopicsResponse::Topic out;
      out.name = t.name;
      out.error_code = error::kInvalidRequest;
      out.error_message = absl::StrCat("topic '", t.name, "' appears ", seen[t.name],
                                       " times in this request; name each topic once");
      resp.topics.push_back(std::move(out));
      continue;
    }
    resp.topics.push_back(CreateOne(ctx, t, r.validate_only));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleDeleteTopics(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const DeleteTopicsRequest r = DecodeDeleteTopicsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  // A topic named (or identified) twice is refused in each entry and deleted by none, as
  // Kafka does.
  const auto key_of = [](const DeleteTopicsRequest::Topic& t) {
    return t.name.has_value() ? "n" + *t.name
                              : "i" + std::string(t.topic_id.begin(), t.topic_id.end());
  };
  absl::flat_hash_map<std::string, int> seen;
  for (const auto& t : r.topics) ++seen[key_of(t)];
  DeleteTopicsResponse resp;
  for (const auto& t : r.topics) {
    DeleteTopicsResponse::Topic out;
    out.name = t.name;
    out.topic_id = t.topic_id;
    if (seen[key_of(t)] > 1) {
      out.error_code = error::kInvalidRequest;
      out.error_message = "this topic appears more than once in the request; name each once";
      resp.topics.push_back(std::move(out));
      continue;
    }
    std::string name;
    if (t.name.has_value()) {
      name = *t.name;
      if (auto topic = ctx.broker->FindTopic(name)) out.topic_id = topic->meta.uuid;
    } else {
      auto topic = IsZero(t.topic_id) ? nullptr : ctx.broker->FindTopicByUuid(t.topic_id);
      if (topic == nullptr) {
        out.error_code = error::kUnknownTopicId;
        out.error_message = "no topic has this topic id";
        resp.topics.push_back(std::move(out));
        continue;
      }
      name = topic->meta.name;
      out.name = name;
    }
    if (!Authorized(ctx, kDeleteTopics, security::Operation::kDelete,
                    security::ResourceType::kTopic, name)) {
      out.error_code = error::kTopicAuthorizationFailed;
      out.error_message =
          DeniedMessage(ctx, security::Operation::kDelete, security::ResourceType::kTopic, name);
      resp.topics.push_back(std::move(out));
      continue;
    }
    if (IsConsumerOffsetsTopic(name)) {
      out.topic_id = ConsumerOffsetsTopicId();
      out.error_code = error::kInvalidTopic;
      out.error_message =
          "__consumer_offsets cannot be deleted: it is derived from the groups' committed "
          "offsets (delete a group's offsets with DeleteGroups or OffsetDelete)";
      resp.topics.push_back(std::move(out));
      continue;
    }
    absl::Status s = ctx.broker->DeleteTopic(name);
    if (absl::IsNotFound(s)) {
      out.error_code =
          t.name.has_value() ? error::kUnknownTopicOrPartition : error::kUnknownTopicId;
    } else if (absl::IsInvalidArgument(s)) {
      out.error_code = error::kInvalidTopic;
    } else if (!s.ok()) {
      out.error_code = error::kUnknownServerError;
    }
    if (!s.ok()) out.error_message = std::string(s.message());
    resp.topics.push_back(std::move(out));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

std::string CreateTopicsErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, CreateTopicsResponse{});  // no topics, so nowhere for the error
}

std::string DeleteTopicsErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, DeleteTopicsResponse{});  // no topics, so nowhere for the error
}

}  // namespace ferry::kafka
