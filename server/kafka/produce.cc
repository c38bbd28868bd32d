// Produce: appends each partition's records through the broker and answers once they are
// durable (acks 1 and -1); acks=0 answers nothing and closes the connection when a partition
// failed. Thread-safe: blocks only its own connection's thread.
#include "server/kafka/produce.h"

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/broker/broker.h"
#include "server/kafka/compression.h"
#include "server/kafka/consumer_offsets.h"
#include "server/kafka/observer.h"
#include "server/kafka/producer_id.h"
#include "server/kafka/records.h"
#include "server/log.h"
#include "storage/rocks_status.h"

namespace ferry::kafka {
namespace {

// Kafka accepts zstd batches from Produce v7 (KIP-110) on.
constexpr int16_t kMinZstdProduceVersion = 7;

int16_t ProduceError(const absl::Status& s) {
  // A full or failing data dir: Kafka's answer for a failed log dir, which clients retry.
  if (storage::IsStorageWriteFailure(s)) return error::kKafkaStorageError;
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

void ReportCodecs(KafkaObserver* observer, const std::array<int, 5>& by_codec) {
  if (observer == nullptr) return;
  for (size_t codec = 0; codec < by_codec.size(); ++codec) {
    if (by_codec[codec] > 0) {
      observer->OnProducedBatches(CodecName(static_cast<int>(codec)), by_codec[codec]);
    }
  }
}

// One Produce in flight: filled by the handler, then by the publish callbacks (on the commit
// thread), answered by whoever answers its last append.
struct ProduceState {
  struct Partition {
    int32_t index = 0;
    int16_t refusal = error::kNone;  // refused before any append
    std::string message;             // the refusal's reason, or the failed append's
    absl::Status appended;           // the append's outcome
    int64_t base_offset = -1;
    std::array<int, 5> codecs{};  // its batches by codec, reported once stored
  };
  struct Topic {
    std::string name;
    std::shared_ptr<const storage::Topic> topic;  // null when it does not exist
    std::vector<Partition> partitions;
  };
  RequestHeader header;
  int16_t acks = 1;
  KafkaObserver* observer = nullptr;
  std::vector<Topic> topics;

  absl::Mutex mu;
  int outstanding ABSL_GUARDED_BY(mu) = 1;  // appends not yet answered, plus the handler
  // Set by the handler when appends were still outstanding as it returned.
  std::shared_ptr<LaterResult> later ABSL_GUARDED_BY(mu);

  // An append was answered; the last one completes `later`.
  void Answered() ABSL_LOCKS_EXCLUDED(mu) {
    std::shared_ptr<LaterResult> done;
    {
      absl::MutexLock lock(&mu);
      if (--outstanding > 0) return;
      done = later;
    }
    // The handler's count is gone only after it set `later`.
    done->Complete(Answer());
  }

  // The response, once every append is answered.
  Result Answer() {
    ProduceResponse resp;
    for (const Topic& t : topics) {
      ProduceResponse::Topic out;
      out.name = t.name;
      for (const Partition& slot : t.partitions) {
        ProduceResponse::Partition p;
        p.index = slot.index;
        p.error_code = slot.refusal;
        if (p.error_code == error::kNone) {
          p.error_code = ProduceError(slot.appended);
          if (p.error_code == error::kNone) {
            ReportCodecs(observer, slot.codecs);
            p.base_offset = slot.base_offset;
            p.log_start_offset = t.topic->partitions[p.index]->log_start_offset();
          } else {
            p.error_message = std::string(slot.appended.message());
          }
        } else {
          p.error_message = slot.message;
        }
        out.partitions.push_back(std::move(p));
      }
      resp.topics.push_back(std::move(out));
    }
    if (acks == 0) {
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
    return Result::Reply(EncodeResponse(header, resp));
  }
};

}  // namespace

Result HandleProduce(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  ProduceRequest r = DecodeProduceRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  // Shared with the publish callbacks: the request frame is gone by the time the last append
  // is answered, so this holds what the answer needs and never a view into the frame.
  auto state = std::make_shared<ProduceState>();
  state->header = h;
  state->acks = r.acks;
  state->observer = ctx.observer;
  state->topics.resize(r.topics.size());
  for (size_t ti = 0; ti < r.topics.size(); ++ti) {
    const ProduceRequest::Topic& topic = r.topics[ti];
    state->topics[ti].name = topic.name;
    state->topics[ti].partitions.resize(topic.partitions.size());
    const bool may_write = Authorized(ctx, kProduce, security::Operation::kWrite,
                                      security::ResourceType::kTopic, topic.name);
    auto t = ctx.broker->GetTopic(topic.name);
    if (t.ok() && may_write) state->topics[ti].topic = *t;
    for (size_t pi = 0; pi < topic.partitions.size(); ++pi) {
      const ProduceRequest::Partition& p = topic.partitions[pi];
      state->topics[ti].partitions[pi].index = p.index;
      ProduceState::Partition& slot = state->topics[ti].partitions[pi];
      auto refuse = [&slot](int16_t code, std::string message) {
        slot.refusal = code;
        slot.message = std::move(message);
      };
      if (r.acks != 0 && r.acks != 1 && r.acks != -1) {
        refuse(error::kInvalidRequiredAcks,
               absl::StrCat("acks must be 0, 1 or -1 (all), got ", r.acks));
        continue;
      }
      if (!may_write) {
        refuse(error::kTopicAuthorizationFailed,
               DeniedMessage(ctx, security::Operation::kWrite, security::ResourceType::kTopic,
                             topic.name));
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
      slot.codecs = producer.by_codec;
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
        slot.base_offset = (*t)->partitions[p.index]->end_offset();
        continue;
      }
      {
        absl::MutexLock lock(&state->mu);
        ++state->outstanding;
      }
      // Publish queues the append in call order, so a later request of this connection,
      // started before this one is durable, still appends after it.
      ctx.broker->Publish(batch, [state, &slot](absl::Status s, const broker::PublishAcks* acks) {
        slot.appended = s;
        if (s.ok() && acks != nullptr && acks->size() > 0) slot.base_offset = acks->offset(0);
        state->Answered();
      });
    }
  }
  // The handler's own count (ProduceState::outstanding starts at 1): when it is the last, every
  // append was answered already and the reply goes out at once.
  {
    absl::MutexLock lock(&state->mu);
    if (--state->outstanding == 0) return state->Answer();
    state->later = std::make_shared<LaterResult>();
  }
  // Answered() completes `later` once every append is durable, refused or failed by shutdown.
  return Result::Later(state->later);
}

std::string ProduceErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, ProduceResponse{});  // no topics, so nowhere for the error
}

}  // namespace ferry::kafka
