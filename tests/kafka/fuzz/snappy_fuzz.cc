// libFuzzer target for the snappy decompressor (codec_fuzz.h).
#include <cstddef>
#include <cstdint>

#include "tests/kafka/fuzz/codec_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ferry::kafka::fuzz::FuzzCodec(ferry::kafka::Codec::kSnappy, data, size);
}
