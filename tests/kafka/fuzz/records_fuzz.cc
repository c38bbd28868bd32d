// libFuzzer target for the Produce record decoder: arbitrary bytes (compressed batches
// included, within a 1 MiB cap) must decode or fail cleanly (never crash, never leave partial
// output), and whatever decodes must survive a re-encode as
// a record batch v2 and as a message set v1 unchanged, null and empty keys and values included.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/broker/types.h"
#include "server/kafka/records.h"

namespace {

using ferry::broker::RecordFields;
using ferry::kafka::FetchedRecord;

void Check(bool condition) {
  if (!condition) std::abort();
}

// Decoded records carry no offset (RecordFields has none): the broker assigns them.
void CheckSame(const std::vector<RecordFields>& a, const std::vector<RecordFields>& b,
               bool headers) {
  Check(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    Check(a[i].key == b[i].key);
    Check(a[i].value == b[i].value);
    // Null (-1) and empty (0) survive the re-encode.
    Check(a[i].key_present() == b[i].key_present());
    Check(a[i].value_present() == b[i].value_present());
    Check(a[i].timestamp_ms == b[i].timestamp_ms);
    if (!headers) {
      Check(b[i].headers.empty());
      continue;
    }
    Check(a[i].headers.size() == b[i].headers.size());
    for (size_t h = 0; h < a[i].headers.size(); ++h) {
      Check(a[i].headers[h].first == b[i].headers[h].first);
      Check(a[i].headers[h].second == b[i].headers[h].second);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<RecordFields> decoded;  // views into `input` or `buffers`
  ferry::kafka::DecompressedBuffers buffers;
  ferry::kafka::ProduceDecodeOptions options;
  options.max_decompressed_bytes = 1 << 20;
  if (!ferry::kafka::DecodeProduceRecords(input, options, &buffers, &decoded).ok()) {
    Check(decoded.empty());  // all or nothing
    return 0;
  }
  // Re-encoded as Fetch would send them, at consecutive offsets.
  std::vector<FetchedRecord> fetched;
  fetched.reserve(decoded.size());
  for (size_t i = 0; i < decoded.size(); ++i) {
    fetched.push_back({decoded[i], static_cast<int64_t>(i)});
  }

  std::string batch;
  ferry::kafka::EncodeRecordBatch(fetched, &batch);
  std::vector<RecordFields> again;
  Check(ferry::kafka::DecodeProduceRecords(batch, &again).ok());
  CheckSame(decoded, again, /*headers=*/true);

  std::string message_set;
  ferry::kafka::EncodeMessageSet(1, fetched, &message_set);
  std::vector<RecordFields> legacy;
  Check(ferry::kafka::DecodeProduceRecords(message_set, &legacy).ok());
  CheckSame(decoded, legacy, /*headers=*/false);
  return 0;
}
