#!/usr/bin/env bash
# CI test of the Python example: generates the stubs into a temp dir, starts a real ferryd,
# runs producer.py then consumer.py, and checks that the ten records arrived exactly once and
# that the group has no lag left.
#
#   examples/python/run_test.sh path/to/ferryd
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 FERRYD" >&2
  exit 2
fi
FERRYD=$(realpath "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# Debian's python3-grpcio and python3-protobuf belong to the system interpreter; a python3 from
# pyenv earlier on PATH cannot import them.
PYTHON=/usr/bin/python3

# shellcheck source=../../tests/lib/ferryd.sh
source "$REPO/tests/lib/ferryd.sh"

work=$(mktemp -d)
trap 'ferryd_kill; rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Stubs are build output: generated here, never committed.
mkdir -p "$work/stubs"
protoc -I "$REPO/proto" --python_out="$work/stubs" --grpc_out="$work/stubs" \
  --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin ferry/v1/ferry.proto
export PYTHONPATH=$work/stubs
export PYTHONDONTWRITEBYTECODE=1

ferryd_start "$FERRYD" "$work"
echo "ferryd serves on $FERRY_BROKER"

"$PYTHON" "$HERE/producer.py" | tee "$work/producer.out"
"$PYTHON" "$HERE/consumer.py" --max-records 10 --timeout 30 | tee "$work/consumer.out"

# Every record exactly once: ten distinct lines, equal to the expected set.
for ((i = 0; i < 10; i++)); do
  echo "key = key-$i value = Message $i"
done | sort >"$work/expected"
sed -n 's/^Consumed event from topic my-topic: \(key = .* value = Message [0-9]*\) (.*$/\1/p' \
  "$work/consumer.out" | sort >"$work/consumed"
diff -u "$work/expected" "$work/consumed" || fail "consumed records differ from the produced ones"

"$PYTHON" "$HERE/describe_group.py" | tee "$work/describe.out"
rows=$(awk '$1 == "my-topic"' "$work/describe.out" | wc -l)
((rows > 0)) || fail "group my-group lists no partitions of my-topic"
committed=$(awk '$1 == "my-topic" && $4 != "-" {sum += $4} END {print sum + 0}' "$work/describe.out")
lag=$(awk '$1 == "my-topic" {sum += $6} END {print sum + 0}' "$work/describe.out")
[[ $committed == 10 ]] || fail "committed offsets add up to $committed, expected 10"
[[ $lag == 0 ]] || fail "group my-group has lag $lag, expected 0"

ferryd_stop
echo "PASS: python example"
