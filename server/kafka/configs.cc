// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs over the broker's topic settings.
// Kafka's names map to Ferry's settings: retention.ms and retention.bytes (-1: no limit, which
// Ferry stores as 0), max.message.bytes (Ferry's per-record limit; unset, the broker's
// --max-record-bytes). cleanup.policy is read-only "delete". The broker resource shows
// ferryd's flags and fixed defaults, read-only. Every change goes through
// Broker::AlterTopicConfig, as the gRPC Admin service's does. Thread-safe.
#include "server/kafka/configs.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/broker/broker.h"
#include "server/broker/validation.h"
#include "server/kafka/consumer_offsets.h"

namespace ferry::kafka {
namespace {

using Config = DescribeConfigsResponse::Config;

constexpr char kTopicKeys[] =
    "retention.ms, retention.bytes, max.message.bytes (and cleanup.policy=delete)";

// A config as a topic or the broker shows it, before the request's options trim it.
Config MakeConfig(std::string name, std::string value, bool read_only, int8_t source, int8_t type,
                  std::string documentation) {
  Config c;
  c.name = std::move(name);
  c.value = std::move(value);
  c.read_only = read_only;
  c.source = source;
  c.is_default = source != config_source::kTopic;
  c.type = type;
  c.documentation = std::move(documentation);
  return c;
}

void AddSynonym(Config& c, std::string name, std::string value, int8_t source) {
  c.synonyms.push_back({std::move(name), std::move(value), source});
}

// The broker's configs: ferryd's flags and the defaults every topic starts from.
std::vector<Config> BrokerConfigs(const broker::BrokerOptions& options) {
  std::vector<Config> out;
  const auto add = [&](const char* name, std::string value, int8_t source, int8_t type,
                       const char* doc) {
    Config c = MakeConfig(name, value, true, source, type, doc);
    AddSynonym(c, name, std::move(value), source);
    out.push_back(std::move(c));
  };
  add("broker.id", absl::StrCat(kNodeId), config_source::kDefault, config_type::kInt,
      "Ferry is a single node, broker 0.");
  add("message.max.bytes", absl::StrCat(options.max_record_bytes), config_source::kStaticBroker,
      config_type::kInt, "The largest record accepted (ferryd --max-record-bytes).");
  add("num.partitions", absl::StrCat(options.default_partitions), config_source::kStaticBroker,
      config_type::kInt, "Partitions of a topic created without a count (--default-partitions).");
  add("auto.create.topics.enable", options.auto_create_topics ? "true" : "false",
      config_source::kStaticBroker, config_type::kBoolean,
      "Whether producing to or asking for a missing topic creates it (--auto-create-topics).");
  add("default.replication.factor", "1", config_source::kDefault, config_type::kInt,
      "Ferry keeps one copy of each partition.");
  add("log.retention.ms", "-1", config_source::kDefault, config_type::kLong,
      "Topics keep records however old unless their retention.ms says otherwise.");
  add("log.retention.bytes", "-1", config_source::kDefault, config_type::kLong,
      "Topics keep any number of bytes unless their retention.bytes says otherwise.");
  add("log.cleanup.policy", "delete", config_source::kDefault, config_type::kList,
      "Ferry deletes old records by retention; it does not compact topics.");
  return out;
}

// Checks a broker resource's name: this broker's id, or empty (the cluster default).
std::optional<std::string> BadBrokerName(const std::string& name) {
  if (name.empty() || name == absl::StrCat(kNodeId)) return std::nullopt;
  return absl::StrCat("Ferry is a single node, broker ", kNodeId, "; there is no broker '", name,
                      "'");
}

// Trims `configs` to what the request asked for and the version carries.
std::vector<Config> Select(std::vector<Config> configs,
                           const std::optional<std::vector<std::string>>& keys,
                           const DescribeConfigsRequest& r) {
  std::vector<Config> out;
  for (auto& c : configs) {
    if (keys.has_value()) {
      bool wanted = false;
      for (const auto& k : *keys) wanted = wanted || k == c.name;
      if (!wanted) continue;  // as Kafka does, an unknown key is left out, not an error
    }
    if (!r.include_synonyms) c.synonyms.clear();
    if (!r.include_documentation) c.documentation.reset();
    out.push_back(std::move(c));
  }
  return out;
}

// A topic's status from the broker, as a Kafka error code.
int16_t TopicErrorCode(const absl::Status& s) {
  if (s.ok()) return error::kNone;
  if (absl::IsNotFound(s)) return error::kUnknownTopicOrPartition;
  if (absl::IsInvalidArgument(s)) return error::kInvalidTopic;
  return error::kUnknownServerError;
}

AlterConfigsResponse::Resource AlterResource(ApiContext& ctx,
                                             const AlterConfigsRequest::Resource& res,
                                             bool incremental, bool validate_only) {
  AlterConfigsResponse::Resource out;
  out.type = res.type;
  out.name = res.name;
  const auto fail = [&](int16_t code, std::string message) {
    out.error_code = code;
    out.error_message = std::move(message);
    return out;
  };
  if (res.type == kResourceBroker) {
    if (auto bad = BadBrokerName(res.name)) return fail(error::kInvalidRequest, *bad);
    return fail(error::kInvalidRequest,
                "the broker's configs are read-only: they are ferryd's flags (see "
                "DescribeConfigs); change a topic's configs instead");
  }
  if (res.type != kResourceTopic) {
    return fail(error::kInvalidRequest,
                absl::StrCat("resource type ", res.type,
                             " is not supported; Ferry alters topic (2) configs"));
  }
  if (IsConsumerOffsetsTopic(res.name)) {
    return fail(error::kInvalidTopic,
                "__consumer_offsets is derived from the groups' committed offsets; its configs "
                "cannot be changed");
  }
  broker::TopicConfigChange change;
  if (!incremental) {
    // AlterConfigs replaces the whole set: a key left out goes back to its default.
    change.retention_ms = 0;
    change.retention_bytes = 0;
    change.max_record_bytes = 0;
  }
  for (const auto& c : res.configs) {
    if (auto e =
            ApplyTopicConfig(c, incremental, ctx.broker->options().max_record_bytes, &change)) {
      return fail(e->code, e->message);
    }
  }
  if (absl::Status valid = broker::ValidateTopicName(res.name); !valid.ok()) {
    return fail(error::kInvalidTopic, std::string(valid.message()));
  }
  auto info = ctx.broker->AlterTopicConfig(res.name, change, validate_only);
  if (!info.ok()) {
    const int16_t code = absl::IsNotFound(info.status())          ? error::kUnknownTopicOrPartition
                         : absl::IsInvalidArgument(info.status()) ? error::kInvalidConfig
                                                                  : error::kUnknownServerError;
    return fail(code, std::string(info.status().message()));
  }
  return out;
}

Result HandleAlter(ApiContext& ctx, const RequestHeader& h, Reader& body, bool incremental) {
  const AlterConfigsRequest r = incremental
                                    ? DecodeIncrementalAlterConfigsRequest(h.api_version, body)
                                    : DecodeAlterConfigsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  AlterConfigsResponse resp;
  for (const auto& res : r.resources) {
    const bool topic = res.type == kResourceTopic;
    if (!Authorized(ctx, incremental ? kIncrementalAlterConfigs : kAlterConfigs,
                    security::Operation::kAlterConfigs,
                    topic ? security::ResourceType::kTopic : security::ResourceType::kCluster,
                    topic ? std::string_view(res.name) : security::kClusterName)) {
      AlterConfigsResponse::Resource out;
      out.type = res.type;
      out.name = res.name;
      out.error_code =
          topic ? error::kTopicAuthorizationFailed : error::kClusterAuthorizationFailed;
      out.error_message =
          DeniedMessage(ctx, security::Operation::kAlterConfigs,
                        topic ? security::ResourceType::kTopic : security::ResourceType::kCluster,
                        topic ? std::string_view(res.name) : security::kClusterName);
      resp.resources.push_back(std::move(out));
      continue;
    }
    resp.resources.push_back(AlterResource(ctx, res, incremental, r.validate_only));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

// Parses a retention value: -1 is no limit (Ferry's 0); 0 and below -1 are refused.
std::optional<TopicConfigError> ParseLimit(const std::string& name, const std::string& value,
                                           int64_t* out) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(value, &v) || v < -1 || v == 0) {
    return TopicConfigError{error::kInvalidConfig,
                            absl::StrCat("invalid value '", value, "' for ", name,
                                         ": give a positive number, or -1 for no limit")};
  }
  *out = v == -1 ? 0 : v;
  return std::nullopt;
}

}  // namespace

std::vector<Config> TopicConfigs(const broker::BrokerOptions& options,
                                 const storage::TopicMeta& meta) {
  std::vector<Config> out;
  const auto limit = [&](const char* name, const char* broker_name, int64_t value,
                         const char* doc) {
    Config c = MakeConfig(name, value > 0 ? absl::StrCat(value) : "-1", false,
                          value > 0 ? config_source::kTopic : config_source::kDefault,
                          config_type::kLong, doc);
    if (value > 0) AddSynonym(c, name, absl::StrCat(value), config_source::kTopic);
    AddSynonym(c, broker_name, "-1", config_source::kDefault);
    out.push_back(std::move(c));
  };
  limit("retention.ms", "log.retention.ms", meta.retention_ms,
        "Records older than this many milliseconds (by their batch's largest timestamp) are "
        "deleted, whole batches at a time. -1: kept however old.");
  limit("retention.bytes", "log.retention.bytes", meta.retention_bytes,
        "Each partition keeps at most this many stored bytes, deleting its oldest batches. "
        "-1: no limit.");
  const bool own_limit = meta.max_record_bytes > 0;
  Config max = MakeConfig(
      "max.message.bytes",
      absl::StrCat(own_limit ? meta.max_record_bytes : options.max_record_bytes), false,
      own_limit ? config_source::kTopic : config_source::kStaticBroker, config_type::kInt,
      "The largest record (key + value + headers) the topic accepts, in bytes; at most the "
      "broker's message.max.bytes (ferryd --max-record-bytes).");
  if (own_limit) {
    AddSynonym(max, "max.message.bytes", absl::StrCat(meta.max_record_bytes),
               config_source::kTopic);
  }
  AddSynonym(max, "message.max.bytes", absl::StrCat(options.max_record_bytes),
             config_source::kStaticBroker);
  out.push_back(std::move(max));
  Config cleanup =
      MakeConfig("cleanup.policy", "delete", true, config_source::kDefault, config_type::kList,
                 "Ferry deletes old records by retention; it does not compact topics.");
  AddSynonym(cleanup, "log.cleanup.policy", "delete", config_source::kDefault);
  out.push_back(std::move(cleanup));
  return out;
}

std::optional<TopicConfigError> ApplyTopicConfig(const AlterConfigsRequest::Config& c,
                                                 bool incremental, int32_t broker_max,
                                                 broker::TopicConfigChange* change) {
  using Op = AlterConfigsRequest::Op;
  const bool known = c.name == "retention.ms" || c.name == "retention.bytes" ||
                     c.name == "max.message.bytes" || c.name == "cleanup.policy";
  if (!known) {
    return TopicConfigError{error::kInvalidConfig, absl::StrCat("config '", c.name,
                                                                "' is not supported on a topic; "
                                                                "Ferry's topic configs are ",
                                                                kTopicKeys)};
  }
  if (incremental && c.op != Op::kSet && c.op != Op::kDelete && c.op != Op::kAppend &&
      c.op != Op::kSubtract) {
    return TopicConfigError{error::kInvalidRequest,
                            absl::StrCat("unknown config operation ", c.op, " for '", c.name, "'")};
  }
  if (c.name == "cleanup.policy") {
    const bool keeps_delete = !incremental            ? (!c.value || *c.value == "delete")
                              : c.op == Op::kDelete   ? true
                              : c.op == Op::kSubtract ? false
                                                      : (c.value && *c.value == "delete");
    if (!keeps_delete) {
      return TopicConfigError{error::kInvalidConfig,
                              "cleanup.policy is read-only: Ferry only deletes by retention "
                              "(cleanup.policy=delete) and never compacts"};
    }
    return std::nullopt;
  }
  if (incremental && (c.op == Op::kAppend || c.op == Op::kSubtract)) {
    return TopicConfigError{error::kInvalidRequest,
                            absl::StrCat("'", c.name,
                                         "' is not a list: APPEND and SUBTRACT do not apply; "
                                         "use SET or DELETE")};
  }
  const bool to_default = incremental ? c.op == Op::kDelete : !c.value.has_value();
  if (incremental && !to_default && !c.value.has_value()) {
    return TopicConfigError{error::kInvalidRequest,
                            absl::StrCat("SET of '", c.name, "' needs a value (DELETE resets it)")};
  }
  int64_t value = 0;
  if (!to_default) {
    if (c.name == "max.message.bytes") {
      if (!absl::SimpleAtoi(*c.value, &value) || value < 1 || value > broker_max) {
        return TopicConfigError{error::kInvalidConfig,
                                absl::StrCat("invalid value '", *c.value,
                                             "' for max.message.bytes: give 1 to the broker's "
                                             "message.max.bytes, ",
                                             broker_max, " (ferryd --max-record-bytes)")};
      }
    } else if (auto e = ParseLimit(c.name, *c.value, &value)) {
      return e;
    }
  }
  if (c.name == "retention.ms") {
    change->retention_ms = value;
  } else if (c.name == "retention.bytes") {
    change->retention_bytes = value;
  } else {
    change->max_record_bytes = static_cast<int32_t>(value);
  }
  return std::nullopt;
}

Result HandleDescribeConfigs(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const DescribeConfigsRequest r = DecodeDescribeConfigsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  DescribeConfigsResponse resp;
  for (const auto& res : r.resources) {
    DescribeConfigsResponse::Result out;
    out.type = res.type;
    out.name = res.name;
    const bool topic_type = res.type == kResourceTopic;
    if ((topic_type || res.type == kResourceBroker) &&
        !Authorized(ctx, kDescribeConfigs, security::Operation::kDescribeConfigs,
                    topic_type ? security::ResourceType::kTopic : security::ResourceType::kCluster,
                    topic_type ? std::string_view(res.name) : security::kClusterName)) {
      out.error_code =
          topic_type ? error::kTopicAuthorizationFailed : error::kClusterAuthorizationFailed;
      out.error_message = DeniedMessage(
          ctx, security::Operation::kDescribeConfigs,
          topic_type ? security::ResourceType::kTopic : security::ResourceType::kCluster,
          topic_type ? std::string_view(res.name) : security::kClusterName);
      resp.results.push_back(std::move(out));
      continue;
    }
    if (res.type == kResourceTopic && IsConsumerOffsetsTopic(res.name)) {
      Config cleanup =
          MakeConfig("cleanup.policy", "compact", true, config_source::kTopic, config_type::kList,
                     "__consumer_offsets keeps the latest commit of each group, topic and "
                     "partition (derived from Ferry's committed offsets).");
      AddSynonym(cleanup, "cleanup.policy", "compact", config_source::kTopic);
      out.configs = Select({std::move(cleanup)}, res.keys, r);
    } else if (res.type == kResourceTopic) {
      auto topic = ctx.broker->GetTopic(res.name);
      if (topic.ok()) {
        out.configs = Select(TopicConfigs(ctx.broker->options(), (*topic)->meta), res.keys, r);
      } else {
        out.error_code = TopicErrorCode(topic.status());
        out.error_message = std::string(topic.status().message());
      }
    } else if (res.type == kResourceBroker) {
      if (auto bad = BadBrokerName(res.name)) {
        out.error_code = error::kInvalidRequest;
        out.error_message = *bad;
      } else {
        out.configs = Select(BrokerConfigs(ctx.broker->options()), res.keys, r);
      }
    } else {
      out.error_code = error::kInvalidRequest;
      out.error_message = absl::StrCat("resource type ", res.type,
                                       " is not supported; Ferry describes topic (2) and "
                                       "broker (4) configs");
    }
    resp.results.push_back(std::move(out));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleAlterConfigs(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  return HandleAlter(ctx, h, body, /*incremental=*/false);
}

Result HandleIncrementalAlterConfigs(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  return HandleAlter(ctx, h, body, /*incremental=*/true);
}

std::string DescribeConfigsErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, DescribeConfigsResponse{});  // no resources, so nowhere for the error
}

std::string AlterConfigsErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, AlterConfigsResponse{});  // no resources, so nowhere for the error
}

}  // namespace ferry::kafka
