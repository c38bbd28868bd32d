#include "ferry_bench/options.h"

#include <arpa/inet.h>

#include <functional>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ferry::bench {
namespace {

struct Flag {
  const char* name;
  const char* value_name;  // empty: a boolean switch
  const char* help;
  std::function<bool(const std::string&, Options*)> set;
};

bool SetInt(const std::string& v, int64_t* out) { return absl::SimpleAtoi(v, out); }
bool SetDouble(const std::string& v, double* out) { return absl::SimpleAtod(v, out); }
bool SetBool(const std::string& v, bool* out) { return absl::SimpleAtob(v, out); }

const std::vector<Flag>& Flags() {
  static const std::vector<Flag>* flags = new std::vector<Flag>{
      {"mode", "M",
       "produce: publish throughput and ack latency. consume: publish --records first (not "
       "measured), then time the group reading them from the start (catch-up). both: publish "
       "and consume at once, for end-to-end latency. Default produce.",
       [](const std::string& v, Options* o) {
         o->mode = v;
         return v == "produce" || v == "consume" || v == "both";
       }},
      {"producers", "N",
       "Producer threads, each with its own connection and PublishStream. "
       "Default 1.",
       [](const std::string& v, Options* o) { return SetInt(v, &o->producers); }},
      {"consumers", "K",
       "Members of one consumer group (group-mode Subscribe), one thread and "
       "connection each. Default 1.",
       [](const std::string& v, Options* o) { return SetInt(v, &o->consumers); }},
      {"partitions", "P", "Partitions of the benchmark topic (created fresh). Default 4.",
       [](const std::string& v, Options* o) { return SetInt(v, &o->partitions); }},
      {"record-size", "BYTES",
       "Value bytes per record (>= 8: the first 8 carry the send time). Default 100.",
       [](const std::string& v, Options* o) { return SetInt(v, &o->record_size); }},
      {"records", "N", "Records to publish in all. Default 1000000 unless --duration is given.",
       [](const std::string& v, Options* o) { return SetInt(v, &o->records); }},
      {"duration", "SECONDS", "Publish for this long instead of a count (produce and both).",
       [](const std::string& v, Options* o) { return SetDouble(v, &o->duration); }},
      {"max-seconds", "SECONDS",
       "Hard cap on the whole run; a run that has not finished by then fails. Default 120.",
       [](const std::string& v, Options* o) { return SetDouble(v, &o->max_seconds); }},
      {"rate", "R",
       "Open loop: records/s over all producers, each record scheduled at its intended time "
       "and latency measured from that time (no coordinated omission). 0 (default): as fast as "
       "the window allows.",
       [](const std::string& v, Options* o) { return SetDouble(v, &o->rate); }},
      {"batch-records", "N", "Records per publish request, at most. Default 1000.",
       [](const std::string& v, Options* o) { return SetInt(v, &o->batch_records); }},
      {"linger-ms", "MS",
       "With --rate: how long a due record may wait for its batch to fill. Default 1.",
       [](const std::string& v, Options* o) { return SetDouble(v, &o->linger_ms); }},
      {"window", "N", "Publish requests in flight per producer, at most. Default 32.",
       [](const std::string& v, Options* o) { return SetInt(v, &o->window); }},
      {"keys", "N",
       "Distinct record keys, cycled (the broker partitions by murmur2 of the key). 0 "
       "(default): keyless, each batch to the next partition in turn.",
       [](const std::string& v, Options* o) { return SetInt(v, &o->keys); }},
      {"fsync", "POLICY", "always|interval|never, passed to the ferryd started. Default always.",
       [](const std::string& v, Options* o) {
         o->fsync = v;
         o->fsync_set = true;
         return v == "always" || v == "interval" || v == "never";
       }},
      {"commit-interval-ms", "MS", "Consumers commit their positions this often. Default 1000.",
       [](const std::string& v, Options* o) { return SetDouble(v, &o->commit_interval_ms); }},
      {"consumer-client", "C",
       "library: ferry::Consumer, what applications use (default). raw: group Subscribe "
       "straight on the gRPC stub, to tell the library's cost from the broker's.",
       [](const std::string& v, Options* o) {
         o->consumer_client = v;
         return v == "library" || v == "raw";
       }},
      {"ferryd", "PATH", "The ferryd binary to start. Default: the one of this build tree.",
       [](const std::string& v, Options* o) {
         o->ferryd = v;
         return !v.empty();
       }},
      {"ferryd-arg", "FLAG",
       "An extra flag for the ferryd started (repeatable), e.g. --ferryd-arg=--block-cache-mb=256.",
       [](const std::string& v, Options* o) {
         o->ferryd_args.push_back(v);
         return true;
       }},
      {"target", "127.0.0.1:PORT",
       "Use a running broker instead of starting one (loopback addresses only).",
       [](const std::string& v, Options* o) {
         o->target = v;
         return true;
       }},
      {"broker-pid", "PID", "With --target: the broker's pid, for its CPU time and peak RSS.",
       [](const std::string& v, Options* o) { return SetInt(v, &o->broker_pid); }},
      {"topic", "NAME", "Topic to create. Default ferry-bench-<time>.",
       [](const std::string& v, Options* o) {
         o->topic = v;
         return !v.empty();
       }},
      {"malloc-tuning", "",
       "Raise glibc malloc's trim and mmap thresholds in this (client) process, as one would "
       "for any high-rate gRPC client: otherwise glibc returns gRPC's read buffers to the "
       "kernel and faults them in again, which costs the client 2-4x CPU per record (measured). "
       "Default on; --nomalloc-tuning shows an untuned application.",
       [](const std::string& v, Options* o) { return SetBool(v, &o->malloc_tuning); }},
      {"tls", "",
       "Over TLS: the broker started serves a self-signed certificate made with openssl for "
       "this run, and every connection verifies it.",
       [](const std::string& v, Options* o) { return SetBool(v, &o->tls); }},
      {"json", "", "Print exactly one JSON object to stdout (the human table goes to stderr).",
       [](const std::string& v, Options* o) { return SetBool(v, &o->json); }},
      {"quiet", "", "No progress line (and with --json, no human table either).",
       [](const std::string& v, Options* o) { return SetBool(v, &o->quiet); }},
      {"help", "", "Print this help and exit.",
       [](const std::string& v, Options* o) { return SetBool(v, &o->help); }},
  };
  return *flags;
}

// "127.0.0.1:PORT", "localhost:PORT" or "[::1]:PORT": the benchmark never sends traffic off
// the machine.
bool IsLoopback(const std::string& target) {
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = target.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(target.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return false;
  }
  if (host == "localhost") return true;
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
    in6_addr a6{};
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
  }
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

absl::Status Check(const Options& o) {
  auto bad = [](absl::string_view flag, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
  };
  if (o.producers < 1 || o.producers > 64) return bad("producers", "must be in [1, 64]");
  if (o.consumers < 1 || o.consumers > 64) return bad("consumers", "must be in [1, 64]");
  if (o.partitions < 1 || o.partitions > 10000) return bad("partitions", "must be in [1, 10000]");
  if (o.record_size < 8 || o.record_size > (1 << 20)) {
    return bad("record-size", "must be in [8, 1048576] (the first 8 bytes carry the send time)");
  }
  if (o.records < 0) return bad("records", "must be >= 0");
  if (o.duration < 0) return bad("duration", "must be >= 0");
  if (o.records > 0 && o.duration > 0)
    return bad("records", "give --records or --duration, not both");
  if (o.mode == "consume" && o.duration > 0) {
    return bad("duration", "--mode=consume reads a fixed number of records: use --records");
  }
  if (o.max_seconds <= 0 || o.max_seconds > 86400)
    return bad("max-seconds", "must be in (0, 86400]");
  if (o.duration >= o.max_seconds) {
    return bad("duration", "must be shorter than --max-seconds (default 120)");
  }
  if (o.rate < 0) return bad("rate", "must be >= 0");
  if (o.batch_records < 1 || o.batch_records > 100000) {
    return bad("batch-records", "must be in [1, 100000]");
  }
  if (o.linger_ms < 0 || o.linger_ms > 10000) return bad("linger-ms", "must be in [0, 10000]");
  if (o.window < 1 || o.window > 1024) return bad("window", "must be in [1, 1024]");
  if (o.keys < 0) return bad("keys", "must be >= 0");
  if (o.commit_interval_ms <= 0) return bad("commit-interval-ms", "must be > 0");
  if (!o.target.empty() && !IsLoopback(o.target)) {
    return bad("target", absl::StrCat("'", o.target,
                                      "' is not a loopback host:port (127.0.0.1:PORT): the "
                                      "benchmark sends traffic to this machine only"));
  }
  if (o.broker_pid < 0) return bad("broker-pid", "must be a pid");
  if (o.broker_pid > 0 && o.target.empty()) {
    return bad("broker-pid", "only with --target (a broker started here is measured anyway)");
  }
  if (!o.target.empty() && o.tls) {
    return bad("tls", "only for a broker ferry-bench starts (it makes the certificate)");
  }
  if (!o.target.empty() && (!o.ferryd.empty() || !o.ferryd_args.empty())) {
    return bad("target", "--ferryd and --ferryd-arg start a broker; with --target none starts");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseOptions(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!absl::StartsWith(arg, "-")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "': every option is a --flag"));
    }
    std::string name = std::string(absl::StripPrefix(absl::StripPrefix(arg, "-"), "-"));
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    name = absl::StrReplaceAll(name, {{"_", "-"}});
    if (name == "h") name = "help";
    const Flag* flag = nullptr;
    bool negated = false;
    for (const Flag& f : Flags()) {
      if (name == f.name) flag = &f;
      if (name == absl::StrCat("no", f.name) && std::string_view(f.value_name).empty()) {
        flag = &f;
        negated = true;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see ferry-bench --help)"));
    }
    const bool is_switch = std::string_view(flag->value_name).empty();
    if (!has_value) {
      if (is_switch) {
        value = negated ? "false" : "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
    } else if (negated) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
    }
    if (!flag->set(value, options)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag->name, ": bad value '", value, "' (see ferry-bench --help)"));
    }
  }
  if (options->help) return absl::OkStatus();
  if (options->records == 0 && options->duration == 0) options->records = 1000000;
  return Check(*options);
}

std::string Usage(const std::string& default_ferryd) {
  std::string out =
      "ferry-bench: end-to-end throughput and latency of Ferry, like Kafka's producer and "
      "consumer perf tools.\n\n"
      "It starts a ferryd on 127.0.0.1 with a temporary data directory (or uses --target),\n"
      "creates a fresh topic, publishes with pipelined PublishStreams and consumes with one\n"
      "consumer group, checks that every record published was consumed, and reports\n"
      "throughput (records/s, MiB/s of values), publish-ack and end-to-end latency\n"
      "(p50/p99/p99.9/max), CPU seconds of broker and client, and the broker's peak RSS.\n"
      "Exit codes: 0 done, 1 the run failed (lost records, broker error, --max-seconds), 2 bad "
      "flags.\n\n"
      "Examples:\n"
      "  ferry-bench --mode=produce --records=1000000 --record-size=100 --fsync=always\n"
      "  ferry-bench --mode=consume --records=1000000\n"
      "  ferry-bench --mode=both --rate=200000 --duration=10 --json\n\n"
      "Flags:\n";
  for (const Flag& f : Flags()) {
    std::string head = absl::StrCat("  --", f.name);
    if (!std::string_view(f.value_name).empty()) absl::StrAppend(&head, "=", f.value_name);
    absl::StrAppend(&out, head, "\n");
    // Wrap the help at about 90 columns, indented.
    std::string line = "      ";
    for (absl::string_view word : absl::StrSplit(f.help, ' ')) {
      if (line.size() + word.size() > 92) {
        absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
        line = "      ";
      }
      absl::StrAppend(&line, word, " ");
    }
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  absl::StrAppend(&out, "\nDefault ferryd: ", default_ferryd, "\n");
  return out;
}

}  // namespace ferry::bench
