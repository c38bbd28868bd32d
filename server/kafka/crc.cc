// CRC-32C (Castagnoli, record batch v2) and CRC-32 (IEEE, message sets v0/v1).
//
// Every Produce is checked and every Fetch re-encodes, so the CRC runs over every byte served:
// CRC-32C uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time, so
// the binary still runs anywhere), and both fall back to slicing-by-8 tables, which read eight
// bytes per step instead of one.
#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "server/kafka/records.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define FERRY_KAFKA_HAVE_SSE42_CRC 1
#endif

namespace ferry::kafka {
namespace {

using Tables = std::array<std::array<uint32_t, 256>, 8>;

// tables[0] is the classic byte-at-a-time table; tables[k][b] is the CRC of byte b followed by
// k zero bytes, which lets eight input bytes be folded in with eight independent lookups.
constexpr Tables MakeTables(uint32_t poly) {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (poly ^ (c >> 1)) : (c >> 1);
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
  }
  return t;
}

constexpr Tables kCrc32cTables = MakeTables(0x82F63B78u);
constexpr Tables kCrc32Tables = MakeTables(0xEDB88320u);

uint64_t LoadLittleEndian64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

uint32_t SliceBy8(const Tables& t, std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  for (; n >= 8; n -= 8, p += 8) {
    const uint64_t v = LoadLittleEndian64(p) ^ c;
    c = t[7][v & 0xFF] ^ t[6][(v >> 8) & 0xFF] ^ t[5][(v >> 16) & 0xFF] ^ t[4][(v >> 24) & 0xFF] ^
        t[3][(v >> 32) & 0xFF] ^ t[2][(v >> 40) & 0xFF] ^ t[1][(v >> 48) & 0xFF] ^ t[0][v >> 56];
  }
  for (; n > 0; --n, ++p) c = t[0][(c ^ *p) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

#ifdef FERRY_KAFKA_HAVE_SSE42_CRC
__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(std::string_view data) {
  uint64_t c = 0xFFFFFFFFu;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, sizeof(v));
    c = _mm_crc32_u64(c, v);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
  return c32 ^ 0xFFFFFFFFu;
}

bool HaveSse42() {
  // Function-local so the check runs on first use, never in a static initializer that could
  // run before the CPU model is known.
  static const bool have = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return have;
}
#endif

}  // namespace

uint32_t Crc32c(std::string_view data) {
#ifdef FERRY_KAFKA_HAVE_SSE42_CRC
  if (HaveSse42()) return Crc32cSse42(data);
#endif
  return SliceBy8(kCrc32cTables, data);
}

uint32_t Crc32(std::string_view data) { return SliceBy8(kCrc32Tables, data); }

}  // namespace ferry::kafka
