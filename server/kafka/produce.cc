// Produce: appends each partition's records through the broker and answers once they are
// durable (acks 1 and -1); acks=0 answers nothing and closes the connection when a partition
// failed. Thread-safe: blocks only its own connection's thread.
#include "server/kafka/produce.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/broker.h"
#include "server/kafka/consumer_offsets.h"
#include "server/kafka/producer_id.h"
#include "server/kafka/records.h"
#include "server/log.h"

namespace ferry::kafka {
namespace {

// Kafka accepts zstd batches from Produce v7 (KIP-110) on.
constexpr int16_t kMinZstdProduceVersion = 7;

int16_t ProduceError(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return error::kNone;
    case absl::StatusCode::kNotFound:
      return error::kUnknownTopicOrPartition;
    case absl::StatusCode::kResourceExhausted:
      return error::kMessageTooLarge;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
      return error::kCorruptMessage;
    case absl::StatusCode::kUnimplemented:
      return error::kUnsupportedForMessageFormat;
    case absl::StatusCode::kUnavailable:
      return error::kKafkaStorageError;
    // Only idempotent publishes fail with these (Broker::Publish).
    case absl::StatusCode::kOutOfRange:
      return error::kOutOfOrderSequenceNumber;
    case absl::StatusCode::kAborted:
      return error::kInvalidProducerEpoch;
    case absl::StatusCode::kFailedPrecondition:
      return error::kUnknownProducerId;
    default:
      return error::kUnknownServerError;
  }
}

}  // namespace

Result HandleProduce(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  ProduceRequest r = DecodeProduceRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  ProduceResponse resp;
  struct Wait {
    absl::Mutex mu;
    int outstanding ABSL_GUARDED_BY(mu) = 0;
  };
  auto wait = std::make_shared<Wait>();
  // Filled by the publish callbacks (on the commit thread) before `outstanding` drops.
  std::vector<std::vector<std::pair<absl::Status, int64_t>>> results(r.topics.size());
  for (size_t ti = 0; ti < r.topics.size(); ++ti) {
    const ProduceRequest::Topic& topic = r.topics[ti];
    results[ti].resize(topic.partitions.size(), {absl::OkStatus(), -1});
  }
  // A refusal before any append: its code and the reason the answer gives (v8+).
  struct Refusal {
    int16_t code = error::kNone;
    std::string message;
  };
  std::vector<std::vector<Refusal>> refusals(r.topics.size());
  std::vector<std::shared_ptr<const storage::Topic>> topics(r.topics.size());
  for (size_t ti = 0; ti < r.topics.size(); ++ti) {
    const ProduceRequest::Topic& topic = r.topics[ti];
    refusals[ti].resize(topic.partitions.size());
    auto t = ctx.broker->GetTopic(topic.name);
    if (t.ok()) topics[ti] = *t;
    for (size_t pi = 0; pi < topic.partitions.size(); ++pi) {
      const ProduceRequest::Partition& p = topic.partitions[pi];
      Refusal& refusal = refusals[ti][pi];
      auto refuse = [&refusal](int16_t code, std::string message) {
        refusal.code = code;
        refusal.message = std::move(message);
      };
      if (r.acks != 0 && r.acks != 1 && r.acks != -1) {
        refuse(error::kInvalidRequiredAcks,
               absl::StrCat("acks must be 0, 1 or -1 (all), got ", r.acks));
        continue;
      }
      if (r.transactional_id.has_value()) {
        // No transactions: the error InitProducerId gives a transactional id.
        refuse(error::kTransactionalIdAuthorizationFailed,
               "Ferry does not support transactions; produce without a transactional id");
        continue;
      }
      if (IsConsumerOffsetsTopic(topic.name)) {
        // Kafka refuses client writes to its internal topics the same way.
        refuse(error::kInvalidTopic,
               "__consumer_offsets is read-only: it is derived from the groups' committed "
               "offsets; commit with OffsetCommit");
        continue;
      }
      if (!t.ok()) {
        refuse(absl::IsInvalidArgument(t.status()) ? error::kInvalidTopic
                                                   : error::kUnknownTopicOrPartition,
               std::string(t.status().message()));
        continue;
      }
      if (p.index < 0 || p.index >= (*t)->meta.partitions) {
        refuse(error::kUnknownTopicOrPartition,
               absl::StrCat("topic '", topic.name, "' has ", (*t)->meta.partitions,
                            " partitions; partition ", p.index, " does not exist"));
        continue;
      }
      if (!p.records.has_value()) {
        refuse(error::kCorruptMessage, "the partition's records are null");
        continue;
      }
      const BatchProducer producer = PeekBatchProducer(*p.records);
      if (producer.v2 && producer.transactional()) {
        refuse(error::kTransactionalIdAuthorizationFailed,
               "Ferry does not support transactions; the batch is transactional");
        continue;
      }
      if (producer.idempotent() && producer.batches != 1) {
        // Kafka's rule: an idempotent batch's sequence range must be the whole request's.
        refuse(error::kInvalidRecord,
               "an idempotent produce must carry exactly one record batch per partition");
        continue;
      }
      // Compressed batches are decompressed here, once; the records view `decompressed`,
      // which lives until this partition's publish has copied them (EncodeBatch).
      ProduceDecodeOptions decode_options;
      decode_options.max_decompressed_bytes =
          static_cast<size_t>(ctx.broker->options().max_batch_bytes);
      decode_options.allow_zstd = h.api_version >= kMinZstdProduceVersion;
      DecompressedBuffers decompressed;
      std::vector<broker::RecordFields> records;
      absl::Status decoded =
          DecodeProduceRecords(*p.records, decode_options, &decompressed, &records);
      std::string encoded;
      broker::PublishBatch batch;
      batch.topic = topic.name;
      batch.partition = p.index;
      if (producer.idempotent()) {
        batch.sequence = broker::ProducerSequence{{producer.producer_id, producer.producer_epoch},
                                                  producer.base_sequence};
      }
      if (decoded.ok()) decoded = broker::EncodeBatch(records, &encoded, &batch);
      if (!decoded.ok()) {
        refuse(IsCompressionRefused(decoded) ? error::kUnsupportedCompressionType
                                             : ProduceError(decoded),
               std::string(decoded.message()));
        log::Event(log::Level::kDebug, "kafka_produce_rejected",
                   {{"topic", topic.name},
                    {"partition", std::to_string(p.index)},
                    {"error", std::string(decoded.message())}});
        continue;
      }
      if (records.empty()) {
        results[ti][pi].second = (*t)->partitions[p.index]->end_offset();
        continue;
      }
      {
        absl::MutexLock lock(&wait->mu);
        ++wait->outstanding;
      }
      auto* slot = &results[ti][pi];
      ctx.broker->Publish(batch, [wait, slot](absl::Status s, const broker::PublishAcks* acks) {
        slot->first = s;
        if (s.ok() && acks != nullptr && acks->size() > 0) slot->second = acks->offset(0);
        absl::MutexLock lock(&wait->mu);
        --wait->outstanding;
      });
    }
  }
  {
    // Every append is answered (durable, refused or failed by shutdown), so this ends.
    absl::MutexLock lock(&wait->mu);
    wait->mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &wait->outstanding));
  }
  for (size_t ti = 0; ti < r.topics.size(); ++ti) {
    ProduceResponse::Topic out;
    out.name = r.topics[ti].name;
    for (size_t pi = 0; pi < r.topics[ti].partitions.size(); ++pi) {
      ProduceResponse::Partition p;
      p.index = r.topics[ti].partitions[pi].index;
      const Refusal& refusal = refusals[ti][pi];
      p.error_code = refusal.code;
      if (p.error_code == error::kNone) {
        const absl::Status& appended = results[ti][pi].first;
        p.error_code = ProduceError(appended);
        if (p.error_code == error::kNone) {
          p.base_offset = results[ti][pi].second;
          p.log_start_offset = topics[ti]->partitions[p.index]->log_start_offset();
        } else {
          p.error_message = std::string(appended.message());
        }
      } else {
        p.error_message = refusal.message;
      }
      out.partitions.push_back(std::move(p));
    }
    resp.topics.push_back(std::move(out));
  }
  if (r.acks == 0) {
    // No response to carry an error: close the connection, as Kafka does, so the producer
    // notices and refreshes its metadata instead of sending into the void.
    for (const auto& t : resp.topics) {
      for (const auto& p : t.partitions) {
        if (p.error_code != error::kNone) {
          return Result::Close(absl::StrCat("acks=0 produce to ", t.name, "-", p.index,
                                            " failed with error ", p.error_code));
        }
      }
    }
    return Result::NoReply();
  }
  return Result::Reply(EncodeResponse(h, resp));
}

std::string ProduceErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, ProduceResponse{});  // no topics, so nowhere for the error
}

}  // namespace ferry::kafka
