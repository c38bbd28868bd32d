#!/usr/bin/env bash
# Builds the container image from the repository's Dockerfile with podman, runs it, and reaches
# it from outside the container on 127.0.0.1: /readyz, gRPC (ferryctl: create, produce,
# consume), Kafka on the EXTERNAL listener (kcat: Metadata names the advertised address, produce,
# consume), `ferryd --version` naming the commit, and exit code 0 on `podman stop`.
#
# The bases are made here from Debian packages (debootstrap, then `podman import`), so no
# registry is needed; they and podman's layer cache live under <build dir>/image-cache.
#
# Building compiles ferryd in Release inside the build stage: about 7 minutes on 2 cores from
# nothing (debootstrap 1, packages 2-3, compiling 3), a few seconds when nothing changed. CTest
# runs it alone (RUN_SERIAL). FERRY_IMAGE_TEST=0 skips it; where podman cannot run containers it
# exits 77 (CTest: skipped) saying why.
#
# Usage: tests/image_test.sh <build dir>
set -euo pipefail
# A write to a socket the peer reset is an error to handle, not a signal that ends the test.
trap '' PIPE

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:?usage: $0 <build dir>}" && pwd)"
CACHE="$BUILD/image-cache"
BASE=localhost/ferry-debian-base:bookworm
IMAGE=localhost/ferryd:image-test
NAME="ferry-image-test-$$"

skip() {
  echo "SKIP  $*"
  exit 77
}
fail() {
  echo "FAIL  $*" >&2
  if [ -n "${CID:-}" ]; then podman logs --tail 30 "$NAME" >&2 || true; fi
  exit 1
}

[ "${FERRY_IMAGE_TEST:-1}" != 0 ] || skip "FERRY_IMAGE_TEST=0"
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, podman with root storage)"
for tool in podman debootstrap kcat python3; do
  command -v "$tool" >/dev/null || skip "$tool is missing: run scripts/install-deps.sh"
done
FERRYCTL="$BUILD/ferryctl"
[ -x "$FERRYCTL" ] || fail "no $FERRYCTL: build first (make build)"

# Podman as this machine allows it. Where crun cannot start containers (a hybrid cgroup v1/v2
# host, or a sandbox whose hard limits forbid the default rlimits), runc with cgroupfs and
# explicit, lower rlimits does; user-mode networking (slirp4netns) publishes ports without
# netavark's firewall rules.
PODMAN=(podman)
RUN_OPTS=(--ulimit "nofile=4096:4096" --ulimit "nproc=4096:4096")
if command -v runc >/dev/null; then PODMAN+=(--runtime runc --cgroup-manager cgroupfs); fi
NET_OPTS=(--network slirp4netns:port_handler=slirp4netns)
CID=""
cleanup() { [ -n "$CID" ] && "${PODMAN[@]}" rm -f "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

probe="$("${PODMAN[@]}" info --format '{{.Host.OCIRuntime.Name}}' 2>&1)" ||
  skip "podman cannot start here: $probe"

# apt's and debootstrap's words for a mirror it cannot reach.
MIRROR_DOWN="Temporary failure resolving|Could not resolve|Could not connect|Connection timed out|Failed to fetch|Network is unreachable"

# 1. A Debian 12 base from Debian's packages, once per cache.
mkdir -p "$CACHE"
if ! "${PODMAN[@]}" image exists "$BASE"; then
  if [ ! -f "$CACHE/rootfs/etc/debian_version" ]; then
    echo "== debootstrap bookworm into $CACHE/rootfs"
    rm -rf "$CACHE/rootfs"
    debootstrap --variant=minbase bookworm "$CACHE/rootfs" http://deb.debian.org/debian \
      >"$CACHE/debootstrap.log" 2>&1 || {
      if grep -Eq "$MIRROR_DOWN" "$CACHE/debootstrap.log"; then
        skip "the Debian mirror is unreachable: $(grep -Em1 "$MIRROR_DOWN" "$CACHE/debootstrap.log")"
      fi
      fail "debootstrap failed: $(tail -5 "$CACHE/debootstrap.log")"
    }
  fi
  echo "== podman import $BASE"
  tar -C "$CACHE/rootfs" -c . | "${PODMAN[@]}" import - "$BASE" >/dev/null 2>&1 ||
    fail "podman import of $CACHE/rootfs failed"
fi

# 2. The image, from the repository's own Dockerfile, on that base.
echo "== podman build $IMAGE"
start=$(date +%s)
revision="$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
"${PODMAN[@]}" build "${RUN_OPTS[@]}" --network host --layers \
  --build-arg BUILD_BASE="$BASE" --build-arg RUNTIME_BASE="$BASE" \
  --build-arg FERRY_REVISION="$revision" -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" \
  >"$CACHE/build.log" 2>&1 || {
  # The mirror, not the Dockerfile, when apt could not download: say so rather than fail.
  if grep -Eq "$MIRROR_DOWN" "$CACHE/build.log"; then
    skip "the Debian mirror is unreachable: $(grep -Em1 "$MIRROR_DOWN" "$CACHE/build.log")"
  fi
  fail "podman build failed: $(tail -20 "$CACHE/build.log")"
}
echo "ok    built in $(($(date +%s) - start)) s"

version="$("${PODMAN[@]}" run --rm "${RUN_OPTS[@]}" --network none "$IMAGE" --version)"
grep -q "$revision" <<<"$version" || fail "ferryd --version in the image does not name $revision: $version"
echo "ok    $version"

# 3. Run it with gRPC, Kafka EXTERNAL and metrics published on free ports of 127.0.0.1.
read -r GRPC KAFKA METRICS < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
)
CID="$("${PODMAN[@]}" run -d --name "$NAME" "${RUN_OPTS[@]}" "${NET_OPTS[@]}" \
  -p "127.0.0.1:$GRPC:50051" -p "127.0.0.1:$KAFKA:9094" -p "127.0.0.1:$METRICS:9464" \
  -e FERRY_KAFKA_ADVERTISE="EXTERNAL://127.0.0.1:$KAFKA" -e FERRY_DEFAULT_PARTITIONS=1 "$IMAGE")"
ready=""
for _ in $(seq 1 300); do
  # The published port accepts before ferryd listens inside (slirp4netns forwards, then resets):
  # a write may fail, and must only mean "not yet".
  if exec 3<>"/dev/tcp/127.0.0.1/$METRICS" 2>/dev/null; then
    if printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3 2>/dev/null &&
      head -n 1 <&3 2>/dev/null | grep -q ' 200 '; then
      ready=1
    fi
    exec 3>&-
  fi
  [ -n "$ready" ] && break
  [ "$("${PODMAN[@]}" inspect -f '{{.State.Running}}' "$NAME")" = true ] || fail "ferryd exited"
  sleep 0.1
done
[ -n "$ready" ] || fail "/readyz on 127.0.0.1:$METRICS never answered 200"
echo "ok    /readyz from outside the container"

# gRPC from outside: ferryctl.
ctl() { timeout 30 "$FERRYCTL" -b "127.0.0.1:$GRPC" "$@"; }
ctl topic create from-grpc -p 1 >/dev/null || fail "ferryctl topic create through the published gRPC port"
printf 'k1:v1\nk2:v2\n' | ctl produce from-grpc -K : >/dev/null || fail "ferryctl produce"
got="$(ctl consume from-grpc -e -f '%k=%v\n')"
[ "$got" = $'k1=v1\nk2=v2' ] || fail "ferryctl consume got: $got"
echo "ok    gRPC from outside: create, produce, consume"

# Kafka from outside: kcat bootstraps on the EXTERNAL port and is told the same address.
meta="$(timeout 30 kcat -b "127.0.0.1:$KAFKA" -L -m 10)"
grep -q "at 127.0.0.1:$KAFKA" <<<"$meta" || fail "Kafka Metadata does not advertise 127.0.0.1:$KAFKA: $meta"
printf 'k3:v3\n' | timeout 30 kcat -b "127.0.0.1:$KAFKA" -t from-grpc -K : -P || fail "kcat produce"
got="$(timeout 30 kcat -b "127.0.0.1:$KAFKA" -t from-grpc -C -o beginning -e -q -f '%k=%s\n')"
[ "$got" = $'k1=v1\nk2=v2\nk3=v3' ] || fail "kcat consume got: $got"
echo "ok    Kafka from outside: Metadata advertises 127.0.0.1:$KAFKA, produce, consume"

# 4. podman stop sends SIGTERM: ferryd exits 0.
"${PODMAN[@]}" stop -t 30 "$NAME" >/dev/null
code="$("${PODMAN[@]}" inspect -f '{{.State.ExitCode}}' "$NAME")"
[ "$code" = 0 ] || fail "ferryd exited $code after podman stop, want 0"
echo "ok    podman stop: ferryd exited 0"
