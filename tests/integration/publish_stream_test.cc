// PublishStream against the real ferryd: pipelined requests are answered in request order with
// their sequence, and a bad request gets an error response while the stream carries on.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using ferry::v1::PublishRequest;
using ferry::v1::PublishStreamResponse;
using ferry::v1::Record;

PublishRequest Request(const std::string& topic, int partition, uint64_t sequence, int records) {
  PublishRequest request;
  request.set_topic(topic);
  if (partition >= 0) request.set_partition(partition);
  request.set_sequence(sequence);
  for (int i = 0; i < records; ++i) {
    *request.add_records() = MakeRecord("", absl::StrCat("s", sequence, "-r", i));
  }
  return request;
}

TEST(PublishStreamTest, PipelinedRequestsAreAckedInOrder) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto broker = ferryd.broker();
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "pipe", 2)));

  // 200 requests written back to back; sequences need not start at 0 or be contiguous.
  std::vector<PublishRequest> requests;
  for (int i = 0; i < 200; ++i) requests.push_back(Request("pipe", i % 2, 1000 + 3 * i, 3));
  grpc::Status status;
  const std::vector<PublishStreamResponse> responses = PublishStreamAll(*broker, requests, &status);
  ASSERT_TRUE(IsOk(status));
  ASSERT_EQ(responses.size(), requests.size());
  std::vector<int64_t> next_offset = {0, 0};
  for (size_t i = 0; i < responses.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("response ", i));
    EXPECT_EQ(responses[i].sequence(), requests[i].sequence());
    ASSERT_TRUE(responses[i].has_ok()) << responses[i].error().message();
    const int partition = requests[i].partition();
    ASSERT_EQ(responses[i].ok().acks_size(), 3);
    for (const ferry::v1::RecordAck& ack : responses[i].ok().acks()) {
      EXPECT_EQ(ack.partition(), partition);
      // Requests of one stream are appended in request order.
      EXPECT_EQ(ack.offset(), next_offset[partition]++);
    }
  }
  EXPECT_EQ(EndOffsets(*admin, "pipe"), (std::vector<int64_t>{300, 300}));
  const std::vector<Record> records = ReadRange(*broker, "pipe", 1, 0, 300);
  ASSERT_EQ(records.size(), 300u);
  EXPECT_EQ(records[0].value(), absl::StrCat("s", 1000 + 3, "-r0"));
  EXPECT_EQ(records[299].value(), absl::StrCat("s", 1000 + 3 * 199, "-r2"));
}

TEST(PublishStreamTest, BadRequestGetsAnErrorAndTheStreamStaysUsable) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--auto-create-topics=false", "--max-record-bytes=1024"}));
  auto broker = ferryd.broker();
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "mixed", 1)));

  struct Step {
    PublishRequest request;
    grpc::StatusCode expected;
  };
  std::vector<Step> steps;
  uint64_t sequence = 1;
  auto good = [&] { steps.push_back({Request("mixed", 0, sequence++, 2), grpc::StatusCode::OK}); };
  good();
  good();
  steps.push_back({Request("mixed", 0, sequence++, 0), grpc::StatusCode::INVALID_ARGUMENT});
  good();
  steps.push_back({Request("bad/name", -1, sequence++, 1), grpc::StatusCode::INVALID_ARGUMENT});
  steps.push_back({Request("mixed", 5, sequence++, 1), grpc::StatusCode::NOT_FOUND});
  steps.push_back({Request("missing-topic", -1, sequence++, 1), grpc::StatusCode::NOT_FOUND});
  PublishRequest too_big = Request("mixed", 0, sequence++, 1);
  too_big.mutable_records(0)->set_value(std::string(2000, 'x'));
  steps.push_back({too_big, grpc::StatusCode::RESOURCE_EXHAUSTED});
  good();
  good();

  std::vector<PublishRequest> requests;
  for (const Step& step : steps) requests.push_back(step.request);
  grpc::Status status;
  const std::vector<PublishStreamResponse> responses = PublishStreamAll(*broker, requests, &status);
  ASSERT_TRUE(IsOk(status));
  ASSERT_EQ(responses.size(), steps.size());
  int64_t next_offset = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("request ", i, " (sequence ", steps[i].request.sequence(), ")"));
    EXPECT_EQ(responses[i].sequence(), steps[i].request.sequence());
    if (steps[i].expected == grpc::StatusCode::OK) {
      ASSERT_TRUE(responses[i].has_ok()) << responses[i].error().message();
      ASSERT_EQ(responses[i].ok().acks_size(), 2);
      EXPECT_EQ(responses[i].ok().acks(0).offset(), next_offset++);
      EXPECT_EQ(responses[i].ok().acks(1).offset(), next_offset++);
    } else {
      ASSERT_TRUE(responses[i].has_error());
      EXPECT_EQ(CodeName(static_cast<grpc::StatusCode>(responses[i].error().code())),
                CodeName(steps[i].expected))
          << responses[i].error().message();
      EXPECT_FALSE(responses[i].error().message().empty());
    }
  }
  // Only the good requests were stored.
  EXPECT_EQ(EndOffsets(*admin, "mixed"), (std::vector<int64_t>{next_offset}));
}

TEST(PublishStreamTest, AcksArriveWhileTheStreamIsOpen) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto broker = ferryd.broker();
  ASSERT_TRUE(IsOk(CreateTopic(*ferryd.admin(), "open", 1)));
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = broker->PublishStream(&context);
  // Each request is answered without waiting for the client to half-close.
  for (uint64_t s = 0; s < 5; ++s) {
    ASSERT_TRUE(stream->Write(Request("open", 0, s, 1)));
    PublishStreamResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.sequence(), s);
    ASSERT_TRUE(response.has_ok()) << response.error().message();
    EXPECT_EQ(response.ok().acks(0).offset(), static_cast<int64_t>(s));
  }
  ASSERT_TRUE(stream->WritesDone());
  PublishStreamResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  EXPECT_TRUE(IsOk(stream->Finish()));
}

}  // namespace
}  // namespace ferry::integration
