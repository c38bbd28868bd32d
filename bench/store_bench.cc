// Micro benchmarks of the publish path's pieces: Store::Append under --fsync=never and
// --fsync=always, by one appender and by four at once (group commit lets concurrent appenders
// share a WAL sync), the Kafka partitioner, and the record codec.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "bench/temp_dir.h"
#include "benchmark/benchmark.h"
#include "common/partitioner.h"
#include "ferry/v1/ferry.pb.h"
#include "server/broker/record_codec.h"
#include "storage/store.h"

namespace ferry::bench {
namespace {

// A record of 100 user bytes: a 16-byte key and an 84-byte value, plus a timestamp.
constexpr size_t kKeyBytes = 16;
constexpr size_t kValueBytes = 84;
constexpr int64_t kRecordBytes = kKeyBytes + kValueBytes;
constexpr int64_t kTimestampMs = 1700000000000;
constexpr int kAppenders = 4;

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::vector<v1::Record> MakeRecords(int count) {
  std::mt19937_64 rng(42);
  std::vector<v1::Record> records(count);
  for (auto& r : records) {
    r.set_key(RandomBytes(rng, kKeyBytes));
    r.set_value(RandomBytes(rng, kValueBytes));
    r.set_timestamp_ms(kTimestampMs);
  }
  return records;
}

// A stored batch's payload of `count` records, as Broker::Publish encodes it.
std::string EncodePayload(int count) {
  std::string payload;
  for (const auto& r : MakeRecords(count)) broker::AppendRecord(r, &payload);
  return payload;
}

void Report(benchmark::State& state, int64_t records_per_iteration) {
  state.SetItemsProcessed(state.iterations() * records_per_iteration);
  state.SetBytesProcessed(state.iterations() * records_per_iteration * kRecordBytes);
}

// --- Store::Append ---------------------------------------------------------------------------

// The store of the running benchmark, opened by a Setup hook and closed by Teardown; one
// partition per appender thread.
struct OpenStore {
  TempDir dir;  // destroyed last, after the store is closed
  std::unique_ptr<storage::Store> store;
  std::shared_ptr<const storage::Topic> topic;
};
std::unique_ptr<OpenStore> g_store;

template <storage::FsyncPolicy kPolicy>
void Open(const benchmark::State&) {
  auto open = std::make_unique<OpenStore>();
  storage::StoreOptions options;
  options.data_dir = open->dir.path();
  options.fsync = kPolicy;
  auto store = storage::Store::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", store.status().ToString().c_str());
    std::abort();
  }
  open->store = *std::move(store);
  storage::TopicMeta meta;
  meta.name = "bench";
  meta.partitions = kAppenders;
  auto topic = open->store->CreateTopic(meta);
  if (!topic.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", topic.status().ToString().c_str());
    std::abort();
  }
  open->topic = *std::move(topic);
  g_store = std::move(open);
}

void Close(const benchmark::State&) { g_store.reset(); }

// Each iteration appends one batch of range(0) records to this thread's partition and waits
// for the acknowledgement, as a publisher does.
void StoreAppend(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const std::string payload = EncodePayload(batch);
  const std::shared_ptr<storage::PartitionLog> log =
      g_store->topic->partitions[state.thread_index()];
  for (auto _ : state) {
    std::vector<storage::Store::AppendPart> parts(1);
    parts[0].log = log;
    parts[0].count = static_cast<uint32_t>(batch);
    parts[0].max_timestamp_ms = kTimestampMs;
    parts[0].payload = payload;
    absl::Notification acked;
    absl::Status status;
    g_store->store->Append(std::move(parts),
                           [&](absl::Status s, const std::vector<int64_t>& /*bases*/) {
                             status = std::move(s);
                             acked.Notify();
                           });
    acked.WaitForNotification();
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  Report(state, batch);
}

void BM_StoreAppendFsyncNever(benchmark::State& state) { StoreAppend(state); }
void BM_StoreAppendFsyncAlways(benchmark::State& state) { StoreAppend(state); }

void AppendArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("batch")->Arg(1)->Arg(100)->Arg(1000)->Threads(1)->Threads(kAppenders);
  // The appenders wait on the commit thread: wall time, not their own CPU time, is the cost.
  b->UseRealTime()->Teardown(Close);
}
BENCHMARK(BM_StoreAppendFsyncNever)->Apply(AppendArgs)->Setup(Open<storage::FsyncPolicy::kNever>);
BENCHMARK(BM_StoreAppendFsyncAlways)->Apply(AppendArgs)->Setup(Open<storage::FsyncPolicy::kAlways>);

// --- partitioner -----------------------------------------------------------------------------

const std::vector<std::string>& Keys() {
  static const std::vector<std::string>* keys = [] {
    auto* out = new std::vector<std::string>(1024);
    std::mt19937_64 rng(7);
    for (auto& k : *out) k = RandomBytes(rng, kKeyBytes);
    return out;
  }();
  return *keys;
}

void BM_Murmur2(benchmark::State& state) {
  const auto& keys = Keys();
  size_t next = 0;
  for (auto _ : state) benchmark::DoNotOptimize(Murmur2(keys[next++ % keys.size()]));
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kKeyBytes));
}
BENCHMARK(BM_Murmur2);

// range(0) partitions.
void BM_PartitionForKey(benchmark::State& state) {
  const auto& keys = Keys();
  const int32_t partitions = static_cast<int32_t>(state.range(0));
  size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(PartitionForKey(keys[next++ % keys.size()], partitions));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kKeyBytes));
}
BENCHMARK(BM_PartitionForKey)->ArgName("partitions")->Arg(12);

// --- record codec ----------------------------------------------------------------------------

constexpr int kCodecBatch = 100;

// Each iteration encodes a batch of kCodecBatch records into a payload.
void BM_RecordEncode(benchmark::State& state) {
  const std::vector<v1::Record> records = MakeRecords(kCodecBatch);
  std::string payload;
  for (auto _ : state) {
    payload.clear();
    for (const auto& r : records) broker::AppendRecord(r, &payload);
    benchmark::DoNotOptimize(payload.data());
  }
  Report(state, kCodecBatch);
}
BENCHMARK(BM_RecordEncode);

// Each iteration finds every record of a kCodecBatch-record payload, without parsing them.
void BM_RecordWalk(benchmark::State& state) {
  const std::string payload = EncodePayload(kCodecBatch);
  for (auto _ : state) {
    broker::RecordReader reader(payload);
    std::string_view record;
    int n = 0;
    while (reader.Next(&record)) ++n;
    if (n != kCodecBatch || !reader.status().ok()) {
      state.SkipWithError("walk did not find every record");
      break;
    }
    benchmark::DoNotOptimize(n);
  }
  Report(state, kCodecBatch);
}
BENCHMARK(BM_RecordWalk);

// Each iteration decodes a kCodecBatch-record payload into a SubscribeResponse, as
// Broker::Read does.
void BM_RecordDecode(benchmark::State& state) {
  const std::string payload = EncodePayload(kCodecBatch);
  v1::SubscribeResponse out;
  for (auto _ : state) {
    out.Clear();
    broker::RecordReader reader(payload);
    std::string_view record;
    int64_t offset = 0;
    while (reader.Next(&record)) {
      v1::Record* r = out.add_records();
      if (!r->ParseFromArray(record.data(), static_cast<int>(record.size()))) break;
      r->set_offset(offset++);
    }
    if (offset != kCodecBatch || !reader.status().ok()) {
      state.SkipWithError("decode did not find every record");
      break;
    }
    benchmark::DoNotOptimize(out.records_size());
  }
  Report(state, kCodecBatch);
}
BENCHMARK(BM_RecordDecode);

[[maybe_unused]] const bool kContextAdded = [] {
  benchmark::AddCustomContext(
      "store_config",
      "Store defaults (64 MiB block cache, 128 MiB write buffers); records of a 16-byte key "
      "and an 84-byte value; one partition per appender thread");
  return true;
}();

}  // namespace
}  // namespace ferry::bench
