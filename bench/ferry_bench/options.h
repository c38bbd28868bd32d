// Options of ferry-bench and their command-line parser. The parser is ferry-bench's own rather
// than absl flags so that a bad value is a one-line message and exit code 2 (absl exits 1) and
// --help lists exactly these flags.
#ifndef FERRY_BENCH_FERRY_BENCH_OPTIONS_H_
#define FERRY_BENCH_FERRY_BENCH_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ferry::bench {

struct Options {
  std::string mode = "produce";  // produce | consume | both
  int64_t producers = 1;
  int64_t consumers = 1;
  int64_t partitions = 4;
  int64_t record_size = 100;
  int64_t records = 0;  // 0 with --duration; else 1,000,000 when neither is given
  double duration = 0;  // seconds
  double max_seconds = 120;
  double rate = 0;  // records/s over all producers; 0: as fast as possible
  int64_t batch_records = 1000;
  double linger_ms = 1;  // open loop only
  int64_t window = 32;   // in-flight publish requests per producer
  int64_t keys = 0;
  std::string fsync = "always";
  bool fsync_set = false;  // given on the command line
  double commit_interval_ms = 1000;
  std::string consumer_client = "library";  // library | raw
  std::string ferryd;
  std::vector<std::string> ferryd_args;
  std::string target;
  int64_t broker_pid = 0;
  std::string topic;
  bool tls = false;  // serve and connect over TLS (a broker started here)
  bool malloc_tuning = true;
  bool json = false;
  bool quiet = false;
  bool help = false;
};

// Parses argv into `options`, then checks the values together. The message names the flag.
absl::Status ParseOptions(int argc, char** argv, Options* options);
std::string Usage(const std::string& default_ferryd);

}  // namespace ferry::bench

#endif  // FERRY_BENCH_FERRY_BENCH_OPTIONS_H_
