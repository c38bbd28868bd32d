// InitProducerId (key 22, v0-4; v2+ flexible): its request and response, their wire format
// (producer_id_codec.cc, pure) and its handler (producer_id.cc), which gets an idempotent
// producer's id and epoch from the engine. Transactional ids are refused: Ferry has no
// transactions. Also the peek at a Produce's record batch header that tells an idempotent or
// transactional batch. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_PRODUCER_ID_H_
#define FERRY_SERVER_KAFKA_PRODUCER_ID_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct InitProducerIdRequest {
  std::optional<std::string> transactional_id;
  int32_t transaction_timeout_ms = 0;
  int64_t producer_id = -1;     // v3+
  int16_t producer_epoch = -1;  // v3+
};

struct InitProducerIdResponse {
  int16_t error_code = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

InitProducerIdRequest DecodeInitProducerIdRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const InitProducerIdResponse& r);

Result HandleInitProducerId(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string InitProducerIdErrorResponse(const RequestHeader& header, int16_t error_code);

// What the header of the first record batch of a Produce's records says about its producer.
struct BatchProducer {
  bool v2 = false;  // magic 2 (older formats carry no producer)
  int16_t attributes = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int batches = 0;  // entries (batches or messages) in the records, counted by their lengths
  // Entries by the codec of their attributes (Codec: none, gzip, snappy, lz4, zstd); entries
  // too short to have attributes or with an unknown codec are not counted.
  std::array<int, 5> by_codec{};
  bool transactional() const { return (attributes & 0x10) != 0; }
  bool idempotent() const { return v2 && producer_id >= 0; }
};
// Reads only fixed header fields; a malformed batch is left for the records decoder to refuse.
BatchProducer PeekBatchProducer(std::string_view records);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_PRODUCER_ID_H_
