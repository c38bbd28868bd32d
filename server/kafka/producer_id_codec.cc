// InitProducerId v0-4 on the wire: v2 is flexible, v3 adds the producer's current id and epoch
// (KIP-360: bump the epoch instead of a new id), v4 only changes the errors (PRODUCER_FENCED).
#include "server/kafka/producer_id.h"

namespace ferry::kafka {
namespace {

// Record batch v2 header: baseOffset 0, batchLength 8, partitionLeaderEpoch 12, magic 16,
// crc 17, attributes 21, lastOffsetDelta 23, baseTimestamp 27, maxTimestamp 35, producerId 43,
// producerEpoch 51, baseSequence 53, recordCount 57.
constexpr size_t kMagicAt = 16;
constexpr size_t kAttributesAt = 21;
constexpr size_t kProducerIdAt = 43;
constexpr size_t kHeaderBytes = 61;

}  // namespace

InitProducerIdRequest DecodeInitProducerIdRequest(int16_t v, Reader& r) {
  InitProducerIdRequest req;
  req.transactional_id = OptStr(r.NullableString());
  req.transaction_timeout_ms = r.Int32();
  if (v >= 3) {
    req.producer_id = r.Int64();
    req.producer_epoch = r.Int16();
  }
  r.TaggedFields();
  return req;
}

std::string EncodeResponse(const RequestHeader& h, const InitProducerIdResponse& r) {
  ResponseFrame f(h);
  Writer& w = f.w();
  w.Int32(0);  // throttle_time_ms
  w.Int16(r.error_code);
  w.Int64(r.producer_id);
  w.Int16(r.producer_epoch);
  w.TaggedFields();
  return f.Finish();
}

BatchProducer PeekBatchProducer(std::string_view d) {
  BatchProducer b;
  for (size_t at = 0; at + 12 <= d.size();) {
    Reader len(d.substr(at + 8, 4));
    const int32_t size = len.Int32();
    if (size < 0) break;
    ++b.batches;
    // Magic 2 has int16 attributes after the crc; magic 0/1 an int8 one after the magic.
    const size_t magic_at = at + kMagicAt;
    if (magic_at < d.size()) {
      const int8_t magic = static_cast<int8_t>(d[magic_at]);
      const size_t attributes_at = magic == 2 ? at + kAttributesAt + 1 : magic_at + 1;
      if (attributes_at < d.size() && attributes_at < at + 12 + static_cast<size_t>(size)) {
        const int codec = static_cast<uint8_t>(d[attributes_at]) & 0x07;
        if (codec < static_cast<int>(b.by_codec.size())) ++b.by_codec[codec];
      }
    }
    at += 12 + static_cast<size_t>(size);
  }
  if (d.size() < kHeaderBytes || static_cast<int8_t>(d[kMagicAt]) != 2) return b;
  Reader r(d.substr(kAttributesAt));
  b.v2 = true;
  b.attributes = r.Int16();
  Reader p(d.substr(kProducerIdAt));
  b.producer_id = p.Int64();
  b.producer_epoch = p.Int16();
  b.base_sequence = p.Int32();
  return b;
}

}  // namespace ferry::kafka
