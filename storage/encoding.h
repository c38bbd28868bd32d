// Fixed-width integer encodings for RocksDB keys and values.
// Keys use big-endian so that RocksDB's bytewise order is numeric order.
#ifndef FERRY_STORAGE_ENCODING_H_
#define FERRY_STORAGE_ENCODING_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::storage {

void PutBigEndian64(std::string* dst, uint64_t v);
void PutBigEndian32(std::string* dst, uint32_t v);
uint64_t GetBigEndian64(const char* p);
uint32_t GetBigEndian32(const char* p);

// The key of the batch whose first record has `offset`.
std::string OffsetKey(int64_t offset);
// Decodes an OffsetKey; false when `key` is not one.
bool ParseOffsetKey(std::string_view key, int64_t* offset);

void PutFixed64(std::string* dst, uint64_t v);
void PutFixed32(std::string* dst, uint32_t v);
uint64_t GetFixed64(const char* p);
uint32_t GetFixed32(const char* p);

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_ENCODING_H_
