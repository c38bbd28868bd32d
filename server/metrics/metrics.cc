#include "server/metrics/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "CivetServer.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace ferry::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric::Label L(std::string name, std::string value) {
  ClientMetric::Label l;
  l.name = std::move(name);
  l.value = std::move(value);
  return l;
}

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void Add(MetricFamily* f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f->type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f->metric.push_back(std::move(m));
}

void ProcessMetrics(std::vector<MetricFamily>* out) {
  // /proc/self/stat: utime and stime (fields 14, 15) in clock ticks, rss (24) in pages.
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = content.rfind(')');
  if (paren != std::string::npos) {
    std::istringstream in(content.substr(paren + 2));
    std::vector<std::string> fields;
    for (std::string f; in >> f;) fields.push_back(f);
    // fields[0] is field 3 (state).
    if (fields.size() > 21) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      auto cpu = Family("process_cpu_seconds_total", "User and system CPU time of ferryd.",
                        MetricType::Counter);
      Add(&cpu, {}, (std::stod(fields[11]) + std::stod(fields[12])) / ticks);
      out->push_back(std::move(cpu));
      auto rss =
          Family("process_resident_memory_bytes", "Resident memory of ferryd.", MetricType::Gauge);
      Add(&rss, {}, std::stod(fields[21]) * static_cast<double>(sysconf(_SC_PAGESIZE)));
      out->push_back(std::move(rss));
    }
  }
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++fds;
    closedir(d);
    fds -= 2;  // . and ..
  }
  auto open_fds = Family("process_open_fds", "Open file descriptors of ferryd.", MetricType::Gauge);
  Add(&open_fds, {}, fds);
  out->push_back(std::move(open_fds));
}

void BrokerMetrics(const broker::Broker& broker, const EngineCounters& counters,
                   std::vector<MetricFamily>* out) {
  auto published =
      Family("ferry_records_published_total",
             "Records appended to a topic since the broker started.", MetricType::Counter);
  auto bytes = Family("ferry_bytes_published_total",
                      "Bytes of keys, values and headers appended since the broker started.",
                      MetricType::Counter);
  auto end = Family("ferry_partition_end_offset", "The offset the next record will get.",
                    MetricType::Gauge);
  auto start = Family("ferry_partition_log_start_offset",
                      "The first offset still stored (moves with retention).", MetricType::Gauge);
  auto size =
      Family("ferry_partition_size_bytes", "Bytes stored for the partition.", MetricType::Gauge);
  for (const auto& topic : broker.ListTopics()) {
    const std::string& name = topic->meta.name;
    const EngineCounters::Published p = counters.PublishedTo(name);
    Add(&published, {L("topic", name)}, static_cast<double>(p.records));
    Add(&bytes, {L("topic", name)}, static_cast<double>(p.bytes));
    for (const auto& log : topic->partitions) {
      std::vector<ClientMetric::Label> labels = {L("topic", name),
                                                 L("partition", std::to_string(log->partition()))};
      Add(&end, labels, static_cast<double>(log->end_offset()));
      Add(&start, labels, static_cast<double>(log->log_start_offset()));
      Add(&size, labels, static_cast<double>(log->size_bytes()));
    }
  }
  auto delivered = Family("ferry_records_delivered_total",
                          "Records sent to gRPC subscribers since the broker started; group is "
                          "empty for direct subscribers (Kafka fetches: "
                          "ferry_kafka_records_fetched_total).",
                          MetricType::Counter);
  for (const auto& [key, n] : counters.Delivered()) {
    Add(&delivered, {L("topic", key.first), L("group", key.second)}, static_cast<double>(n));
  }
  auto kafka_fetched = Family("ferry_kafka_records_fetched_total",
                              "Records Kafka Fetch requests took since the broker started (a "
                              "Kafka Fetch does not name its group).",
                              MetricType::Counter);
  for (const auto& [topic, n] : counters.KafkaFetched()) {
    Add(&kafka_fetched, {L("topic", topic)}, static_cast<double>(n));
  }
  auto streams =
      Family("ferry_subscribe_streams", "Open Subscribe streams by mode.", MetricType::Gauge);
  Add(&streams, {L("mode", "direct")}, static_cast<double>(counters.DirectStreams()));
  Add(&streams, {L("mode", "group")}, static_cast<double>(counters.GroupStreams()));

  const storage::StoreStats st = broker.StorageStats();
  auto memtable =
      Family("ferry_rocksdb_memtable_bytes", "Bytes in all RocksDB memtables.", MetricType::Gauge);
  Add(&memtable, {}, static_cast<double>(st.memtable_bytes));
  auto cache = Family("ferry_rocksdb_block_cache_usage_bytes", "Bytes in the block cache.",
                      MetricType::Gauge);
  Add(&cache, {}, static_cast<double>(st.block_cache_bytes));
  auto pending = Family("ferry_rocksdb_pending_compaction_bytes",
                        "Estimated bytes compaction still has to rewrite.", MetricType::Gauge);
  Add(&pending, {}, static_cast<double>(st.pending_compaction_bytes));
  auto syncs = Family("ferry_rocksdb_wal_syncs_total", "WAL syncs (fsync) since start-up.",
                      MetricType::Counter);
  Add(&syncs, {}, static_cast<double>(st.wal_syncs));
  auto stalls =
      Family("ferry_rocksdb_write_stall_seconds_total",
             "Time writes were delayed or stopped by RocksDB since start-up.", MetricType::Counter);
  Add(&stalls, {}, static_cast<double>(st.write_stall_micros) / 1e6);
  auto stopped =
      Family("ferry_rocksdb_write_stopped", "1 while RocksDB stops writes.", MetricType::Gauge);
  Add(&stopped, {}, st.write_stopped ? 1 : 0);
  auto groups = Family("ferry_storage_commit_groups_total",
                       "Group commits: RocksDB writes that carried one or more appends.",
                       MetricType::Counter);
  Add(&groups, {}, static_cast<double>(st.commit_groups));
  auto writable = Family("ferry_storage_writable",
                         "1 while the data dir accepts writes; 0 while they are refused (disk "
                         "full or I/O error) until it recovers. Reads are served either way.",
                         MetricType::Gauge);
  Add(&writable, {}, st.writable ? 1 : 0);
  for (auto* f : {&published, &bytes, &delivered, &kafka_fetched, &streams, &end, &start, &size,
                  &memtable, &cache, &pending, &syncs, &stalls, &stopped, &groups, &writable}) {
    out->push_back(std::move(*f));
  }
}

void GroupMetrics(group::ConsumerGroups& groups, std::vector<MetricFamily>* out) {
  auto lag = Family("ferry_consumer_group_lag",
                    "Records between a group's committed offset and the partition's end.",
                    MetricType::Gauge);
  auto members =
      Family("ferry_consumer_group_members", "Members of a consumer group.", MetricType::Gauge);
  auto rebalances = Family("ferry_consumer_group_rebalances_total",
                           "Rebalances (generation changes) of a group since it last had no "
                           "members.",
                           MetricType::Counter);
  auto state = Family("ferry_consumer_group_state",
                      "1 for the group's current state (empty, rebalancing, stable), else 0.",
                      MetricType::Gauge);
  auto list = groups.List();
  if (list.ok()) {
    for (const auto& info : *list) {
      auto d = groups.Describe(info.group);
      if (!d.ok()) continue;
      Add(&members, {L("group", info.group)}, static_cast<double>(d->info.members.size()));
      Add(&rebalances, {L("group", info.group)},
          static_cast<double>(groups.Rebalances(info.group)));
      for (auto s : {group::GroupState::kEmpty, group::GroupState::kRebalancing,
                     group::GroupState::kStable}) {
        Add(&state, {L("group", info.group), L("state", group::GroupStateName(s))},
            d->info.state == s ? 1 : 0);
      }
      for (const auto& p : d->partitions) {
        if (p.committed < 0) continue;  // lag is end - committed; nothing committed, no series
        Add(&lag,
            {L("group", info.group), L("topic", p.tp.first),
             L("partition", std::to_string(p.tp.second))},
            static_cast<double>(p.end - p.committed));
      }
    }
  }
  for (auto* f : {&lag, &members, &rebalances, &state}) out->push_back(std::move(*f));
}

}  // namespace

class Handler : public CivetHandler {
 public:
  enum class Kind { kMetrics, kHealth, kReady };
  Handler(const MetricsServer* server, Kind kind) : server_(server), kind_(kind) {}

  bool handleGet(CivetServer* /*server*/, mg_connection* conn) override {
    std::string body;
    int code = 200;
    const char* type = "text/plain; charset=utf-8";
    switch (kind_) {
      case Kind::kMetrics:
        body = server_->Scrape();
        type = "text/plain; version=0.0.4; charset=utf-8";
        break;
      case Kind::kHealth:
        body = "ok\n";
        break;
      case Kind::kReady:
        if (server_->Ready()) {
          body = "ready\n";
        } else {
          code = 503;
          body = "not ready: recovering storage or shutting down\n";
        }
        break;
    }
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Connection: close\r\n\r\n",
              code, code == 200 ? "OK" : "Service Unavailable", type, body.size());
    mg_write(conn, body.data(), body.size());
    return true;
  }

 private:
  const MetricsServer* const server_;
  const Kind kind_;
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen, const grpc_server::Engine* engine, const EngineCounters* counters,
    std::shared_ptr<prometheus::Registry> registry) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->engine_ = engine;
  server->counters_ = counters;
  server->registry_ = std::move(registry);
  try {
    server->server_ = std::make_unique<CivetServer>(
        std::vector<std::string>{"listening_ports", listen, "num_threads", "2"});
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError("cannot serve metrics on " + listen + ": " + e.what());
  }
  const std::pair<const char*, Handler::Kind> routes[] = {{"/metrics", Handler::Kind::kMetrics},
                                                          {"/healthz", Handler::Kind::kHealth},
                                                          {"/readyz", Handler::Kind::kReady}};
  for (const auto& [path, kind] : routes) {
    server->handlers_.push_back(std::make_unique<Handler>(server.get(), kind));
    server->server_->addHandler(path, server->handlers_.back().get());
  }
  return server;
}

MetricsServer::~MetricsServer() {
  if (server_ != nullptr) server_->close();
}

int MetricsServer::port() const {
  std::vector<int> ports = server_->getListeningPorts();
  return ports.empty() ? 0 : ports[0];
}

bool MetricsServer::Ready() const { return !shutting_down_.load() && engine_->Get().ok(); }

std::string MetricsServer::Scrape() const {
  std::vector<MetricFamily> families = registry_->Collect();
  auto ready = engine_->Get();
  if (ready.ok() && !shutting_down_.load()) {
    BrokerMetrics(*ready->broker, *counters_, &families);
    GroupMetrics(*ready->groups, &families);
  }
  ProcessMetrics(&families);
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace ferry::metrics
