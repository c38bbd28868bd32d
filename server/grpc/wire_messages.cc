#include "server/grpc/wire_messages.h"

#include <grpc/slice.h>
#include <grpcpp/support/slice.h>

#include <memory>
#include <vector>

#include "server/broker/record_codec.h"

namespace ferry::grpc_server {
namespace {

constexpr uint32_t kVarint = 0, kLengthDelimited = 2;

void AppendBytesField(uint32_t field, std::string_view bytes, std::string* out) {
  broker::AppendTag(field, kLengthDelimited, out);
  broker::AppendVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

void AppendVarintField(uint32_t field, uint64_t v, std::string* out) {
  broker::AppendTag(field, kVarint, out);
  broker::AppendVarint(v, out);
}

}  // namespace

bool ByteBufferToString(const grpc::ByteBuffer& buffer, std::string* out) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  out->clear();
  out->reserve(buffer.Length());
  for (const auto& s : slices) out->append(reinterpret_cast<const char*>(s.begin()), s.size());
  return true;
}

bool ByteBufferView(const grpc::ByteBuffer& buffer, grpc::Slice* hold, std::string* copy,
                    std::string_view* out) {
  if (buffer.TrySingleSlice(hold).ok()) {
    *out = std::string_view(reinterpret_cast<const char*>(hold->begin()), hold->size());
    return true;
  }
  if (!ByteBufferToString(buffer, copy)) return false;
  *out = *copy;
  return true;
}

grpc::ByteBuffer StringToByteBuffer(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc_slice slice = grpc_slice_new_with_user_data(
      owned->data(), owned->size(), [](void* p) { delete static_cast<std::string*>(p); }, owned);
  grpc::Slice wrapped(slice, grpc::Slice::STEAL_REF);
  return grpc::ByteBuffer(&wrapped, 1);
}

grpc::ByteBuffer MessageToByteBuffer(const google::protobuf::Message& message) {
  return StringToByteBuffer(message.SerializeAsString());
}

std::string EncodePublishResponse(const broker::PublishAcks& acks) {
  // PublishResponse { repeated RecordAck acks = 1 { partition = 1; offset = 2 } }
  std::string out;
  out.reserve(acks.size() * 8 + 8);
  for (size_t i = 0; i < acks.size(); ++i) {
    const uint64_t partition = static_cast<uint64_t>(acks.partition(i));
    const uint64_t offset = static_cast<uint64_t>(acks.offset(i));
    broker::AppendTag(1, kLengthDelimited, &out);
    broker::AppendVarint(2 + broker::VarintSize(partition) + broker::VarintSize(offset), &out);
    AppendVarintField(1, partition, &out);
    AppendVarintField(2, offset, &out);
  }
  return out;
}

std::string EncodePublishStreamResponse(uint64_t sequence, const absl::Status& status,
                                        const broker::PublishAcks* acks) {
  std::string out;
  AppendVarintField(1, sequence, &out);  // sequence
  if (status.ok()) {
    AppendBytesField(2, EncodePublishResponse(*acks), &out);  // ok = 2
  } else {
    // error = 3: PublishError { code = 1; message = 2 }
    std::string error;
    AppendVarintField(1, static_cast<uint64_t>(status.code()), &error);
    AppendBytesField(2, std::string_view(status.message().data(), status.message().size()), &error);
    AppendBytesField(3, error, &out);
  }
  return out;
}

void StartRecordsMessage(std::string_view topic, int32_t partition, std::string* out) {
  AppendBytesField(1, topic, out);
  // int32 fields are sign-extended to 64 bits on the wire.
  if (partition != 0) AppendVarintField(2, static_cast<uint64_t>(int64_t{partition}), out);
}

void FinishRecordsMessage(int64_t end_offset, std::string* out) {
  if (end_offset != 0) AppendVarintField(4, static_cast<uint64_t>(end_offset), out);
}

}  // namespace ferry::grpc_server
