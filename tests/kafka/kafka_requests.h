// Request bodies and answers the Kafka tests share, encoded and decoded by hand from Kafka's
// schemas (not with Ferry's codecs, so a codec bug cannot hide in both). Header-only.
#ifndef FERRY_TESTS_KAFKA_KAFKA_REQUESTS_H_
#define FERRY_TESTS_KAFKA_KAFKA_REQUESTS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "server/kafka/wire.h"

namespace ferry::kafka::ktest {

// A Produce body (v0-8, not flexible) with one partition's `records`.
inline std::string ProduceBody(int16_t version, const std::string& topic, int32_t partition,
                               const std::string& records, int16_t acks = -1,
                               std::optional<std::string> transactional_id = std::nullopt) {
  std::string body;
  Writer w(&body);
  if (version >= 3) w.NullableString(transactional_id);
  w.Int16(acks);
  w.Int32(10000);
  w.ArrayCount(1);
  w.String(topic);
  w.ArrayCount(1);
  w.Int32(partition);
  w.BytesField(records);
  return body;
}

struct ProduceResult {
  int16_t error = -100;
  int64_t base_offset = -1;
};

// A Produce answer (v0-7) of one topic and partition; expects exactly that, read to the end.
inline ProduceResult ParseProduce(int16_t version, const std::string& body) {
  Reader r(body);
  ProduceResult out;
  EXPECT_EQ(r.ArrayCount(), 1);
  r.String();
  EXPECT_EQ(r.ArrayCount(), 1);
  r.Int32();
  out.error = r.Int16();
  out.base_offset = r.Int64();
  if (version >= 2) r.Int64();  // log_append_time
  if (version >= 5) r.Int64();  // log_start_offset
  if (version >= 1) r.Int32();
  EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
  return out;
}

}  // namespace ferry::kafka::ktest

#endif  // FERRY_TESTS_KAFKA_KAFKA_REQUESTS_H_
