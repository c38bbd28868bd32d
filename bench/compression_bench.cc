// Kafka compression, for the storage decision in docs/kafka-compatibility.md ("Compression"):
// per codec, what decompressing and decoding a ~16 KiB batch of 100-byte records costs
// (design a pays it once per produce; design b would pay it on every gRPC read of the batch),
// the re-encode a Kafka fetch pays under design a, and the compressed size against the stored
// uncompressed size. Records are JSON-like lines with random fields: compressible, as
// typical event data is, but not trivially.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "server/broker/types.h"
#include "server/kafka/compression.h"
#include "server/kafka/records.h"

namespace ferry::kafka {
namespace {

constexpr size_t kRecordBytes = 100;
constexpr size_t kBatchBytes = 16 << 10;
constexpr size_t kBatchRecordsAt = 61;

struct Fixture {
  std::vector<std::string> values;
  std::vector<std::string> keys;
  std::vector<FetchedRecord> records;
  std::string plain;  // the uncompressed batch v2
};

const Fixture& Data() {
  static const Fixture* f = [] {
    auto* f = new Fixture;
    std::mt19937_64 rng(42);
    const char* kEvents[] = {"click", "view", "purchase", "signup", "logout"};
    size_t bytes = 0;
    for (int i = 0; bytes < kBatchBytes; ++i) {
      std::string v = "{\"user\":" + std::to_string(rng() % 100000) + ",\"event\":\"" +
                      kEvents[rng() % 5] + "\",\"ts\":" + std::to_string(1700000000000 + i) +
                      ",\"session\":\"" + std::to_string(rng()) + "\",\"page\":\"/p/" +
                      std::to_string(rng() % 500) + "\"}";
      v.resize(kRecordBytes, ' ');
      f->values.push_back(v);
      f->keys.push_back("user-" + std::to_string(rng() % 1000));
      bytes += v.size() + 10;
    }
    f->records.resize(f->values.size());
    for (size_t i = 0; i < f->values.size(); ++i) {
      f->records[i].offset = static_cast<int64_t>(i);
      f->records[i].fields.key = f->keys[i];
      f->records[i].fields.value = f->values[i];
      f->records[i].fields.timestamp_ms = 1700000000000 + static_cast<int64_t>(i);
    }
    EncodeRecordBatch(f->records, &f->plain);
    return f;
  }();
  return *f;
}

std::string CompressedBatch(Codec codec) {
  const std::string& plain = Data().plain;
  std::string out = plain.substr(0, kBatchRecordsAt);
  Compress(codec, std::string_view(plain).substr(kBatchRecordsAt), &out).IgnoreError();
  const uint32_t length = static_cast<uint32_t>(out.size() - 12);
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<char>(length >> (24 - 8 * i));
  out[22] = static_cast<char>(static_cast<int>(codec));
  const uint32_t crc = Crc32c(std::string_view(out).substr(21));
  for (int i = 0; i < 4; ++i) out[17 + i] = static_cast<char>(crc >> (24 - 8 * i));
  return out;
}

void Report(benchmark::State& state, size_t wire_bytes) {
  const Fixture& f = Data();
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.records.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(f.plain.size()));
  state.counters["wire_bytes"] = static_cast<double>(wire_bytes);
  state.counters["stored_bytes"] = static_cast<double>(f.plain.size());
  state.counters["ratio"] = static_cast<double>(f.plain.size()) / static_cast<double>(wire_bytes);
  state.counters["records"] = static_cast<double>(f.records.size());
  state.counters["cores"] = static_cast<double>(std::thread::hardware_concurrency());
}

// Produce's decode of one batch (decompression included): what design a pays once per batch,
// and design b per gRPC read.
void BM_DecodeBatch(benchmark::State& state) {
  const Codec codec = static_cast<Codec>(state.range(0));
  const std::string batch = codec == Codec::kNone ? Data().plain : CompressedBatch(codec);
  state.SetLabel(CodecName(static_cast<int>(codec)));
  for (auto _ : state) {
    DecompressedBuffers buffers;
    std::vector<broker::RecordFields> out;
    if (!DecodeProduceRecords(batch, ProduceDecodeOptions{}, &buffers, &out).ok()) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  Report(state, batch.size());
}
BENCHMARK(BM_DecodeBatch)->DenseRange(0, 4);

// Decompression alone.
void BM_Decompress(benchmark::State& state) {
  const Codec codec = static_cast<Codec>(state.range(0));
  const std::string batch = CompressedBatch(codec);
  const std::string_view compressed = std::string_view(batch).substr(kBatchRecordsAt);
  state.SetLabel(CodecName(static_cast<int>(codec)));
  for (auto _ : state) {
    std::string out;
    Decompress(codec, compressed, 16 << 20, &out).IgnoreError();
    benchmark::DoNotOptimize(out.data());
  }
  Report(state, batch.size());
}
BENCHMARK(BM_Decompress)->DenseRange(1, 4);

// A Kafka fetch under design a re-encodes the stored records as a batch v2 (it does so today).
void BM_FetchEncodeBatch(benchmark::State& state) {
  for (auto _ : state) {
    std::string out;
    EncodeRecordBatch(Data().records, &out);
    benchmark::DoNotOptimize(out.data());
  }
  Report(state, Data().plain.size());
}
BENCHMARK(BM_FetchEncodeBatch);

// For reference: what a producer (or a recompressing fetch) pays.
void BM_Compress(benchmark::State& state) {
  const Codec codec = static_cast<Codec>(state.range(0));
  const std::string_view records = std::string_view(Data().plain).substr(kBatchRecordsAt);
  state.SetLabel(CodecName(static_cast<int>(codec)));
  size_t size = 0;
  for (auto _ : state) {
    std::string out;
    Compress(codec, records, &out).IgnoreError();
    size = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  Report(state, size + kBatchRecordsAt);
}
BENCHMARK(BM_Compress)->DenseRange(1, 4);

}  // namespace
}  // namespace ferry::kafka
