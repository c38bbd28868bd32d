#!/usr/bin/env bash
# Runs the real-Kafka-client TLS test (tls_clients.py) against a fresh ferryd serving TLS: makes
# a CA, a server certificate for 127.0.0.1/localhost and a client certificate (CN tls-client)
# with the openssl tool, then starts ferryd with an SSL Kafka listener (client certificates
# requested and verified against the CA) and the metrics endpoint over HTTPS, and stops it with
# SIGTERM at the end, failing unless it exits 0. The test gets run.sh's environment plus
# TLS_DIR, the directory with ca.pem, client.pem and client.key.
#
#   tests/kafka/clients/tls_run.sh FERRYD FERRYCTL
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
  for who in server:localhost:"IP:127.0.0.1,DNS:localhost" client:tls-client:"DNS:tls-client"; do
    IFS=: read -r name cn san <<<"$who"
    openssl req "${ec[@]}" -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn"
    printf "subjectAltName=%s" "$san" >"$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -out "$name.pem" -extfile "$name.ext"
  done
) >"$work/openssl.log" 2>&1 || {
  cat "$work/openssl.log" >&2
  exit 1
}

export PYTHONPATH=$HERE
export PYTHONDONTWRITEBYTECODE=1
# --kafka-listen after ferryd_start_kafka's own: the SSL listener is the one in the port file.
ferryd_start_kafka "$FERRYD" "$work" --log-level=debug --kafka-listen=SSL://127.0.0.1:0 \
  --kafka-tls-cert="$TLS_DIR/server.pem" --kafka-tls-key="$TLS_DIR/server.key" \
  --kafka-tls-ca="$TLS_DIR/ca.pem" --kafka-tls-client-auth=request \
  --tls-cert="$TLS_DIR/server.pem" --tls-key="$TLS_DIR/server.key" --metrics-tls
export FERRYD_LOG
echo "ferryd: Kafka SSL $KAFKA_BOOTSTRAP, metrics https://$FERRY_METRICS"

rc=0
/usr/bin/python3 -u "$HERE/tls_clients.py" || rc=$?
if ((rc != 0)); then
  echo "FAIL: tls_clients.py exited with status $rc; the last lines of ferryd's log:" >&2
  tail -n 40 "$FERRYD_LOG" >&2
  exit "$rc"
fi
ferryd_stop
echo "PASS: tls_clients.py"
