# Sarama (Go, Debian's golang-github-shopify-sarama-dev) ConsumerGroup against Ferry's Kafka
# listener: 3 members consume a 6-partition topic while records are published, a 4th joins and
# an original one leaves gracefully; every record's processing interval is checked for exclusive
# ownership, nothing skipped and no duplicates. sarama/main.go is the program and its checks.
#
# Builds sarama/main.go in GOPATH mode from Debian's Go sources (/usr/share/gocode), offline, with
# a build cache in a temp dir, then runs its scenario. Run by run.sh, which exports
# KAFKA_BOOTSTRAP, FERRY_BROKER, FERRYCTL and FERRYD_LOG. SARAMA_KAFKA_VERSION overrides the
# Sarama config.Version the test uses (the highest Ferry serves).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=/usr/share/gocode/src/github.com/Shopify/sarama
TOPIC=sarama-topic
PARTITIONS=6
# Sarama 1.22 sends Metadata v5+ from 1.0.0 on; Ferry serves Metadata to v12, and this test
# passes at 1.0.0, 2.0.0 and 2.1.0 too (SARAMA_KAFKA_VERSION=2.1.0).
VERSION=${SARAMA_KAFKA_VERSION:-0.11.0.2}

if ! command -v go >/dev/null || [[ ! -d $SRC ]]; then
  echo "FAIL: needs golang-go and golang-github-shopify-sarama-dev (scripts/install-deps.sh)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# GOPATH mode: the program under $work/gopath/src, its imports from Debian's tree; no modules,
# no network. cgo stays on, so the standard library's prebuilt packages are used.
mkdir -p "$work/gopath/src/ferry" "$work/logs"
cp -r "$HERE/sarama" "$work/gopath/src/ferry/sarama_group"
build_start=$SECONDS
if ! (cd "$work/gopath/src/ferry/sarama_group" &&
  GOPATH=$work/gopath:/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off \
    GOCACHE=$work/gocache go build -o "$work/sarama_group" .) >"$work/go-build.log" 2>&1; then
  echo "FAIL: go build of sarama/main.go failed:" >&2
  cat "$work/go-build.log" >&2
  exit 1
fi
echo "go build: $((SECONDS - build_start)) s (Sarama $(dpkg-query -W -f='${Version}' \
  golang-github-shopify-sarama-dev 2>/dev/null || echo '?'), $(go version | cut -d' ' -f3))"

"$FERRYCTL" --broker "$FERRY_BROKER" topic create "$TOPIC" -p "$PARTITIONS"

rc=0
"$work/sarama_group" -bootstrap "$KAFKA_BOOTSTRAP" -topic "$TOPIC" -partitions "$PARTITIONS" \
  -kafka-version "$VERSION" -dir "$work/logs" || rc=$?
if ((rc != 0)); then
  for f in "$work"/logs/m*.stderr "$work/logs/scenario-sarama.log"; do
    [[ -s $f ]] || continue
    echo "--- the last lines of $(basename "$f"):" >&2
    tail -n 15 "$f" >&2
  done
fi
# SARAMA_KEEP_LOGS=DIR keeps each member's lines (one per record), Sarama's logs and ferryd's.
if [[ -n ${SARAMA_KEEP_LOGS:-} ]]; then
  mkdir -p "$SARAMA_KEEP_LOGS" && cp -r "$work/logs/." "$FERRYD_LOG" "$SARAMA_KEEP_LOGS/"
fi
exit "$rc"
