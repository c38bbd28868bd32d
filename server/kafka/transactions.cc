// The transaction APIs' handlers: every transactional request is refused with the error
// InitProducerId gives a transactional id, so a client that got this far reports the same
// clear cause; DescribeProducers reads each partition's idempotent producer state (Read on the
// topic).
#include "server/kafka/transactions.h"

#include "absl/status/status.h"
#include "server/broker/broker.h"

namespace ferry::kafka {
namespace {

std::vector<TxnTopicResult> AllRefused(const std::vector<TxnTopic>& topics) {
  std::vector<TxnTopicResult> results;
  for (const auto& t : topics) {
    TxnTopicResult& out = results.emplace_back();
    out.name = t.name;
    for (int32_t p : t.partitions) {
      out.partitions.emplace_back(p, error::kTransactionalIdAuthorizationFailed);
    }
  }
  return results;
}

}  // namespace

Result HandleAddPartitionsToTxn(ApiContext& /*ctx*/, const RequestHeader& h, Reader& body) {
  AddPartitionsToTxnRequest r = DecodeAddPartitionsToTxnRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  return Result::Reply(EncodeAddPartitionsToTxnResponse(h, AllRefused(r.topics)));
}

Result HandleAddOffsetsToTxn(ApiContext& /*ctx*/, const RequestHeader& h, Reader& body) {
  DecodeAddOffsetsToTxnRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  return Result::Reply(EncodeTxnErrorResponse(h, error::kTransactionalIdAuthorizationFailed));
}

Result HandleEndTxn(ApiContext& /*ctx*/, const RequestHeader& h, Reader& body) {
  DecodeEndTxnRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  return Result::Reply(EncodeTxnErrorResponse(h, error::kTransactionalIdAuthorizationFailed));
}

Result HandleTxnOffsetCommit(ApiContext& /*ctx*/, const RequestHeader& h, Reader& body) {
  std::vector<TxnTopic> topics = DecodeTxnOffsetCommitRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  return Result::Reply(EncodeTxnOffsetCommitResponse(h, AllRefused(topics)));
}

Result HandleDescribeProducers(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  std::vector<TxnTopic> topics = DecodeDescribeProducersRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  DescribeProducersResponse resp;
  for (const auto& t : topics) {
    DescribeProducersResponse::Topic& out = resp.topics.emplace_back();
    out.name = t.name;
    // Kafka asks Read on the topic: producer state tells what was written.
    const bool allowed = Authorized(ctx, kDescribeProducers, security::Operation::kRead,
                                    security::ResourceType::kTopic, t.name);
    for (int32_t index : t.partitions) {
      DescribeProducersResponse::Partition& p = out.partitions.emplace_back();
      p.index = index;
      if (!allowed) {
        p.error_code = error::kTopicAuthorizationFailed;
        p.error_message =
            DeniedMessage(ctx, security::Operation::kRead, security::ResourceType::kTopic, t.name);
        continue;
      }
      auto log = ctx.broker->GetPartition(t.name, index);
      if (!log.ok()) {
        p.error_code = error::kUnknownTopicOrPartition;
        p.error_message = std::string(log.status().message());
        continue;
      }
      for (const auto& [id, entry] : (*log)->producers().Snapshot()) {
        DescribeProducersResponse::Producer& s = p.producers.emplace_back();
        s.producer_id = id;
        s.producer_epoch = entry.epoch;
        if (!entry.batches.empty()) s.last_sequence = entry.batches.back().last_sequence;
        s.last_timestamp_ms = entry.last_append_ms;
      }
    }
  }
  return Result::Reply(EncodeResponse(h, resp));
}

Result HandleDescribeTransactions(ApiContext& /*ctx*/, const RequestHeader& h, Reader& body) {
  std::vector<std::string> ids = DecodeDescribeTransactionsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  return Result::Reply(EncodeDescribeTransactionsResponse(h, ids, error::kTransactionalIdNotFound));
}

Result HandleListTransactions(ApiContext& /*ctx*/, const RequestHeader& h, Reader& body) {
  DecodeListTransactionsRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  return Result::Reply(EncodeListTransactionsResponse(h, error::kNone));
}

std::string AddPartitionsToTxnErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeAddPartitionsToTxnResponse(h, {});  // no partitions to carry the error
}

std::string TxnErrorResponse(const RequestHeader& h, int16_t error_code) {
  return EncodeTxnErrorResponse(h, error_code);
}

std::string TxnOffsetCommitErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeTxnOffsetCommitResponse(h, {});
}

std::string DescribeProducersErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, DescribeProducersResponse{});
}

std::string DescribeTransactionsErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeDescribeTransactionsResponse(h, {}, error::kNone);
}

std::string ListTransactionsErrorResponse(const RequestHeader& h, int16_t error_code) {
  return EncodeListTransactionsResponse(h, error_code);
}

}  // namespace ferry::kafka
