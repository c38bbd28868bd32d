// CRC-32C (Castagnoli, record batch v2) and CRC-32 (IEEE, message sets v0/v1), table-driven.
#include <array>
#include <cstdint>
#include <string_view>

#include "server/kafka/records.h"

namespace ferry::kafka {
namespace {

constexpr std::array<uint32_t, 256> MakeTable(uint32_t poly) {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (poly ^ (c >> 1)) : (c >> 1);
    table[i] = c;
  }
  return table;
}

constexpr auto kCrc32cTable = MakeTable(0x82F63B78u);
constexpr auto kCrc32Table = MakeTable(0xEDB88320u);

uint32_t Compute(const std::array<uint32_t, 256>& table, std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace

uint32_t Crc32c(std::string_view data) { return Compute(kCrc32cTable, data); }
uint32_t Crc32(std::string_view data) { return Compute(kCrc32Table, data); }

}  // namespace ferry::kafka
