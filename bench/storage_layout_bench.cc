// Micro benchmarks behind Ferry's storage layout (docs/storage-layout.md): one RocksDB key per
// record versus one key per batch, on raw RocksDB with the store's own options
// (storage/rocks_options.h). Appends measure records/s at several batch sizes with the WAL on and
// sync=false, so that the CPU and layout cost is measured rather than the disk's sync rate.
// Reads measure a sequential scan of 100,000 records and a point lookup of one offset.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/temp_dir.h"
#include "benchmark/benchmark.h"
#include "rocksdb/db.h"
#include "rocksdb/version.h"
#include "rocksdb/write_batch.h"
#include "storage/encoding.h"
#include "storage/rocks_options.h"
#include "storage/store.h"

namespace ferry::bench {
namespace {

constexpr size_t kRecordBytes = 100;
constexpr int64_t kReadRecords = 100000;

[[noreturn]] void Die(const rocksdb::Status& s, const char* what) {
  std::fprintf(stderr, "storage_layout_bench: %s: %s\n", what, s.ToString().c_str());
  std::abort();
}

// One partition's column family in a fresh database in a temp dir, removed on destruction.
class RawPartition {
 public:
  // The store's own tuning, at its default sizes.
  RawPartition()
      : rocks_(storage::MakeRocksOptions(storage::StoreOptions().block_cache_bytes,
                                         storage::StoreOptions().write_buffer_bytes)) {
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
        {rocksdb::kDefaultColumnFamilyName, rocks_.small_cf}, {"p.1.0", rocks_.partition_cf}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::Status s = rocksdb::DB::Open(rocks_.db, dir_.path(), descriptors, &handles, &db_);
    if (!s.ok()) Die(s, "open");
    default_cf_ = handles[0];
    cf_ = handles[1];
  }
  ~RawPartition() {
    db_->DestroyColumnFamilyHandle(cf_);
    db_->DestroyColumnFamilyHandle(default_cf_);
    db_->Close();
    delete db_;
  }
  RawPartition(const RawPartition&) = delete;
  RawPartition& operator=(const RawPartition&) = delete;

  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* cf() const { return cf_; }

  // Moves everything into one sorted run of SST files, as a partition read some time after it
  // was written would be.
  void Compact() {
    rocksdb::Status s = db_->Flush(rocksdb::FlushOptions(), cf_);
    if (!s.ok()) Die(s, "flush");
    s = db_->CompactRange(rocksdb::CompactRangeOptions(), cf_, nullptr, nullptr);
    if (!s.ok()) Die(s, "compact");
  }

  uint64_t SstBytes() const {
    uint64_t bytes = 0;
    db_->GetIntProperty(cf_, "rocksdb.total-sst-files-size", &bytes);
    return bytes;
  }

 private:
  TempDir dir_;  // destroyed last, after the database is closed
  storage::RocksOptions rocks_;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_ = nullptr;
};

// The database of the running benchmark, made by a Setup hook and dropped by Teardown.
std::unique_ptr<RawPartition> g_partition;

// Random, hence incompressible, records: LZ4 favours neither layout.
const std::vector<std::string>& Records() {
  static const std::vector<std::string>* records = [] {
    auto* out = new std::vector<std::string>(1024);
    std::mt19937_64 rng(42);
    for (auto& r : *out) {
      r.resize(kRecordBytes);
      for (auto& c : r) c = static_cast<char>(rng());
    }
    return out;
  }();
  return *records;
}

const std::string& RecordAt(int64_t offset) {
  const auto& records = Records();
  return records[static_cast<size_t>(offset) % records.size()];
}

// In the key-per-batch layout a value is its records, each preceded by its varint length, as a
// Ferry payload frames them; walking to a record reads the lengths before it.
void AppendFramed(std::string_view record, std::string* value) {
  uint64_t n = record.size();
  while (n >= 0x80) {
    value->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  value->push_back(static_cast<char>(n));
  value->append(record);
}

// The next framed record of `rest`; false at the end or when malformed.
bool NextFramed(std::string_view* rest, std::string_view* record) {
  uint64_t n = 0;
  for (int shift = 0; shift < 64 && !rest->empty(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(rest->front());
    rest->remove_prefix(1);
    n |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      if (n > rest->size()) return false;
      *record = rest->substr(0, n);
      rest->remove_prefix(n);
      return true;
    }
  }
  return false;
}

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

void Report(benchmark::State& state, int64_t records_per_iteration) {
  state.SetItemsProcessed(state.iterations() * records_per_iteration);
  state.SetBytesProcessed(state.iterations() * records_per_iteration *
                          static_cast<int64_t>(kRecordBytes));
}

void ReportSst(benchmark::State& state) {
  state.counters["sst_bytes_per_record"] =
      static_cast<double>(g_partition->SstBytes()) / static_cast<double>(kReadRecords);
}

// --- appends ---------------------------------------------------------------------------------

void OpenEmpty(const benchmark::State&) { g_partition = std::make_unique<RawPartition>(); }
void Drop(const benchmark::State&) { g_partition.reset(); }

// Each iteration appends one batch of range(0) records as one atomic write.
void BM_AppendKeyPerRecord(benchmark::State& state) {
  const int64_t batch = state.range(0);
  rocksdb::WriteOptions wo;  // WAL on, sync=false
  rocksdb::WriteBatch wb;
  int64_t offset = 0;
  for (auto _ : state) {
    wb.Clear();
    for (int64_t i = 0; i < batch; ++i, ++offset) {
      wb.Put(g_partition->cf(), storage::OffsetKey(offset), RecordAt(offset));
    }
    rocksdb::Status s = g_partition->db()->Write(wo, &wb);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  Report(state, batch);
}

void BM_AppendKeyPerBatch(benchmark::State& state) {
  const int64_t batch = state.range(0);
  rocksdb::WriteOptions wo;  // WAL on, sync=false
  rocksdb::WriteBatch wb;
  std::string value;
  value.reserve(static_cast<size_t>(batch) * (kRecordBytes + 1));
  int64_t offset = 0;
  for (auto _ : state) {
    value.clear();
    for (int64_t i = 0; i < batch; ++i) AppendFramed(RecordAt(offset + i), &value);
    wb.Clear();
    wb.Put(g_partition->cf(), storage::OffsetKey(offset), value);
    offset += batch;
    rocksdb::Status s = g_partition->db()->Write(wo, &wb);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  Report(state, batch);
}

void AppendArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("batch")->Arg(1)->Arg(10)->Arg(100)->Arg(1000);
  b->UseRealTime()->Setup(OpenEmpty)->Teardown(Drop);
}
BENCHMARK(BM_AppendKeyPerRecord)->Apply(AppendArgs);
BENCHMARK(BM_AppendKeyPerBatch)->Apply(AppendArgs);

// --- reads -----------------------------------------------------------------------------------
// Each run reads kReadRecords records written before it starts (not timed), compacted into SST
// files, with a warm block cache, as a consumer reading a recent part of a partition would.

void WarmUp() {
  std::unique_ptr<rocksdb::Iterator> it(
      g_partition->db()->NewIterator(rocksdb::ReadOptions(), g_partition->cf()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) benchmark::DoNotOptimize(it->value().data());
}

void OpenFilledKeyPerRecord(const benchmark::State&) {
  g_partition = std::make_unique<RawPartition>();
  rocksdb::WriteBatch wb;
  for (int64_t offset = 0; offset < kReadRecords; ++offset) {
    wb.Put(g_partition->cf(), storage::OffsetKey(offset), RecordAt(offset));
    if (wb.Count() == 1000 || offset + 1 == kReadRecords) {
      rocksdb::Status s = g_partition->db()->Write(rocksdb::WriteOptions(), &wb);
      if (!s.ok()) Die(s, "fill");
      wb.Clear();
    }
  }
  g_partition->Compact();
  WarmUp();
}

// range(0) records per batch.
void OpenFilledKeyPerBatch(const benchmark::State& state) {
  g_partition = std::make_unique<RawPartition>();
  const int64_t batch = state.range(0);
  std::string value;
  for (int64_t base = 0; base < kReadRecords; base += batch) {
    value.clear();
    for (int64_t i = 0; i < batch; ++i) AppendFramed(RecordAt(base + i), &value);
    rocksdb::Status s = g_partition->db()->Put(rocksdb::WriteOptions(), g_partition->cf(),
                                               storage::OffsetKey(base), value);
    if (!s.ok()) Die(s, "fill");
  }
  g_partition->Compact();
  WarmUp();
}

// Each iteration reads all kReadRecords records from the start, decoding each one's offset.
void BM_ScanKeyPerRecord(benchmark::State& state) {
  for (auto _ : state) {
    std::unique_ptr<rocksdb::Iterator> it(
        g_partition->db()->NewIterator(rocksdb::ReadOptions(), g_partition->cf()));
    int64_t records = 0;
    uint64_t checksum = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      int64_t offset;
      if (!storage::ParseOffsetKey(View(it->key()), &offset)) break;
      const rocksdb::Slice record = it->value();
      checksum += static_cast<uint64_t>(offset) + static_cast<uint8_t>(record[0]) + record.size();
      ++records;
    }
    benchmark::DoNotOptimize(checksum);
    if (records != kReadRecords || !it->status().ok()) {
      state.SkipWithError("scan did not read every record");
      break;
    }
  }
  Report(state, kReadRecords);
  ReportSst(state);
}

void BM_ScanKeyPerBatch(benchmark::State& state) {
  for (auto _ : state) {
    std::unique_ptr<rocksdb::Iterator> it(
        g_partition->db()->NewIterator(rocksdb::ReadOptions(), g_partition->cf()));
    int64_t records = 0;
    uint64_t checksum = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      int64_t offset;
      if (!storage::ParseOffsetKey(View(it->key()), &offset)) break;
      std::string_view rest = View(it->value());
      std::string_view record;
      for (; NextFramed(&rest, &record); ++offset) {
        checksum += static_cast<uint64_t>(offset) + static_cast<uint8_t>(record[0]) + record.size();
        ++records;
      }
    }
    benchmark::DoNotOptimize(checksum);
    if (records != kReadRecords || !it->status().ok()) {
      state.SkipWithError("scan did not read every record");
      break;
    }
  }
  Report(state, kReadRecords);
  ReportSst(state);
}

// Offsets to look up, uniformly spread over the partition, the same for both layouts.
const std::vector<int64_t>& LookupTargets() {
  static const std::vector<int64_t>* targets = [] {
    auto* out = new std::vector<int64_t>(4096);
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int64_t> offset(0, kReadRecords - 1);
    for (auto& t : *out) t = offset(rng);
    return out;
  }();
  return *targets;
}

// Each iteration finds one record by offset with a new iterator, as PartitionLog::Read does.
void BM_LookupKeyPerRecord(benchmark::State& state) {
  const auto& targets = LookupTargets();
  size_t next = 0;
  for (auto _ : state) {
    const int64_t target = targets[next++ % targets.size()];
    std::unique_ptr<rocksdb::Iterator> it(
        g_partition->db()->NewIterator(rocksdb::ReadOptions(), g_partition->cf()));
    it->Seek(storage::OffsetKey(target));
    int64_t offset;
    if (!it->Valid() || !storage::ParseOffsetKey(View(it->key()), &offset) || offset != target) {
      state.SkipWithError("lookup missed");
      break;
    }
    benchmark::DoNotOptimize(it->value().data()[0]);
  }
  Report(state, 1);
}

void BM_LookupKeyPerBatch(benchmark::State& state) {
  const auto& targets = LookupTargets();
  size_t next = 0;
  for (auto _ : state) {
    const int64_t target = targets[next++ % targets.size()];
    std::unique_ptr<rocksdb::Iterator> it(
        g_partition->db()->NewIterator(rocksdb::ReadOptions(), g_partition->cf()));
    it->SeekForPrev(storage::OffsetKey(target));  // the last batch whose base is <= target
    int64_t offset;
    if (!it->Valid() || !storage::ParseOffsetKey(View(it->key()), &offset)) {
      state.SkipWithError("lookup missed");
      break;
    }
    std::string_view rest = View(it->value());
    std::string_view record;
    bool found = false;
    for (; NextFramed(&rest, &record); ++offset) {
      if (offset == target) {
        found = true;
        break;
      }
    }
    if (!found) {
      state.SkipWithError("lookup missed");
      break;
    }
    benchmark::DoNotOptimize(record.data()[0]);
  }
  Report(state, 1);
}

// Fixed iteration counts, about a quarter of a second each on a 2 GHz core: the untimed fill
// then runs once per run instead of once per round of Google Benchmark's iteration search
// (--benchmark_min_time does not apply to these).
BENCHMARK(BM_ScanKeyPerRecord)
    ->Iterations(20)
    ->UseRealTime()
    ->Setup(OpenFilledKeyPerRecord)
    ->Teardown(Drop);
BENCHMARK(BM_ScanKeyPerBatch)
    ->ArgName("batch")
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Iterations(200)
    ->UseRealTime()
    ->Setup(OpenFilledKeyPerBatch)
    ->Teardown(Drop);
BENCHMARK(BM_LookupKeyPerRecord)
    ->Iterations(100000)
    ->UseRealTime()
    ->Setup(OpenFilledKeyPerRecord)
    ->Teardown(Drop);
BENCHMARK(BM_LookupKeyPerBatch)
    ->ArgName("batch")
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Iterations(100000)
    ->UseRealTime()
    ->Setup(OpenFilledKeyPerBatch)
    ->Teardown(Drop);

// --- context: printed with the figures -------------------------------------------------------

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("model name")) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

[[maybe_unused]] const bool kContextAdded = [] {
  benchmark::AddCustomContext("cpu_model", CpuModel());
  benchmark::AddCustomContext(
      "layout_config", std::to_string(kRecordBytes) + "-byte random records; RocksDB " +
                           std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) +
                           "." + std::to_string(ROCKSDB_PATCH) +
                           ", LZ4, 64 KiB blocks, WAL on, sync=false; reads: " +
                           std::to_string(kReadRecords) + " records compacted to SST, warm cache");
  return true;
}();

}  // namespace
}  // namespace ferry::bench
