#include "server/broker/broker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/partitioner.h"
#include "server/broker/record_codec.h"
#include "server/broker/validation.h"
#include "server/log.h"

namespace ferry::broker {
namespace {

std::string Quoted(std::string_view s) { return absl::StrCat("'", std::string(s), "'"); }

}  // namespace

Broker::Broker(const BrokerOptions& options, const Clock* clock, EngineObserver* observer,
               std::unique_ptr<storage::Store> store)
    : options_(options), clock_(clock), observer_(observer), store_(std::move(store)) {}

absl::StatusOr<std::unique_ptr<Broker>> Broker::Open(const BrokerOptions& options,
                                                     const Clock* clock, EngineObserver* observer) {
  storage::StoreOptions store_options = options.store;
  store_options.clock = clock;  // one clock for the engine and its storage
  auto store = storage::Store::Open(store_options);
  if (!store.ok()) return store.status();
  std::unique_ptr<Broker> broker(new Broker(options, clock, observer, *std::move(store)));
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

absl::StatusOr<int64_t> Broker::DeleteRecords(std::string_view topic, int32_t partition,
                                              int64_t offset) {
  auto log = GetPartition(topic, partition);
  if (!log.ok()) return log.status();
  if (offset < -1) {
    return absl::OutOfRangeError(
        absl::StrCat("offset must be >= 0, or -1 for the end offset; got ", offset));
  }
  if (offset == -1) offset = (*log)->end_offset();
  auto start = store_->DeleteRecordsBefore(**log, offset);
  if (start.ok()) {
    log::Event(log::Level::kInfo, "records_deleted",
               {{"topic", std::string(topic)},
                {"partition", std::to_string(partition)},
                {"log_start_offset", std::to_string(*start)}});
  }
  return start;
}

absl::StatusOr<int64_t> Broker::EnforceRetention() {
  return store_->EnforceRetention(clock_->NowMs());
}

// --- topics ----------------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const storage::Topic>> Broker::CreateTopic(
    std::string_view name, int32_t partitions, const TopicConfig& config) {
  absl::Status s = ValidateTopicName(name);
  if (s.ok()) s = CheckTopicNameNotReserved(name);
  if (!s.ok()) return s;
  if (partitions == 0) partitions = options_.default_partitions;
  if (partitions < 0 || partitions > options_.max_partitions) {
    return absl::InvalidArgumentError(absl::StrCat("partitions must be between 1 and ",
                                                   options_.max_partitions, ", got ", partitions));
  }
  s = ValidateTopicConfig(config);
  if (!s.ok()) return s;
  storage::TopicMeta meta;
  meta.name = std::string(name);
  meta.partitions = partitions;
  meta.retention_ms = config.retention_ms;
  meta.retention_bytes = config.retention_bytes;
  meta.max_record_bytes = config.max_record_bytes;
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

absl::Status Broker::ValidateTopicConfig(const TopicConfig& config) const {
  if (config.retention_ms < 0 || config.retention_bytes < 0 || config.max_record_bytes < 0) {
    return absl::InvalidArgumentError(
        "retention_ms, retention_bytes and max_record_bytes must be >= 0 (0: default)");
  }
  if (config.max_record_bytes > options_.max_record_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_record_bytes ", config.max_record_bytes, " is above the broker's limit of ",
        options_.max_record_bytes, " (--max-record-bytes)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TopicInfo> Broker::AlterTopicConfig(std::string_view name,
                                                   const TopicConfigChange& change,
                                                   bool validate_only) {
  absl::Status s = ValidateTopicName(name);
  if (!s.ok()) return s;
  auto updated = store_->UpdateTopicSettings(
      name,
      [&](storage::TopicMeta* settings) {
        if (change.retention_ms) settings->retention_ms = *change.retention_ms;
        if (change.retention_bytes) settings->retention_bytes = *change.retention_bytes;
        if (change.max_record_bytes) settings->max_record_bytes = *change.max_record_bytes;
        return ValidateTopicConfig(
            {settings->retention_ms, settings->retention_bytes, settings->max_record_bytes});
      },
      validate_only);
  if (!updated.ok()) {
    if (absl::IsNotFound(updated.status())) {
      return absl::NotFoundError(absl::StrCat("topic ", Quoted(name), " does not exist"));
    }
    return updated.status();
  }
  if (validate_only) return Describe(**updated);
  log::Event(log::Level::kInfo, "topic_config_changed",
             {{"topic", (*updated)->meta.name},
              {"retention_ms", std::to_string((*updated)->meta.retention_ms)},
              {"retention_bytes", std::to_string((*updated)->meta.retention_bytes)},
              {"max_record_bytes", std::to_string((*updated)->meta.max_record_bytes)}});
  if (change.retention_ms || change.retention_bytes) {
    auto removed = store_->EnforceRetention(clock_->NowMs(), (*updated)->meta.name);
    if (!removed.ok()) {
      // The setting is stored; the periodic pass retries.
      log::Event(log::Level::kError, "retention_failed",
                 {{"error", std::string(removed.status().message())}});
    }
  }
  return Describe(**updated);
}

absl::Status Broker::DeleteTopic(std::string_view name) {
  absl::Status s = ValidateTopicName(name);
  if (!s.ok()) return s;
  s = store_->DeleteTopic(name);
  if (!s.ok()) return s;
  log::Event(log::Level::kInfo, "topic_deleted", {{"topic", std::string(name)}});
  if (topics_changed_) topics_changed_();
  if (observer_ != nullptr) observer_->OnTopicDeleted(name);
  return absl::OkStatus();
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

std::shared_ptr<const storage::Topic> Broker::FindTopic(std::string_view name) const {
  return store_->FindTopic(name);
}

std::shared_ptr<const storage::Topic> Broker::FindTopicByUuid(
    const storage::TopicUuid& uuid) const {
  return store_->FindTopicByUuid(uuid);
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

TopicInfo Broker::Describe(const storage::Topic& topic) const {
  TopicInfo info;
  info.name = topic.meta.name;
  info.topic_id = topic.meta.uuid;
  info.partitions = topic.meta.partitions;
  info.config.retention_ms = topic.meta.retention_ms;
  info.config.retention_bytes = topic.meta.retention_bytes;
  info.config.max_record_bytes =
      topic.meta.max_record_bytes > 0 ? topic.meta.max_record_bytes : options_.max_record_bytes;
  return info;
}

// --- publish ---------------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const storage::Topic>> Broker::FindOrCreateTopic(
    std::string_view name) {
  absl::Status s = ValidateTopicName(name);
  if (!s.ok()) return s;
  auto topic = store_->FindTopic(name);
  if (topic != nullptr) return topic;
  if (!options_.auto_create_topics) {
    return absl::NotFoundError(
        absl::StrCat("topic ", Quoted(name),
                     " does not exist and auto-creation is off (--auto-create-topics=false); "
                     "create it with Admin.CreateTopic"));
  }
  auto created = CreateTopic(name, 0, TopicConfig());
  if (created.ok() || !absl::IsAlreadyExists(created.status())) return created;
  // Another caller created it first.
  topic = store_->FindTopic(name);
  if (topic == nullptr) return absl::UnavailableError("topic was deleted while being created");
  return topic;
}

void Broker::Publish(const PublishBatch& request, PublishDone done) {
  const auto reject = [&](absl::Status s) { done(std::move(s), nullptr); };
  absl::Status s = ValidateTopicName(request.topic);
  if (!s.ok()) return reject(s);
  const int n = static_cast<int>(request.records.size());
  if (n == 0) {
    return reject(absl::InvalidArgumentError(
        absl::StrCat("publish to topic ", Quoted(request.topic), " has no records")));
  }
  if (request.sequence.has_value() && !request.partition.has_value()) {
    return reject(absl::InvalidArgumentError(
        "an idempotent publish must name its partition: sequence numbers are per partition"));
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

  auto topic_or = FindOrCreateTopic(request.topic);
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
    // As Kafka's default partitioner: a null key is spread, any other key (empty included)
    // goes to murmur2(key).
    uint32_t keyless = 0;
    for (int i = 0; i < n; ++i) {
      if (!request.records[i].has_key) ++keyless;
    }
    uint32_t next = 0;
    if (keyless > 0) {
      absl::MutexLock lock(&spread_mu_);
      uint32_t& cursor = spread_[topic->meta.id];
      next = cursor;
      cursor += keyless;
    }
    for (int i = 0; i < n; ++i) {
      const RecordView& r = request.records[i];
      target[i] = !r.has_key ? static_cast<int32_t>(next++ % static_cast<uint32_t>(partitions))
                             : PartitionForKey(r.key, partitions);
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
  if (request.sequence.has_value()) {
    storage::ProducerAppend& producer = parts.front().producer;  // the one partition
    producer.producer_id = request.sequence->producer.id;
    producer.epoch = request.sequence->producer.epoch;
    producer.base_sequence = request.sequence->base_sequence;
  }

  store_->Append(std::move(parts),
                 [this, done = std::move(done), acks = std::move(acks), topic, batch_bytes, n](
                     absl::Status s, const std::vector<int64_t>& bases) {
                   if (!s.ok()) {
                     done(std::move(s), nullptr);
                     return;
                   }
                   if (observer_ != nullptr)
                     observer_->OnPublished(topic->meta.name, n, batch_bytes);
                   acks->part_base = bases;
                   done(absl::OkStatus(), acks.get());
                 });
}

// --- read ------------------------------------------------------------------------------------

absl::StatusOr<int64_t> Broker::ResolveStart(const storage::PartitionLog& log,
                                             const StartPosition& start_at,
                                             OffsetReset reset) const {
  const int64_t start = log.log_start_offset();
  const int64_t end = log.end_offset();
  switch (start_at.kind) {
    case StartPosition::Kind::kEarliest:
      return start;
    case StartPosition::Kind::kLatest:
      return end;
    case StartPosition::Kind::kOffset: {
      const int64_t offset = start_at.offset;
      if (offset < 0) {
        return absl::InvalidArgumentError(absl::StrCat("offset must be >= 0, got ", offset));
      }
      if (offset >= start && offset <= end) return offset;
      switch (reset) {
        case OffsetReset::kEarliest:
          return start;
        case OffsetReset::kLatest:
          return end;
        case OffsetReset::kNone:
          break;
      }
      return absl::OutOfRangeError(absl::StrCat(
          "offset ", offset, " is outside partition ", log.partition(), "'s log [", start, ", ",
          end, "]; set offset_reset to EARLIEST or LATEST to start there instead"));
    }
    case StartPosition::Kind::kTimestamp: {
      auto match = FindOffsetForTimestamp(log, start_at.timestamp_ms);
      if (!match.ok()) return match.status();
      return match->offset;
    }
  }
  return absl::InvalidArgumentError("unknown start position");
}

absl::StatusOr<Broker::TimestampMatch> Broker::FindOffsetForTimestamp(
    const storage::PartitionLog& log, int64_t timestamp_ms) const {
  if (timestamp_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("timestamp_ms must be >= 0, got ", timestamp_ms));
  }
  auto base = log.FindBatchByTimestamp(timestamp_ms);
  if (!base.ok()) return base.status();
  TimestampMatch match{*base, -1};
  if (*base >= log.end_offset()) return match;
  // Refine within the batch: the first record at or after the timestamp.
  auto next = ForEachRecord(log, *base, 0, 0, [&](std::string_view encoded, int64_t offset) {
    RecordView view;
    absl::Status s = ParseRecordView(encoded, &view);
    if (!s.ok()) return s;
    if (view.timestamp_ms < timestamp_ms) return absl::OkStatus();
    match = {offset, view.timestamp_ms};
    return absl::CancelledError();  // found: stop reading
  });
  if (match.timestamp_ms >= 0) return match;
  if (!next.ok()) return next.status();
  match.offset = *next;
  return match;
}

absl::StatusOr<Broker::TimestampMatch> Broker::FindMaxTimestamp(
    const storage::PartitionLog& log) const {
  auto batch = log.FindMaxTimestampBatch();
  if (!batch.ok()) return batch.status();
  TimestampMatch match{-1, -1};
  if (batch->count == 0) return match;
  // The batch's records: the first with the largest timestamp (records below the log start,
  // in a batch cut by DeleteRecords, are not read).
  const int64_t batch_end = batch->base_offset + batch->count;
  const int64_t from = std::max(batch->base_offset, log.log_start_offset());
  auto next = ForEachRecord(log, from, 0, 0, [&](std::string_view encoded, int64_t offset) {
    if (offset >= batch_end) return absl::CancelledError();  // past the batch: done
    RecordView view;
    absl::Status s = ParseRecordView(encoded, &view);
    if (!s.ok()) return s;
    if (match.offset < 0 || view.timestamp_ms > match.timestamp_ms) {
      match = {offset, view.timestamp_ms};
    }
    return absl::OkStatus();
  });
  if (!next.ok() && !absl::IsCancelled(next.status())) return next.status();
  return match;
}

absl::StatusOr<TailReader> Broker::OpenReader(std::string_view topic, int32_t partition,
                                              const StartPosition& start, OffsetReset reset,
                                              std::string group) const {
  auto log = GetPartition(topic, partition);
  if (!log.ok()) return log.status();
  auto next = ResolveStart(**log, start, reset);
  if (!next.ok()) return next.status();
  return TailReader(this, std::string(topic), std::move(group), *std::move(log), *next, reset);
}

absl::StatusOr<int64_t> Broker::ForEachRecord(
    const storage::PartitionLog& log, int64_t from, int32_t max_records, int32_t max_bytes,
    absl::FunctionRef<absl::Status(std::string_view encoded, int64_t offset)> fn) const {
  max_records = max_records <= 0 ? options_.max_subscribe_records
                                 : std::min(max_records, options_.max_subscribe_records);
  max_bytes = max_bytes <= 0 ? options_.max_subscribe_bytes
                             : std::min(max_bytes, options_.max_subscribe_bytes);
  std::vector<storage::StoredBatch> batches;
  absl::Status s =
      log.Read(from, static_cast<size_t>(max_records), static_cast<size_t>(max_bytes), &batches);
  if (!s.ok()) return s;
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

}  // namespace ferry::broker
