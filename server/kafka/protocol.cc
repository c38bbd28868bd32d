// The request header, the response frame and API names. Each API's request and response
// codec lives in that API's file (<api>_codec.cc), its handler in <api>.cc.
#include "server/kafka/protocol.h"

#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::kafka {

const char* ApiName(int16_t api_key) {
  static const std::map<int16_t, const char*> names = {
      {0, "Produce"},
      {1, "Fetch"},
      {2, "ListOffsets"},
      {3, "Metadata"},
      {4, "LeaderAndIsr"},
      {5, "StopReplica"},
      {6, "UpdateMetadata"},
      {7, "ControlledShutdown"},
      {8, "OffsetCommit"},
      {9, "OffsetFetch"},
      {10, "FindCoordinator"},
      {11, "JoinGroup"},
      {12, "Heartbeat"},
      {13, "LeaveGroup"},
      {14, "SyncGroup"},
      {15, "DescribeGroups"},
      {16, "ListGroups"},
      {17, "SaslHandshake"},
      {18, "ApiVersions"},
      {19, "CreateTopics"},
      {20, "DeleteTopics"},
      {21, "DeleteRecords"},
      {22, "InitProducerId"},
      {23, "OffsetForLeaderEpoch"},
      {24, "AddPartitionsToTxn"},
      {25, "AddOffsetsToTxn"},
      {26, "EndTxn"},
      {28, "TxnOffsetCommit"},
      {29, "DescribeAcls"},
      {30, "CreateAcls"},
      {31, "DeleteAcls"},
      {32, "DescribeConfigs"},
      {33, "AlterConfigs"},
      {36, "SaslAuthenticate"},
      {37, "CreatePartitions"},
      {42, "DeleteGroups"},
      {44, "IncrementalAlterConfigs"},
      {47, "OffsetDelete"},
      {50, "DescribeUserScramCredentials"},
      {51, "AlterUserScramCredentials"},
      {60, "DescribeCluster"},
      {61, "DescribeProducers"},
      {65, "DescribeTransactions"},
      {66, "ListTransactions"},
  };
  auto it = names.find(api_key);
  return it == names.end() ? "Unknown" : it->second;
}

absl::StatusOr<RequestHeader> ParseRequestHeader(std::string_view frame, std::string_view* body,
                                                 bool (*is_flexible)(int16_t, int16_t)) {
  Reader r(frame);
  RequestHeader h;
  h.api_key = r.Int16();
  h.api_version = r.Int16();
  h.correlation_id = r.Int32();
  h.client_id = OptStr(r.NullableString());
  if (r.ok() && is_flexible != nullptr && is_flexible(h.api_key, h.api_version)) {
    h.flexible = true;
    r.set_flexible(true);
    r.TaggedFields();
  }
  if (!r.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("malformed request header: ", r.error()));
  }
  if (body != nullptr) *body = r.rest();
  return h;
}

absl::Status CheckRequestBody(const RequestHeader& header, const Reader& body) {
  // Bytes after the body are ignored, as Kafka's brokers do: librdkafka 2.0.2 sends a stray
  // tagged-field byte after its flexible ListGroups v4 body, for one.
  if (body.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("malformed ", ApiName(header.api_key), " v",
                                                 header.api_version, " request: ", body.error()));
}

ResponseFrame::ResponseFrame(const RequestHeader& header) : w_(&out_, header.flexible) {
  size_at_ = w_.ReserveInt32();
  w_.Int32(header.correlation_id);
  if (header.api_key != kApiVersions) w_.TaggedFields();
}

std::string ResponseFrame::Finish() {
  w_.PatchInt32(size_at_, static_cast<int32_t>(out_.size() - 4));
  return std::move(out_);
}

}  // namespace ferry::kafka
