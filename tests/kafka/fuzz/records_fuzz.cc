// libFuzzer target for the Produce record decoder: arbitrary bytes must decode or fail cleanly
// (never crash, never leave partial output), and whatever decodes must survive a re-encode as
// a record batch v2 and as a message set v1 unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/kafka/records.h"

namespace {

using ferry::v1::Record;

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckSame(const std::vector<Record>& a, const std::vector<Record>& b, bool headers) {
  Check(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    Check(a[i].key() == b[i].key());
    Check(a[i].value() == b[i].value());
    Check(a[i].timestamp_ms() == b[i].timestamp_ms());
    Check(b[i].offset() == 0);
    if (!headers) {
      Check(b[i].headers_size() == 0);
      continue;
    }
    Check(a[i].headers_size() == b[i].headers_size());
    for (int h = 0; h < a[i].headers_size(); ++h) {
      Check(a[i].headers(h).key() == b[i].headers(h).key());
      Check(a[i].headers(h).value() == b[i].headers(h).value());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<Record> decoded;
  if (!ferry::kafka::DecodeProduceRecords(input, &decoded).ok()) {
    Check(decoded.empty());  // all or nothing
    return 0;
  }
  std::vector<const Record*> pointers;
  pointers.reserve(decoded.size());
  for (size_t i = 0; i < decoded.size(); ++i) {
    Check(decoded[i].offset() == 0);
    pointers.push_back(&decoded[i]);
  }

  std::string batch;
  ferry::kafka::EncodeRecordBatch(pointers, &batch);
  std::vector<Record> again;
  Check(ferry::kafka::DecodeProduceRecords(batch, &again).ok());
  CheckSame(decoded, again, /*headers=*/true);

  std::string message_set;
  ferry::kafka::EncodeMessageSet(1, pointers, &message_set);
  std::vector<Record> legacy;
  Check(ferry::kafka::DecodeProduceRecords(message_set, &legacy).ok());
  CheckSame(decoded, legacy, /*headers=*/false);
  return 0;
}
