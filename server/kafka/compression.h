// Kafka's compression codecs (record batch attributes bits 0-2): gzip, snappy (raw and the
// xerial framing of Java clients), lz4 (the LZ4 frame format) and zstd. Decompression is
// bounded: output past `max_output` bytes is an error, so a decompression bomb costs at most
// that much memory. Pure functions, thread-safe.
#ifndef FERRY_SERVER_KAFKA_COMPRESSION_H_
#define FERRY_SERVER_KAFKA_COMPRESSION_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ferry::kafka {

// The codec ids of Kafka's attributes bits 0-2.
enum class Codec : int { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };

// "gzip", "snappy", ...; "unknown codec N" for ids Kafka does not define.
std::string CodecName(int codec);

// Appends the decompression of `in` to `out`. Errors:
//   DATA_LOSS            malformed or truncated data (Kafka CORRUPT_MESSAGE)
//   RESOURCE_EXHAUSTED   the output would exceed `max_output` bytes (MESSAGE_TOO_LARGE)
//   INVALID_ARGUMENT     codec is none or unknown
// Snappy accepts both raw snappy and xerial framing ("\x82SNAPPY\0" + [int32 length, block]*).
// On error `out` holds an unspecified prefix.
absl::Status Decompress(Codec codec, std::string_view in, size_t max_output, std::string* out);

// Appends the compression of `in` to `out`, as Kafka clients write it (gzip: the gzip format;
// lz4: one LZ4 frame; zstd: one frame). `xerial_snappy` selects the xerial framing for snappy.
absl::Status Compress(Codec codec, std::string_view in, std::string* out,
                      bool xerial_snappy = false);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_COMPRESSION_H_
