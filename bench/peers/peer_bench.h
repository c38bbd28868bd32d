/* What nats_bench.c and redis_bench.c share: the ferry-bench command line, the clock, a
 * log-linear latency histogram, CPU and memory figures from /proc, and the JSON report in
 * ferry-bench's schema, so bench/run.sh and bench/render_table.py treat every system alike.
 *
 * Header-only (static functions): each peer client is one C file plus this header. Not
 * thread-safe unless said otherwise: each histogram has exactly one writer thread. */
#ifndef FERRY_BENCH_PEERS_PEER_BENCH_H_
#define FERRY_BENCH_PEERS_PEER_BENCH_H_

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum pb_mode { PB_PRODUCE, PB_CONSUME, PB_BOTH };

/* The command line: ferry-bench's flags plus where the server is. */
struct pb_config {
  enum pb_mode mode;
  long records;      /* --records; with --rate and --duration, rate * duration */
  int record_size;   /* --record-size, at least 8 (the send timestamp) */
  long rate;         /* --rate records/s, 0 = as fast as acks allow (closed loop) */
  double duration;   /* --duration seconds, used with --rate */
  int window;        /* --window: most publishes awaiting their ack */
  int batch;         /* --batch: records per consumer fetch, one ack per batch */
  const char *fsync; /* --fsync, what the durability setting is called for this system */
  const char *host;  /* --host */
  int port;          /* --port */
  long server_pid;   /* --server-pid, for the broker's CPU and peak RSS */
  int json;          /* --json: print the report as JSON on stdout */
  int quiet;         /* --quiet: no progress on stderr */
  double timeout_s;  /* --timeout: give up (exit 1) when the run takes longer */
};

static inline uint64_t pb_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Waits until the monotonic clock reaches `deadline_ns`: paces an open-loop producer. */
static inline void pb_sleep_until(uint64_t deadline_ns) {
  struct timespec ts;
  ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
  ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static inline void pb_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static inline void pb_usage(const char *prog, const char *system, int default_port) {
  fprintf(stderr,
          "usage: %s [flags]  (load client for %s; same flags and JSON as ferry-bench)\n"
          "  --mode=produce|consume|both  produce: publish --records, closed loop (default)\n"
          "                               consume: pre-load --records, then catch up as one\n"
          "                                        group consumer\n"
          "                               both: publish at --rate while consuming (e2e latency)\n"
          "  --records=N        records (default 1000000)\n"
          "  --record-size=B    bytes per record, >= 8 (default 100)\n"
          "  --rate=R           offered load, records/s (open loop; 0 = closed loop)\n"
          "  --duration=S       seconds at --rate (records = rate * duration)\n"
          "  --window=W         most publishes awaiting an ack (default 1000)\n"
          "  --batch=B          records per consumer fetch, one ack per fetch (default 1000)\n"
          "  --fsync=...        durability setting to use/report\n"
          "  --host=H --port=P  server (default 127.0.0.1:%d)\n"
          "  --server-pid=PID   report the server's CPU seconds and peak RSS\n"
          "  --timeout=S        fail when the run takes longer (default 300)\n"
          "  --json             print the report as JSON\n"
          "  --quiet            no progress messages\n",
          prog, system, default_port);
}

static inline const char *pb_flag_value(const char *arg, const char *name) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) == 0 && arg[n] == '=') return arg + n + 1;
  return NULL;
}

static inline long pb_parse_long(const char *flag, const char *v) {
  char *end = NULL;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || x < 0) {
    pb_die("%s: '%s' is not a non-negative integer", flag, v);
  }
  return x;
}

static inline double pb_parse_double(const char *flag, const char *v) {
  char *end = NULL;
  double x = strtod(v, &end);
  if (end == v || *end != '\0' || x < 0) pb_die("%s: '%s' is not a non-negative number", flag, v);
  return x;
}

static inline void pb_parse_args(struct pb_config *c, int argc, char **argv, const char *system,
                                 int default_port, const char *default_fsync) {
  memset(c, 0, sizeof *c);
  c->mode = PB_PRODUCE;
  c->records = 1000000;
  c->record_size = 100;
  c->window = 1000;
  c->batch = 1000;
  c->fsync = default_fsync;
  c->host = "127.0.0.1";
  c->port = default_port;
  c->timeout_s = 300;
  int records_given = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      pb_usage(argv[0], system, default_port);
      exit(0);
    } else if ((v = pb_flag_value(a, "--mode"))) {
      if (strcmp(v, "produce") == 0)
        c->mode = PB_PRODUCE;
      else if (strcmp(v, "consume") == 0)
        c->mode = PB_CONSUME;
      else if (strcmp(v, "both") == 0)
        c->mode = PB_BOTH;
      else
        pb_die("--mode: '%s' is not produce, consume or both", v);
    } else if ((v = pb_flag_value(a, "--records"))) {
      c->records = pb_parse_long("--records", v);
      records_given = 1;
    } else if ((v = pb_flag_value(a, "--record-size"))) {
      c->record_size = (int)pb_parse_long("--record-size", v);
    } else if ((v = pb_flag_value(a, "--rate"))) {
      c->rate = pb_parse_long("--rate", v);
    } else if ((v = pb_flag_value(a, "--duration"))) {
      c->duration = pb_parse_double("--duration", v);
    } else if ((v = pb_flag_value(a, "--window"))) {
      c->window = (int)pb_parse_long("--window", v);
    } else if ((v = pb_flag_value(a, "--batch"))) {
      c->batch = (int)pb_parse_long("--batch", v);
    } else if ((v = pb_flag_value(a, "--fsync"))) {
      c->fsync = v;
    } else if ((v = pb_flag_value(a, "--host"))) {
      c->host = v;
    } else if ((v = pb_flag_value(a, "--port"))) {
      c->port = (int)pb_parse_long("--port", v);
    } else if ((v = pb_flag_value(a, "--server-pid"))) {
      c->server_pid = pb_parse_long("--server-pid", v);
    } else if ((v = pb_flag_value(a, "--timeout"))) {
      c->timeout_s = pb_parse_double("--timeout", v);
    } else if (strcmp(a, "--json") == 0) {
      c->json = 1;
    } else if (strcmp(a, "--quiet") == 0) {
      c->quiet = 1;
    } else {
      pb_usage(argv[0], system, default_port);
      pb_die("unknown flag '%s'", a);
    }
  }
  if (c->rate > 0 && c->duration > 0 && !records_given) {
    c->records = (long)((double)c->rate * c->duration + 0.5);
  }
  if (c->record_size < 8) pb_die("--record-size must be at least 8 (the send timestamp)");
  if (c->records <= 0) pb_die("--records must be positive");
  if (c->window <= 0 || c->batch <= 0) pb_die("--window and --batch must be positive");
  if (c->port <= 0 || c->port > 65535) pb_die("--port must be 1..65535");
}

/* Log-linear histogram of microseconds: exact below 64, then 32 buckets per power of two
 * (about 3% resolution) up to 2^40 us. */
#define PB_HIST_SUB 32
#define PB_HIST_BUCKETS (64 + 35 * PB_HIST_SUB)
struct pb_hist {
  uint64_t counts[PB_HIST_BUCKETS];
  uint64_t total;
  uint64_t max;
};

static inline int pb_hist_index(uint64_t v) {
  if (v < 64) return (int)v;
  int msb = 63 - __builtin_clzll(v); /* >= 6 */
  if (msb > 40) return PB_HIST_BUCKETS - 1;
  int shift = msb - 5;
  return 64 + (msb - 6) * PB_HIST_SUB + (int)((v >> shift) - PB_HIST_SUB);
}

/* The middle of bucket `i`. */
static inline uint64_t pb_hist_value(int i) {
  if (i < 64) return (uint64_t)i;
  int msb = (i - 64) / PB_HIST_SUB + 6;
  int shift = msb - 5;
  uint64_t lo = (uint64_t)(PB_HIST_SUB + (i - 64) % PB_HIST_SUB) << shift;
  return lo + ((1ull << shift) >> 1);
}

static inline void pb_hist_add(struct pb_hist *h, uint64_t us) {
  h->counts[pb_hist_index(us)]++;
  h->total++;
  if (us > h->max) h->max = us;
}

static inline uint64_t pb_hist_percentile(const struct pb_hist *h, double p) {
  if (h->total == 0) return 0;
  uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.5);
  if (rank < 1) rank = 1;
  if (rank > h->total) rank = h->total;
  uint64_t seen = 0;
  for (int i = 0; i < PB_HIST_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) {
      uint64_t v = pb_hist_value(i);
      return v > h->max ? h->max : v;
    }
  }
  return h->max;
}

/* The payload: the intended send time (monotonic ns) in the first 8 bytes, then filler. */
static inline void pb_payload_init(char *buf, int size) { memset(buf, 'x', (size_t)size); }
static inline void pb_payload_stamp(char *buf, uint64_t send_ns) { memcpy(buf, &send_ns, 8); }
static inline uint64_t pb_payload_time(const void *data, size_t len) {
  uint64_t t = 0;
  if (len >= 8) memcpy(&t, data, 8);
  return t;
}

/* CPU seconds (user + system) of process `pid` so far, from /proc/<pid>/stat; -1 if unknown. */
static inline double pb_proc_cpu_seconds(long pid) {
  if (pid <= 0) return -1;
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* The command name (field 2) may hold spaces: count fields after its closing ')'. */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long utime = 0, stime = 0;
  /* Fields 3..15: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
   */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) {
    return -1;
  }
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Peak resident set (VmHWM) of process `pid` in MB; -1 if unknown. */
static inline double pb_proc_peak_rss_mb(long pid) {
  if (pid <= 0) return -1;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  double mb = -1;
  while (fgets(line, sizeof line, f)) {
    long kb;
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) {
      mb = (double)kb / 1024.0;
      break;
    }
  }
  fclose(f);
  return mb;
}

static inline double pb_self_cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The CPU model from /proc/cpuinfo ("unknown" if none), written into `out`. */
static inline void pb_cpu_model(char *out, size_t cap) {
  snprintf(out, cap, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *v = strchr(line, ':');
      if (v) {
        v++;
        while (*v == ' ' || *v == '\t') v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(out, cap, "%s", v);
      }
      break;
    }
  }
  fclose(f);
}

/* What one run measured. Phases that did not run keep zero records and seconds. */
struct pb_result {
  long pub_records;
  double pub_seconds;
  struct pb_hist pub_ack; /* ack latency: ack received - intended send time */
  long con_records;
  double con_seconds;
  struct pb_hist e2e; /* consumer received - intended send time (mode both) */
  double server_cpu0, client_cpu0;
  /* Records the consumer waits for: --records, or fewer when an open-loop producer gave up
   * (see pb_offer_deadline). Written by the producer, read by the consumer: atomic. */
  long offered;
};

/* An open-loop run that falls behind its schedule stops offering load after twice its
 * --duration plus a second, so a rate the system cannot sustain costs bounded time; the report
 * then shows fewer records published than configured. 0: no such limit. */
static inline uint64_t pb_offer_deadline(const struct pb_config *c, uint64_t t0) {
  if (c->rate <= 0 || c->duration <= 0) return 0;
  return t0 + (uint64_t)((2 * c->duration + 1) * 1e9);
}

static inline void pb_result_start(struct pb_result *r, const struct pb_config *c) {
  r->offered = c->records;
  r->server_cpu0 = pb_proc_cpu_seconds(c->server_pid);
  r->client_cpu0 = pb_self_cpu_seconds();
}

static inline void pb_json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(out, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(out, "\\u%04x", ch);
    else
      fputc(ch, out);
  }
  fputc('"', out);
}

static inline void pb_json_hist(FILE *out, const struct pb_hist *h) {
  fprintf(out, "{\"p50\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu}",
          (unsigned long long)pb_hist_percentile(h, 50),
          (unsigned long long)pb_hist_percentile(h, 99),
          (unsigned long long)pb_hist_percentile(h, 99.9), (unsigned long long)h->max);
}

static inline double pb_rate(long n, double s) { return s > 0 ? (double)n / s : 0; }

static inline void pb_report(FILE *out, const char *system, const struct pb_config *c,
                             const struct pb_result *r) {
  static const char *modes[] = {"produce", "consume", "both"};
  char model[256];
  pb_cpu_model(model, sizeof model);
  double scpu = pb_proc_cpu_seconds(c->server_pid);
  if (scpu >= 0 && r->server_cpu0 >= 0) scpu -= r->server_cpu0;
  double ccpu = pb_self_cpu_seconds() - r->client_cpu0;
  double rss = pb_proc_peak_rss_mb(c->server_pid);
  double mb = (double)c->record_size / 1e6;
  if (c->json) {
    fprintf(out, "{\"system\":");
    pb_json_string(out, system);
    fprintf(out,
            ",\"config\":{\"mode\":\"%s\",\"producers\":1,\"consumers\":%d,\"partitions\":1,"
            "\"record_size\":%d,\"records\":%ld,\"rate\":%ld,\"batch_records\":%d,"
            "\"window\":%d,\"fsync\":",
            modes[c->mode], c->mode == PB_PRODUCE ? 0 : 1, c->record_size, c->records, c->rate,
            c->batch, c->window);
    pb_json_string(out, c->fsync);
    fprintf(out, "},\"machine\":{\"cores\":%ld,\"model\":", sysconf(_SC_NPROCESSORS_ONLN));
    pb_json_string(out, model);
    fprintf(out,
            "},\"publish\":{\"records\":%ld,\"seconds\":%.6f,\"records_per_sec\":%.1f,"
            "\"mb_per_sec\":%.2f,\"ack_latency_us\":",
            r->pub_records, r->pub_seconds, pb_rate(r->pub_records, r->pub_seconds),
            pb_rate(r->pub_records, r->pub_seconds) * mb);
    pb_json_hist(out, &r->pub_ack);
    fprintf(out,
            "},\"consume\":{\"records\":%ld,\"seconds\":%.6f,\"records_per_sec\":%.1f,"
            "\"mb_per_sec\":%.2f},\"e2e_latency_us\":",
            r->con_records, r->con_seconds, pb_rate(r->con_records, r->con_seconds),
            pb_rate(r->con_records, r->con_seconds) * mb);
    pb_json_hist(out, &r->e2e);
    fprintf(out, ",\"broker\":{\"cpu_seconds\":%.2f,\"peak_rss_mb\":%.1f},", scpu, rss);
    fprintf(out, "\"client\":{\"cpu_seconds\":%.2f}}\n", ccpu);
  } else {
    fprintf(out, "%s  mode=%s records=%ld record_size=%d rate=%ld window=%d batch=%d fsync=%s\n",
            system, modes[c->mode], c->records, c->record_size, c->rate, c->window, c->batch,
            c->fsync);
    fprintf(out, "machine  %ld cores, %s\n", sysconf(_SC_NPROCESSORS_ONLN), model);
    if (r->pub_records > 0) {
      fprintf(out,
              "publish  %ld records in %.3f s: %.0f records/s, %.1f MB/s; ack p50 %llu us p99 %llu "
              "us\n",
              r->pub_records, r->pub_seconds, pb_rate(r->pub_records, r->pub_seconds),
              pb_rate(r->pub_records, r->pub_seconds) * mb,
              (unsigned long long)pb_hist_percentile(&r->pub_ack, 50),
              (unsigned long long)pb_hist_percentile(&r->pub_ack, 99));
    }
    if (r->con_records > 0) {
      fprintf(out, "consume  %ld records in %.3f s: %.0f records/s, %.1f MB/s\n", r->con_records,
              r->con_seconds, pb_rate(r->con_records, r->con_seconds),
              pb_rate(r->con_records, r->con_seconds) * mb);
    }
    if (r->e2e.total > 0) {
      fprintf(out, "e2e      p50 %llu us, p99 %llu us, p99.9 %llu us, max %llu us\n",
              (unsigned long long)pb_hist_percentile(&r->e2e, 50),
              (unsigned long long)pb_hist_percentile(&r->e2e, 99),
              (unsigned long long)pb_hist_percentile(&r->e2e, 99.9),
              (unsigned long long)r->e2e.max);
    }
    fprintf(out, "cpu      server %.2f s (peak RSS %.1f MB), client %.2f s\n", scpu, rss, ccpu);
  }
}

#endif /* FERRY_BENCH_PEERS_PEER_BENCH_H_ */
