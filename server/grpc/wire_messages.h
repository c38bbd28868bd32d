// The hot messages of the Broker service in wire format: PublishStream requests and answers
// and Subscribe record messages are read and written as bytes (gRPC raw methods), so the
// broker never builds a protobuf message per record. Everything else stays generated code.
// Pure functions, thread-safe.
#ifndef FERRY_SERVER_GRPC_WIRE_MESSAGES_H_
#define FERRY_SERVER_GRPC_WIRE_MESSAGES_H_

#include <grpcpp/support/byte_buffer.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "server/broker/broker.h"

namespace ferry::grpc_server {

// The bytes of `buffer` in one string.
bool ByteBufferToString(const grpc::ByteBuffer& buffer, std::string* out);
// The bytes of `buffer` as one view: of its only slice, kept in `*hold`, without copying; or
// copied into `*copy` when it has several. Empty and false when unreadable.
bool ByteBufferView(const grpc::ByteBuffer& buffer, grpc::Slice* hold, std::string* copy,
                    std::string_view* out);
// A buffer that takes `bytes` over without copying them.
grpc::ByteBuffer StringToByteBuffer(std::string bytes);
grpc::ByteBuffer MessageToByteBuffer(const google::protobuf::Message& message);

// A PublishResponse carrying `acks`.
std::string EncodePublishResponse(const broker::PublishAcks& acks);
// A PublishStreamResponse: `acks` on success, else the error.
std::string EncodePublishStreamResponse(uint64_t sequence, const absl::Status& status,
                                        const broker::PublishAcks* acks);

// The start of a SubscribeResponse carrying records of `topic`/`partition`: records follow
// (AppendRecordWithOffset appends each), then FinishRecordsMessage adds the end offset.
void StartRecordsMessage(std::string_view topic, int32_t partition, std::string* out);
void FinishRecordsMessage(int64_t end_offset, std::string* out);

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_WIRE_MESSAGES_H_
