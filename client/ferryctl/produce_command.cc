// produce: one record per input line, sent through ferry::Producer (batched, pipelined) and
// flushed at the end.
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/ferryctl/commands.h"
#include "client/ferryctl/errors.h"
#include "client/ferryctl/json.h"
#include "client/ferryctl/output.h"
#include "ferry/producer.h"

namespace ferry::ctl {
namespace {

// Acks arrive on producer threads; the reading thread stops at the first failure. With
// `json`, prints one line per acknowledged record.
class AckTally {
 public:
  explicit AckTally(bool json) : json_(json) {}

  void Record(int64_t line, const absl::StatusOr<RecordMetadata>& result) {
    if (result.ok()) {
      acked_.fetch_add(1);
      if (json_) {
        JsonWriter json;
        json.BeginObject()
            .Key("topic")
            .String(result->topic)
            .Key("partition")
            .Int(result->partition)
            .Key("offset")
            .Int(result->offset)
            .Key("line")
            .Int(line)
            .EndObject();
        absl::MutexLock lock(&mu_);
        PrintOut(json.str() + "\n");
      }
      return;
    }
    failed_.fetch_add(1);
    absl::MutexLock lock(&mu_);
    if (first_error_.ok()) first_error_ = result.status();
  }
  int64_t acked() const { return acked_.load(); }
  int64_t failed() const { return failed_.load(); }
  absl::Status first_error() const {
    absl::MutexLock lock(&mu_);
    return first_error_;
  }

 private:
  const bool json_;
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> failed_{0};
  mutable absl::Mutex mu_;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
};

struct ProduceOptions {
  std::string topic;
  std::string delimiter;
  bool null_empty = false;
  std::vector<std::string> headers;
  int32_t partition = 0;
  std::string path = "-";
  int64_t progress_every = 100000;
  CLI::Option* keyed = nullptr;
  CLI::Option* partition_given = nullptr;
};

absl::Status Produce(Context& ctx, const ProduceOptions& o) {
  const std::string& topic = o.topic;
  const bool keyed = o.keyed->count() > 0;
  const bool null_empty = o.null_empty;
  absl::StatusOr<std::string> delimiter = Unescape(o.delimiter, "-K");
  if (!delimiter.ok()) return delimiter.status();
  if (keyed && delimiter->empty()) return UsageError("-K wants a non-empty key delimiter");
  std::vector<std::pair<std::string, std::string>> headers;
  for (const std::string& h : o.headers) {
    const size_t eq = h.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError(absl::StrCat("-H wants KEY=VALUE, got '", h, "'"));
    }
    headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
  }
  std::optional<int32_t> partition;
  if (o.partition_given->count() > 0) partition = o.partition;
  const int64_t progress_every = o.progress_every;

  std::ifstream file;
  std::ios::sync_with_stdio(false);  // stdin is read through std::cin only: no need to sync
  std::istream* in = &std::cin;
  const std::string& path = o.path;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) {
      return UsageError(absl::StrCat("cannot open --file '", path, "': ", std::strerror(errno)));
    }
    in = &file;
  }

  // Fail fast when the broker is down or the partition does not exist, instead of retrying
  // for --timeout. An unknown topic is left to the broker: it may create it on first publish.
  absl::StatusOr<v1::DescribeTopicResponse> d = ctx.DescribeTopic(topic);
  if (!d.ok() && !absl::IsNotFound(d.status())) return d.status();
  if (d.ok() && partition.has_value() && *partition >= d->topic().partitions()) {
    return absl::NotFoundError(absl::StrCat("topic '", topic, "' has ", d->topic().partitions(),
                                            " partitions; partition ", *partition,
                                            " does not exist"));
  }

  AckTally tally(ctx.json);  // outlives the producer, whose callbacks it counts
  ProducerOptions options;
  options.broker = ctx.broker;
  options.tls = ctx.tls;
  options.credentials = ctx.credentials;
  options.retry_timeout = ctx.timeout;
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(options);
  if (!producer.ok()) return producer.status();

  int64_t sent = 0;
  int64_t line_number = 0;
  std::string line;
  while (tally.failed() == 0 && std::getline(*in, line)) {
    ++line_number;
    if (line.empty()) continue;
    ProducerRecord record;
    record.topic = topic;
    record.partition = partition;
    record.headers = headers;
    size_t split = std::string::npos;
    if (keyed) split = line.find(*delimiter);
    if (split != std::string::npos) {
      record.key = line.substr(0, split);
      record.has_key = true;  // ":v" has an empty key; "v" (no delimiter) a null one
      record.value = line.substr(split + delimiter->size());
      record.null_value = null_empty && record.value.empty();
    } else {
      record.value = std::move(line);
    }
    (*producer)->Send(std::move(record),
                      [&tally, line_number](const absl::StatusOr<RecordMetadata>& r) {
                        tally.Record(line_number, r);
                      });
    ++sent;
    if (progress_every > 0 && sent % progress_every == 0) {
      std::fprintf(stderr, "ferryctl: produce: %lld records sent, %lld acknowledged\n",
                   static_cast<long long>(sent), static_cast<long long>(tally.acked()));
    }
  }
  if (in->bad()) {
    (void)(*producer)->Close();
    return absl::DataLossError(absl::StrCat("reading ", path == "-" ? "stdin" : path, " failed"));
  }
  absl::Status flushed = (*producer)->Flush();
  absl::Status closed = (*producer)->Close();
  if (tally.failed() > 0) {
    const absl::Status first = tally.first_error();
    return absl::Status(
        first.code(), absl::StrCat(tally.failed(), " of ", sent, " records failed (", tally.acked(),
                                   " acknowledged); first error: ", first.message()));
  }
  if (!flushed.ok()) return flushed;
  if (!closed.ok()) return closed;
  if (progress_every > 0 && sent >= progress_every) {
    std::fprintf(stderr, "ferryctl: produce: done, %lld records acknowledged\n",
                 static_cast<long long>(tally.acked()));
  }
  return absl::OkStatus();
}

}  // namespace

void AddProduceCommand(CLI::App& app, Runner* run) {
  auto o = std::make_shared<ProduceOptions>();
  CLI::App* cmd = app.add_subcommand("produce", "send lines of stdin or a file as records");
  cmd->add_option("topic", o->topic, "the topic")->required();
  o->keyed = cmd->add_option("-K,--key-delimiter", o->delimiter,
                             "split each line into key DELIM value; escapes \\t \\n \\r \\0 "
                             "\\\\ \\xHH");
  cmd->add_flag("-Z,--null", o->null_empty,
                "with -K, send an empty value (a line 'key' DELIM) as null, a tombstone, as kcat "
                "-Z");
  cmd->add_option("-H,--header", o->headers,
                  "add this header KEY=VALUE to every record (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  o->partition_given =
      cmd->add_option("-p,--partition", o->partition, "send every record to partition N")
          ->check(CLI::Range(0, INT32_MAX, "N >= 0"));
  cmd->add_option("-l,--file", o->path, "read lines from PATH instead of stdin ('-')");
  cmd->add_option("--progress", o->progress_every,
                  "report progress on stderr every N records (default 100000; 0: never)")
      ->check(CLI::Range(int64_t{0}, INT64_MAX, ">= 0"));
  cmd->footer(
      "Sends each line of stdin (or --file) as one record; empty lines are skipped. Without -K\n"
      "a line is the value and the record has no key (keyless records are spread over\n"
      "partitions). With -K the key is the text before the first delimiter and the value the\n"
      "rest; a line without the delimiter has a null key, a line starting with the delimiter an\n"
      "empty key. Keyed records (an empty key too) go to murmur2(key) mod partitions, as with\n"
      "Kafka.\n"
      "\n"
      "With --format json, prints one object per line per acknowledged record, in the order the\n"
      "acknowledgements arrive (line: the record's 1-based line number in the input):\n"
      "  {\"topic\":\"orders\",\"partition\":1,\"offset\":41,\"line\":3}\n"
      "\n"
      "Examples:\n"
      "  printf 'k1:hello\\nk2:world\\n' | ferryctl produce orders -K :\n"
      "  printf 'k1\\thello\\n' | ferryctl produce orders -K '\\t' --format json\n"
      "  ferryctl produce orders --file events.txt -H source=import -p 0");
  cmd->callback([run, o] { *run = [o](Context& ctx) { return Produce(ctx, *o); }; });
}

}  // namespace ferry::ctl
