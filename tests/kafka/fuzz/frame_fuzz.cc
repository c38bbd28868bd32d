// libFuzzer target for everything a Kafka client's bytes reach before the engine: the request
// header parser, the body decoder of every served API (at any version, as its handler calls it
// before serving), the consumer-protocol subscription parser, the records inside a Produce, and
// the Reader primitives themselves (each value read must re-encode with Writer to what the
// Reader reads back).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/kafka/admin.h"
#include "server/kafka/api_versions.h"
#include "server/kafka/configs.h"
#include "server/kafka/fetch.h"
#include "server/kafka/group_admin.h"
#include "server/kafka/groups.h"
#include "server/kafka/list_offsets.h"
#include "server/kafka/metadata.h"
#include "server/kafka/offsets.h"
#include "server/kafka/produce.h"
#include "server/kafka/producer_id.h"
#include "server/kafka/protocol.h"
#include "server/kafka/records.h"
#include "server/kafka/sasl.h"
#include "server/kafka/topics.h"
#include "server/kafka/transactions.h"
#include "server/kafka/wire.h"

namespace {

using ferry::kafka::Reader;
using ferry::kafka::RequestHeader;
using ferry::kafka::Writer;

void Check(bool condition) {
  if (!condition) std::abort();
}

// The input read as a program: each byte picks the next primitive to read from the rest.
void WalkPrimitives(std::string_view input) {
  Reader r(input);
  while (r.ok() && r.remaining() > 0) {
    const size_t before = r.remaining();
    const uint8_t op = static_cast<uint8_t>(r.Int8());
    std::string out;
    Writer w(&out);
    switch (op % 10) {
      case 0: {
        const int32_t v = r.Varint();
        if (!r.ok()) break;
        w.Varint(v);
        Reader back(out);
        Check(back.Varint() == v && back.ok() && back.remaining() == 0);
        break;
      }
      case 1: {
        const int64_t v = r.Varlong();
        if (!r.ok()) break;
        w.Varlong(v);
        Reader back(out);
        Check(back.Varlong() == v && back.ok() && back.remaining() == 0);
        break;
      }
      case 2: {
        const uint64_t v = r.UnsignedVarint64();
        if (!r.ok()) break;
        w.UnsignedVarint(v);
        Reader back(out);
        Check(back.UnsignedVarint64() == v && back.ok() && out.size() <= 10);
        break;
      }
      case 3: {
        const std::string_view s = r.String();
        if (!r.ok()) break;
        w.String(s);
        Reader back(out);
        Check(back.String() == s && back.ok());
        break;
      }
      case 4: {
        const auto s = r.NullableString();
        if (!r.ok()) break;
        w.NullableString(s);
        Reader back(out);
        Check(back.NullableString() == s && back.ok());
        break;
      }
      case 5: {
        const auto b = r.NullableBytes();
        if (!r.ok()) break;
        if (b) {
          w.BytesField(*b);
        } else {
          w.NullBytes();
        }
        Reader back(out);
        Check(back.NullableBytes() == b && back.ok());
        break;
      }
      case 6: {
        const int32_t n = r.ArrayCount(op / 10 % 8);
        Check(n >= 0);
        if (r.ok() && op / 10 % 8 > 0) Check(static_cast<size_t>(n) <= r.remaining());
        break;
      }
      case 7: {
        const int64_t v = r.Int64();
        if (!r.ok()) break;
        w.Int64(v);
        Check(Reader(out).Int64() == v);
        break;
      }
      case 8: {
        const int16_t v = r.Int16();
        if (!r.ok()) break;
        w.Int16(v);
        Check(Reader(out).Int16() == v);
        break;
      }
      default: {
        const std::string_view b = r.Bytes(op / 10);
        if (r.ok()) Check(b.size() == static_cast<size_t>(op / 10));
        break;
      }
    }
    // Every read either advances or fails; a failure leaves nothing to read.
    Check(r.remaining() < before);
    if (!r.ok()) Check(r.remaining() == 0 && r.error()[0] != '\0');
  }
}

// Reads a request body with `decode`, as a handler does, and checks the verdict: a body is
// accepted exactly when the reader is fine and nothing is left.
template <typename Decode>
auto DecodeBody(Decode decode, const RequestHeader& header, std::string_view body) {
  Reader r(body);
  auto request = decode(header.api_version, r);
  const bool accepted = ferry::kafka::CheckRequestBody(header, r).ok();
  Check(accepted == r.ok());  // bytes after the body are ignored, as Kafka does
  if (!r.ok()) Check(r.remaining() == 0);
  return std::make_pair(accepted, std::move(request));
}

// The input as a request frame: the header, then the body with its API's decoder.
void DecodeFrame(std::string_view input) {
  namespace k = ferry::kafka;
  std::string_view body;
  auto header = k::ParseRequestHeader(input, &body);
  if (!header.ok()) return;
  Check(body.data() >= input.data() && body.data() + body.size() == input.data() + input.size());
  const RequestHeader& h = *header;
  switch (h.api_key) {
    case k::kProduce: {
      auto [accepted, produce] = DecodeBody(k::DecodeProduceRequest, h, body);
      if (!accepted) break;
      for (const auto& topic : produce.topics) {
        for (const auto& partition : topic.partitions) {
          if (!partition.records) continue;
          // The views must point into the frame.
          Check(partition.records->data() >= input.data() &&
                partition.records->data() + partition.records->size() <=
                    input.data() + input.size());
          std::vector<ferry::broker::RecordFields> records;
          (void)k::DecodeProduceRecords(*partition.records, &records);
          (void)k::PeekBatchProducer(*partition.records);
        }
      }
      break;
    }
    case k::kFetch:
      DecodeBody(k::DecodeFetchRequest, h, body);
      break;
    case k::kListOffsets:
      DecodeBody(k::DecodeListOffsetsRequest, h, body);
      break;
    case k::kMetadata:
      DecodeBody(k::DecodeMetadataRequest, h, body);
      break;
    case k::kOffsetCommit:
      DecodeBody(k::DecodeOffsetCommitRequest, h, body);
      break;
    case k::kOffsetFetch:
      DecodeBody(k::DecodeOffsetFetchRequest, h, body);
      break;
    case k::kFindCoordinator:
      DecodeBody(k::DecodeFindCoordinatorRequest, h, body);
      break;
    case k::kJoinGroup:
      DecodeBody(k::DecodeJoinGroupRequest, h, body);
      break;
    case k::kHeartbeat:
      DecodeBody(k::DecodeHeartbeatRequest, h, body);
      break;
    case k::kLeaveGroup:
      DecodeBody(k::DecodeLeaveGroupRequest, h, body);
      break;
    case k::kSyncGroup:
      DecodeBody(k::DecodeSyncGroupRequest, h, body);
      break;
    case k::kDescribeGroups:
      DecodeBody(k::DecodeDescribeGroupsRequest, h, body);
      break;
    case k::kListGroups:
      DecodeBody(k::DecodeListGroupsRequest, h, body);
      break;
    case k::kSaslHandshake:
      DecodeBody(k::DecodeSaslHandshakeRequest, h, body);
      break;
    case k::kApiVersions:
      DecodeBody(k::DecodeApiVersionsRequest, h, body);
      break;
    case k::kCreateTopics:
      DecodeBody(k::DecodeCreateTopicsRequest, h, body);
      break;
    case k::kDeleteTopics:
      DecodeBody(k::DecodeDeleteTopicsRequest, h, body);
      break;
    case k::kDeleteRecords:
      DecodeBody(k::DecodeDeleteRecordsRequest, h, body);
      break;
    case k::kDescribeConfigs:
      DecodeBody(k::DecodeDescribeConfigsRequest, h, body);
      break;
    case k::kAlterConfigs:
      DecodeBody(k::DecodeAlterConfigsRequest, h, body);
      break;
    case k::kCreatePartitions:
      DecodeBody(k::DecodeCreatePartitionsRequest, h, body);
      break;
    case k::kIncrementalAlterConfigs:
      DecodeBody(k::DecodeIncrementalAlterConfigsRequest, h, body);
      break;
    case k::kDescribeCluster:
      DecodeBody(k::DecodeDescribeClusterRequest, h, body);
      break;
    case k::kDeleteGroups:
      DecodeBody(k::DecodeDeleteGroupsRequest, h, body);
      break;
    case k::kOffsetDelete:
      DecodeBody(k::DecodeOffsetDeleteRequest, h, body);
      break;
    case k::kInitProducerId:
      DecodeBody(k::DecodeInitProducerIdRequest, h, body);
      break;
    case k::kAddPartitionsToTxn:
      DecodeBody(k::DecodeAddPartitionsToTxnRequest, h, body);
      break;
    case k::kAddOffsetsToTxn:
      DecodeBody(
          [](int16_t v, Reader& r) {
            k::DecodeAddOffsetsToTxnRequest(v, r);
            return 0;
          },
          h, body);
      break;
    case k::kEndTxn:
      DecodeBody(
          [](int16_t v, Reader& r) {
            k::DecodeEndTxnRequest(v, r);
            return 0;
          },
          h, body);
      break;
    case k::kTxnOffsetCommit:
      DecodeBody(k::DecodeTxnOffsetCommitRequest, h, body);
      break;
    case k::kDescribeProducers:
      DecodeBody(k::DecodeDescribeProducersRequest, h, body);
      break;
    case k::kDescribeTransactions:
      DecodeBody(k::DecodeDescribeTransactionsRequest, h, body);
      break;
    case k::kListTransactions:
      DecodeBody(
          [](int16_t v, Reader& r) {
            k::DecodeListTransactionsRequest(v, r);
            return 0;
          },
          h, body);
      break;
    default:
      break;  // not served: the dispatcher closes the connection without decoding
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  DecodeFrame(input);
  (void)ferry::kafka::ParseSubscription(input);
  WalkPrimitives(input);
  return 0;
}
