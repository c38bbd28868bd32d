// DeleteRecords, CreatePartitions and DescribeCluster over the broker: DeleteRecords moves a
// partition's log start through Broker::DeleteRecords (durable; readers below it behave as
// after retention), CreatePartitions grows topics through Broker::CreatePartitions
// (validate_only honoured), DescribeCluster shows the one node. Thread-safe.
#include "server/kafka/admin.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/broker/broker.h"
#include "server/broker/validation.h"
#include "server/kafka/consumer_offsets.h"
#include "storage/offset_store.h"

namespace ferry::kafka {
namespace {

// Kafka's AclOperation codes a single-node Ferry without authorization allows on the cluster.
constexpr int32_t kClusterOperations = (1 << 4) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) |
                                       (1 << 11) | (1 << 12);  // ALTER .. IDEMPOTENT_WRITE

int16_t DeleteRecordsErrorCode(const absl::Status& s) {
  if (s.ok()) return error::kNone;
  if (absl::IsOutOfRange(s)) return error::kOffsetOutOfRange;
  if (absl::IsNotFound(s) || absl::IsInvalidArgument(s)) return error::kUnknownTopicOrPartition;
  if (absl::IsDataLoss(s)) return error::kKafkaStorageError;
  return error::kUnknownServerError;
}

}  // namespace

Result HandleDeleteRecords(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const DeleteRecordsRequest r = DecodeDeleteRecordsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  DeleteRecordsResponse resp;
  for (const auto& t : r.topics) {
    DeleteRecordsResponse::Topic out;
    out.name = t.name;
    const bool may = Authorized(ctx, kDeleteRecords, security::Operation::kDelete,
                                security::ResourceType::kTopic, t.name);
    for (const auto& p : t.partitions) {
      DeleteRecordsResponse::Partition po;
      po.partition = p.partition;
      if (!may) {
        po.error_code = error::kTopicAuthorizationFailed;
        out.partitions.push_back(po);
        continue;
      }
      auto start = ctx.broker->DeleteRecords(t.name, p.partition, p.offset);
      if (start.ok()) {
        po.low_watermark = *start;
      } else {
        po.error_code = DeleteRecordsErrorCode(start.status());
      }
      out.partitions.push_back(po);
    }
    resp.topics.push_back(std::move(out));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleCreatePartitions(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const CreatePartitionsRequest r = DecodeCreatePartitionsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  CreatePartitionsResponse resp;
  for (const auto& t : r.topics) {
    CreatePartitionsResponse::Topic out;
    out.name = t.name;
    const auto fail = [&](int16_t code, std::string message) {
      out.error_code = code;
      out.error_message = std::move(message);
    };
    if (!Authorized(ctx, kCreatePartitions, security::Operation::kAlter,
                    security::ResourceType::kTopic, t.name)) {
      fail(error::kTopicAuthorizationFailed,
           DeniedMessage(ctx, security::Operation::kAlter, security::ResourceType::kTopic, t.name));
      resp.topics.push_back(std::move(out));
      continue;
    }
    if (IsConsumerOffsetsTopic(t.name)) {
      fail(error::kInvalidTopic,
           absl::StrCat("__consumer_offsets has ", ctx.broker->offsets().log_partitions(),
                        " partitions, set by ferryd --offsets-topic-partitions"));
      resp.topics.push_back(std::move(out));
      continue;
    }
    auto topic = ctx.broker->GetTopic(t.name);
    const int32_t max = ctx.broker->options().max_partitions;
    bool foreign_broker = false;
    if (t.assignments) {
      for (const auto& brokers : *t.assignments) {
        for (int32_t b : brokers) foreign_broker = foreign_broker || b != kNodeId;
      }
    }
    if (!topic.ok()) {
      fail(
          absl::IsNotFound(topic.status()) ? error::kUnknownTopicOrPartition : error::kInvalidTopic,
          std::string(topic.status().message()));
    } else if (t.count <= (*topic)->meta.partitions) {
      fail(error::kInvalidPartitions,
           absl::StrCat("topic '", t.name, "' has ", (*topic)->meta.partitions,
                        " partitions; the new count must be greater (partitions never shrink), "
                        "got ",
                        t.count));
    } else if (t.count > max) {
      fail(error::kInvalidPartitions,
           absl::StrCat("a topic has at most ", max, " partitions, asked for ", t.count));
    } else if (t.assignments &&
               static_cast<int32_t>(t.assignments->size()) != t.count - (*topic)->meta.partitions) {
      fail(error::kInvalidReplicaAssignment,
           absl::StrCat("the assignment lists ", t.assignments->size(), " partitions; ",
                        t.count - (*topic)->meta.partitions, " are being added"));
    } else if (foreign_broker) {
      fail(error::kInvalidReplicaAssignment,
           absl::StrCat("Ferry is a single node: every replica must be on broker ", kNodeId));
    } else if (!r.validate_only) {
      auto grown = ctx.broker->CreatePartitions(t.name, t.count);
      if (absl::IsNotFound(grown.status())) {
        fail(error::kUnknownTopicOrPartition, std::string(grown.status().message()));
      } else if (absl::IsInvalidArgument(grown.status())) {
        fail(error::kInvalidPartitions, std::string(grown.status().message()));
      } else if (!grown.ok()) {
        fail(error::kUnknownServerError, std::string(grown.status().message()));
      }
    }
    resp.topics.push_back(std::move(out));
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleDescribeCluster(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const DescribeClusterRequest r = DecodeDescribeClusterRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  DescribeClusterResponse resp;
  resp.endpoint_type = r.endpoint_type;
  resp.cluster_id = "ferry";
  resp.controller_id = kNodeId;
  if (r.endpoint_type != 1) {
    resp.error_code = error::kUnsupportedEndpointType;
    resp.error_message = "Ferry serves broker endpoints (endpoint type 1) only";
    return Result::Reply(EncodeResponse(h, resp));
  }
  const ServingState::Address address = ctx.serving->advertised(ctx.listener);
  resp.brokers.push_back({kNodeId, address.host, address.port, std::nullopt});
  if (r.include_authorized_operations) resp.authorized_operations = kClusterOperations;
  return Result::Reply(EncodeResponse(h, resp));
}

std::string DeleteRecordsErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, DeleteRecordsResponse{});  // no topics, so nowhere for the error
}

std::string CreatePartitionsErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, CreatePartitionsResponse{});  // no topics, so nowhere for the error
}

std::string DescribeClusterErrorResponse(const RequestHeader& h, int16_t error_code) {
  DescribeClusterResponse resp;
  resp.error_code = error_code;
  resp.cluster_id = "ferry";
  return EncodeResponse(h, resp);
}

}  // namespace ferry::kafka
