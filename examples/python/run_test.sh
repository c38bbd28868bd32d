#!/usr/bin/env bash
# CI test of the Python example: generates the stubs into a temp dir, starts a real ferryd,
# runs producer.py then consumer.py, and checks that the ten records arrived exactly once and
# that the group has no lag left. Then again over TLS with ACLs on: a user with a password may
# do what its ACLs allow (producer.py and consumer.py as alice), an anonymous caller and a wrong
# password are refused.
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

# Over TLS, as alice, with the ACL authorizer: a throwaway CA and server certificate, users
# from a file, alice allowed to write and read my-topic and read group my-group (the ACLs made
# through the Admin API by admin, the super user).
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
export PYTHONPATH=$HERE:$PYTHONPATH
FERRY_USER=admin FERRY_PASSWORD=admin-secret "$PYTHON" - <<'PY'
import argparse
import ferry_channel
from ferry.v1 import ferry_pb2, ferry_pb2_grpc

parser = argparse.ArgumentParser()
ferry_channel.add_arguments(parser)
with ferry_channel.open_channel(parser.parse_args([])) as channel:
    admin = ferry_pb2_grpc.AdminStub(channel)
    admin.CreateTopic(ferry_pb2.CreateTopicRequest(topic="my-topic", partitions=3), timeout=10)
    acls = [ferry_pb2.AclBinding(resource_type=t, resource_name=n, principal="User:alice",
                                 operation=o, permission="allow")
            for t, n, o in [("topic", "my-topic", "write"), ("topic", "my-topic", "read"),
                            ("group", "my-group", "read")]]
    admin.CreateAcls(ferry_pb2.CreateAclsRequest(acls=acls), timeout=10)
PY
if "$PYTHON" "$HERE/producer.py" >"$work/anonymous.out" 2>&1; then
  fail "an anonymous producer was allowed to write"
fi
grep -q PERMISSION_DENIED "$work/anonymous.out" || fail "anonymous: $(cat "$work/anonymous.out")"
if FERRY_USER=alice FERRY_PASSWORD=wrong "$PYTHON" "$HERE/producer.py" >"$work/wrong.out" 2>&1; then
  fail "a wrong password was accepted"
fi
grep -q UNAUTHENTICATED "$work/wrong.out" || fail "wrong password: $(cat "$work/wrong.out")"
export FERRY_USER=alice FERRY_PASSWORD=wonderland
"$PYTHON" "$HERE/producer.py" | tee "$work/producer.out"
"$PYTHON" "$HERE/consumer.py" --max-records 10 --timeout 30 | tee "$work/consumer.out"
sed -n 's/^Consumed event from topic my-topic: \(key = .* value = Message [0-9]*\) (.*$/\1/p' \
  "$work/consumer.out" | sort >"$work/consumed"
diff -u "$work/expected" "$work/consumed" || fail "over TLS as alice: consumed records differ"
ferryd_stop
echo "PASS: python example"
