# Sarama (Go, Debian's golang-github-shopify-sarama-dev 1.22.1) version matrix against Ferry's
# Kafka listener: for each Config.Version in V0_11_0_0, V1_0_0_0, V2_0_0_0 and V2_2_0_0, the
# ClusterAdmin calls (topics, configs, partitions), Sync and Async producers with every codec,
# idempotent or not, and a partition consumer and a consumer group reading every record back
# exactly once. sarama_compat/main.go is the program and its checks.
#
# Builds sarama_compat/main.go in GOPATH mode from Debian's Go sources (/usr/share/gocode),
# offline, with a build cache in a temp dir (as sarama_group.sh), then runs it. Run by run.sh,
# which exports KAFKA_BOOTSTRAP and FERRYD_LOG. SARAMA_COMPAT_VERSIONS overrides the versions
# (comma-separated, as sarama.ParseKafkaVersion spells them: 0.11.0.0,2.2.0),
# SARAMA_COMPAT_FLAGS adds flags of the program (e.g. -codecs=none while debugging), and
# SARAMA_KEEP_LOGS=DIR keeps Sarama's log and ferryd's.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=/usr/share/gocode/src/github.com/Shopify/sarama
VERSIONS=${SARAMA_COMPAT_VERSIONS:-0.11.0.0,1.0.0,2.0.0,2.2.0}

if ! command -v go >/dev/null || [[ ! -d $SRC ]]; then
  echo "FAIL: needs golang-go and golang-github-shopify-sarama-dev (scripts/install-deps.sh)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# GOPATH mode: the program under $work/gopath/src, its imports from Debian's tree; no modules,
# no network. cgo stays on: Sarama's zstd is Debian's DataDog/zstd over libzstd.
mkdir -p "$work/gopath/src/ferry"
cp -r "$HERE/sarama_compat" "$work/gopath/src/ferry/sarama_compat"
build_start=$SECONDS
if ! (cd "$work/gopath/src/ferry/sarama_compat" &&
  GOPATH=$work/gopath:/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off \
    GOCACHE=$work/gocache go build -o "$work/sarama_compat" .) >"$work/go-build.log" 2>&1; then
  echo "FAIL: go build of sarama_compat/main.go failed:" >&2
  cat "$work/go-build.log" >&2
  exit 1
fi
echo "go build: $((SECONDS - build_start)) s (Sarama $(dpkg-query -W -f='${Version}' \
  golang-github-shopify-sarama-dev 2>/dev/null || echo '?'), $(go version | cut -d' ' -f3))"

rc=0
"$work/sarama_compat" ${SARAMA_COMPAT_FLAGS:-} -bootstrap "$KAFKA_BOOTSTRAP" -versions "$VERSIONS" \
  -sarama-log "$work/sarama.log" || rc=$?
if ((rc != 0)) && [[ -s $work/sarama.log ]]; then
  echo "--- the last lines of Sarama's log:" >&2
  tail -n 25 "$work/sarama.log" >&2
fi
if [[ -n ${SARAMA_KEEP_LOGS:-} ]]; then
  mkdir -p "$SARAMA_KEEP_LOGS" && cp "$work/sarama.log" "$FERRYD_LOG" "$SARAMA_KEEP_LOGS/"
fi
exit "$rc"
