#!/bin/bash
# What `make bench` runs once the benchmarks are built: the micro benchmarks (briefly), then the
# same workload against Ferry, NATS JetStream and Redis Streams, one after the other on this
# machine, and one table comparing them. docs/performance.md explains the method.
#
#   per system:  produce  1,000,000 x 100 B records, one producer pipelining (closed loop)
#                consume  pre-load 1,000,000, then one group consumer catches up
#                both     publish at 50k, 100k, 200k, 400k records/s for 5 s each while one
#                         group consumer reads: end-to-end latency from the intended send time
#
# Environment (all optional):
#   BUILD_DIR            where the executables are (default: build)
#   BENCH_OUT            results: JSON per run, table.md, charts (default: $BUILD_DIR/bench-results)
#   BENCH_SYSTEMS        default "ferry nats redis"; also "kafka" and "kafka-lz4": Ferry's
#                        Kafka door through librdkafka (kafka-bench), uncompressed or lz4;
#                        "ferry-tls": Ferry with every connection over TLS (ferry-bench --tls)
#   BENCH_RECORDS        default 1000000
#   BENCH_RATES          default "50000 100000 200000 400000"
#   BENCH_RATE_SECONDS   default 5
#   BENCH_REPEAT         runs of each measurement; the table shows medians (default 1)
#   BENCH_SKIP_MICRO=1   skip the Google Benchmark micro benchmarks
#   BENCH_FLAGS          extra flags for ferry_micro_bench
#   BENCH_UPDATE_DOCS=1  copy the charts to docs/images/ and the table to $BENCH_OUT/table.md
#                        (paste it into docs/performance.md)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac
out=${BENCH_OUT:-$build/bench-results}
systems=${BENCH_SYSTEMS:-ferry nats redis}
records=${BENCH_RECORDS:-1000000}
rates=${BENCH_RATES:-50000 100000 200000 400000}
rate_seconds=${BENCH_RATE_SECONDS:-5}
repeat=${BENCH_REPEAT:-1}
record_size=100

. "$root/bench/peers/lib.sh"
trap peer_stop_all EXIT

mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.dat "$out"/*.png "$out"/table.md
start=$SECONDS
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log() { printf '[bench %3ds] %s\n' $((SECONDS - start)) "$*" >&2; }

# --- micro benchmarks ---------------------------------------------------------------------
if [ "${BENCH_SKIP_MICRO:-0}" != 1 ]; then
  log "micro benchmarks (ferry_micro_bench, 0.1 s each)"
  # BENCH_FLAGS is a list of flags: split on spaces on purpose.
  # shellcheck disable=SC2086
  "$build/bench/ferry_micro_bench" --benchmark_min_time=0.1 \
    --benchmark_out="$out/micro.json" --benchmark_out_format=json ${BENCH_FLAGS:-}
fi

# --- end to end ---------------------------------------------------------------------------
ferry_bench=$build/bench/ferry-bench
[ -x "$ferry_bench" ] || ferry_bench=$build/ferry-bench
# The Kafka listener (a fixed port by default) is not part of the workload: off when ferryd has one.
ferryd_args=()
if "$build/ferryd" --help 2>&1 | grep -q -- '--kafka-listen'; then
  ferryd_args=(--ferryd-arg=--kafka-listen=)
fi

# run_one <system> <name> <flags...>: one measurement, JSON to $out/<system>-<name>.json.
run_one() {
  local system=$1 name=$2
  shift 2
  local file="$out/$system-$name.json"
  local common=(--record-size="$record_size" --json --quiet)
  case $system in
    ferry | ferry-tls)
      # ferry-bench starts (and stops) its own ferryd, with --fsync=always. One partition, as
      # the peers have one stream.
      local tls=()
      if [ "$system" = ferry-tls ]; then tls=(--tls); fi
      "$ferry_bench" "${common[@]}" --fsync=always --partitions=1 "${tls[@]}" "${ferryd_args[@]}" \
        "$@" >"$file"
      ;;
    nats | redis)
      peer_start "$system"
      "$build/bench/peers/$system-bench" "${common[@]}" --port="$PEER_PORT" \
        --server-pid="$PEER_PID" --timeout=120 "$@" >"$file"
      peer_stop "$PEER_PID"
      ;;
    kafka | kafka-lz4)
      FERRYD=$build/ferryd peer_start kafka
      local codec=none
      if [ "$system" = kafka-lz4 ]; then codec=lz4; fi
      # As many records in flight as ferry-bench allows (32 requests of 1,000 records).
      "$build/bench/peers/kafka-bench" "${common[@]}" --fsync=always --compression=$codec \
        --window=32000 \
        --port="$PEER_PORT" --server-pid="$PEER_PID" --timeout=120 "$@" >"$file"
      peer_stop "$PEER_PID"
      ;;
  esac
}

for system in $systems; do
  case $system in
    ferry | ferry-tls)
      if [ ! -x "$ferry_bench" ]; then
        log "SKIPPING Ferry: $ferry_bench is not built (cmake --build $build --target ferry-bench)"
        continue
      fi
      ;;
    nats | redis | kafka | kafka-lz4) ;;
    *)
      echo "bench: unknown system '$system' (ferry, ferry-tls, nats, redis, kafka, kafka-lz4)" >&2
      exit 2
      ;;
  esac
  for ((rep = 1; rep <= repeat; rep++)); do
    log "$system: produce $records records (run $rep/$repeat)"
    run_one "$system" "produce-$rep" --mode=produce --records="$records"
    log "$system: pre-load and consume $records records (run $rep/$repeat)"
    run_one "$system" "consume-$rep" --mode=consume --records="$records"
    for rate in $rates; do
      log "$system: e2e latency at $rate records/s for ${rate_seconds}s (run $rep/$repeat)"
      run_one "$system" "both-$rate-$rep" --mode=both --rate="$rate" --duration="$rate_seconds"
    done
  done
done

# --- table and charts ---------------------------------------------------------------------
log "results in $out"
{
  /usr/bin/python3 "$root/bench/render_table.py" "$out" --dat "$out"
  # Other processes skew the figures (the peers more: they spend more CPU per record).
  echo
  echo "Load average (1, 5, 15 min) before the run: $load_start; after: $(cut -d' ' -f1-3 /proc/loadavg)."
} >"$out/table.md"
cat "$out/table.md"

if command -v gnuplot >/dev/null && [ -s "$out/throughput.dat" ]; then
  plotted=""
  for s in ferry nats redis; do
    n=$(grep -vc '^#' "$out/latency-$s.dat" 2>/dev/null || true)
    if [ "${n:-0}" -gt 0 ]; then plotted="$plotted $s"; fi
  done
  gnuplot -e "outdir='$out'; systems='${plotted# }'" "$root/bench/peers/charts.gp"
  log "charts: $out/bench-throughput.png $out/bench-latency.png"
  if [ "${BENCH_UPDATE_DOCS:-0}" = 1 ]; then
    mkdir -p "$root/docs/images"
    cp "$out/bench-throughput.png" "$out/bench-latency.png" "$root/docs/images/"
    log "copied the charts to docs/images/; paste $out/table.md into docs/performance.md"
  fi
fi
log "done in $((SECONDS - start)) s"
