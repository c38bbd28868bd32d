// CreateTopics and DeleteTopics over the broker's topics: Kafka's topic configs mapped to
// Ferry's, replication factor 1 only, validate_only honoured. Thread-safe.
#include "server/kafka/topics.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/broker/broker.h"
#include "server/broker/validation.h"

namespace ferry::kafka {

Result HandleCreateTopics(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const CreateTopicsRequest r = DecodeCreateTopicsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  CreateTopicsResponse resp;
  for (const auto& t : r.topics) {
    CreateTopicsResponse::Topic out;
    out.name = t.name;
    const auto fail = [&](int16_t code, std::string message) {
      out.error_code = code;
      out.error_message = std::move(message);
    };
    int32_t partitions = t.num_partitions;
    if (!t.assignments.empty()) partitions = static_cast<int32_t>(t.assignments.size());
    broker::TopicConfig config;
    std::string bad_config;
    for (const auto& c : t.configs) {
      int64_t value = 0;
      const bool numeric = c.value.has_value() && absl::SimpleAtoi(*c.value, &value);
      if (c.name == "retention.ms" && numeric) {
        config.retention_ms = value < 0 ? 0 : value;
      } else if (c.name == "retention.bytes" && numeric) {
        config.retention_bytes = value < 0 ? 0 : value;
      } else if (c.name == "max.message.bytes" && numeric) {
        config.max_record_bytes = static_cast<int32_t>(value);
      } else if (!(c.name == "cleanup.policy" && c.value == "delete")) {
        bad_config = c.name;
      }
    }
    absl::Status valid = broker::ValidateTopicName(t.name);
    if (!valid.ok()) {
      fail(error::kInvalidTopic, std::string(valid.message()));
    } else if (t.replication_factor != 1 && t.replication_factor != -1) {
      fail(error::kInvalidReplicationFactor,
           absl::StrCat("Ferry keeps one copy of each partition: replication factor must be 1 "
                        "or -1, got ",
                        t.replication_factor));
    } else if (partitions == 0 || partitions < -1 ||
               partitions > ctx.broker->options().max_partitions) {
      fail(error::kInvalidPartitions,
           absl::StrCat("partitions must be between 1 and ", ctx.broker->options().max_partitions,
                        " (or -1 for the default), got ", partitions));
    } else if (!bad_config.empty()) {
      fail(error::kInvalidConfig,
           absl::StrCat("config '", bad_config,
                        "' is not supported (retention.ms, retention.bytes, max.message.bytes)"));
    } else if (r.validate_only) {
      if (ctx.broker->GetTopic(t.name).ok()) {
        fail(error::kTopicAlreadyExists, absl::StrCat("topic '", t.name, "' already exists"));
      }
    } else {
      auto created = ctx.broker->CreateTopic(t.name, partitions < 0 ? 0 : partitions, config);
      if (absl::IsAlreadyExists(created.status())) {
        fail(error::kTopicAlreadyExists, absl::StrCat("topic '", t.name, "' already exists"));
      } else if (absl::IsInvalidArgument(created.status())) {
        fail(error::kInvalidConfig, std::string(created.status().message()));
      } else if (!created.ok()) {
        fail(error::kUnknownServerError, std::string(created.status().message()));
      }
    }
    resp.topics.push_back(std::move(out));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleDeleteTopics(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const DeleteTopicsRequest r = DecodeDeleteTopicsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  DeleteTopicsResponse resp;
  for (const auto& name : r.names) {
    absl::Status s = ctx.broker->DeleteTopic(name);
    int16_t code = error::kNone;
    if (absl::IsNotFound(s)) {
      code = error::kUnknownTopicOrPartition;
    } else if (absl::IsInvalidArgument(s)) {
      code = error::kInvalidTopic;
    } else if (!s.ok()) {
      code = error::kUnknownServerError;
    }
    resp.topics.push_back({name, code});
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
