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
#include "ferry/producer.h"

namespace ferry::ctl {
namespace {

// Acks arrive on producer threads; the reading thread stops at the first failure.
class AckTally {
 public:
  void Record(const absl::StatusOr<RecordMetadata>& result) {
    if (result.ok()) {
      acked_.fetch_add(1);
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
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> failed_{0};
  mutable absl::Mutex mu_;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
};

absl::Status Produce(Context& ctx, const Args& args) {
  const std::string topic = args.positional()[0];
  const bool keyed = args.Has("key-delimiter");
  const bool null_empty = args.Has("null");
  const std::string delimiter = args.Get("key-delimiter");
  if (keyed && delimiter.empty()) return UsageError("-K wants a non-empty key delimiter");
  std::vector<std::pair<std::string, std::string>> headers;
  for (const std::string& h : args.GetAll("header")) {
    const size_t eq = h.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError(absl::StrCat("-H wants KEY=VALUE, got '", h, "'"));
    }
    headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
  }
  std::optional<int32_t> partition;
  if (args.Has("partition")) {
    absl::StatusOr<int64_t> p = args.GetInt("partition", 0, 0, INT32_MAX);
    if (!p.ok()) return p.status();
    partition = static_cast<int32_t>(*p);
  }
  absl::StatusOr<int64_t> progress_every = args.GetInt("progress", 100000, 0, INT64_MAX);
  if (!progress_every.ok()) return progress_every.status();

  std::ifstream file;
  std::ios::sync_with_stdio(false);  // stdin is read through std::cin only: no need to sync
  std::istream* in = &std::cin;
  const std::string path = args.Get("file", "-");
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

  AckTally tally;  // outlives the producer, whose callbacks it counts
  ProducerOptions options;
  options.broker = ctx.broker;
  options.retry_timeout = ctx.timeout;
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(options);
  if (!producer.ok()) return producer.status();

  int64_t sent = 0;
  std::string line;
  while (tally.failed() == 0 && std::getline(*in, line)) {
    if (line.empty()) continue;
    ProducerRecord record;
    record.topic = topic;
    record.partition = partition;
    record.headers = headers;
    size_t split = std::string::npos;
    if (keyed) split = line.find(delimiter);
    if (split != std::string::npos) {
      record.key = line.substr(0, split);
      record.has_key = true;  // ":v" has an empty key; "v" (no delimiter) a null one
      record.value = line.substr(split + delimiter.size());
      record.null_value = null_empty && record.value.empty();
    } else {
      record.value = std::move(line);
    }
    (*producer)->Send(std::move(record),
                      [&tally](const absl::StatusOr<RecordMetadata>& r) { tally.Record(r); });
    ++sent;
    if (*progress_every > 0 && sent % *progress_every == 0) {
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
  if (*progress_every > 0 && sent >= *progress_every) {
    std::fprintf(stderr, "ferryctl: produce: done, %lld records acknowledged\n",
                 static_cast<long long>(tally.acked()));
  }
  return absl::OkStatus();
}

}  // namespace

Command ProduceCommand() {
  return {
      .spec = {.path = "produce",
               .synopsis = "<topic> [options]",
               .summary =
                   "Sends each line of stdin (or --file) as one record; empty lines are skipped. "
                   "Without -K a line is the value and the record has no key (keyless records "
                   "are spread over partitions). With -K the key is the text before the first "
                   "delimiter and the value the rest; a line without the delimiter has a null "
                   "key, a line starting with the delimiter an empty key. Keyed records (an "
                   "empty key too) go to murmur2(key) mod partitions, as with Kafka.",
               .options = {{"key-delimiter", 'K', "DELIM", "split each line into key DELIM value"},
                           {"null", 'Z', "",
                            "with -K, send an empty value (a line 'key' DELIM) as null, a "
                            "tombstone, as kcat -Z"},
                           {"header", 'H', "KEY=VALUE",
                            "add this header to every record (repeatable)"},
                           {"partition", 'p', "N", "send every record to partition N"},
                           {"file", 'l', "PATH", "read lines from PATH instead of stdin ('-')"},
                           {"progress", 0, "N",
                            "report progress on stderr every N records (default 100000; 0: "
                            "never)"}},
               .min_args = 1,
               .max_args = 1,
               .details = "Examples:\n"
                          "  printf 'k1:hello\\nk2:world\\n' | ferryctl produce orders -K :\n"
                          "  ferryctl produce orders --file events.txt -H source=import -p 0\n"},
      .run = Produce};
}

}  // namespace ferry::ctl
