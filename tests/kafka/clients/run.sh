#!/usr/bin/env bash
# Runs one real-Kafka-client test against a fresh ferryd: starts ferryd with its gRPC, metrics
# and Kafka listeners on free ports of 127.0.0.1 and a temp data dir, runs the test, then stops
# ferryd with SIGTERM and fails unless it exits 0. The test gets the addresses in its
# environment:
#
#   KAFKA_BOOTSTRAP  127.0.0.1:PORT of the Kafka listener     FERRY_BROKER   gRPC address
#   FERRY_METRICS    127.0.0.1:PORT of /metrics                FERRYCTL       ferryctl binary
#   FERRYD_LOG       ferryd's stderr
#   PYTHONPATH       the ferry.v1 Python stubs and this directory (kafka_test_lib.py)
#
#   tests/kafka/clients/run.sh FERRYD FERRYCTL TEST [ARG...]
#
# TEST is a file in this directory: *.py runs under Debian's /usr/bin/python3 (python3-kafka,
# grpcio), *.sh under bash, *.js under node after `npm ci` when node/node_modules is missing or
# stale.
set -euo pipefail

if (($# < 3)); then
  echo "usage: $0 FERRYD FERRYCTL TEST [ARG...]" >&2
  exit 2
fi
FERRYD=$(realpath "$1")
FERRYCTL=$(realpath "$2")
TEST=$3
shift 3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
export FERRYCTL

# shellcheck source=../../lib/ferryd.sh
source "$REPO/tests/lib/ferryd.sh"

node_modules_stale() {
  [[ ! -f $HERE/node/node_modules/.package-lock.json ||
    $HERE/node/package-lock.json -nt $HERE/node/node_modules/.package-lock.json ]]
}

case $TEST in
  *.py) runner=(/usr/bin/python3 -u) ;;
  *.sh) runner=(bash) ;;
  *.js)
    command -v node >/dev/null || {
      echo "node is not installed (scripts/install-deps.sh installs it)" >&2
      exit 1
    }
    # As examples/node/run_test.sh: npm ci installs exactly package-lock.json and records it in
    # node_modules/.package-lock.json; concurrent test runs take turns.
    if node_modules_stale; then
      exec 9<"$HERE/node/package-lock.json"
      flock 9
      if node_modules_stale; then
        echo "installing the Kafka client tests' npm packages (npm ci)"
        (cd "$HERE/node" && npm ci --no-audit --no-fund)
      fi
      exec 9<&-
    fi
    runner=(node)
    ;;
  *)
    echo "$0: do not know how to run $TEST" >&2
    exit 2
    ;;
esac

work=$(mktemp -d)
trap 'ferryd_kill; rm -rf "$work"' EXIT

# Stubs are build output: generated here, never committed.
mkdir -p "$work/stubs"
protoc -I "$REPO/proto" --python_out="$work/stubs" --grpc_out="$work/stubs" \
  --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin ferry/v1/ferry.proto
export PYTHONPATH=$work/stubs:$HERE
export PYTHONDONTWRITEBYTECODE=1

ferryd_start_kafka "$FERRYD" "$work" --log-level=debug
export FERRYD_LOG
echo "ferryd: gRPC $FERRY_BROKER, Kafka $KAFKA_BOOTSTRAP, metrics $FERRY_METRICS"

rc=0
"${runner[@]}" "$HERE/$TEST" "$@" || rc=$?
if ((rc != 0)); then
  echo "FAIL: $TEST exited with status $rc; the last lines of ferryd's log:" >&2
  tail -n 40 "$FERRYD_LOG" >&2
  exit "$rc"
fi
ferryd_stop
echo "PASS: $TEST"
