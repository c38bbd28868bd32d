// KafkaObserver: what the Kafka door reports as it serves, for metrics (requests by API,
// version and error code with their latency, connections, bytes). The door keeps no metrics
// state of its own; ferryd passes the metrics module's implementation, tests pass none.
// Implementations must be thread-safe and fast: they are called on every request and read.
#ifndef FERRY_SERVER_KAFKA_OBSERVER_H_
#define FERRY_SERVER_KAFKA_OBSERVER_H_

#include <cstdint>
#include <string_view>

#include "absl/time/time.h"

namespace ferry::kafka {

// The group label Kafka Fetch readers give the engine (Broker::OpenReader) when no group
// member with the Fetch's client id and host owns the partition (a Fetch does not name its
// group): its deliveries are counted apart (ferry_kafka_records_fetched_total), neither as a
// group's nor as a direct gRPC subscriber's. Not a label a group can
// have: group readers pass their group's name, which the coordinator never starts with \x01.
inline constexpr std::string_view kKafkaFetchReaderLabel = "\x01kafka-fetch";

class KafkaObserver {
 public:
  virtual ~KafkaObserver() = default;
  // A request was served. `api` is Kafka's name of the API ("Unknown" for a key not served),
  // `version` its version ("unsupported" outside the served range, so the label set stays
  // bounded), `code` the response's Kafka error code ("0" for none; see ResponseErrorCode),
  // "none" when no response is due (acks=0) or "closed" when the request closed its
  // connection. `latency`: from the frame's arrival to the response (queueing included).
  virtual void OnRequest(std::string_view api, std::string_view version, std::string_view code,
                         absl::Duration latency) = 0;
  virtual void OnConnectionOpened() = 0;
  virtual void OnConnectionClosed() = 0;
  // A new connection was closed at once; `reason` is "max_connections" or
  // "max_connections_per_ip".
  virtual void OnConnectionRejected(std::string_view reason) = 0;
  virtual void OnBytesReceived(int64_t bytes) = 0;
  virtual void OnBytesSent(int64_t bytes) = 0;
  // Produce stored `batches` record batches (or legacy wrapper messages) that came compressed
  // with `codec` ("none", "gzip", "snappy", "lz4", "zstd"): whether clients really compress.
  virtual void OnProducedBatches(std::string_view /*codec*/, int64_t /*batches*/) {}
  // A SASL authentication on `listener` with `mechanism` ("unsupported" for one not enabled)
  // succeeded or failed.
  virtual void OnAuthentication(std::string_view /*listener*/, std::string_view /*mechanism*/,
                                bool /*ok*/) {}
  // A request on `listener` was refused `operation` (security::Name: "write", "read"...) by the
  // authorizer.
  virtual void OnAuthorizationDenied(std::string_view /*listener*/,
                                     std::string_view /*operation*/) {}
};

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_OBSERVER_H_
