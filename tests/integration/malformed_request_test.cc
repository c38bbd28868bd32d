// Every method of ferry.v1.Broker and ferry.v1.Admin, and the health check, answer request bytes
// that are not their request message with INVALID_ARGUMENT and a message, never UNIMPLEMENTED
// (the answer for a method the server does not have) or an empty status.
#include <grpcpp/generic/generic_stub.h>

#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"

namespace ferry::integration {
namespace {

struct Answer {
  grpc::Status status;
  int messages = 0;  // messages the server sent before its status
};

// Sends `bytes` as the one request message of `method` over a generic call (any method type:
// one message, then half-close), and reads the answer.
Answer Call(grpc::Channel* channel, const std::string& method, const std::string& bytes) {
  grpc::GenericStub stub(channel->shared_from_this());
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  void* tag;
  bool ok;
  auto call = stub.PrepareCall(&ctx, method, &cq);
  auto next = [&](intptr_t want) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  Answer answer;
  if (next(1)) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    call->Write(request, reinterpret_cast<void*>(2));
    if (next(2)) {
      call->WritesDone(reinterpret_cast<void*>(3));
      next(3);
    }
    for (int i = 0; i < 100; ++i) {
      grpc::ByteBuffer response;
      call->Read(&response, reinterpret_cast<void*>(4));
      if (!next(4)) break;
      ++answer.messages;
    }
  }
  call->Finish(&answer.status, reinterpret_cast<void*>(5));
  next(5);
  return answer;
}

std::vector<std::string> MethodsOf(const std::string& service) {
  const auto* s = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  std::vector<std::string> out;
  if (s == nullptr) return out;
  for (int i = 0; i < s->method_count(); ++i) {
    out.push_back("/" + service + "/" + s->method(i)->name());
  }
  return out;
}

TEST(MalformedRequestTest, EveryMethodAnswersInvalidArgumentWithAMessage) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  std::vector<std::string> methods = MethodsOf("ferry.v1.Broker");
  const std::vector<std::string> admin = MethodsOf("ferry.v1.Admin");
  ASSERT_GE(methods.size(), 8u);
  ASSERT_GE(admin.size(), 10u);
  methods.insert(methods.end(), admin.begin(), admin.end());
  methods.push_back("/grpc.health.v1.Health/Check");
  // A length-delimited field 1 that claims 5 bytes and has 2; a tag that is not a varint.
  const std::vector<std::string> garbage = {std::string("\x0a\x05"
                                                        "ab",
                                                        4),
                                            std::string(11, '\xff')};
  for (const std::string& method : methods) {
    for (const std::string& bytes : garbage) {
      Answer a = Call(ferryd.channel().get(), method, bytes);
      // PublishStream answers each request message in the stream: its error is in the answer,
      // and the stream itself ends OK.
      if (method == "/ferry.v1.Broker/PublishStream") {
        EXPECT_EQ(a.messages, 1) << method;
        continue;
      }
      EXPECT_EQ(a.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << method << ": " << a.status.error_code() << " " << a.status.error_message();
      EXPECT_FALSE(a.status.error_message().empty()) << method;
      EXPECT_EQ(a.messages, 0) << method;
    }
  }
  // A method that does not exist is still UNIMPLEMENTED: the two cases stay apart.
  EXPECT_EQ(Call(ferryd.channel().get(), "/ferry.v1.Broker/NoSuchMethod", "").status.error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // And a well-formed request still works on a strict method.
  grpc::ClientContext ctx;
  v1::ListTopicsResponse topics;
  EXPECT_TRUE(ferryd.admin()->ListTopics(&ctx, v1::ListTopicsRequest(), &topics).ok());
}

}  // namespace
}  // namespace ferry::integration
