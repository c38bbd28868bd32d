#!/usr/bin/env bash
# Runs the real-Kafka-client SASL and ACL test (sasl_clients.py) against a fresh ferryd: makes a
# CA and a server certificate for 127.0.0.1/localhost with the openssl tool, writes a users file
# (admin, alice, bob), then starts ferryd with a SASL_SSL Kafka listener (SCRAM-SHA-256,
# SCRAM-SHA-512 and PLAIN, the default mechanisms), the ACL authorizer with User:admin as super
# user and plain-HTTP metrics, and stops it with SIGTERM at the end, failing unless it exits 0.
# The test gets run.sh's environment plus TLS_DIR, the directory with ca.pem.
#
#   tests/kafka/clients/sasl_run.sh FERRYD FERRYCTL
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 FERRYD FERRYCTL" >&2
  exit 2
fi
FERRYD=$(realpath "$1")
FERRYCTL=$(realpath "$2")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
export FERRYCTL

# shellcheck source=../../lib/ferryd.sh
source "$REPO/tests/lib/ferryd.sh"

work=$(mktemp -d)
trap 'ferryd_kill; rm -rf "$work"' EXIT
export TLS_DIR=$work/pki
mkdir -p "$TLS_DIR"
(
  cd "$TLS_DIR"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca
  openssl req "${ec[@]}" -keyout server.key -out server.csr -subj /CN=localhost
  printf "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -out server.pem -extfile server.ext
) >"$work/openssl.log" 2>&1 || {
  cat "$work/openssl.log" >&2
  exit 1
}

# The users ferryd creates at start (SCRAM credentials for both hashes and PLAIN's password).
printf '%s\n' admin:admin-secret alice:wonderland bob:builder >"$work/users"

export PYTHONPATH=$HERE
export PYTHONDONTWRITEBYTECODE=1
# --kafka-listen after ferryd_start_kafka's own: the SASL_SSL listener is the one in the port
# file. Metrics stay plain HTTP (no --metrics-tls).
ferryd_start_kafka "$FERRYD" "$work" --log-level=debug --kafka-listen=SASL_SSL://127.0.0.1:0 \
  --kafka-tls-cert="$TLS_DIR/server.pem" --kafka-tls-key="$TLS_DIR/server.key" \
  --authorizer=acl --super-users=User:admin --users-file="$work/users"
export FERRYD_LOG
echo "ferryd: Kafka SASL_SSL $KAFKA_BOOTSTRAP, metrics http://$FERRY_METRICS," \
  "gRPC $FERRY_BROKER"

rc=0
/usr/bin/python3 -u "$HERE/sasl_clients.py" || rc=$?
if ((rc != 0)); then
  echo "FAIL: sasl_clients.py exited with status $rc; the last lines of ferryd's log:" >&2
  tail -n 40 "$FERRYD_LOG" >&2
  exit "$rc"
fi
ferryd_stop
echo "PASS: sasl_clients.py"
