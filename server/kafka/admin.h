// The cluster admin APIs: DeleteRecords (key 21), CreatePartitions (37) and DescribeCluster
// (60): their requests and responses, their wire format (admin_codec.cc, pure) and their
// handlers (admin.cc), over the broker's topics and partition logs. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_ADMIN_H_
#define FERRY_SERVER_KAFKA_ADMIN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

struct DeleteRecordsRequest {
  struct Partition {
    int32_t partition = 0;
    int64_t offset = 0;  // records below it go; -1: the high watermark
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 0;
};

struct DeleteRecordsResponse {
  struct Partition {
    int32_t partition = 0;
    int64_t low_watermark = -1;
    int16_t error_code = 0;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;
};

struct CreatePartitionsRequest {
  struct Topic {
    std::string name;
    int32_t count = 0;  // the new total
    // Null, or one broker list per new partition.
    std::optional<std::vector<std::vector<int32_t>>> assignments;
  };
  std::vector<Topic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;
};

struct CreatePartitionsResponse {
  struct Topic {
    std::string name;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
  };
  std::vector<Topic> topics;
};

struct DescribeClusterRequest {
  bool include_authorized_operations = false;
  int8_t endpoint_type = 1;  // v1+: 1 brokers, 2 controllers
};

struct DescribeClusterResponse {
  struct Broker {
    int32_t id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
  };
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int8_t endpoint_type = 1;  // v1+
  std::string cluster_id;
  int32_t controller_id = -1;
  std::vector<Broker> brokers;
  int32_t authorized_operations = INT32_MIN;  // INT32_MIN: not asked for
};

// Each Decode*Request reads a request body in the format of `version` from `body`; a
// malformed body fails `body` (CheckRequestBody reports it). Each EncodeResponse returns the
// whole response frame in the format of `header.api_version`.
DeleteRecordsRequest DecodeDeleteRecordsRequest(int16_t version, Reader& body);
CreatePartitionsRequest DecodeCreatePartitionsRequest(int16_t version, Reader& body);
DescribeClusterRequest DecodeDescribeClusterRequest(int16_t version, Reader& body);
std::string EncodeResponse(const RequestHeader& header, const DeleteRecordsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const CreatePartitionsResponse& r);
std::string EncodeResponse(const RequestHeader& header, const DescribeClusterResponse& r);

// The handlers (admin.cc) and the answers to an unsupported version (see ApiEntry).
Result HandleDeleteRecords(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleCreatePartitions(ApiContext& ctx, const RequestHeader& header, Reader& body);
Result HandleDescribeCluster(ApiContext& ctx, const RequestHeader& header, Reader& body);
std::string DeleteRecordsErrorResponse(const RequestHeader& header, int16_t error_code);
std::string CreatePartitionsErrorResponse(const RequestHeader& header, int16_t error_code);
std::string DescribeClusterErrorResponse(const RequestHeader& header, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_ADMIN_H_
