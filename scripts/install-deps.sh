#!/usr/bin/env bash
# Installs the Debian 12 packages Ferry needs to build, test and run, only when missing.
# Idempotent: when everything is present it takes a second and touches nothing.
#   scripts/install-deps.sh               everything: build, tests, benchmarks, examples
#   scripts/install-deps.sh --build-only  only what building ferryd needs (the image's build stage)
set -euo pipefail

# Building ferryd and ferryctl (cmake -DFERRY_BUILD_TESTS=OFF -DFERRY_BUILD_BENCH=OFF): the
# compilers, gRPC and Protobuf, Abseil, RocksDB, prometheus-cpp over CivetWeb, Asio (the Kafka
# listener), CLI11 (ferryctl), the Kafka compression codecs and OpenSSL (TLS).
BUILD_PACKAGES=(
  cmake g++ ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  librocksdb-dev prometheus-cpp-dev libcivetweb-dev libasio-dev libcli11-dev
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libssl-dev
)

PACKAGES=(
  "${BUILD_PACKAGES[@]}"
  make ccache libgtest-dev libgmock-dev libbenchmark-dev
  # Tests: promtool validates the /metrics exposition; Python checks the Grafana dashboard.
  prometheus python3
  # Examples: the Python one runs on Debian's gRPC and protobuf (stubs from grpc_python_plugin,
  # in protobuf-compiler-grpc above).
  python3-grpcio python3-protobuf
  # Deploy checks (tests/deploy_checks.sh): lints deploy/; its schema checks use node and npm.
  yamllint
  # Kafka front door tests: real Kafka clients (kafka-python, kcat on librdkafka); libFuzzer
  # targets for the Kafka decoders build with clang and its runtime.
  python3-kafka kcat clang libclang-rt-14-dev
  # kafka-python's compression codecs, for the Kafka tests.
  python3-snappy python3-lz4 python3-zstandard
  # Consumer-group tests with the clients users run: librdkafka's Python binding and a Go
  # program on Sarama (built in GOPATH mode from Debian's source package).
  python3-confluent-kafka golang-go golang-github-shopify-sarama-dev
  # make bench: the peers (NATS JetStream, Redis Streams), their C client libraries, the
  # charts in docs/performance.md, and librdkafka for kafka-bench (Ferry's Kafka door).
  nats-server redis-server libnats-dev libhiredis-dev gnuplot-nox librdkafka-dev
  # make image-test: podman builds and runs the image over a base made with debootstrap (runc
  # and slirp4netns where crun or netavark cannot run here).
  podman debootstrap runc slirp4netns
)

build_only=0
case "${1:-}" in
  "") ;;
  --build-only) build_only=1; PACKAGES=("${BUILD_PACKAGES[@]}") ;;
  *) echo "usage: $0 [--build-only]" >&2; exit 2 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The Node.js example needs node and npm. They may come from outside Debian (NodeSource's
# nodejs package ships npm and conflicts with Debian's npm), so check the commands, not the
# packages, and install Debian's only when one is missing.
if [ $build_only -eq 0 ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package index only when an install fails on a stale one.
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
