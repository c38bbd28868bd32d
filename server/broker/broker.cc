#include "server/broker/broker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/broker/partitioner.h"
#include "server/broker/record_codec.h"
#include "server/broker/validation.h"
#include "server/log.h"

namespace ferry::broker {
namespace {

std::string Quoted(std::string_view s) { return absl::StrCat("'", std::string(s), "'"); }

}  // namespace

Broker::Broker(const BrokerOptions& options, const Clock* clock,
               std::unique_ptr<storage::Store> store)
    : options_(options), clock_(clock), store_(std::move(store)) {}

absl::StatusOr<std::unique_ptr<Broker>> Broker::Open(const BrokerOptions& options,
                                                     const Clock* clock) {
  auto store = storage::Store::Open(options.store);
  if (!store.ok()) return store.status();
  std::unique_ptr<Broker> broker(new Broker(options, clock, *std::move(store)));
  if (options.retention_check_interval > absl::ZeroDuration()) {
    broker->retention_thread_ = std::thread([b = broker.get()] { b->RetentionLoop(); });
  }
  return broker;
}

Broker::~Broker() { Close(); }

void Broker::BeginShutdown() { store_->CloseReaders(); }

void Broker::Close() {
  if (closed_.exchange(true)) return;
  if (!stop_retention_.HasBeenNotified()) stop_retention_.Notify();
  if (retention_thread_.joinable()) retention_thread_.join();
  store_->Close();
}

void Broker::RetentionLoop() {
  while (!stop_retention_.WaitForNotificationWithTimeout(options_.retention_check_interval)) {
    auto removed = EnforceRetention();
    if (!removed.ok()) {
      // Retried at the next interval; storage errors also surface on writes.
      log::Event(log::Level::kError, "retention_failed",
                 {{"error", std::string(removed.status().message())}});
    } else if (*removed > 0) {
      log::Event(log::Level::kInfo, "retention", {{"batches_removed", std::to_string(*removed)}});
    }
  }
}

absl::StatusOr<int64_t> Broker::EnforceRetention() {
  return store_->EnforceRetention(clock_->NowMs());
}

// --- topics ----------------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const storage::Topic>> Broker::CreateTopic(
    std::string_view name, int32_t partitions, const v1::TopicConfig& config) {
  absl::Status s = ValidateTopicName(name);
  if (!s.ok()) return s;
  if (partitions == 0) partitions = options_.default_partitions;
  if (partitions < 0 || partitions > options_.max_partitions) {
    return absl::InvalidArgumentError(absl::StrCat("partitions must be between 1 and ",
                                                   options_.max_partitions, ", got ", partitions));
  }
  if (config.retention_ms() < 0 || config.retention_bytes() < 0 || config.max_record_bytes() < 0) {
    return absl::InvalidArgumentError(
        "retention_ms, retention_bytes and max_record_bytes must be >= 0 (0: default)");
  }
  if (config.max_record_bytes() > options_.max_record_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_record_bytes ", config.max_record_bytes(), " is above the broker's limit of ",
        options_.max_record_bytes, " (--max-record-bytes)"));
  }
  storage::TopicMeta meta;
  meta.name = std::string(name);
  meta.partitions = partitions;
  meta.retention_ms = config.retention_ms();
  meta.retention_bytes = config.retention_bytes();
  meta.max_record_bytes = config.max_record_bytes();
  auto topic = store_->CreateTopic(std::move(meta));
  if (topic.ok()) {
    log::Event(log::Level::kInfo, "topic_created",
               {{"topic", (*topic)->meta.name},
                {"partitions", std::to_string((*topic)->meta.partitions)},
                {"retention_ms", std::to_string((*topic)->meta.retention_ms)},
                {"retention_bytes", std::to_string((*topic)->meta.retention_bytes)}});
    if (topics_changed_) topics_changed_();
  }
  return topic;
}

absl::Status Broker::DeleteTopic(std::string_view name) {
  absl::Status s = ValidateTopicName(name);
  if (!s.ok()) return s;
  s = store_->DeleteTopic(name);
  if (!s.ok()) return s;
  log::Event(log::Level::kInfo, "topic_deleted", {{"topic", std::string(name)}});
  if (topics_changed_) topics_changed_();
  {
    absl::MutexLock lock(&counters_mu_);
    counters_.erase(std::string(name));
  }
  // A deleted topic's series disappear from the metrics.
  absl::MutexLock lock(&delivered_mu_);
  std::erase_if(delivered_, [&](const auto& e) { return e.first.first == name; });
  return absl::OkStatus();
}

void Broker::CountDelivered(const std::string& topic, const std::string& group, int64_t records) {
  absl::MutexLock lock(&delivered_mu_);
  delivered_[{topic, group}] += records;
}

std::map<std::pair<std::string, std::string>, int64_t> Broker::Delivered() const {
  absl::MutexLock lock(&delivered_mu_);
  return delivered_;
}

absl::StatusOr<std::shared_ptr<const storage::Topic>> Broker::CreatePartitions(
    std::string_view name, int32_t total) {
  absl::Status s = ValidateTopicName(name);
  if (!s.ok()) return s;
  if (total > options_.max_partitions) {
    return absl::InvalidArgumentError(absl::StrCat("a topic has at most ", options_.max_partitions,
                                                   " partitions, asked for ", total));
  }
  auto topic = store_->AddPartitions(name, total);
  if (topic.ok()) {
    log::Event(log::Level::kInfo, "partitions_added",
               {{"topic", std::string(name)}, {"partitions", std::to_string(total)}});
    if (topics_changed_) topics_changed_();
  }
  return topic;
}

absl::StatusOr<std::shared_ptr<const storage::Topic>> Broker::GetTopic(
    std::string_view name) const {
  absl::Status s = ValidateTopicName(name);
  if (!s.ok()) return s;
  auto topic = store_->FindTopic(name);
  if (topic == nullptr)
    return absl::NotFoundError(absl::StrCat("topic ", Quoted(name), " does not exist"));
  return topic;
}

std::vector<std::shared_ptr<const storage::Topic>> Broker::ListTopics() const {
  return store_->ListTopics();
}

absl::StatusOr<std::shared_ptr<storage::PartitionLog>> Broker::GetPartition(
    std::string_view topic_name, int32_t partition) const {
  auto topic = GetTopic(topic_name);
  if (!topic.ok()) return topic.status();
  if (partition < 0) {
    return absl::InvalidArgumentError(absl::StrCat("partition must be >= 0, got ", partition));
  }
  if (partition >= (*topic)->meta.partitions) {
    return absl::NotFoundError(absl::StrCat("topic ", Quoted(topic_name), " has ",
                                            (*topic)->meta.partitions, " partitions; partition ",
                                            partition, " does not exist"));
  }
  return (*topic)->partitions[partition];
}

void Broker::FillTopicInfo(const storage::Topic& topic, v1::TopicInfo* info) const {
  info->set_name(topic.meta.name);
  info->set_partitions(topic.meta.partitions);
  info->mutable_config()->set_retention_ms(topic.meta.retention_ms);
  info->mutable_config()->set_retention_bytes(topic.meta.retention_bytes);
  info->mutable_config()->set_max_record_bytes(
      topic.meta.max_record_bytes > 0 ? topic.meta.max_record_bytes : options_.max_record_bytes);
}

std::shared_ptr<TopicCounters> Broker::Counters(std::string_view topic) const {
  absl::MutexLock lock(&counters_mu_);
  auto& c = counters_[std::string(topic)];
  if (c == nullptr) c = std::make_shared<TopicCounters>();
  return c;
}

// --- publish ---------------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const storage::Topic>> Broker::TopicForPublish(
    std::string_view name) {
  auto topic = store_->FindTopic(name);
  if (topic != nullptr) return topic;
  if (!options_.auto_create_topics) {
    return absl::NotFoundError(
        absl::StrCat("topic ", Quoted(name),
                     " does not exist and auto-creation is off (--auto-create-topics=false); "
                     "create it with Admin.CreateTopic"));
  }
  auto created = CreateTopic(name, 0, v1::TopicConfig());
  if (created.ok() || !absl::IsAlreadyExists(created.status())) return created;
  // Another publisher created it first.
  topic = store_->FindTopic(name);
  if (topic == nullptr) return absl::UnavailableError("topic was deleted while being created");
  return topic;
}

void Broker::Publish(v1::PublishRequest* request, PublishDone done) {
  // One publish path: the message is walked in wire format like a streamed request.
  const std::string encoded = request->SerializeAsString();
  PublishRequestView view;
  absl::Status s = ParsePublishRequest(encoded, &view);
  if (!s.ok()) return done(std::move(s), nullptr);
  PublishRecords(view, [done = std::move(done)](absl::Status s, const PublishAcks* acks) {
    if (!s.ok()) return done(std::move(s), nullptr);
    v1::PublishResponse response;
    response.mutable_acks()->Reserve(static_cast<int>(acks->size()));
    for (size_t i = 0; i < acks->size(); ++i) {
      v1::RecordAck* ack = response.add_acks();
      ack->set_partition(acks->partition(i));
      ack->set_offset(acks->offset(i));
    }
    done(absl::OkStatus(), &response);
  });
}

void Broker::PublishRecords(const PublishRequestView& request, PublishAcksDone done) {
  const auto reject = [&](absl::Status s) { done(std::move(s), nullptr); };
  absl::Status s = ValidateTopicName(request.topic);
  if (!s.ok()) return reject(s);
  const int n = static_cast<int>(request.records.size());
  if (n == 0) {
    return reject(absl::InvalidArgumentError(
        absl::StrCat("publish to topic ", Quoted(request.topic), " has no records")));
  }
  if (request.partition.has_value() && *request.partition < 0) {
    return reject(absl::InvalidArgumentError(
        absl::StrCat("partition must be >= 0, got ", *request.partition)));
  }
  // Sizes first, against the broker's limit; the topic's own limit is checked below.
  int64_t batch_bytes = 0;
  size_t largest = 0;
  for (int i = 0; i < n; ++i) {
    const RecordView& r = request.records[i];
    if (r.user_bytes > static_cast<size_t>(options_.max_record_bytes)) {
      return reject(absl::ResourceExhaustedError(absl::StrCat(
          "record ", i, " is ", r.user_bytes, " bytes (key + value + headers); the limit is ",
          options_.max_record_bytes, " bytes (--max-record-bytes)")));
    }
    if (r.timestamp_ms < 0) {
      return reject(absl::InvalidArgumentError(absl::StrCat(
          "record ", i, " has timestamp_ms ", r.timestamp_ms, "; use >= 0 (0: broker time)")));
    }
    batch_bytes += static_cast<int64_t>(r.user_bytes);
    largest = std::max(largest, r.user_bytes);
  }
  if (batch_bytes > options_.max_batch_bytes) {
    return reject(absl::ResourceExhaustedError(
        absl::StrCat("publish request holds ", batch_bytes, " bytes of records; the limit is ",
                     options_.max_batch_bytes, " bytes (--max-batch-bytes): split the batch")));
  }

  auto topic_or = TopicForPublish(request.topic);
  if (!topic_or.ok()) return reject(topic_or.status());
  std::shared_ptr<const storage::Topic> topic = *std::move(topic_or);
  const int32_t partitions = topic->meta.partitions;
  if (topic->meta.max_record_bytes > 0 &&
      largest > static_cast<size_t>(topic->meta.max_record_bytes)) {
    for (int i = 0; i < n; ++i) {
      const size_t bytes = request.records[i].user_bytes;
      if (bytes > static_cast<size_t>(topic->meta.max_record_bytes)) {
        return reject(absl::ResourceExhaustedError(
            absl::StrCat("record ", i, " is ", bytes, " bytes; topic ", Quoted(topic->meta.name),
                         " accepts at most ", topic->meta.max_record_bytes, " bytes per record")));
      }
    }
  }
  if (request.partition.has_value() && *request.partition >= partitions) {
    return reject(absl::NotFoundError(absl::StrCat("topic ", Quoted(topic->meta.name), " has ",
                                                   partitions, " partitions; partition ",
                                                   *request.partition, " does not exist")));
  }

  // Each record's partition, then each partition's records in request order.
  auto acks = std::make_shared<PublishAcks>();
  acks->record_part.resize(n);
  acks->record_index.resize(n);
  std::vector<int32_t> target(n);
  if (request.partition.has_value()) {
    std::fill(target.begin(), target.end(), *request.partition);
  } else {
    uint32_t keyless = 0;
    for (int i = 0; i < n; ++i) {
      if (request.records[i].key.empty()) ++keyless;
    }
    uint32_t next = 0;
    if (keyless > 0) {
      absl::MutexLock lock(&spread_mu_);
      uint32_t& cursor = spread_[topic->meta.id];
      next = cursor;
      cursor += keyless;
    }
    for (int i = 0; i < n; ++i) {
      const std::string_view key = request.records[i].key;
      target[i] = key.empty() ? static_cast<int32_t>(next++ % static_cast<uint32_t>(partitions))
                              : PartitionForKey(key, partitions);
    }
  }

  // Partitions in first-use order.
  std::vector<int32_t> part_of_partition(partitions, -1);
  std::vector<storage::Store::AppendPart> parts;
  const int64_t now_ms = clock_->NowMs();
  for (int i = 0; i < n; ++i) {
    int32_t& pi = part_of_partition[target[i]];
    if (pi < 0) {
      pi = static_cast<int32_t>(parts.size());
      parts.emplace_back();
      parts.back().log = topic->partitions[target[i]];
      // Room for this part's share of the request, assuming an even spread.
      parts.back().payload.reserve(
          request.partition.has_value() ? static_cast<size_t>(batch_bytes) + 16 * n : 256);
      acks->part_partition.push_back(target[i]);
    }
    storage::Store::AppendPart& part = parts[pi];
    const RecordView& r = request.records[i];
    part.max_timestamp_ms =
        std::max(part.max_timestamp_ms, r.timestamp_ms ? r.timestamp_ms : now_ms);
    AppendRecordView(r, now_ms, &part.payload);
    acks->record_part[i] = pi;
    acks->record_index[i] = part.count++;
  }

  std::shared_ptr<TopicCounters> counters = Counters(topic->meta.name);
  store_->Append(std::move(parts),
                 [done = std::move(done), acks = std::move(acks), counters, batch_bytes, n](
                     absl::Status s, const std::vector<int64_t>& bases) {
                   if (!s.ok()) {
                     done(std::move(s), nullptr);
                     return;
                   }
                   counters->records_published.fetch_add(n, std::memory_order_relaxed);
                   counters->bytes_published.fetch_add(batch_bytes, std::memory_order_relaxed);
                   acks->part_base = bases;
                   done(absl::OkStatus(), acks.get());
                 });
}

// --- read ------------------------------------------------------------------------------------

absl::StatusOr<int64_t> Broker::ResolveStart(const storage::PartitionLog& log,
                                             const v1::DirectSubscription& sub) const {
  const int64_t start = log.log_start_offset();
  const int64_t end = log.end_offset();
  switch (sub.start()) {
    case v1::START_POSITION_EARLIEST:
      return start;
    case v1::START_POSITION_LATEST:
      return end;
    case v1::START_POSITION_OFFSET: {
      const int64_t offset = sub.offset();
      if (offset < 0) {
        return absl::InvalidArgumentError(absl::StrCat("offset must be >= 0, got ", offset));
      }
      if (offset >= start && offset <= end) return offset;
      switch (sub.offset_reset()) {
        case v1::OFFSET_RESET_EARLIEST:
          return start;
        case v1::OFFSET_RESET_LATEST:
          return end;
        case v1::OFFSET_RESET_UNSPECIFIED:
        case v1::OFFSET_RESET_NONE:
          return absl::OutOfRangeError(absl::StrCat(
              "offset ", offset, " is outside partition ", log.partition(), "'s log [", start, ", ",
              end, "]; set offset_reset to EARLIEST or LATEST to start there instead"));
        default:
          return absl::InvalidArgumentError(
              absl::StrCat("unknown offset_reset ", static_cast<int>(sub.offset_reset())));
      }
    }
    case v1::START_POSITION_TIMESTAMP: {
      if (sub.timestamp_ms() < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("timestamp_ms must be >= 0, got ", sub.timestamp_ms()));
      }
      auto base = log.FindBatchByTimestamp(sub.timestamp_ms());
      if (!base.ok() || *base >= log.end_offset()) return base;
      // Refine within the batch: the first record at or after the timestamp.
      v1::SubscribeResponse batch;
      auto next =
          Read(log, *base, options_.max_subscribe_records, options_.max_subscribe_bytes, &batch);
      if (!next.ok()) return next.status();
      for (const auto& r : batch.records()) {
        if (r.timestamp_ms() >= sub.timestamp_ms()) return r.offset();
      }
      return *next;
    }
    case v1::START_POSITION_UNSPECIFIED:
      return absl::InvalidArgumentError(
          "start is unspecified: use START_POSITION_OFFSET, EARLIEST, LATEST or TIMESTAMP");
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown start position ", static_cast<int>(sub.start())));
  }
}

absl::StatusOr<int64_t> Broker::ForEachRecord(
    const storage::PartitionLog& log, int64_t from, int32_t max_records, int32_t max_bytes,
    absl::FunctionRef<absl::Status(std::string_view encoded, int64_t offset)> fn,
    size_t* payload_bytes) const {
  max_records = max_records <= 0 ? options_.max_subscribe_records
                                 : std::min(max_records, options_.max_subscribe_records);
  max_bytes = max_bytes <= 0 ? options_.max_subscribe_bytes
                             : std::min(max_bytes, options_.max_subscribe_bytes);
  std::vector<storage::StoredBatch> batches;
  absl::Status s =
      log.Read(from, static_cast<size_t>(max_records), static_cast<size_t>(max_bytes), &batches);
  if (!s.ok()) return s;
  if (payload_bytes != nullptr) {
    *payload_bytes = 0;
    for (const auto& batch : batches) *payload_bytes += batch.payload.size();
  }
  int64_t next = from;
  int32_t records = 0;
  size_t bytes = 0;
  for (const auto& batch : batches) {
    RecordReader reader(batch.payload);
    std::string_view encoded;
    int64_t offset = batch.base_offset;
    for (; reader.Next(&encoded); ++offset) {
      if (offset < from) continue;
      if (records > 0 &&
          (records >= max_records || bytes + encoded.size() > static_cast<size_t>(max_bytes))) {
        return next;
      }
      s = fn(encoded, offset);
      if (!s.ok()) return s;
      ++records;
      bytes += encoded.size();
      next = offset + 1;
    }
    if (!reader.status().ok()) return reader.status();
  }
  return next;
}

absl::StatusOr<int64_t> Broker::Read(const storage::PartitionLog& log, int64_t from,
                                     int32_t max_records, int32_t max_bytes,
                                     v1::SubscribeResponse* out) const {
  out->set_partition(log.partition());
  out->set_end_offset(log.end_offset());
  return ForEachRecord(
      log, from, max_records, max_bytes,
      [&](std::string_view encoded, int64_t offset) {
        v1::Record* r = out->add_records();
        if (!r->ParseFromArray(encoded.data(), static_cast<int>(encoded.size()))) {
          return absl::DataLossError(absl::StrCat("stored record at offset ", offset,
                                                  " of partition ", log.partition(),
                                                  " cannot be decoded"));
        }
        r->set_offset(offset);
        return absl::OkStatus();
      },
      nullptr);
}

absl::StatusOr<int64_t> Broker::ReadEncoded(const storage::PartitionLog& log, int64_t from,
                                            int32_t max_records, int32_t max_bytes,
                                            std::string* out, int32_t* records) const {
  *records = 0;
  size_t payload = 0;
  const size_t start = out->size();
  auto next = ForEachRecord(
      log, from, max_records, max_bytes,
      [&](std::string_view encoded, int64_t offset) {
        // The first call knows the size of what was read: room for it all at once.
        if (*records == 0) out->reserve(start + payload + payload / 8 + 16);
        AppendRecordWithOffset(encoded, offset, out);
        ++*records;
        return absl::OkStatus();
      },
      &payload);
  return next;
}

}  // namespace ferry::broker
