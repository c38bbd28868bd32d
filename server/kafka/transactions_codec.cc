// The transaction APIs on the wire, the versions before Kafka's broker-to-broker forms:
// AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and TxnOffsetCommit v0-3 (v3 flexible; v2 of
// TxnOffsetCommit adds the leader epoch, v3 the member), DescribeProducers and
// DescribeTransactions v0, ListTransactions v0-1 (v1 adds the duration filter), all flexible.
#include "server/kafka/transactions.h"

namespace ferry::kafka {
namespace {

// [name, [int32]] with tagged fields after each topic (no-ops unless flexible).
std::vector<TxnTopic> ReadTxnTopics(Reader& r) {
  std::vector<TxnTopic> topics;
  const int32_t n = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    TxnTopic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(4);
    for (int32_t j = 0; j < np && r.ok(); ++j) t.partitions.push_back(r.Int32());
    r.TaggedFields();
    topics.push_back(std::move(t));
  }
  return topics;
}

void WriteTopicResults(Writer& w, const std::vector<TxnTopicResult>& results) {
  w.ArrayCount(static_cast<int32_t>(results.size()));
  for (const auto& t : results) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& [index, code] : t.partitions) {
      w.Int32(index);
      w.Int16(code);
      w.TaggedFields();
    }
    w.TaggedFields();
  }
}

}  // namespace

AddPartitionsToTxnRequest DecodeAddPartitionsToTxnRequest(int16_t /*v*/, Reader& r) {
  AddPartitionsToTxnRequest req;
  req.transactional_id = Str(r.String());
  req.producer_id = r.Int64();
  req.producer_epoch = r.Int16();
  req.topics = ReadTxnTopics(r);
  r.TaggedFields();
  return req;
}

std::string EncodeAddPartitionsToTxnResponse(const RequestHeader& h,
                                             const std::vector<TxnTopicResult>& results) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle_time_ms
  WriteTopicResults(w, results);
  w.TaggedFields();
  return f.Finish();
}

void DecodeAddOffsetsToTxnRequest(int16_t /*v*/, Reader& r) {
  r.String();  // transactional_id
  r.Int64();   // producer_id
  r.Int16();   // producer_epoch
  r.String();  // group_id
  r.TaggedFields();
}

void DecodeEndTxnRequest(int16_t /*v*/, Reader& r) {
  r.String();  // transactional_id
  r.Int64();   // producer_id
  r.Int16();   // producer_epoch
  r.Bool();    // committed
  r.TaggedFields();
}

std::string EncodeTxnErrorResponse(const RequestHeader& h, int16_t error_code) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle_time_ms
  w.Int16(error_code);
  w.TaggedFields();
  return f.Finish();
}

std::vector<TxnTopic> DecodeTxnOffsetCommitRequest(int16_t v, Reader& r) {
  r.String();  // transactional_id
  r.String();  // group_id
  r.Int64();   // producer_id
  r.Int16();   // producer_epoch
  if (v >= 3) {
    r.Int32();           // generation_id
    r.String();          // member_id
    r.NullableString();  // group_instance_id
  }
  std::vector<TxnTopic> topics;
  const int32_t n = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    TxnTopic t;
    t.name = Str(r.String());
    const int32_t np = r.ArrayCount(4 + 8 + 2);
    for (int32_t j = 0; j < np && r.ok(); ++j) {
      t.partitions.push_back(r.Int32());
      r.Int64();              // committed_offset
      if (v >= 2) r.Int32();  // committed_leader_epoch
      r.NullableString();     // committed_metadata
      r.TaggedFields();
    }
    r.TaggedFields();
    topics.push_back(std::move(t));
  }
  r.TaggedFields();
  return topics;
}

std::string EncodeTxnOffsetCommitResponse(const RequestHeader& h,
                                          const std::vector<TxnTopicResult>& results) {
  return EncodeAddPartitionsToTxnResponse(h, results);  // the same layout
}

std::vector<TxnTopic> DecodeDescribeProducersRequest(int16_t /*v*/, Reader& r) {
  std::vector<TxnTopic> topics = ReadTxnTopics(r);
  r.TaggedFields();
  return topics;
}

std::string EncodeResponse(const RequestHeader& h, const DescribeProducersResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle_time_ms
  w.ArrayCount(static_cast<int32_t>(r.topics.size()));
  for (const auto& t : r.topics) {
    w.String(t.name);
    w.ArrayCount(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w.Int32(p.index);
      w.Int16(p.error_code);
      w.NullableString(p.error_message);
      w.ArrayCount(static_cast<int32_t>(p.producers.size()));
      for (const auto& s : p.producers) {
        w.Int64(s.producer_id);
        w.Int32(s.producer_epoch);
        w.Int32(s.last_sequence);
        w.Int64(s.last_timestamp_ms);
        w.Int32(-1);  // coordinator_epoch: no transactions
        w.Int64(-1);  // current_txn_start_offset
        w.TaggedFields();
      }
      w.TaggedFields();
    }
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

std::vector<std::string> DecodeDescribeTransactionsRequest(int16_t /*v*/, Reader& r) {
  std::vector<std::string> ids;
  const int32_t n = r.ArrayCount(1);
  for (int32_t i = 0; i < n && r.ok(); ++i) ids.push_back(Str(r.String()));
  r.TaggedFields();
  return ids;
}

std::string EncodeDescribeTransactionsResponse(const RequestHeader& h,
                                               const std::vector<std::string>& ids,
                                               int16_t error_code) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle_time_ms
  w.ArrayCount(static_cast<int32_t>(ids.size()));
  for (const auto& id : ids) {
    w.Int16(error_code);
    w.String(id);
    w.String("");     // transaction_state
    w.Int32(0);       // transaction_timeout_ms
    w.Int64(-1);      // transaction_start_time_ms
    w.Int64(-1);      // producer_id
    w.Int16(-1);      // producer_epoch
    w.ArrayCount(0);  // topics
    w.TaggedFields();
  }
  w.TaggedFields();
  return f.Finish();
}

void DecodeListTransactionsRequest(int16_t v, Reader& r) {
  const int32_t states = r.ArrayCount(1);
  for (int32_t i = 0; i < states && r.ok(); ++i) r.String();
  const int32_t ids = r.ArrayCount(8);
  for (int32_t i = 0; i < ids && r.ok(); ++i) r.Int64();
  if (v >= 1) r.Int64();  // duration_filter
  r.TaggedFields();
}

std::string EncodeListTransactionsResponse(const RequestHeader& h, int16_t error_code) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle_time_ms
  w.Int16(error_code);
  w.ArrayCount(0);  // unknown_state_filters
  w.ArrayCount(0);  // transaction_states
  w.TaggedFields();
  return f.Finish();
}

}  // namespace ferry::kafka
