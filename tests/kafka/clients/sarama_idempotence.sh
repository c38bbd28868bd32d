# Sarama (Go, Debian's golang-github-shopify-sarama-dev) idempotent producer against Ferry's
# Kafka listener: sarama_idempotent/main.go is the program and its checks. Built in GOPATH mode
# from Debian's Go sources, offline, as sarama_group.sh does. Run by run.sh (KAFKA_BOOTSTRAP).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! command -v go >/dev/null || [[ ! -d /usr/share/gocode/src/github.com/Shopify/sarama ]]; then
  echo "FAIL: needs golang-go and golang-github-shopify-sarama-dev (scripts/install-deps.sh)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/gopath/src/ferry"
cp -r "$HERE/sarama_idempotent" "$work/gopath/src/ferry/sarama_idempotent"
if ! (cd "$work/gopath/src/ferry/sarama_idempotent" &&
  GOPATH=$work/gopath:/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off \
    GOCACHE=$work/gocache go build -o "$work/sarama_idempotent" .) >"$work/go-build.log" 2>&1; then
  echo "FAIL: go build of sarama_idempotent/main.go failed:" >&2
  cat "$work/go-build.log" >&2
  exit 1
fi
"$work/sarama_idempotent"
