// Compressed produce through a real ferryd's Kafka listener: a batch in each codec at Produce
// v3 (zstd refused there with UNSUPPORTED_COMPRESSION_TYPE, as Kafka does before v7, and taken
// at v7), fetched
// back uncompressed through the Kafka door and read through the gRPC door; corrupt and bomb
// batches get their error codes and leave the connection usable.
#include <string>
#include <vector>

#include "compressed_batch.h"
#include "ferry/v1/ferry.pb.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"
#include "kafka/kafka_conn.h"
#include "kafka/kafka_requests.h"
#include "server/broker/types.h"
#include "server/kafka/api.h"
#include "server/kafka/compression.h"
#include "server/kafka/protocol.h"
#include "server/kafka/records.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using ktest::KafkaConn;
using ktest::ParseProduce;
using ktest::ProduceBody;

// Fetch v4 of one partition from `offset`; returns the records of the answer, decoded.
std::vector<std::string> FetchValues(KafkaConn& conn, const std::string& topic, int64_t offset,
                                     int16_t* error) {
  std::string body;
  Writer w(&body);
  w.Int32(-1);
  w.Int32(0);  // max wait
  w.Int32(0);  // min bytes
  w.Int32(1 << 20);
  w.Int8(0);
  w.ArrayCount(1);
  w.String(topic);
  w.ArrayCount(1);
  w.Int32(0);
  w.Int64(offset);
  w.Int32(1 << 20);
  auto answer = conn.Call(kFetch, 4, body);
  EXPECT_TRUE(answer.has_value());
  std::vector<std::string> values;
  if (!answer) return values;
  Reader r(*answer);
  r.Int32();
  EXPECT_EQ(r.ArrayCount(), 1);
  r.String();
  EXPECT_EQ(r.ArrayCount(), 1);
  r.Int32();
  *error = r.Int16();
  r.Int64();
  r.Int64();
  r.Int32();
  const std::string_view records = r.BytesField();
  EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
  // Served uncompressed: the test's decoder refuses any compressed batch.
  std::vector<broker::RecordFields> decoded;
  const absl::Status s = DecodeProduceRecords(records, &decoded);
  EXPECT_TRUE(s.ok()) << s;
  for (const auto& d : decoded) values.emplace_back(d.value);
  return values;
}

class KafkaCompressionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start({"--max-batch-bytes=4194304", "--log-level=debug"}));
    ASSERT_TRUE(conn_.Connect(ferryd_.kafka_port()));
  }

  int16_t Produce(const std::string& topic, const std::string& records, int64_t* base = nullptr,
                  int16_t version = 3) {
    auto body = conn_.Call(kProduce, version, ProduceBody(version, topic, 0, records));
    EXPECT_TRUE(body.has_value());
    if (!body) return -100;
    const ktest::ProduceResult r = ParseProduce(version, *body);
    if (base != nullptr) *base = r.base_offset;
    return r.error;
  }

  FerrydProcess ferryd_;
  KafkaConn conn_;
};

std::vector<std::string> Values(const std::string& tag, int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i)
    v.push_back(tag + " record " + std::to_string(i) + std::string(80, 'x'));
  return v;
}

TEST_F(KafkaCompressionTest, EachCodecAtProduceV3FetchesBackAndReadsFromGrpc) {
  auto admin = ferryd_.admin();
  ASSERT_TRUE(integration::CreateTopic(*admin, "comp", 1).ok());
  struct Case {
    const char* name;
    Codec codec;
    bool xerial;
  };
  const Case kCases[] = {{"gzip", Codec::kGzip, false},
                         {"snappy", Codec::kSnappy, false},
                         {"xerial", Codec::kSnappy, true},
                         {"lz4", Codec::kLz4, false}};
  std::vector<std::string> all;
  for (const Case& c : kCases) {
    const std::vector<std::string> values = Values(c.name, 50);
    int64_t base = -1;
    ASSERT_EQ(Produce("comp", ktest::ValuesBatch(values, c.codec, c.xerial), &base), 0) << c.name;
    EXPECT_EQ(base, static_cast<int64_t>(all.size())) << c.name;
    all.insert(all.end(), values.begin(), values.end());
  }
  // A legacy gzip wrapper message (magic 1) too.
  const std::vector<std::string> legacy = Values("legacy", 3);
  ASSERT_EQ(Produce("comp", ktest::CompressedMessageSet(1, legacy, Codec::kGzip)), 0);
  all.insert(all.end(), legacy.begin(), legacy.end());

  // zstd needs Produce v7: refused at v3, and nothing stored.
  EXPECT_EQ(Produce("comp", ktest::ValuesBatch(Values("zstd", 5), Codec::kZstd)),
            error::kUnsupportedCompressionType);
  // At v7 it is taken, and lands right after what came before.
  const std::vector<std::string> zstd = Values("zstd", 40);
  int64_t zstd_base = -1;
  ASSERT_EQ(Produce("comp", ktest::ValuesBatch(zstd, Codec::kZstd), &zstd_base, 7), 0);
  EXPECT_EQ(zstd_base, static_cast<int64_t>(all.size()));
  all.insert(all.end(), zstd.begin(), zstd.end());

  std::vector<std::string> fetched;
  while (fetched.size() < all.size()) {
    int16_t error = -1;
    const std::vector<std::string> got =
        FetchValues(conn_, "comp", static_cast<int64_t>(fetched.size()), &error);
    ASSERT_EQ(error, 0);
    ASSERT_FALSE(got.empty());
    fetched.insert(fetched.end(), got.begin(), got.end());
  }
  EXPECT_EQ(fetched, all);

  auto broker = ferryd_.broker();
  const std::vector<v1::Record> read =
      integration::ReadRange(*broker, "comp", 0, 0, static_cast<int64_t>(all.size()));
  ASSERT_EQ(read.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(read[i].value(), all[i]) << i;
  EXPECT_EQ(integration::EndOffsets(*admin, "comp"),
            std::vector<int64_t>{static_cast<int64_t>(all.size())});
}

TEST_F(KafkaCompressionTest, CorruptAndBombBatchesGetErrorsAndTheConnectionLives) {
  auto admin = ferryd_.admin();
  ASSERT_TRUE(integration::CreateTopic(*admin, "bad", 1).ok());
  // Corrupt lz4 bytes under a valid CRC: CORRUPT_MESSAGE.
  std::string corrupt = ktest::ValuesBatch(Values("c", 20), Codec::kLz4);
  for (size_t i = ktest::kBatchRecordsAt + 20; i < ktest::kBatchRecordsAt + 40; ++i) {
    corrupt[i] ^= 0x33;
  }
  ktest::PutInt32(&corrupt, ktest::kBatchCrcAt,
                  Crc32c(std::string_view(corrupt).substr(ktest::kBatchCrcAt + 4)));
  EXPECT_EQ(Produce("bad", corrupt), error::kCorruptMessage);

  // 64 MiB of one record value that gzip squeezes to ~64 KiB, past the 4 MiB batch cap:
  // MESSAGE_TOO_LARGE, without ferryd holding 64 MiB.
  const std::string bomb = ktest::ValuesBatch({std::string(64 << 20, 'z')}, Codec::kGzip);
  ASSERT_LT(bomb.size(), size_t{1} << 20);
  EXPECT_EQ(Produce("bad", bomb), error::kMessageTooLarge);

  EXPECT_EQ(Produce("bad", ktest::ValuesBatch({"fine"}, Codec::kGzip)), 0);
  int16_t error = -1;
  EXPECT_EQ(FetchValues(conn_, "bad", 0, &error), std::vector<std::string>{"fine"});
  EXPECT_EQ(error, 0);
}

}  // namespace
}  // namespace ferry::kafka
