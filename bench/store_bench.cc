// Micro benchmarks of the publish path's pieces: Store::Append under --fsync=never and
// --fsync=always, by one appender and by four at once (group commit lets concurrent appenders
// share a WAL sync), the Kafka partitioner, and the record codec.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "bench/temp_dir.h"
#include "benchmark/benchmark.h"
#include "common/partitioner.h"
#include "server/broker/record_codec.h"
#include "server/broker/types.h"
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

// `count` records' fields, as a door hands them to the engine, with the bytes they view.
struct Records {
  std::vector<std::string> bytes;  // key, value, key, value, ...
  std::vector<broker::RecordFields> fields;
};

Records MakeRecords(int count) {
  std::mt19937_64 rng(42);
  Records out;
  out.bytes.reserve(2 * static_cast<size_t>(count));  // no reallocation: the views stay valid
  out.fields.resize(count);
  for (auto& r : out.fields) {
    r.key = out.bytes.emplace_back(RandomBytes(rng, kKeyBytes));
    r.value = out.bytes.emplace_back(RandomBytes(rng, kValueBytes));
    r.timestamp_ms = kTimestampMs;
  }
  return out;
}

// Encodes `records` into a stored batch's payload as the publish path does for a door whose
// records arrive in another format: EncodeBatch, then each view appended as Broker::Publish
// appends it. `storage` is scratch.
void EncodeRecords(const std::vector<broker::RecordFields>& records, std::string* storage,
                   std::string* payload) {
  broker::PublishBatch batch;
  if (!broker::EncodeBatch(records, storage, &batch).ok()) std::abort();
  for (const broker::RecordView& view : batch.records) {
    broker::AppendRecordView(view, kTimestampMs, payload);
  }
}

// A stored batch's payload of `count` records, as Broker::Publish encodes it.
std::string EncodePayload(int count) {
  std::string storage, payload;
  EncodeRecords(MakeRecords(count).fields, &storage, &payload);
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
  const Records records = MakeRecords(kCodecBatch);
  std::string storage, payload;
  for (auto _ : state) {
    storage.clear();
    payload.clear();
    EncodeRecords(records.fields, &storage, &payload);
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

// Each iteration decodes every record of a kCodecBatch-record payload into its fields, as
// the Kafka door's Fetch does (DecodeRecord; views, no copies).
void BM_RecordDecode(benchmark::State& state) {
  const std::string payload = EncodePayload(kCodecBatch);
  std::vector<broker::RecordFields> out(kCodecBatch);
  for (auto _ : state) {
    broker::RecordReader reader(payload);
    std::string_view record;
    int64_t decoded = 0;
    while (decoded < kCodecBatch && reader.Next(&record)) {
      if (!broker::DecodeRecord(record, &out[decoded]).ok()) break;
      ++decoded;
    }
    if (decoded != kCodecBatch || reader.Next(&record) || !reader.status().ok()) {
      state.SkipWithError("decode did not find every record");
      break;
    }
    benchmark::DoNotOptimize(out.data());
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
