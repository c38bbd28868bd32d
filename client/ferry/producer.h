// ferry::Producer: publishes records asynchronously, batching them per partition.
//
// Send() hands a record to the producer and returns at once (or blocks while the buffer is
// full, by option). Records are grouped per partition and sent when a batch reaches
// `batch_records` / `batch_bytes` or has waited `linger`; one PublishStream carries every batch
// with many in flight, and acks come back in order. A batch that fails with UNAVAILABLE (broker
// restarting) is retried, in order: a partition's records are never reordered, because a
// partition never has a later batch in flight while an earlier one is being retried.
//
// The producer picks each record's partition itself: the one set on the record, else Kafka's
// murmur2 of the key modulo the topic's partition count (as the broker would), else, for
// keyless records, one partition per batch in turn (sticky). It learns partition counts with
// Admin.DescribeTopic, once per topic; a topic that does not exist yet gets its first records
// published without a partition, so that the broker creates it (--auto-create-topics).
// Delivery is at least once: a batch whose ack was lost in a broken stream is sent again.
//
// Thread-safe: Send, Flush and Close may be called from any thread.
#ifndef FERRY_CLIENT_FERRY_PRODUCER_H_
#define FERRY_CLIENT_FERRY_PRODUCER_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/ferry/tls.h"

namespace ferry {

struct ProducerRecord {
  std::string topic;
  std::string key;  // empty and !has_key: a null key (keyless, spread over partitions)
  std::string value;
  // Set with an empty `key`: send an empty key (not null), which murmur2("") places, as in
  // Kafka. A non-empty key is always sent.
  bool has_key = false;
  // Set: send no value at all (null, a Kafka tombstone); `value` is ignored. Otherwise the
  // value is sent even when empty, and Kafka consumers see an empty value, not null.
  bool null_value = false;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t timestamp_ms = 0;          // 0: the broker's time
  std::optional<int32_t> partition;  // set: this partition; else Kafka's murmur2 of the key
};

struct RecordMetadata {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

struct ProducerOptions {
  std::string broker = "127.0.0.1:50051";
  TlsOptions tls;           // plaintext unless tls.enabled
  Credentials credentials;  // user and password, when the broker checks them
  absl::Duration linger = absl::Milliseconds(5);
  int batch_records = 1000;
  int64_t batch_bytes = 1 << 20;
  // Records buffered (not yet acknowledged) at most; Send blocks or fails when full.
  int64_t buffer_records = 100000;
  bool block_when_full = true;  // false: Send fails fast with RESOURCE_EXHAUSTED
  // How long a batch is retried on UNAVAILABLE before it fails.
  absl::Duration retry_timeout = absl::Seconds(30);
  int max_in_flight_batches = 64;
};

class Producer {
 public:
  using Callback = std::function<void(const absl::StatusOr<RecordMetadata>&)>;

  // Checks the options (INVALID_ARGUMENT) and starts the producer's threads. Does not contact
  // the broker: the first batch connects, and reconnects follow the broker.
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const ProducerOptions& options);
  virtual ~Producer() = default;  // Close()s.

  // Queues a record; the callback runs once it is acknowledged or failed, on a producer thread
  // (keep it short: acks wait for it). A record rejected at once (no topic, negative
  // partition: INVALID_ARGUMENT; closed producer: FAILED_PRECONDITION; full buffer with
  // !block_when_full: RESOURCE_EXHAUSTED) gets its callback inline, on the calling thread.
  // Blocks while the buffer is full when block_when_full, except when called from a producer
  // callback: there it never blocks (it may exceed buffer_records). `callback` may be empty.
  virtual void Send(ProducerRecord record, Callback callback) = 0;
  // Send with a future instead of a callback; the same blocking rules.
  std::future<absl::StatusOr<RecordMetadata>> Send(ProducerRecord record);

  // Sends every record buffered before the call at once (linger is cut short) and blocks until
  // each is acknowledged or failed and its callback has run: at most about retry_timeout when
  // the broker is down. Records sent meanwhile by other threads are not waited for. Returns OK
  // (each record's outcome goes to its callback), or FAILED_PRECONDITION when called from a
  // producer callback, which would wait for itself.
  virtual absl::Status Flush() = 0;
  // Flushes, then stops the producer's threads; blocks like Flush. Sends blocked on a full
  // buffer, and later Sends, fail with FAILED_PRECONDITION. Idempotent; FAILED_PRECONDITION
  // from a producer callback.
  virtual absl::Status Close() = 0;
};

}  // namespace ferry

#endif  // FERRY_CLIENT_FERRY_PRODUCER_H_
