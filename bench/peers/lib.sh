# shellcheck shell=bash
# Start and stop the peer brokers for benchmarks and their smoke test. Source it from bash:
#
#   . bench/peers/lib.sh
#   trap peer_stop_all EXIT
#   peer_start nats     # sets PEER_PID, PEER_PORT, PEER_DIR
#   nats-bench --port="$PEER_PORT" --server-pid="$PEER_PID" ...
#
# Each server listens on 127.0.0.1 only, on a free port, with its data in a fresh temp dir;
# peer_stop ends it by its PID and removes the dir. Durability, stated in docs/performance.md:
#   nats:  nats-server -js, file storage. 2.9 has no per-write or configurable sync
#          (sync_interval arrived in 2.10): a publish is acked once written to the OS page cache.
#   redis: AOF, appendfsync everysec (fsync once a second by a background thread), no RDB.
#   kafka: Ferry's own ferryd ($FERRYD, default build/ferryd) serving its Kafka door on the
#          free port (gRPC and metrics on others), --fsync=always as ferry-bench runs it.

PEER_PIDS=()
PEER_DIRS=()

# A port nobody listens on right now (the kernel's pick for port 0).
peer_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# peer_wait_ready <what> <deadline-seconds> <command...>: polls the command until it succeeds.
peer_wait_ready() {
  local what=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$PEER_PID" 2>/dev/null; then
      echo "peers: $what exited during start-up; its log:" >&2
      cat "$PEER_DIR/server.log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "peers: $what not ready after ${secs}s; its log:" >&2
      cat "$PEER_DIR/server.log" >&2
      return 1
    fi
    sleep 0.05 # poll interval of the readiness check, not a synchronisation
  done
}

_peer_nats_ready() {
  grep -q 'Server is ready' "$PEER_DIR/server.log"
}

_peer_kafka_ready() {
  grep -q 'event=kafka_listening' "$PEER_DIR/server.log"
}

_peer_redis_ready() {
  [ "$(redis-cli -h 127.0.0.1 -p "$PEER_PORT" ping 2>/dev/null)" = PONG ]
}

# peer_start nats|redis|kafka: starts the server; sets PEER_PID, PEER_PORT, PEER_DIR.
peer_start() {
  local system=$1
  PEER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ferry-peer-$system.XXXXXX")
  PEER_PORT=$(peer_free_port)
  case $system in
    nats)
      nats-server -js -sd "$PEER_DIR/js" -a 127.0.0.1 -p "$PEER_PORT" \
        -l "$PEER_DIR/server.log" &
      PEER_PID=$!
      ;;
    redis)
      redis-server --port "$PEER_PORT" --bind 127.0.0.1 --appendonly yes \
        --appendfsync everysec --dir "$PEER_DIR" --save '' --logfile "$PEER_DIR/server.log" \
        --daemonize no &
      PEER_PID=$!
      ;;
    kafka)
      local root
      root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
      "${FERRYD:-$root/build/ferryd}" --data-dir="$PEER_DIR/data" --fsync=always \
        --listen=127.0.0.1:"$(peer_free_port)" --metrics-listen=127.0.0.1:"$(peer_free_port)" \
        --kafka-listen=127.0.0.1:"$PEER_PORT" >"$PEER_DIR/server.log" 2>&1 &
      PEER_PID=$!
      ;;
    *)
      echo "peers: unknown system '$system' (nats, redis or kafka)" >&2
      return 1
      ;;
  esac
  PEER_PIDS+=("$PEER_PID")
  PEER_DIRS+=("$PEER_DIR")
  peer_wait_ready "$system" 20 "_peer_${system}_ready"
}

# peer_stop <pid>: SIGTERM, then SIGKILL if it is still there after 10 s; removes its data dir.
peer_stop() {
  local pid=$1 i
  for i in "${!PEER_PIDS[@]}"; do
    if [ "${PEER_PIDS[$i]}" != "$pid" ]; then continue; fi
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      local deadline=$((SECONDS + 10))
      while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.05 # polling for the exit, bounded by the deadline
      done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
      wait "$pid" 2>/dev/null || true # its exit status after SIGTERM does not matter
    fi
    rm -rf "${PEER_DIRS[$i]}"
    unset 'PEER_PIDS[i]' 'PEER_DIRS[i]'
  done
}

# Stops every server this shell started: use as the EXIT trap.
peer_stop_all() {
  local pid
  for pid in "${PEER_PIDS[@]}"; do
    peer_stop "$pid"
  done
  return 0
}
