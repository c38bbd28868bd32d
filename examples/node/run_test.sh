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

# Over TLS as alice with the ACL authorizer (as the Python example's test): admin, the super
# user, makes the topic and alice's ACLs; anonymous and a wrong password are refused.
mkdir -p "$work/pki"
(
  cd "$work/pki"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj /CN=example-ca
  openssl req "${ec[@]}" -keyout server.key -out server.csr -subj /CN=localhost
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -out server.pem -extfile server.ext
) >"$work/openssl.log" 2>&1 || {
  cat "$work/openssl.log" >&2
  fail "openssl could not make the certificates"
}
printf 'admin:admin-secret\nalice:wonderland\n' >"$work/users"
rm -rf "$work/data"
ferryd_start "$FERRYD" "$work" --tls-cert="$work/pki/server.pem" \
  --tls-key="$work/pki/server.key" --authorizer=acl --super-users=User:admin \
  --users-file="$work/users"
export FERRY_TLS_CA=$work/pki/ca.pem FERRY_TLS_SERVER_NAME=localhost
FERRY_USER=admin FERRY_PASSWORD=admin-secret node -e "
const { clients, broker, call } = require('$HERE/ferry.js');
const { admin } = clients(broker());
(async () => {
  await call(admin, 'CreateTopic', { topic: 'my-topic', partitions: 3 });
  const acls = [['topic', 'my-topic', 'write'], ['topic', 'my-topic', 'read'],
    ['group', 'my-group', 'read']].map(([resource_type, resource_name, operation]) => ({
    resource_type, resource_name, operation, principal: 'User:alice', permission: 'allow' }));
  await call(admin, 'CreateAcls', { acls });
})().catch((err) => { console.error(err.message); process.exit(1); });
"
if node "$HERE/producer.js" >"$work/anonymous.out" 2>&1; then
  fail "an anonymous producer was allowed to write"
fi
grep -q 'may not write' "$work/anonymous.out" || fail "anonymous: $(cat "$work/anonymous.out")"
if FERRY_USER=alice FERRY_PASSWORD=wrong node "$HERE/producer.js" >"$work/wrong.out" 2>&1; then
  fail "a wrong password was accepted"
fi
grep -q 'invalid user or password' "$work/wrong.out" || fail "wrong password: $(cat "$work/wrong.out")"
export FERRY_USER=alice FERRY_PASSWORD=wonderland
node "$HERE/producer.js" | tee "$work/producer.out"
node "$HERE/consumer.js" --max-records 10 --timeout 30 | tee "$work/consumer.out"
sed -n 's/^Consumed event from topic my-topic: \(key = .* value = Message [0-9]*\) (.*$/\1/p' \
  "$work/consumer.out" | sort >"$work/consumed"
diff -u "$work/expected" "$work/consumed" || fail "over TLS as alice: consumed records differ"
ferryd_stop
echo "PASS: node example"
