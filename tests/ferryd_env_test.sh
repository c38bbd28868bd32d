#!/usr/bin/env bash
# ferryd reads every flag from FERRY_<FLAG_NAME> environment variables; the command line wins.
# Starts ferryd with the environment only (free ports on 127.0.0.1, a temp dir) and checks it
# listens where the variables say, that a bad value fails naming the variable, and that an
# argument overrides its variable. Usage: tests/ferryd_env_test.sh <ferryd>
set -euo pipefail
FERRYD="$1"
TMP="$(mktemp -d)"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT
fail() { echo "FAIL  $*" >&2; [ -f "$TMP/log" ] && tail -n 20 "$TMP/log" >&2; exit 1; }

wait_file() {
  for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done
  return 1
}

# 1. Environment only.
env -i PATH="$PATH" FERRY_LISTEN=127.0.0.1:0 FERRY_METRICS_LISTEN=127.0.0.1:0 \
  FERRY_KAFKA_LISTEN=127.0.0.1:0 FERRY_DATA_DIR="$TMP/data" FERRY_PORT_FILE="$TMP/grpc.port" \
  FERRY_METRICS_PORT_FILE="$TMP/metrics.port" FERRY_KAFKA_PORT_FILE="$TMP/kafka.port" \
  FERRY_KAFKA_ADVERTISE=broker.example:19092 FERRY_BROKER=ignored:1 FERRY_NO_SUCH_FLAG=1 \
  "$FERRYD" >"$TMP/log" 2>&1 &
PID=$!
for f in grpc metrics kafka; do wait_file "$TMP/$f.port" || fail "no $f port file from FERRY_*_PORT_FILE"; done
[ -d "$TMP/data" ] || fail "FERRY_DATA_DIR did not create $TMP/data"
for f in grpc metrics kafka; do
  port="$(cat "$TMP/$f.port")"
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "nothing listens on the $f port $port"
done
ready=""
for _ in $(seq 1 100); do
  if exec 3<>"/dev/tcp/127.0.0.1/$(cat "$TMP/metrics.port")" 2>/dev/null; then
    printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3
    if head -n 1 <&3 | grep -q ' 200 '; then ready=1; exec 3>&-; break; fi
    exec 3>&-
  fi
  sleep 0.1
done
[ -n "$ready" ] || fail "/readyz never answered 200"
grep -q "advertised=broker.example:19092" "$TMP/log" || fail "FERRY_KAFKA_ADVERTISE not applied"
grep -q "unknown_environment_flag variable=FERRY_NO_SUCH_FLAG" "$TMP/log" ||
  fail "no warning for FERRY_NO_SUCH_FLAG"
if grep -q "FERRY_BROKER" "$TMP/log"; then fail "FERRY_BROKER (ferryctl's) was reported"; fi
kill -TERM "$PID"; wait "$PID" || fail "ferryd did not exit 0 on SIGTERM"
PID=""
echo "ok    ferryd listens where FERRY_LISTEN/FERRY_METRICS_LISTEN/FERRY_KAFKA_LISTEN say"

# 2. A bad value fails and names the variable.
if out="$(env -i PATH="$PATH" FERRY_DEFAULT_PARTITIONS=lots FERRY_DATA_DIR="$TMP/bad" \
  "$FERRYD" 2>&1)"; then fail "FERRY_DEFAULT_PARTITIONS=lots did not stop ferryd"; fi
grep -q "FERRY_DEFAULT_PARTITIONS=lots" <<<"$out" || fail "error does not name the variable: $out"
echo "ok    a bad value fails naming the variable"

# 3. The command line wins: a bad env value for a flag given as an argument is not even read.
rm -f "$TMP/grpc.port"
env -i PATH="$PATH" FERRY_LISTEN=not-an-address FERRY_DEFAULT_PARTITIONS=lots \
  "$FERRYD" --listen=127.0.0.1:0 --default-partitions=2 --metrics-listen=127.0.0.1:0 \
  --kafka-listen= --data-dir="$TMP/data2" --port-file="$TMP/grpc.port" >"$TMP/log" 2>&1 &
PID=$!
wait_file "$TMP/grpc.port" || fail "ferryd with --listen did not start despite FERRY_LISTEN"
grep -q "environment_flags_overridden" "$TMP/log" || fail "no note that arguments override"
kill -TERM "$PID"; wait "$PID" || fail "ferryd did not exit 0 on SIGTERM"
PID=""
echo "ok    the command line wins over the environment"
