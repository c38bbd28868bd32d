# shellcheck shell=bash
# Starts and stops a real ferryd for the shell tests (ferryctl, examples). Source it from a
# bash script running under `set -euo pipefail`.
#
#   ferryd_start FERRYD DIR [FLAG...]  starts ferryd on 127.0.0.1 with a free port (port 0 and
#       --port-file), data in DIR/data, log in DIR/ferryd.log, no metrics listener; returns once
#       it serves. Sets FERRYD_PID and FERRYD_PORT and exports FERRY_BROKER=127.0.0.1:PORT.
#   ferryd_stop  sends SIGTERM and fails unless ferryd exits 0.
#   ferryd_kill  for traps: stops ferryd if it still runs, ignoring how it exits.

FERRYD_PID=""
FERRYD_PORT=""
FERRYD_LOG=""

ferryd_start() {
  local bin=$1 dir=$2
  shift 2
  FERRYD_LOG=$dir/ferryd.log
  rm -f "$dir/port"
  "$bin" --listen=127.0.0.1:0 --port-file="$dir/port" --data-dir="$dir/data" \
    --metrics-listen= "$@" >"$FERRYD_LOG" 2>&1 &
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
