// Kafka's transaction APIs, which Ferry does not support, answered with an error code instead
// of a closed connection: AddPartitionsToTxn (24), AddOffsetsToTxn (25), EndTxn (26) and
// TxnOffsetCommit (28) answer TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as InitProducerId does for a
// transactional id; DescribeTransactions (65) finds no transaction and ListTransactions (66)
// lists none. DescribeProducers (61) answers the real idempotent producer state of each
// partition. Requests and responses, their wire format (transactions_codec.cc, pure) and the
// handlers (transactions.cc). Thread-safe.
#ifndef FERRY_SERVER_KAFKA_TRANSACTIONS_H_
#define FERRY_SERVER_KAFKA_TRANSACTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

// A [name, [partition index]] list, as the transaction requests carry.
struct TxnTopic {
  std::string name;
  std::vector<int32_t> partitions;
};

// Per-partition error codes, as AddPartitionsToTxn and TxnOffsetCommit answer.
struct TxnTopicResult {
  std::string name;
  std::vector<std::pair<int32_t, int16_t>> partitions;  // index, error code
};

// AddPartitionsToTxn v0-3 (v3 flexible).
struct AddPartitionsToTxnRequest {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::vector<TxnTopic> topics;
};
AddPartitionsToTxnRequest DecodeAddPartitionsToTxnRequest(int16_t version, Reader& body);
std::string EncodeAddPartitionsToTxnResponse(const RequestHeader& header,
                                             const std::vector<TxnTopicResult>& results);

// AddOffsetsToTxn and EndTxn v0-3 (v3 flexible): the request's fields are only checked; the
// response is a bare error code.
void DecodeAddOffsetsToTxnRequest(int16_t version, Reader& body);
void DecodeEndTxnRequest(int16_t version, Reader& body);
std::string EncodeTxnErrorResponse(const RequestHeader& header, int16_t error_code);

// TxnOffsetCommit v0-3 (v3 flexible).
std::vector<TxnTopic> DecodeTxnOffsetCommitRequest(int16_t version, Reader& body);
std::string EncodeTxnOffsetCommitResponse(const RequestHeader& header,
                                          const std::vector<TxnTopicResult>& results);

// DescribeProducers v0 (flexible).
struct DescribeProducersResponse {
  struct Producer {
    int64_t producer_id = 0;
    int32_t producer_epoch = 0;
    int32_t last_sequence = -1;
    int64_t last_timestamp_ms = -1;
  };
  struct Partition {
    int32_t index = 0;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<Producer> producers;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};
std::vector<TxnTopic> DecodeDescribeProducersRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const DescribeProducersResponse& r);

// DescribeTransactions v0 and ListTransactions v0-1 (flexible).
std::vector<std::string> DecodeDescribeTransactionsRequest(int16_t version, Reader& body);
// Each id answered with `error_code` and no transaction.
std::string EncodeDescribeTransactionsResponse(const RequestHeader& header,
                                               const std::vector<std::string>& ids,
                                               int16_t error_code);
void DecodeListTransactionsRequest(int16_t version, Reader& body);
// No transactions.
std::string EncodeListTransactionsResponse(const RequestHeader& header, int16_t error_code);

Result HandleAddPartitionsToTxn(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleAddOffsetsToTxn(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleEndTxn(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleTxnOffsetCommit(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleDescribeProducers(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleDescribeTransactions(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleListTransactions(ApiContext& ctx, const RequestHeader& header, Reader& body);

std::string AddPartitionsToTxnErrorResponse(const RequestHeader& header, int16_t error_code);
std::string TxnErrorResponse(const RequestHeader& header, int16_t error_code);
std::string TxnOffsetCommitErrorResponse(const RequestHeader& header, int16_t error_code);
std::string DescribeProducersErrorResponse(const RequestHeader& header, int16_t error_code);
std::string DescribeTransactionsErrorResponse(const RequestHeader& header, int16_t error_code);
std::string ListTransactionsErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_TRANSACTIONS_H_
