// The body of the per-codec libFuzzer targets (gzip_fuzz.cc, ...): arbitrary bytes must
// decompress within the cap or fail with DATA_LOSS or RESOURCE_EXHAUSTED, never crash or
// allocate past the cap; whatever decompresses must round-trip through Compress.
#ifndef FERRY_TESTS_KAFKA_FUZZ_CODEC_FUZZ_H_
#define FERRY_TESTS_KAFKA_FUZZ_CODEC_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "server/kafka/compression.h"

namespace ferry::kafka::fuzz {

constexpr size_t kCap = 1 << 20;

inline int FuzzCodec(Codec codec, const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string out;
  const absl::Status s = Decompress(codec, input, kCap, &out);
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kDataLoss &&
        s.code() != absl::StatusCode::kResourceExhausted) {
      std::abort();
    }
    return 0;
  }
  if (out.size() > kCap) std::abort();
  std::string again;
  if (!Compress(codec, out, &again).ok()) std::abort();
  std::string back;
  if (!Decompress(codec, again, kCap, &back).ok() || back != out) std::abort();
  return 0;
}

}  // namespace ferry::kafka::fuzz

#endif  // FERRY_TESTS_KAFKA_FUZZ_CODEC_FUZZ_H_
