// __consumer_offsets: reads the broker's committed-offsets log and encodes its entries as
// Kafka's offset commit records; the log's sequences are the topic's offsets (with gaps,
// as in a compacted Kafka log). Thread-safe.
#include "server/kafka/consumer_offsets.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "server/broker/broker.h"
#include "server/kafka/records.h"
#include "server/kafka/wire.h"
#include "storage/offset_store.h"

namespace ferry::kafka {

const Uuid& ConsumerOffsetsTopicId() {
  // Any non-zero constant: Ferry has one such topic per broker.
  static const Uuid id = {0xfe, 0x77, 0x79, 0x5f, 0x63, 0x6f, 0x6e, 0x73,
                          0x75, 0x6d, 0x65, 0x72, 0x5f, 0x6f, 0x66, 0x66};
  return id;
}

std::string EncodeOffsetCommitKey(std::string_view group, std::string_view topic,
                                  int32_t partition) {
  std::string out;
  Writer w(&out);
  w.Int16(1);
  w.String(group);
  w.String(topic);
  w.Int32(partition);
  return out;
}

std::string EncodeOffsetCommitValue(int64_t offset, std::string_view metadata,
                                    int64_t commit_timestamp_ms) {
  std::string out;
  Writer w(&out);
  w.Int16(3);
  w.Int64(offset);
  w.Int32(-1);  // leader epoch: not kept
  w.String(metadata);
  w.Int64(commit_timestamp_ms);
  return out;
}

ConsumerOffsetsRead ReadConsumerOffsets(broker::Broker& broker, int16_t fetch_version,
                                        int32_t partition, int64_t fetch_offset,
                                        int64_t max_bytes) {
  ConsumerOffsetsRead out;
  storage::OffsetStore& store = broker.offsets();
  if (partition < 0 || partition >= store.log_partitions()) {
    out.error_code = error::kUnknownTopicOrPartition;
    return out;
  }
  auto read =
      store.ReadLog(partition, fetch_offset, static_cast<size_t>(std::max<int64_t>(1, max_bytes)));
  if (!read.ok()) {
    out.error_code = error::kUnknownServerError;
    return out;
  }
  if (fetch_offset < 0 || fetch_offset > read->end) {
    out.error_code = error::kOffsetOutOfRange;
    return out;
  }
  out.high_watermark = read->end;
  out.log_start_offset = 0;
  const std::vector<storage::OffsetLogEntry>& entries = read->entries;
  // Keys and values encoded first, so the records can view them.
  std::vector<std::string> keys;
  std::vector<std::string> values;
  keys.reserve(entries.size());
  values.reserve(entries.size());
  for (const storage::OffsetLogEntry& e : entries) {
    keys.push_back(EncodeOffsetCommitKey(e.group, e.topic, e.partition));
    values.push_back(e.value.has_value()
                         ? EncodeOffsetCommitValue(e.value->offset, e.value->metadata,
                                                   e.value->commit_timestamp_ms)
                         : std::string());
  }
  const int64_t now_ms = broker.clock().NowMs();
  std::vector<FetchedRecord> records(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const storage::OffsetLogEntry& e = entries[i];
    records[i].offset = e.sequence;
    records[i].fields.key = keys[i];
    records[i].fields.value = values[i];
    records[i].fields.has_key = true;
    records[i].fields.has_value = e.value.has_value();  // a tombstone's value is null
    records[i].fields.timestamp_ms = e.value.has_value() ? e.value->commit_timestamp_ms : now_ms;
  }
  if (fetch_version >= 4) {
    // The batch spans everything read, gaps at its end included (entries superseded or
    // tombstones gone after a restart), so the consumer's next fetch starts past them, as
    // after Kafka's log cleaner; a read of gaps only is an empty batch.
    if (read->covered > fetch_offset) {
      EncodeCompactedRecordBatch(fetch_offset, read->covered - 1, records, &out.records);
    }
  } else if (!records.empty()) {
    // Message sets carry each record's offset, and nothing for a gap at the end.
    EncodeMessageSet(fetch_version >= 2 ? 1 : 0, records, &out.records);
  }
  return out;
}

ConsumerOffsetsListed ListConsumerOffsets(broker::Broker& broker, int32_t partition,
                                          int64_t timestamp) {
  ConsumerOffsetsListed out;
  storage::OffsetStore& store = broker.offsets();
  if (partition < 0 || partition >= store.log_partitions()) {
    out.error_code = error::kUnknownTopicOrPartition;
    return out;
  }
  if (timestamp == -1) {
    out.offset = store.LogEnd(partition);
    return out;
  }
  if (timestamp == -2) {
    out.offset = 0;
    return out;
  }
  // By commit time: the whole partition (one entry per group, topic and partition).
  auto read = store.ReadLog(partition, 0, SIZE_MAX);
  if (!read.ok()) {
    out.error_code = error::kUnknownServerError;
    return out;
  }
  for (const storage::OffsetLogEntry& e : read->entries) {
    if (!e.value.has_value()) continue;
    const int64_t ts = e.value->commit_timestamp_ms;
    if (timestamp == -3) {
      if (ts > out.timestamp) {
        out.offset = e.sequence;
        out.timestamp = ts;
      }
    } else if (ts >= timestamp) {
      out.offset = e.sequence;
      out.timestamp = ts;
      break;
    }
  }
  return out;
}

}  // namespace ferry::kafka
