#include "server/metrics/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "civetweb.h"
#include "common/version.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"
#include "server/metrics/https_listener.h"

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
      auto vsize = Family("process_virtual_memory_bytes", "Virtual memory size of ferryd.",
                          MetricType::Gauge);
      Add(&vsize, {}, std::stod(fields[20]));
      out->push_back(std::move(vsize));
      // Start time: field 22, in clock ticks since boot; boot time is /proc/stat's btime.
      std::ifstream proc_stat("/proc/stat");
      for (std::string line; std::getline(proc_stat, line);) {
        if (line.rfind("btime ", 0) != 0) continue;
        auto start =
            Family("process_start_time_seconds",
                   "Start time of ferryd since the Unix epoch, in seconds.", MetricType::Gauge);
        Add(&start, {}, std::stod(line.substr(6)) + std::stod(fields[19]) / ticks);
        out->push_back(std::move(start));
        break;
      }
    }
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    auto max_fds =
        Family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge);
    Add(&max_fds, {}, limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur));
    out->push_back(std::move(max_fds));
  }
  if (getrlimit(RLIMIT_AS, &limit) == 0) {
    auto max_vm = Family("process_virtual_memory_max_bytes",
                         "Maximum amount of virtual memory available, in bytes (-1: unlimited).",
                         MetricType::Gauge);
    Add(&max_vm, {}, limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur));
    out->push_back(std::move(max_vm));
  }
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++fds;
    closedir(d);
    fds -= 2;  // . and ..
  }
  auto build = Family("ferry_build_info",
                      "1, labelled with the version, git revision and build type of ferryd.",
                      MetricType::Gauge);
  Add(&build,
      {L("version", version::Version()), L("revision", version::Revision()),
       L("build_type", version::BuildType())},
      1);
  out->push_back(std::move(build));
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

namespace {

// The body gzip-compressed (RFC 1952), or empty if zlib fails.
std::string Gzip(const std::string& body) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return "";
  }
  std::string out(deflateBound(&z, body.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  z.avail_in = static_cast<uInt>(body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : "";
}

bool AcceptsGzip(mg_connection* conn) {
  const char* accept = mg_get_header(conn, "Accept-Encoding");
  return accept != nullptr && std::string_view(accept).find("gzip") != std::string_view::npos;
}

// The whole HTTP response (headers and, unless `head`, the body); both listeners send it.
std::string ResponseText(int code, const char* type, std::string body, bool head, bool gzip_ok,
                         bool accepts_gzip) {
  std::string encoding;
  if (gzip_ok && body.size() > 1024 && accepts_gzip) {
    std::string z = Gzip(body);
    if (!z.empty()) {
      body = std::move(z);
      encoding = "Content-Encoding: gzip\r\n";
    }
  }
  const char* reason = code == 200   ? "OK"
                       : code == 404 ? "Not Found"
                       : code == 405 ? "Method Not Allowed"
                                     : "Service Unavailable";
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + reason +
                    "\r\nContent-Type: " + type +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + encoding +
                    (code == 405 ? "Allow: GET, HEAD\r\n" : "") + "Connection: close\r\n\r\n";
  if (!head) out += body;
  return out;
}

void Reply(mg_connection* conn, int code, const char* type, std::string body, bool head,
           bool gzip_ok) {
  const std::string text =
      ResponseText(code, type, std::move(body), head, gzip_ok, gzip_ok && AcceptsGzip(conn));
  mg_write(conn, text.data(), text.size());
}

}  // namespace

std::string MetricsServer::Respond(std::string_view method, std::string_view path,
                                   bool accepts_gzip) const {
  const bool head = method == "HEAD";
  const char* text = "text/plain; charset=utf-8";
  if (method != "GET" && !head)
    return ResponseText(405, text, "use GET or HEAD\n", false, false, false);
  if (path == "/metrics") {
    return ResponseText(200, "text/plain; version=0.0.4; charset=utf-8", Scrape(), head, true,
                        accepts_gzip);
  }
  if (path == "/healthz") return ResponseText(200, text, "ok\n", head, false, false);
  if (path == "/readyz") {
    return Ready() ? ResponseText(200, text, "ready\n", head, false, false)
                   : ResponseText(503, text, "not ready: recovering storage or shutting down\n",
                                  head, false, false);
  }
  return ResponseText(404, text, "not found: /metrics, /healthz or /readyz\n", head, false, false);
}

int MetricsServer::Handle(mg_connection* conn, void* cbdata) {
  const auto* route = static_cast<const Route*>(cbdata);
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string_view method = info->request_method == nullptr ? "" : info->request_method;
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    Reply(conn, 405, "text/plain; charset=utf-8", "use GET or HEAD\n", false, false);
    return 405;
  }
  switch (route->kind) {
    case Route::Kind::kMetrics:
      Reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8", route->server->Scrape(), head,
            true);
      return 200;
    case Route::Kind::kHealth:
      Reply(conn, 200, "text/plain; charset=utf-8", "ok\n", head, false);
      return 200;
    case Route::Kind::kReady:
      if (route->server->Ready()) {
        Reply(conn, 200, "text/plain; charset=utf-8", "ready\n", head, false);
        return 200;
      }
      Reply(conn, 503, "text/plain; charset=utf-8",
            "not ready: recovering storage or shutting down\n", head, false);
      return 503;
  }
  return 500;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen, const grpc_server::Engine* engine, const EngineCounters* counters,
    std::shared_ptr<prometheus::Registry> registry,
    std::shared_ptr<security::ServerTlsContext> tls) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->engine_ = engine;
  server->counters_ = counters;
  server->registry_ = std::move(registry);
  if (tls != nullptr) {
    auto https = HttpsListener::Start(
        listen, std::move(tls),
        [raw = server.get()](std::string_view method, std::string_view path, bool gzip) {
          return raw->Respond(method, path, gzip);
        });
    if (!https.ok()) return https.status();
    server->https_ = *std::move(https);
    return server;
  }
  const char* options[] = {"listening_ports", listen.c_str(), "num_threads", "2", nullptr};
  mg_callbacks callbacks{};
  // civetweb logs to stderr by default; its errors reach the caller through `error` instead.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.configuration_options = options;
  char text[256] = {0};
  mg_error_data error{};
  error.text = text;
  error.text_buffer_size = sizeof(text);
  server->ctx_ = mg_start2(&init, &error);
  if (server->ctx_ == nullptr) {
    return absl::FailedPreconditionError("metrics listener (--metrics-listen): cannot listen on " +
                                         listen + ": " + (text[0] != 0 ? text : "unknown error"));
  }
  server->routes_ = {Route{server.get(), Route::Kind::kMetrics},
                     Route{server.get(), Route::Kind::kHealth},
                     Route{server.get(), Route::Kind::kReady}};
  const char* paths[] = {"/metrics$", "/healthz$", "/readyz$"};
  for (int i = 0; i < 3; ++i) {
    mg_set_request_handler(server->ctx_, paths[i], &MetricsServer::Handle, &server->routes_[i]);
  }
  return server;
}

MetricsServer::~MetricsServer() {
  if (ctx_ != nullptr) mg_stop(ctx_);
  https_.reset();
}

int MetricsServer::port() const {
  if (https_ != nullptr) return https_->port();
  mg_server_port ports[4];
  const int n = mg_get_server_ports(ctx_, 4, ports);
  return n > 0 ? ports[0].port : 0;
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
