# shellcheck shell=bash
# Starts and stops a real ferryd for the shell tests (ferryctl, examples). Source it from a
# bash script running under `set -euo pipefail`.
#
#   ferryd_start FERRYD DIR [FLAG...]  starts ferryd on 127.0.0.1 with a free port (port 0 and
#       --port-file), data in DIR/data, log in DIR/ferryd.log, no metrics listener; returns once
#       it serves. Sets FERRYD_PID and FERRYD_PORT and exports FERRY_BROKER=127.0.0.1:PORT.
#   ferryd_stop  sends SIGTERM and fails unless ferryd exits 0.
#   ferryd_kill  for traps: stops ferryd if it still runs, ignoring how it exits.
#   ferryd_start_kafka FERRYD DIR [FLAG...]  ferryd_start plus the Kafka and metrics listeners
#       (see below).

FERRYD_PID=""
FERRYD_PORT=""
FERRYD_LOG=""

ferryd_start() {
  local bin=$1 dir=$2
  shift 2
  FERRYD_LOG=$dir/ferryd.log
  rm -f "$dir/port"
  # No Kafka listener unless asked (ferryd_start_kafka): its default port 9092 would make
  # parallel tests collide.
  "$bin" --listen=127.0.0.1:0 --port-file="$dir/port" --data-dir="$dir/data" \
    --metrics-listen= --kafka-listen= "$@" >"$FERRYD_LOG" 2>&1 &
  FERRYD_PID=$!
  # The port file appears once gRPC listens; "event=serving" is logged once storage recovered
  # (until then RPCs answer UNAVAILABLE). Bounded: 20 s.
  local i
  for ((i = 0; i < 400; i++)); do
    if [[ -s $dir/port ]] && grep -q 'event=serving' "$FERRYD_LOG"; then
      FERRYD_PORT=$(<"$dir/port")
      export FERRY_BROKER=127.0.0.1:$FERRYD_PORT
      return 0
    fi
    if ! kill -0 "$FERRYD_PID" 2>/dev/null; then
      echo "ferryd exited during startup; its log:" >&2
      cat "$FERRYD_LOG" >&2
      FERRYD_PID=""
      return 1
    fi
    sleep 0.05
  done
  echo "ferryd did not serve within 20 s; its log:" >&2
  cat "$FERRYD_LOG" >&2
  return 1
}

ferryd_stop() {
  local pid=$FERRYD_PID rc=0
  FERRYD_PID=""
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    echo "ferryd exited with status $rc after SIGTERM (expected 0); its log:" >&2
    cat "$FERRYD_LOG" >&2
    return 1
  fi
}

ferryd_kill() {
  if [[ -n $FERRYD_PID ]] && kill -0 "$FERRYD_PID" 2>/dev/null; then
    kill -TERM "$FERRYD_PID" 2>/dev/null || true
    wait "$FERRYD_PID" 2>/dev/null || true
  fi
  FERRYD_PID=""
}

# ferryd_start_kafka FERRYD DIR [FLAG...]  like ferryd_start, plus the Kafka listener and the
#     metrics listener, both on 127.0.0.1 port 0; returns once both port files are written. Sets
#     FERRYD_KAFKA_PORT and FERRYD_METRICS_PORT and exports KAFKA_BOOTSTRAP=127.0.0.1:PORT and
#     FERRY_METRICS=127.0.0.1:PORT. Later flags win, so FLAGs can override these.
FERRYD_KAFKA_PORT=""
FERRYD_METRICS_PORT=""

ferryd_start_kafka() {
  local bin=$1 dir=$2
  shift 2
  rm -f "$dir/kafka-port" "$dir/metrics-port"
  ferryd_start "$bin" "$dir" --metrics-listen=127.0.0.1:0 --metrics-port-file="$dir/metrics-port" \
    --kafka-listen=127.0.0.1:0 --kafka-port-file="$dir/kafka-port" "$@" || return 1
  # Bounded: 20 s. The port files are written once each listener is bound.
  local i
  for ((i = 0; i < 400; i++)); do
    if [[ -s $dir/kafka-port && -s $dir/metrics-port ]]; then
      FERRYD_KAFKA_PORT=$(<"$dir/kafka-port")
      FERRYD_METRICS_PORT=$(<"$dir/metrics-port")
      export KAFKA_BOOTSTRAP=127.0.0.1:$FERRYD_KAFKA_PORT
      export FERRY_METRICS=127.0.0.1:$FERRYD_METRICS_PORT
      return 0
    fi
    if ! kill -0 "$FERRYD_PID" 2>/dev/null; then
      echo "ferryd exited during startup; its log:" >&2
      cat "$FERRYD_LOG" >&2
      FERRYD_PID=""
      return 1
    fi
    sleep 0.05
  done
  echo "ferryd wrote no Kafka or metrics port file within 20 s; its log:" >&2
  cat "$FERRYD_LOG" >&2
  return 1
}
