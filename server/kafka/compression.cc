// Kafka's codecs over Debian's zlib, snappy, lz4 and zstd. Every decompressor runs in bounded
// steps and checks the output size before it grows, so no input can make it allocate more than
// the caller's cap (plus one step).
#include "server/kafka/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::kafka {
namespace {

constexpr size_t kStep = 64 << 10;
constexpr std::string_view kXerialMagic("\x82SNAPPY\0", 8);
// magic, version, compatible version.
constexpr size_t kXerialHeader = 8 + 4 + 4;

absl::Status TooLarge(Codec codec, size_t max_output) {
  return absl::ResourceExhaustedError(
      absl::StrCat(CodecName(static_cast<int>(codec)), " data decompresses to more than ",
                   max_output, " bytes (the largest batch this broker accepts)"));
}

absl::Status Malformed(Codec codec, std::string_view why) {
  return absl::DataLossError(
      absl::StrCat("malformed ", CodecName(static_cast<int>(codec)), " data: ", std::string(why)));
}

// Grows `out` by up to one step within the cap; returns the room added (0: cap reached).
size_t Grow(std::string* out, size_t base, size_t max_output) {
  const size_t used = out->size() - base;
  if (used >= max_output) return 0;
  const size_t add = std::min(kStep, max_output - used);
  out->resize(out->size() + add);
  return add;
}

absl::Status GunzipTo(std::string_view in, size_t max_output, std::string* out) {
  z_stream z{};
  // 16 + MAX_WBITS: the gzip wrapper (what Kafka's GZIPOutputStream writes), 32 would also take
  // zlib; Kafka only ever writes gzip.
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return absl::InternalError("inflateInit2 failed");
  const size_t base = out->size();
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  absl::Status status;
  while (true) {
    const size_t room = Grow(out, base, max_output + 1);
    if (room == 0) {
      status = TooLarge(Codec::kGzip, max_output);
      break;
    }
    const size_t start = out->size() - room;
    z.next_out = reinterpret_cast<Bytef*>(out->data() + start);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_NO_FLUSH);
    out->resize(start + (room - z.avail_out));
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are legal; Kafka writes one, so trailing bytes are not.
      if (z.avail_in != 0) status = Malformed(Codec::kGzip, "bytes after the gzip stream");
      break;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      status = Malformed(Codec::kGzip, "truncated stream");
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = Malformed(Codec::kGzip, z.msg != nullptr ? z.msg : "inflate failed");
      break;
    }
  }
  inflateEnd(&z);
  if (status.ok() && out->size() - base > max_output) status = TooLarge(Codec::kGzip, max_output);
  return status;
}

absl::Status SnappyBlockTo(std::string_view block, size_t max_output, size_t base,
                           std::string* out) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(block.data(), block.size(), &length)) {
    return Malformed(Codec::kSnappy, "bad block header");
  }
  if (length > max_output - (out->size() - base)) return TooLarge(Codec::kSnappy, max_output);
  const size_t at = out->size();
  out->resize(at + length);
  if (!snappy::RawUncompress(block.data(), block.size(), out->data() + at)) {
    return Malformed(Codec::kSnappy, "corrupt block");
  }
  return absl::OkStatus();
}

absl::Status UnsnappyTo(std::string_view in, size_t max_output, std::string* out) {
  const size_t base = out->size();
  if (in.substr(0, kXerialMagic.size()) != kXerialMagic) {
    return SnappyBlockTo(in, max_output, base, out);
  }
  if (in.size() < kXerialHeader) return Malformed(Codec::kSnappy, "truncated xerial header");
  size_t at = kXerialHeader;
  while (at < in.size()) {
    if (in.size() - at < 4) return Malformed(Codec::kSnappy, "truncated xerial block length");
    const auto* p = reinterpret_cast<const uint8_t*>(in.data() + at);
    const uint32_t length =
        (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    at += 4;
    if (length > in.size() - at) return Malformed(Codec::kSnappy, "truncated xerial block");
    if (absl::Status s = SnappyBlockTo(in.substr(at, length), max_output, base, out); !s.ok()) {
      return s;
    }
    at += length;
  }
  return absl::OkStatus();
}

absl::Status Unlz4To(std::string_view in, size_t max_output, std::string* out) {
  LZ4F_dctx* dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
    return absl::InternalError("LZ4F_createDecompressionContext failed");
  }
  const size_t base = out->size();
  const char* src = in.data();
  size_t left = in.size();
  absl::Status status;
  size_t hint = 1;
  while (true) {
    const size_t room = Grow(out, base, max_output + 1);
    if (room == 0) {
      status = TooLarge(Codec::kLz4, max_output);
      break;
    }
    const size_t start = out->size() - room;
    size_t dst_size = room;
    size_t src_size = left;
    hint = LZ4F_decompress(dctx, out->data() + start, &dst_size, src, &src_size, nullptr);
    out->resize(start + dst_size);
    src += src_size;
    left -= src_size;
    if (LZ4F_isError(hint)) {
      status = Malformed(Codec::kLz4, LZ4F_getErrorName(hint));
      break;
    }
    if (hint == 0) {  // the frame is complete
      if (left != 0) status = Malformed(Codec::kLz4, "bytes after the frame");
      break;
    }
    if (left == 0 && dst_size < room) {  // wants more input, and there is none
      status = Malformed(Codec::kLz4, "truncated frame");
      break;
    }
  }
  LZ4F_freeDecompressionContext(dctx);
  if (status.ok() && out->size() - base > max_output) status = TooLarge(Codec::kLz4, max_output);
  return status;
}

absl::Status UnzstdTo(std::string_view in, size_t max_output, std::string* out) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (dctx == nullptr) return absl::InternalError("ZSTD_createDCtx failed");
  // Refuse windows larger than 8 MiB: the decoder's own memory is bounded too.
  ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 23);
  const size_t base = out->size();
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  absl::Status status;
  size_t rc = 1;
  while (true) {
    const size_t room = Grow(out, base, max_output + 1);
    if (room == 0) {
      status = TooLarge(Codec::kZstd, max_output);
      break;
    }
    const size_t start = out->size() - room;
    ZSTD_outBuffer output{out->data() + start, room, 0};
    rc = ZSTD_decompressStream(dctx, &output, &input);
    out->resize(start + output.pos);
    if (ZSTD_isError(rc)) {
      status = Malformed(Codec::kZstd, ZSTD_getErrorName(rc));
      break;
    }
    if (rc == 0 && input.pos == input.size) break;  // the last frame is complete
    if (input.pos == input.size && output.pos < room) {
      status = Malformed(Codec::kZstd, "truncated frame");
      break;
    }
  }
  ZSTD_freeDCtx(dctx);
  if (status.ok() && out->size() - base > max_output) status = TooLarge(Codec::kZstd, max_output);
  return status;
}

}  // namespace

std::string CodecName(int codec) {
  static constexpr const char* kNames[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  return codec >= 0 && codec < 5 ? std::string(kNames[codec])
                                 : absl::StrCat("unknown codec ", codec);
}

absl::Status Decompress(Codec codec, std::string_view in, size_t max_output, std::string* out) {
  switch (codec) {
    case Codec::kGzip:
      return GunzipTo(in, max_output, out);
    case Codec::kSnappy:
      return UnsnappyTo(in, max_output, out);
    case Codec::kLz4:
      return Unlz4To(in, max_output, out);
    case Codec::kZstd:
      return UnzstdTo(in, max_output, out);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("cannot decompress ", CodecName(static_cast<int>(codec))));
  }
}

absl::Status Compress(Codec codec, std::string_view in, std::string* out, bool xerial_snappy) {
  switch (codec) {
    case Codec::kGzip: {
      z_stream z{};
      if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) != Z_OK) {
        return absl::InternalError("deflateInit2 failed");
      }
      const size_t at = out->size();
      const size_t bound = deflateBound(&z, static_cast<uLong>(in.size()));
      out->resize(at + bound);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      z.avail_in = static_cast<uInt>(in.size());
      z.next_out = reinterpret_cast<Bytef*>(out->data() + at);
      z.avail_out = static_cast<uInt>(bound);
      const int rc = deflate(&z, Z_FINISH);
      out->resize(at + (bound - z.avail_out));
      deflateEnd(&z);
      if (rc != Z_STREAM_END) return absl::InternalError("deflate failed");
      return absl::OkStatus();
    }
    case Codec::kSnappy: {
      std::string block;
      snappy::Compress(in.data(), in.size(), &block);
      if (!xerial_snappy) {
        out->append(block);
        return absl::OkStatus();
      }
      out->append(kXerialMagic);
      const char header[8] = {0, 0, 0, 1, 0, 0, 0, 1};  // version 1, compatible with 1
      out->append(header, sizeof(header));
      const uint32_t n = static_cast<uint32_t>(block.size());
      const char length[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                              static_cast<char>(n >> 8), static_cast<char>(n)};
      out->append(length, sizeof(length));
      out->append(block);
      return absl::OkStatus();
    }
    case Codec::kLz4: {
      LZ4F_preferences_t prefs{};
      const size_t at = out->size();
      const size_t bound = LZ4F_compressFrameBound(in.size(), &prefs);
      out->resize(at + bound);
      const size_t n = LZ4F_compressFrame(out->data() + at, bound, in.data(), in.size(), &prefs);
      if (LZ4F_isError(n)) return absl::InternalError(LZ4F_getErrorName(n));
      out->resize(at + n);
      return absl::OkStatus();
    }
    case Codec::kZstd: {
      const size_t at = out->size();
      const size_t bound = ZSTD_compressBound(in.size());
      out->resize(at + bound);
      const size_t n = ZSTD_compress(out->data() + at, bound, in.data(), in.size(), 3);
      if (ZSTD_isError(n)) return absl::InternalError(ZSTD_getErrorName(n));
      out->resize(at + n);
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("cannot compress with ", CodecName(static_cast<int>(codec))));
  }
}

}  // namespace ferry::kafka
