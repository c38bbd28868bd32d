// ferryd: the Ferry broker. Flags and wiring only; the engine is in server/broker/.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/version.h"
#include "server/broker/broker.h"
#include "server/config/env_flags.h"
#include "server/group/consumer_groups.h"
#include "server/grpc/admin_service.h"
#include "server/grpc/broker_service.h"
#include "server/grpc/engine.h"
#include "server/grpc/health_service.h"
#include "server/kafka/server.h"
#include "server/log.h"
#include "server/metrics/kafka_metrics.h"
#include "server/metrics/metrics.h"
#include "server/metrics/rpc_metrics.h"
#include "server/metrics/security_metrics.h"
#include "server/security/security.h"
#include "server/security/tls.h"
#include "server/security/tls_context.h"
#include "server/security/tls_principal.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, port_file, "",
          "When set, the bound gRPC port is written to this file once listening");
ABSL_FLAG(std::string, metrics_port_file, "",
          "When set, the bound metrics port is written to this file once listening");
ABSL_FLAG(std::string, data_dir, "data", "RocksDB data directory (created when missing)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Prometheus /metrics HTTP address; empty turns metrics off");
ABSL_FLAG(std::string, fsync, "always",
          "always: acknowledge after the WAL is synced (group commit); interval: sync every "
          "--fsync-interval-ms; never: leave syncing to the OS");
ABSL_FLAG(int32_t, fsync_interval_ms, 100, "WAL sync period for --fsync=interval");
ABSL_FLAG(bool, auto_create_topics, true, "Create a topic on its first publish");
ABSL_FLAG(int32_t, default_partitions, 3, "Partitions of an auto-created topic");
ABSL_FLAG(int32_t, offsets_topic_partitions, 50,
          "Partitions of the Kafka door's __consumer_offsets (offsets.topic.num.partitions); a "
          "group's partition depends on it, so changing it moves groups and renumbers their "
          "entries");
ABSL_FLAG(int32_t, max_partitions, 10000, "Most partitions a topic may have");
ABSL_FLAG(int32_t, max_record_bytes, 1 << 20, "Largest record (key + value + headers) accepted");
ABSL_FLAG(int64_t, max_batch_bytes, 16 << 20, "Largest publish request (sum of its records)");
ABSL_FLAG(int32_t, max_subscribe_records, 1000, "Most records in one Subscribe message");
ABSL_FLAG(int32_t, max_subscribe_bytes, 1 << 20, "About the most bytes in one Subscribe message");
ABSL_FLAG(int32_t, retention_check_interval_ms, 30000, "How often retention runs");
ABSL_FLAG(int32_t, block_cache_mb, 64, "RocksDB block cache shared by all partitions");
ABSL_FLAG(int32_t, write_buffer_mb, 128, "Memory for all partitions' memtables together");
ABSL_FLAG(int32_t, shutdown_timeout_ms, 5000, "On SIGTERM, how long in-flight RPCs may take");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");
ABSL_FLAG(int32_t, group_min_session_timeout_ms, 500, "Shortest session timeout a member may ask");
ABSL_FLAG(int32_t, group_max_session_timeout_ms, 1800000,
          "Longest session timeout a member may ask");
ABSL_FLAG(int32_t, group_default_session_timeout_ms, 10000,
          "Session timeout when a member asks none");
ABSL_FLAG(int32_t, group_revoke_grace_ms, 10000,
          "How long a group member may take to answer a rebalance that revokes partitions from "
          "it (gRPC members that name no rebalance timeout) before it is removed from the group");
ABSL_FLAG(int32_t, group_max_members, 1000, "Most members in one consumer group");
ABSL_FLAG(int32_t, max_groups, 10000, "Most consumer groups with members");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of the gRPC listener; with --tls-key it serves TLS only (1.2 "
          "and later). Re-read every --tls-reload-interval-s: a rotated certificate serves new "
          "connections without a restart");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls-cert (unencrypted)");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA bundle that client certificates are verified against (mTLS); re-read as "
          "--tls-cert is");
ABSL_FLAG(std::string, tls_client_auth, "none",
          "Client certificates on the TLS listener: none, request (verified against --tls-ca "
          "when given, not required) or require (mTLS: a client without a certificate --tls-ca "
          "signed is refused)");
ABSL_FLAG(int32_t, tls_reload_interval_s, 10,
          "How often the TLS certificate, key and CA files (--tls-*, --kafka-tls-*) are re-read; "
          "changed files serve new connections, open ones keep theirs");
ABSL_FLAG(std::string, tls_principal, "cn",
          "What a verified client certificate names as the principal (User:NAME): cn (the "
          "subject's CN), san (the first DNS subjectAltName, else URI, else email) or dn (the "
          "subject as an RFC 2253 string)");
ABSL_FLAG(std::string, kafka_security_protocol_map, "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
          "Security protocol of each Kafka listener not named after one, as Kafka's "
          "listener.security.protocol.map: NAME:PROTOCOL[,...] with PLAINTEXT, SSL, "
          "SASL_PLAINTEXT or SASL_SSL, e.g. INTERNAL:SASL_SSL,EXTERNAL:SSL. Listeners named "
          "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL speak that protocol");
ABSL_FLAG(std::string, kafka_tls_cert, "",
          "PEM certificate chain of the Kafka SSL and SASL_SSL listeners; default --tls-cert");
ABSL_FLAG(std::string, kafka_tls_key, "",
          "PEM private key of --kafka-tls-cert (unencrypted); default --tls-key");
ABSL_FLAG(std::string, kafka_tls_ca, "",
          "PEM CA bundle Kafka client certificates are verified against; default --tls-ca");
ABSL_FLAG(std::string, kafka_tls_client_auth, "",
          "Client certificates on the Kafka SSL and SASL_SSL listeners: none, request or "
          "require; default --tls-client-auth");
ABSL_FLAG(bool, metrics_tls, false,
          "Serve --metrics-listen over HTTPS only, with the certificate of --tls-cert/--tls-key "
          "(and client certificates by --tls-ca/--tls-client-auth), re-read as gRPC's are");
ABSL_FLAG(std::string, authorizer, "none",
          "none (every client may do everything) or acl (Kafka's ACL model: a principal may do "
          "what an ACL allows and no ACL denies; see docs/security.md)");
ABSL_FLAG(std::string, super_users, "",
          "Principals allowed everything whatever the ACLs say, separated by ';' "
          "(User:admin;User:ops)");
ABSL_FLAG(bool, allow_everyone_if_no_acl_found, false,
          "With --authorizer=acl, allow any principal on a resource no ACL names (Kafka's "
          "allow.everyone.if.no.acl.found)");
ABSL_FLAG(std::string, users_file, "",
          "Users to create at start: one name:password per line (a mounted Secret); a user's "
          "password is set to the file's at every start");
ABSL_FLAG(std::string, sasl_enabled_mechanisms, "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
          "SASL mechanisms the SASL_PLAINTEXT and SASL_SSL Kafka listeners accept");
ABSL_FLAG(bool, sasl_plain_without_tls, false,
          "Accept passwords without TLS, on both doors: SASL PLAIN (the password itself) on "
          "SASL_PLAINTEXT Kafka listeners, and gRPC Basic credentials on a plaintext gRPC "
          "listener");
ABSL_FLAG(std::string, kafka_listen, "127.0.0.1:9092",
          "Kafka wire-protocol listeners, as Kafka's listeners: [NAME://]host:port[,...] (port 0 "
          "picks one; a listener without a name is PLAINTEXT), e.g. "
          "INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:9094; empty turns the Kafka door off");
ABSL_FLAG(std::string, kafka_port_file, "",
          "When set, the bound Kafka port of each listener, one per line in --kafka-listen's "
          "order, is written to this file once listening");
ABSL_FLAG(std::string, kafka_advertise, "",
          "What Kafka clients are told to connect to (Metadata, FindCoordinator), per listener, "
          "as Kafka's advertised.listeners: [NAME://]host[:port][,...]; clients get the address "
          "of the listener they connected to. A listener not named here advertises its listen "
          "address (127.0.0.1 when that is 0.0.0.0) and its bound port");
ABSL_FLAG(int32_t, kafka_max_connections, 10000,
          "Most Kafka client connections at once; a new one over it is closed at once");
ABSL_FLAG(int32_t, kafka_max_connections_per_ip, 10000,
          "Most Kafka client connections at once from one address (Kafka's "
          "max.connections.per.ip); a new one over it is closed at once");
ABSL_FLAG(int64_t, kafka_connections_max_idle_ms, 600000,
          "A Kafka connection with no request in progress and no traffic for this long is closed "
          "(Kafka's connections.max.idle.ms)");
ABSL_FLAG(int32_t, kafka_io_threads, 2, "Threads running the Kafka connections' sockets");
ABSL_FLAG(int32_t, kafka_request_threads, 4,
          "Threads serving Kafka requests that answer at once (Metadata, offsets, heartbeats)");
ABSL_FLAG(int32_t, kafka_max_waiting_requests, 1024,
          "Most Kafka requests that may wait (Fetch long polls, JoinGroup, Produce durability) "
          "served at once, each on a thread started when needed; more queue");
ABSL_FLAG(int64_t, kafka_max_queued_bytes, 4 << 20,
          "Bytes of requests and responses one Kafka connection may have queued before the "
          "broker stops reading from it (back-pressure on a client that does not read)");
ABSL_FLAG(int64_t, kafka_max_request_bytes, 100 << 20,
          "Largest Kafka request frame; a larger one closes its connection");

namespace ferry {
namespace {

int Fail(std::string_view event, const std::string& message, int code) {
  log::Event(log::Level::kError, event, {{"error", message}});
  return code;
}

// Why `address` (host:port) cannot be listened on, found by binding it the way gRPC would
// (without SO_REUSEPORT): "Address already in use", or why it does not resolve.
std::string BindError(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "not host:port";
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return std::string("cannot resolve: ") + gai_strerror(rc);
  // The first address that refuses a bind says why; if every one binds now, it was freed
  // between gRPC's attempt and this one.
  std::string error = "invalid address";
  bool refused = false;
  for (addrinfo* a = res; a != nullptr && !refused; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    refused = bind(fd, a->ai_addr, a->ai_addrlen) != 0;
    error = refused ? std::strerror(errno) : "the address was free again when checked";
    close(fd);
  }
  freeaddrinfo(res);
  return error;
}

// One port per line, written whole (rename), so a reader never sees half of it.
absl::Status WritePortFile(const std::string& path, const std::vector<int>& ports) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (int port : ports) out << port << "\n";
    if (!out.good()) return absl::FailedPreconditionError("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::FailedPreconditionError("cannot write " + path + ": " + ec.message());
  return absl::OkStatus();
}

void RaiseFileLimit() {
  // One RocksDB file set per partition: take every descriptor the hard limit allows.
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int Run() {
  log::Level level;
  if (!log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr, "ferryd: --log-level must be debug, info, warn or error\n");
    return 2;
  }
  log::SetLevel(level);
  // Checked before storage recovery, which may take long, so a typo fails at once.
  absl::StatusOr<security::TlsConfig> tls =
      security::ParseTlsFlags(absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                              absl::GetFlag(FLAGS_tls_ca), absl::GetFlag(FLAGS_tls_client_auth),
                              absl::Seconds(absl::GetFlag(FLAGS_tls_reload_interval_s)));
  if (!tls.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", std::string(tls.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<security::SecurityOptions> security_options = security::ParseSecurityFlags(
      absl::GetFlag(FLAGS_authorizer), absl::GetFlag(FLAGS_super_users),
      absl::GetFlag(FLAGS_allow_everyone_if_no_acl_found));
  if (!security_options.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", std::string(security_options.status().message()).c_str());
    return 2;
  }
  std::vector<security::InitialUser> initial_users;
  if (const std::string users_file = absl::GetFlag(FLAGS_users_file); !users_file.empty()) {
    absl::StatusOr<std::vector<security::InitialUser>> users = security::ReadUsersFile(users_file);
    if (!users.ok()) {
      std::fprintf(stderr, "ferryd: %s\n", std::string(users.status().message()).c_str());
      return 2;
    }
    initial_users = *std::move(users);
  }
  kafka::SaslOptions sasl_options;
  {
    absl::StatusOr<std::vector<std::string>> mechanisms =
        kafka::ParseSaslMechanisms(absl::GetFlag(FLAGS_sasl_enabled_mechanisms));
    if (!mechanisms.ok()) {
      std::fprintf(stderr, "ferryd: %s\n", std::string(mechanisms.status().message()).c_str());
      return 2;
    }
    sasl_options.mechanisms = *std::move(mechanisms);
    sasl_options.plain_without_tls = absl::GetFlag(FLAGS_sasl_plain_without_tls);
  }
  absl::StatusOr<std::vector<kafka::KafkaListener>> kafka_listeners = kafka::ParseKafkaListeners(
      absl::GetFlag(FLAGS_kafka_listen), absl::GetFlag(FLAGS_kafka_advertise),
      absl::GetFlag(FLAGS_kafka_security_protocol_map));
  if (!kafka_listeners.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", std::string(kafka_listeners.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<security::PrincipalField> tls_principal =
      security::ParsePrincipalField(absl::GetFlag(FLAGS_tls_principal));
  if (!tls_principal.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", std::string(tls_principal.status().message()).c_str());
    return 2;
  }
  // The Kafka door's certificate: each --kafka-tls-* flag not given is its --tls-* flag.
  std::shared_ptr<security::ServerTlsContext> kafka_tls;
  if (std::any_of(kafka_listeners->begin(), kafka_listeners->end(),
                  [](const kafka::KafkaListener& l) { return kafka::UsesTls(l.protocol); })) {
    const auto either = [](const std::string& kafka, const std::string& shared) {
      return kafka.empty() ? shared : kafka;
    };
    const bool own = !absl::GetFlag(FLAGS_kafka_tls_cert).empty() ||
                     !absl::GetFlag(FLAGS_kafka_tls_key).empty() ||
                     !absl::GetFlag(FLAGS_kafka_tls_ca).empty() ||
                     !absl::GetFlag(FLAGS_kafka_tls_client_auth).empty();
    absl::StatusOr<security::TlsConfig> config = security::ParseTlsFlags(
        either(absl::GetFlag(FLAGS_kafka_tls_cert), absl::GetFlag(FLAGS_tls_cert)),
        either(absl::GetFlag(FLAGS_kafka_tls_key), absl::GetFlag(FLAGS_tls_key)),
        either(absl::GetFlag(FLAGS_kafka_tls_ca), absl::GetFlag(FLAGS_tls_ca)),
        either(absl::GetFlag(FLAGS_kafka_tls_client_auth), absl::GetFlag(FLAGS_tls_client_auth)),
        absl::Seconds(absl::GetFlag(FLAGS_tls_reload_interval_s)), own ? "kafka-tls" : "tls");
    if (!config.ok()) {
      std::fprintf(stderr, "ferryd: %s\n", std::string(config.status().message()).c_str());
      return 2;
    }
    if (!security::TlsEnabled(*config)) {
      for (const kafka::KafkaListener& l : *kafka_listeners) {
        if (!kafka::UsesTls(l.protocol)) continue;
        std::fprintf(stderr,
                     "ferryd: Kafka listener %s is %s and has no certificate: set "
                     "--kafka-tls-cert and --kafka-tls-key (or --tls-cert and --tls-key)\n",
                     l.name.c_str(), std::string(kafka::SecurityProtocolName(l.protocol)).c_str());
        return 2;
      }
    }
    absl::StatusOr<std::shared_ptr<security::ServerTlsContext>> ctx =
        security::ServerTlsContext::Create(*config, [](const absl::Status& s) {
          if (s.ok()) {
            log::Event(log::Level::kInfo, "kafka_tls_reloaded",
                       {{"detail", "new connections get the new certificate"}});
          } else {
            log::Event(log::Level::kWarn, "kafka_tls_reload_failed",
                       {{"error", std::string(s.message())},
                        {"detail", "the previous certificate still serves"}});
          }
        });
    if (!ctx.ok()) {
      std::fprintf(stderr, "ferryd: Kafka TLS: %s\n", std::string(ctx.status().message()).c_str());
      return 2;
    }
    kafka_tls = *std::move(ctx);
  }
  // The metrics endpoint over HTTPS with the --tls-* certificate.
  std::shared_ptr<security::ServerTlsContext> metrics_tls;
  if (absl::GetFlag(FLAGS_metrics_tls)) {
    if (!security::TlsEnabled(*tls)) {
      std::fprintf(stderr, "ferryd: --metrics-tls needs --tls-cert and --tls-key\n");
      return 2;
    }
    absl::StatusOr<std::shared_ptr<security::ServerTlsContext>> ctx =
        security::ServerTlsContext::Create(*tls, [](const absl::Status& s) {
          if (s.ok()) {
            log::Event(log::Level::kInfo, "metrics_tls_reloaded",
                       {{"detail", "new connections get the new certificate"}});
          } else {
            log::Event(log::Level::kWarn, "metrics_tls_reload_failed",
                       {{"error", std::string(s.message())},
                        {"detail", "the previous certificate still serves"}});
          }
        });
    if (!ctx.ok()) {
      std::fprintf(stderr, "ferryd: --metrics-tls: %s\n",
                   std::string(ctx.status().message()).c_str());
      return 2;
    }
    metrics_tls = *std::move(ctx);
  }

  broker::BrokerOptions options;
  const std::string fsync = absl::GetFlag(FLAGS_fsync);
  if (fsync == "always") {
    options.store.fsync = storage::FsyncPolicy::kAlways;
  } else if (fsync == "interval") {
    options.store.fsync = storage::FsyncPolicy::kInterval;
  } else if (fsync == "never") {
    options.store.fsync = storage::FsyncPolicy::kNever;
  } else {
    std::fprintf(stderr, "ferryd: --fsync must be always, interval or never, got '%s'\n",
                 fsync.c_str());
    return 2;
  }
  options.store.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.store.fsync_interval = absl::Milliseconds(absl::GetFlag(FLAGS_fsync_interval_ms));
  options.store.block_cache_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  options.store.write_buffer_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_write_buffer_mb))
                                     << 20;
  options.auto_create_topics = absl::GetFlag(FLAGS_auto_create_topics);
  options.default_partitions = absl::GetFlag(FLAGS_default_partitions);
  options.store.offsets_log_partitions = absl::GetFlag(FLAGS_offsets_topic_partitions);
  // One line per episode, not per refused request. Health stays SERVING and /readyz 200 while
  // writes are refused: reads (Subscribe, Fetch, offsets, metadata) still work, and a failing
  // readiness probe would take them away too, with nowhere else to send them. The signals are
  // this log line, the ferry_storage_writable gauge and its alert (docs/operations.md).
  options.store.on_writable_changed = [data_dir = options.store.data_dir](const absl::Status& s) {
    if (!s.ok()) {
      log::Event(log::Level::kError, "storage_writes_refused",
                 {{"data_dir", data_dir},
                  {"code", absl::StatusCodeToString(s.code())},
                  {"error", std::string(s.message())}});
    } else {
      log::Event(log::Level::kInfo, "storage_writes_resumed", {{"data_dir", data_dir}});
    }
  };
  options.max_partitions = absl::GetFlag(FLAGS_max_partitions);
  options.max_record_bytes = absl::GetFlag(FLAGS_max_record_bytes);
  options.max_batch_bytes = absl::GetFlag(FLAGS_max_batch_bytes);
  options.max_subscribe_records = absl::GetFlag(FLAGS_max_subscribe_records);
  options.max_subscribe_bytes = absl::GetFlag(FLAGS_max_subscribe_bytes);
  options.retention_check_interval =
      absl::Milliseconds(absl::GetFlag(FLAGS_retention_check_interval_ms));
  if (options.default_partitions < 1 || options.max_partitions < options.default_partitions ||
      options.max_record_bytes < 1 || options.max_batch_bytes < options.max_record_bytes ||
      options.max_subscribe_records < 1 || options.max_subscribe_bytes < 1 ||
      options.store.fsync_interval <= absl::ZeroDuration() ||
      options.store.offsets_log_partitions < 1 || options.store.offsets_log_partitions > 10000) {
    std::fprintf(stderr,
                 "ferryd: limits must be positive, --max-partitions >= --default-partitions, "
                 "--max-batch-bytes >= --max-record-bytes and --offsets-topic-partitions at "
                 "most 10000\n");
    return 2;
  }

  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  log::Event(log::Level::kInfo, "starting",
             {{"listen", listen},
              {"metrics_listen", metrics_listen},
              {"data_dir", options.store.data_dir},
              {"fsync", fsync},
              {"auto_create_topics", options.auto_create_topics ? "true" : "false"},
              {"default_partitions", std::to_string(options.default_partitions)},
              {"max_record_bytes", std::to_string(options.max_record_bytes)},
              {"max_batch_bytes", std::to_string(options.max_batch_bytes)}});
  RaiseFileLimit();

  // Serve first, NOT_SERVING, so probes see the broker starting; attach the engine (and go
  // SERVING) once storage has recovered. Until then RPCs answer UNAVAILABLE.
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::SecurityMetrics security_metrics(registry.get());  // outlives both doors
  grpc_server::AuthOptions auth;
  auth.tls = security::TlsEnabled(*tls);
  // A certificate names a principal only when the handshake verified it against --tls-ca.
  auth.verified_client_certs =
      auth.tls && !tls->ca_file.empty() && tls->client_auth != security::ClientAuth::kNone;
  auth.cert_principal = *tls_principal;
  auth.basic_without_tls = absl::GetFlag(FLAGS_sasl_plain_without_tls);
  auth.observer = &security_metrics;
  grpc_server::Engine engine(auth);
  metrics::EngineCounters engine_counters;
  grpc_server::BrokerService broker_service(&engine);
  grpc_server::AdminService admin_service(&engine);
  // Per service as well as overall (""), so a client checking "ferry.v1.Broker" gets an
  // answer rather than NOT_FOUND; NOT_SERVING until storage has recovered.
  grpc_server::HealthService health_service({"ferry.v1.Broker", "ferry.v1.Admin"});
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen,
                           security::TlsEnabled(*tls) ? security::GrpcServerCredentials(*tls)
                                                      : grpc::InsecureServerCredentials(),
                           &port);
  // gRPC turns SO_REUSEPORT on by default: a second broker on the same port would start and
  // take half of the connections. Off, a port in use is an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&broker_service);
  builder.RegisterService(&admin_service);
  builder.RegisterService(&health_service);
  // Room for a full batch plus protobuf framing; larger requests get RESOURCE_EXHAUSTED.
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<int64_t>(options.max_batch_bytes + (4 << 20), INT32_MAX)));
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(metrics::NewRpcMetricsInterceptor(registry.get()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail("start_failed",
                "gRPC listener (--listen): cannot listen on " + listen + ": " + BindError(listen),
                1);
  }

  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (!metrics_listen.empty()) {
    auto m = metrics::MetricsServer::Start(metrics_listen, &engine, &engine_counters, registry,
                                           metrics_tls);
    if (!m.ok()) {
      return Fail("start_failed",
                  std::string(m.status().message()) + " (" + BindError(metrics_listen) + ")", 1);
    }
    metrics_server = *std::move(m);
  }
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty()) {
    absl::Status s = WritePortFile(port_file, {port});
    if (!s.ok()) return Fail("start_failed", std::string(s.message()), 1);
  }
  const std::string metrics_port_file = absl::GetFlag(FLAGS_metrics_port_file);
  if (!metrics_port_file.empty() && metrics_server != nullptr) {
    absl::Status s = WritePortFile(metrics_port_file, {metrics_server->port()});
    if (!s.ok()) return Fail("start_failed", std::string(s.message()), 1);
  }
  log::Event(
      log::Level::kInfo, "listening",
      {{"grpc_port", std::to_string(port)},
       {"metrics_port", metrics_server != nullptr ? std::to_string(metrics_server->port()) : ""},
       {"metrics_tls", metrics_tls != nullptr ? "on" : "off"},
       {"pid", std::to_string(getpid())}});

  broker::RealClock clock;
  auto broker_or = broker::Broker::Open(options, &clock, &engine_counters);
  if (!broker_or.ok()) {
    server->Shutdown();
    return Fail("start_failed", std::string(broker_or.status().message()), 1);
  }
  std::unique_ptr<broker::Broker> broker = *std::move(broker_or);
  const auto& rec = broker->recovery();
  log::Event(log::Level::kInfo, "recovered",
             {{"topics", std::to_string(rec.topics)},
              {"partitions", std::to_string(rec.partitions)},
              {"records", std::to_string(rec.records)},
              {"seconds", absl::StrCat(absl::ToDoubleSeconds(rec.duration))}});

  // Users and ACLs, kept beside the topic catalog.
  absl::StatusOr<std::unique_ptr<security::Security>> security_or =
      security::Security::Open(broker->store(), *security_options);
  if (security_or.ok()) {
    if (absl::Status s = (*security_or)->EnsureUsers(initial_users); !s.ok()) security_or = s;
  }
  if (!security_or.ok()) {
    server->Shutdown();
    broker->Close();
    return Fail("start_failed", std::string(security_or.status().message()), 1);
  }
  std::unique_ptr<security::Security> security = *std::move(security_or);
  initial_users.clear();
  log::Event(log::Level::kInfo, "security",
             {{"authorizer", security->authorizer_enabled() ? "acl" : "none"},
              {"super_users", std::to_string(security_options->super_users.size())},
              {"users", std::to_string(security->Users().size())},
              {"acls", std::to_string(security->DescribeAcls(security::AclFilter{}).size())}});

  group::CoordinatorOptions group_options;
  group_options.min_session_timeout =
      absl::Milliseconds(absl::GetFlag(FLAGS_group_min_session_timeout_ms));
  group_options.max_session_timeout =
      absl::Milliseconds(absl::GetFlag(FLAGS_group_max_session_timeout_ms));
  group_options.default_session_timeout =
      absl::Milliseconds(absl::GetFlag(FLAGS_group_default_session_timeout_ms));
  group_options.revoke_grace = absl::Milliseconds(absl::GetFlag(FLAGS_group_revoke_grace_ms));
  group_options.max_members_per_group = absl::GetFlag(FLAGS_group_max_members);
  group_options.max_groups = absl::GetFlag(FLAGS_max_groups);
  group::ConsumerGroups groups(broker.get(), group_options, &clock, /*run_timer=*/true);

  engine.Attach(broker.get(), &groups, security.get());

  // The Kafka front door, over the same engine and groups; started once storage has recovered.
  metrics::KafkaMetrics kafka_metrics(registry.get(), &security_metrics);  // outlives kafka_server
  std::unique_ptr<kafka::KafkaServer> kafka_server;
  kafka::KafkaServerOptions kafka_options;
  kafka_options.observer = &kafka_metrics;
  kafka_options.security = security.get();
  kafka_options.sasl = sasl_options;
  kafka_options.max_connections_per_ip = absl::GetFlag(FLAGS_kafka_max_connections_per_ip);
  kafka_options.connections_max_idle =
      absl::Milliseconds(absl::GetFlag(FLAGS_kafka_connections_max_idle_ms));
  kafka_options.io_threads = absl::GetFlag(FLAGS_kafka_io_threads);
  kafka_options.request_threads = absl::GetFlag(FLAGS_kafka_request_threads);
  kafka_options.max_waiting_requests = absl::GetFlag(FLAGS_kafka_max_waiting_requests);
  kafka_options.max_queued_bytes = absl::GetFlag(FLAGS_kafka_max_queued_bytes);
  kafka_options.listeners = *kafka_listeners;
  kafka_options.tls = kafka_tls;
  kafka_options.tls_principal = *tls_principal;
  for (const kafka::KafkaListener& l : kafka_options.listeners) {
    // Kafka clients bootstrap, then connect to the advertised address: on a wildcard listener
    // that is 127.0.0.1, which only works for clients on this host (or through a port-forward).
    if (l.advertised_host.empty() && (l.host.empty() || l.host == "0.0.0.0" || l.host == "::")) {
      log::Event(log::Level::kWarn, "kafka_advertise_loopback",
                 {{"listener", l.name},
                  {"listen", kafka::JoinHostPort(l.host, l.port)},
                  {"advertise", "127.0.0.1"},
                  {"hint", absl::StrCat("Kafka clients on other hosts cannot follow 127.0.0.1: set "
                                        "--kafka-advertise (FERRY_KAFKA_ADVERTISE) to ",
                                        l.name, "://<an address they reach>")}});
    }
  }
  kafka_options.max_connections = absl::GetFlag(FLAGS_kafka_max_connections);
  kafka_options.max_request_bytes = absl::GetFlag(FLAGS_kafka_max_request_bytes);
  if (!kafka_options.listeners.empty()) {
    // Unwinds in shutdown order: nothing may outlive what it uses (the engine, the broker).
    const auto fail_start = [&](const std::string& message, int code) {
      kafka_server.reset();
      groups.Shutdown(absl::UnavailableError("the broker failed to start"));
      broker->BeginShutdown();
      broker_service.StopStreams();
      server->Shutdown(std::chrono::system_clock::now());
      metrics_server.reset();
      broker->Close();
      return Fail("start_failed", message, code);
    };
    if (kafka_options.max_connections < 1 || kafka_options.max_request_bytes < 64) {
      return fail_start("--kafka-max-connections and --kafka-max-request-bytes must be positive",
                        2);
    }
    if (kafka_options.max_connections_per_ip < 1 ||
        kafka_options.connections_max_idle <= absl::ZeroDuration() ||
        kafka_options.io_threads < 1 || kafka_options.io_threads > 64 ||
        kafka_options.request_threads < 1 || kafka_options.request_threads > 256 ||
        kafka_options.max_waiting_requests < 2 || kafka_options.max_waiting_requests > 100000 ||
        kafka_options.max_queued_bytes < 1024) {
      return fail_start(
          "--kafka-max-connections-per-ip and --kafka-connections-max-idle-ms must be positive, "
          "--kafka-io-threads 1..64, --kafka-request-threads 1..256, "
          "--kafka-max-waiting-requests 2..100000, --kafka-max-queued-bytes at least 1024",
          2);
    }
    kafka_server = std::make_unique<kafka::KafkaServer>(broker.get(), &groups, kafka_options);
    absl::Status s = kafka_server->Start();
    if (!s.ok()) return fail_start(std::string(s.message()), 1);
    const std::string kafka_port_file = absl::GetFlag(FLAGS_kafka_port_file);
    if (!kafka_port_file.empty()) {
      s = WritePortFile(kafka_port_file, kafka_server->ports());
      if (!s.ok()) return fail_start(std::string(s.message()), 1);
    }
  }
  health_service.SetServing(true);
  log::Event(log::Level::kInfo, "serving",
             {{"grpc_port", std::to_string(port)},
              {"grpc_tls", !security::TlsEnabled(*tls)                          ? "off"
                           : tls->client_auth == security::ClientAuth::kRequire ? "mtls"
                                                                                : "on"}});

  // Signals were blocked in every thread; only this one takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  int sig = 0;
  sigwait(&stop_signals, &sig);

  const absl::Time stop_started = absl::Now();
  log::Event(log::Level::kInfo, "stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  health_service.SetServing(false);
  if (metrics_server != nullptr) metrics_server->SetShuttingDown();
  // Kafka connections close first: their in-flight produces finish while the store is open.
  if (kafka_server != nullptr) kafka_server->Stop();
  // Subscriptions end now instead of holding Shutdown up.
  groups.Shutdown(absl::UnavailableError("the broker is shutting down"));
  broker->BeginShutdown();
  broker_service.StopStreams();
  // Let calls in progress finish (bounded), then shut down at once: gRPC's Shutdown would
  // otherwise wait out its whole deadline for idle client connections to acknowledge GOAWAY.
  const absl::Time deadline =
      stop_started + absl::Milliseconds(absl::GetFlag(FLAGS_shutdown_timeout_ms));
  // Health watchers are sent NOT_SERVING and their streams ended before the server goes.
  health_service.Shutdown(deadline);
  while (metrics::ActiveRpcCount() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  server->Shutdown(std::chrono::system_clock::now());
  log::Event(log::Level::kDebug, "grpc_stopped",
             {{"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - stop_started))}});
  metrics_server.reset();
  broker->Close();
  log::Event(log::Level::kInfo, "stopped",
             {{"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - stop_started))}});
  return 0;
}

}  // namespace
}  // namespace ferry

// Ferry's flags are spelled with dashes (--data-dir); Abseil's names use underscores.
std::vector<char*> NormalizeFlags(int argc, char** argv, std::vector<std::string>* storage) {
  storage->reserve(argc);
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && arg.starts_with("--") && arg.size() > 2) {
      const size_t eq = arg.find('=');
      const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      arg = "--" + absl::StrReplaceAll(name, {{"-", "_"}}) +
            (eq == std::string::npos ? "" : arg.substr(eq));
    }
    storage->push_back(std::move(arg));
  }
  std::vector<char*> out;
  for (auto& a : *storage) out.push_back(a.data());
  return out;
}

// The flags ferryd defines (not Abseil's own), sorted by name.
std::vector<absl::CommandLineFlag*> FerrydFlags() {
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->Filename().find("ferryd.cc") != std::string::npos) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(), [](auto* a, auto* b) { return a->Name() < b->Name(); });
  return flags;
}

void PrintHelp() {
  std::printf(
      "ferryd: the Ferry message broker. It serves the gRPC API (ferry.v1) on --listen and the "
      "Kafka wire protocol on --kafka-listen.\n\nUsage: ferryd [flags]\n\n"
      "Every flag can also come from the environment as FERRY_ plus its name in upper case with "
      "underscores (FERRY_KAFKA_LISTEN=0.0.0.0:9092 is --kafka-listen=0.0.0.0:9092); the command "
      "line wins over the environment. A bad value stops ferryd with a message naming the "
      "variable; a FERRY_* variable that names no flag is reported as a warning and ignored "
      "(FERRY_BROKER, ferryctl's, and Kubernetes service links such as FERRY_SERVICE_HOST are "
      "expected and not reported).\n\nFlags (also --flag value):\n");
  for (const auto* f : FerrydFlags()) {
    std::printf("  --%s (default: \"%s\")\n      %s [%s]\n",
                absl::StrReplaceAll(f->Name(), {{"_", "-"}}).c_str(), f->DefaultValue().c_str(),
                f->Help().c_str(), ferry::config::EnvVarForFlag(std::string(f->Name())).c_str());
  }
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "--helpfull") {
      PrintHelp();
      return 0;
    }
    if (arg == "--version" || arg == "-V") {
      std::printf("%s\n", ferry::version::Line("ferryd").c_str());
      return 0;
    }
  }
  // Request and batch buffers are often 100 KiB to a few MiB: above glibc's default mmap
  // threshold each one would be a fresh mmap, page-faulted in and unmapped again. Keep them
  // on the heap, where freed memory is reused rather than returned and faulted in again.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // the main thread's sigwait receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::SetProgramUsageMessage(
      "The Ferry message broker.\n\n  ferryd [--listen=127.0.0.1:50051] "
      "[--kafka-listen=127.0.0.1:9092] [--data-dir=data] [--fsync=always] ...");
  std::vector<std::string> storage;
  std::vector<char*> args = NormalizeFlags(argc, argv, &storage);
  // The environment first, so the command line parsed after it wins.
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) environment.emplace_back(*e);
  ferry::config::EnvFlagReport env_report;
  const absl::Status env_status = ferry::config::ApplyEnvironmentFlags(
      FerrydFlags(), environment,
      ferry::config::FlagsOnCommandLine(
          std::vector<std::string>(storage.begin() + 1, storage.end())),
      &env_report);
  if (!env_status.ok()) {
    std::fprintf(stderr, "ferryd: %s\n", std::string(env_status.message()).c_str());
    return 2;
  }
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (positional.size() > 1) {
    std::fprintf(stderr, "ferryd: unexpected argument '%s' (see ferryd --help)\n", positional[1]);
    return 2;
  }
  for (const std::string& name : env_report.unknown) {
    ferry::log::Event(ferry::log::Level::kWarn, "unknown_environment_flag",
                      {{"variable", name},
                       {"error", "no ferryd flag has this FERRY_ name; ignored (ferryd --help)"}});
  }
  if (!env_report.overridden.empty()) {
    ferry::log::Event(ferry::log::Level::kInfo, "environment_flags_overridden",
                      {{"variables", absl::StrJoin(env_report.overridden, ",")},
                       {"reason", "the command line sets these flags too, and wins"}});
  }
  if (!env_report.applied.empty()) {
    ferry::log::Event(ferry::log::Level::kInfo, "flags_from_environment",
                      {{"variables", absl::StrJoin(env_report.applied, ",")}});
  }
  return ferry::Run();
}
