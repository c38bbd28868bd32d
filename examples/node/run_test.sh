#!/usr/bin/env bash
# CI test of the Node.js example: installs the locked npm packages when node_modules is missing
# or older than package-lock.json, starts a real ferryd, runs producer.js then consumer.js, and
# checks that the ten records arrived exactly once and that the group has no lag left.
#
#   examples/node/run_test.sh path/to/ferryd
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 FERRYD" >&2
  exit 2
fi
FERRYD=$(realpath "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

command -v node >/dev/null || {
  echo "node is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
}

# npm ci installs exactly package-lock.json; it records what it installed in
# node_modules/.package-lock.json, so a lock file newer than that means a stale install.
node_modules_stale() {
  [[ ! -f $HERE/node_modules/.package-lock.json ||
    $HERE/package-lock.json -nt $HERE/node_modules/.package-lock.json ]]
}
if node_modules_stale; then
  # Two test runs (two build dirs) may get here at once: one installs, the other waits.
  exec 9<"$HERE/package-lock.json"
  flock 9
  if node_modules_stale; then
    echo "installing the example's npm packages (npm ci)"
    (cd "$HERE" && npm ci --no-audit --no-fund)
  fi
  exec 9<&-
fi

# shellcheck source=../../tests/lib/ferryd.sh
source "$REPO/tests/lib/ferryd.sh"

work=$(mktemp -d)
trap 'ferryd_kill; rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

ferryd_start "$FERRYD" "$work"
echo "ferryd serves on $FERRY_BROKER"

node "$HERE/producer.js" | tee "$work/producer.out"
node "$HERE/consumer.js" --max-records 10 --timeout 30 | tee "$work/consumer.out"

# Every record exactly once: ten distinct lines, equal to the expected set.
for ((i = 0; i < 10; i++)); do
  echo "key = key-$i value = Message $i"
done | sort >"$work/expected"
sed -n 's/^Consumed event from topic my-topic: \(key = .* value = Message [0-9]*\) (.*$/\1/p' \
  "$work/consumer.out" | sort >"$work/consumed"
diff -u "$work/expected" "$work/consumed" || fail "consumed records differ from the produced ones"

node "$HERE/describe_group.js" | tee "$work/describe.out"
rows=$(awk '$1 == "my-topic"' "$work/describe.out" | wc -l)
((rows > 0)) || fail "group my-group lists no partitions of my-topic"
committed=$(awk '$1 == "my-topic" && $4 != "-" {sum += $4} END {print sum + 0}' "$work/describe.out")
lag=$(awk '$1 == "my-topic" {sum += $6} END {print sum + 0}' "$work/describe.out")
[[ $committed == 10 ]] || fail "committed offsets add up to $committed, expected 10"
[[ $lag == 0 ]] || fail "group my-group has lag $lag, expected 0"

ferryd_stop
echo "PASS: node example"
