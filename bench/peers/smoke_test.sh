#!/bin/bash
# CTest peer_bench_smoke: runs nats-bench, redis-bench and kafka-bench (against ferryd's Kafka
# door, uncompressed and lz4) for a tiny workload in each mode
# against their real servers (started here on 127.0.0.1, free port, temp dir; stopped by PID)
# and checks the JSON: every field of ferry-bench's schema, and the record counts. Never timings.
#
# usage: smoke_test.sh <nats-bench> <redis-bench> <kafka-bench> <ferryd>
set -euo pipefail
nats_bench=$1
redis_bench=$2
kafka_bench=$3
export FERRYD=$4
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/peers/lib.sh
. "$here/lib.sh"
trap peer_stop_all EXIT
out=$(mktemp -d "${TMPDIR:-/tmp}/ferry-peer-smoke.XXXXXX")
trap 'peer_stop_all; rm -rf "$out"' EXIT

records=5000
check() { # check <json file> <system> <mode> <records>
  /usr/bin/python3 - "$@" <<'EOF'
import json, sys
path, system, mode, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
r = json.load(open(path))
def need(obj, keys, where):
    for k in keys:
        if k not in obj:
            sys.exit(f"{path}: {where} has no '{k}'")
need(r, ["system", "config", "machine", "publish", "consume", "e2e_latency_us", "broker", "client"], "report")
need(r["config"], ["producers", "consumers", "partitions", "record_size", "records", "rate", "batch_records", "fsync"], "config")
need(r["machine"], ["cores", "model"], "machine")
need(r["publish"], ["records", "seconds", "records_per_sec", "mb_per_sec", "ack_latency_us"], "publish")
need(r["consume"], ["records", "seconds", "records_per_sec", "mb_per_sec"], "consume")
for h, where in [(r["publish"]["ack_latency_us"], "ack_latency_us"), (r["e2e_latency_us"], "e2e_latency_us")]:
    need(h, ["p50", "p99", "p999", "max"], where)
    if not h["p50"] <= h["p99"] <= h["p999"] <= h["max"]:
        sys.exit(f"{path}: {where} percentiles out of order: {h}")
need(r["broker"], ["cpu_seconds", "peak_rss_mb"], "broker")
need(r["client"], ["cpu_seconds"], "client")
assert r["system"] == system, r["system"]
assert r["config"]["records"] == n and r["config"]["record_size"] == 100, r["config"]
assert r["machine"]["cores"] >= 1
assert r["publish"]["records"] == n, f"published {r['publish']['records']} of {n}"
if mode == "produce":
    assert r["publish"]["records_per_sec"] > 0
    assert r["consume"]["records"] == 0
else:
    assert r["consume"]["records"] == n, f"consumed {r['consume']['records']} of {n}"
    assert r["consume"]["records_per_sec"] > 0
if mode == "both":
    assert r["e2e_latency_us"]["max"] > 0, "no end-to-end latency measured"
assert r["broker"]["cpu_seconds"] >= 0 and r["broker"]["peak_rss_mb"] > 0, r["broker"]
print(f"ok {system} {mode}: {n} records")
EOF
}

for system in nats redis kafka kafka-lz4; do
  extra=()
  case $system in
    nats) bench=$nats_bench name=nats-jetstream ;;
    redis) bench=$redis_bench name=redis-streams ;;
    kafka) bench=$kafka_bench name=ferry-kafka extra=(--compression=none) ;;
    kafka-lz4) bench=$kafka_bench name=ferry-kafka-lz4 extra=(--compression=lz4) ;;
  esac
  peer_start "${system%-lz4}"
  flags=(--port="$PEER_PORT" --server-pid="$PEER_PID" --record-size=100 --json --quiet --timeout=60
    "${extra[@]}")
  "$bench" "${flags[@]}" --mode=produce --records=$records >"$out/$system-produce.json"
  check "$out/$system-produce.json" "$name" produce $records
  "$bench" "${flags[@]}" --mode=consume --records=$records >"$out/$system-consume.json"
  check "$out/$system-consume.json" "$name" consume $records
  "$bench" "${flags[@]}" --mode=both --rate=5000 --duration=1 >"$out/$system-both.json"
  check "$out/$system-both.json" "$name" both $records
  peer_stop "$PEER_PID"
done
