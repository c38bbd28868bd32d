#!/usr/bin/env bash
# Builds the Kafka decoders' libFuzzer targets (tests/kafka/fuzz/*_fuzz.cc) with clang++ and
# runs each for a bounded time from the committed seed corpus; fails on any crash, leak,
# sanitizer report or timeout. The main build uses g++, hence this separate clang build, cached
# under <build dir>/kafka-fuzz and redone only when a source changes.
#
#   run_fuzzers.sh <source dir> <build dir> [seconds per target, default 15]
set -euo pipefail

SRC=$(cd "${1:?usage: run_fuzzers.sh <source dir> <build dir> [seconds]}" && pwd)
BUILD=$(cd "${2:?usage: run_fuzzers.sh <source dir> <build dir> [seconds]}" && pwd)
SECONDS_PER_TARGET=${3:-${FERRY_FUZZ_SECONDS:-15}}
OUT=$BUILD/kafka-fuzz
CXX=${FERRY_FUZZ_CXX:-clang++}

if ! command -v "$CXX" > /dev/null; then
  echo "run_fuzzers.sh: $CXX not found; the fuzzers need clang with libFuzzer" \
    "(Debian: apt-get install clang libclang-rt-14-dev, as install-deps.sh does)" >&2
  exit 1
fi
mkdir -p "$OUT/obj" "$OUT/gen" "$OUT/artifacts"

# The generated protobuf code: the main build's copy when it exists, otherwise our own.
PROTO=$SRC/proto/ferry/v1/ferry.proto
GEN=$BUILD/gen
if [[ ! -f $GEN/ferry/v1/ferry.pb.cc || $GEN/ferry/v1/ferry.pb.cc -ot $PROTO ]]; then
  GEN=$OUT/gen
  if [[ ! -f $GEN/ferry/v1/ferry.pb.cc || $GEN/ferry/v1/ferry.pb.cc -ot $PROTO ]]; then
    protoc --proto_path="$SRC/proto" --cpp_out="$GEN" "$PROTO"
  fi
fi

# shellcheck disable=SC2046  # pkg-config output is a list of flags
LIBS=($(pkg-config --libs absl_status absl_statusor absl_str_format absl_strings protobuf \
  zlib snappy liblz4 libzstd))
COMMON=(-std=c++20 -g -O1 -I"$SRC" -I"$GEN")
SANITIZE=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)

# compile <source> <object> <flags...>: only when the flags changed or the source or a header
# it includes is newer than the object.
compile() {
  local src=$1 obj=$2
  shift 2
  local flags="$CXX ${COMMON[*]} $*"
  if [[ -f $obj && -f $obj.d && "$(cat "$obj.flags" 2> /dev/null)" == "$flags" ]]; then
    local stale=0 dep
    for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$obj.d"); do
      if [[ $dep -nt $obj ]]; then stale=1; break; fi
    done
    ((stale == 0)) && return 0
  fi
  echo "compiling $(basename "$src")"
  "$CXX" "${COMMON[@]}" "$@" -MMD -MF "$obj.d" -c "$src" -o "$obj"
  echo "$flags" > "$obj.flags"
}

# Generated code is not what is being fuzzed, and is slow to compile with sanitizers: plain.
compile "$GEN/ferry/v1/ferry.pb.cc" "$OUT/obj/ferry.pb.o" -O0 -w
CODEC_OBJS=("$OUT/obj/ferry.pb.o")
# The Kafka codecs (framing, records, and every API's requests and responses: the pure
# server/kafka/*_codec.cc, without the handlers and so without the engine) and the broker's
# wire-format helpers they share (varints).
CODEC_SRCS=(server/kafka/records.cc server/kafka/compression.cc server/kafka/crc.cc
  server/kafka/protocol.cc)
for src in "$SRC"/server/kafka/*_codec.cc; do CODEC_SRCS+=("server/kafka/${src##*/}"); done
CODEC_SRCS+=(server/broker/record_codec.cc)
for src in "${CODEC_SRCS[@]}"; do
  name=$(basename "$src" .cc)
  compile "$SRC/$src" "$OUT/obj/$name.o" "${SANITIZE[@]}" -fsanitize=fuzzer-no-link
  CODEC_OBJS+=("$OUT/obj/$name.o")
done

status=0
# records and frame, then one decompressor per codec (codec_fuzz.h).
for target in records frame gzip snappy lz4 zstd; do
  # A cold clang build on a busy machine can take minutes; keep the whole run inside the
  # CTest timeout (300 s) by fuzzing less rather than being killed mid-run.
  if ((SECONDS > 150 && SECONDS_PER_TARGET > 10)); then
    echo "the build took ${SECONDS}s; fuzzing 10s per target instead of ${SECONDS_PER_TARGET}s"
    SECONDS_PER_TARGET=10
  fi
  compile "$SRC/tests/kafka/fuzz/${target}_fuzz.cc" "$OUT/obj/${target}_fuzz.o" \
    "${SANITIZE[@]}" -fsanitize=fuzzer-no-link
  bin=$OUT/${target}_fuzz
  newest=0
  for obj in "${CODEC_OBJS[@]}" "$OUT/obj/${target}_fuzz.o"; do
    [[ -f $bin && ! $obj -nt $bin ]] || newest=1
  done
  if ((newest)); then
    echo "linking ${target}_fuzz"
    "$CXX" "${SANITIZE[@]}" -fsanitize=fuzzer "${CODEC_OBJS[@]}" "$OUT/obj/${target}_fuzz.o" \
      "${LIBS[@]}" -o "$bin"
  fi

  # New inputs go to a corpus under the build dir; the committed seeds stay as they are.
  work=$OUT/corpus/$target
  mkdir -p "$work"
  log=$OUT/${target}_fuzz.log
  echo "fuzzing ${target}_fuzz for ${SECONDS_PER_TARGET}s"
  if "$bin" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=1024 -timeout=10 \
      -max_len=4096 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/${target}-" \
      "$work" "$SRC/tests/kafka/fuzz/corpus/$target" > "$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
      "$log" | sed "s/^/  ${target}_fuzz /"
  else
    status=1
    echo "FAILED: ${target}_fuzz found a problem; log follows, reproduce with" >&2
    echo "  $bin <artifact>   (artifacts in $OUT/artifacts)" >&2
    tail -n 60 "$log" >&2
  fi
done
exit $status
