// Bad input against the real ferryd: each is refused with the documented status code and a
// message that tells the user what is wrong, and a refused publish stores nothing.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using ferry::v1::PublishRequest;
using ferry::v1::Record;
using ferry::v1::SubscribeRequest;

constexpr int kMaxRecordBytes = 1024;
constexpr int kMaxBatchBytes = 4096;

class ValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start({absl::StrCat("--max-record-bytes=", kMaxRecordBytes),
                               absl::StrCat("--max-batch-bytes=", kMaxBatchBytes)}));
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
    ASSERT_TRUE(IsOk(CreateTopic(*admin_, "valid", 2)));
    ASSERT_TRUE(IsOk(Publish(*broker_, "valid", 0, {MakeRecord("", "first")})));
    ASSERT_TRUE(IsOk(Publish(*broker_, "valid", 1, {MakeRecord("", "first")})));
  }

  // Publishing `request` fails with `code` and a hint, and stores nothing in "valid".
  void ExpectRefused(const PublishRequest& request, grpc::StatusCode code,
                     std::initializer_list<std::string> hints) {
    const std::vector<int64_t> before = EndOffsets(*admin_, "valid");
    EXPECT_TRUE(HasCode(Publish(*broker_, request, nullptr), code, hints));
    EXPECT_EQ(EndOffsets(*admin_, "valid"), before) << "a refused publish stored records";
  }

  // A subscription that must end at once with `code` and a hint.
  void ExpectSubscribeRefused(const SubscribeRequest& request, grpc::StatusCode code,
                              std::initializer_list<std::string> hints) {
    SubscribeStream stream(*broker_, request);
    ASSERT_TRUE(stream.WaitForEnd()) << "the stream stayed open";
    EXPECT_TRUE(stream.records().empty());
    EXPECT_TRUE(HasCode(stream.status(), code, hints));
  }

  static PublishRequest ToValid(std::vector<Record> records, int partition = 0) {
    PublishRequest request;
    request.set_topic("valid");
    if (partition != kNoPartition) request.set_partition(partition);
    for (Record& record : records) *request.add_records() = std::move(record);
    return request;
  }

  static constexpr int kNoPartition = -1000;
  FerrydProcess ferryd_;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
};

TEST_F(ValidationTest, InvalidTopicNames) {
  const std::vector<std::string> names = {"",         ".",      "..",        std::string(250, 'a'),
                                          "bad/name", "sp ace", "tab\tname", "ütf8"};
  for (const std::string& name : names) {
    SCOPED_TRACE(absl::StrCat("topic name '", name, "'"));
    PublishRequest request;
    request.set_topic(name);
    *request.add_records() = MakeRecord("k", "v");
    EXPECT_TRUE(HasCode(Publish(*broker_, request, nullptr), grpc::StatusCode::INVALID_ARGUMENT,
                        {"topic"}));
    request.set_partition(0);
    EXPECT_TRUE(HasCode(Publish(*broker_, request, nullptr), grpc::StatusCode::INVALID_ARGUMENT,
                        {"topic"}));
    EXPECT_TRUE(
        HasCode(CreateTopic(*admin_, name, 1), grpc::StatusCode::INVALID_ARGUMENT, {"topic"}));
  }
  // Nothing was auto-created on the way.
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::ListTopicsResponse listed;
  ASSERT_TRUE(IsOk(admin_->ListTopics(&context, {}, &listed)));
  EXPECT_EQ(listed.topics_size(), 1);

  // The legal alphabet and the longest legal name are accepted.
  EXPECT_TRUE(IsOk(CreateTopic(*admin_, "Orders_v2.eu-west-1", 1)));
  EXPECT_TRUE(IsOk(CreateTopic(*admin_, std::string(249, 'a'), 1)));
}

TEST_F(ValidationTest, PartitionOutOfRange) {
  ExpectRefused(ToValid({MakeRecord("", "v")}, 2), grpc::StatusCode::NOT_FOUND, {"partition"});
  ExpectRefused(ToValid({MakeRecord("", "v")}, 1000), grpc::StatusCode::NOT_FOUND, {"partition"});
  ExpectRefused(ToValid({MakeRecord("", "v")}, -1), grpc::StatusCode::INVALID_ARGUMENT,
                {"partition"});
}

TEST_F(ValidationTest, RecordOverTheLimit) {
  ExpectRefused(ToValid({MakeRecord("", std::string(kMaxRecordBytes + 1, 'v'))}),
                grpc::StatusCode::RESOURCE_EXHAUSTED, {"1024"});
  ExpectRefused(ToValid({MakeRecord(std::string(kMaxRecordBytes + 1, 'k'), "")}),
                grpc::StatusCode::RESOURCE_EXHAUSTED, {"1024"});
  // Key, value and headers all count: 500 + 500 + 12 + 13 bytes.
  Record with_headers = MakeRecord(std::string(500, 'k'), std::string(500, 'v'));
  ferry::v1::Header* header = with_headers.add_headers();
  header->set_key(std::string(12, 'h'));
  header->set_value(std::string(13, 'x'));
  ExpectRefused(ToValid({with_headers}), grpc::StatusCode::RESOURCE_EXHAUSTED, {"1024"});
  // One oversized record refuses the whole batch, without a partition too.
  ExpectRefused(
      ToValid({MakeRecord("", "ok"), MakeRecord("", std::string(2000, 'v')), MakeRecord("", "ok")},
              kNoPartition),
      grpc::StatusCode::RESOURCE_EXHAUSTED, {"1024"});

  // Exactly at the limit is fine.
  EXPECT_TRUE(IsOk(Publish(
      *broker_, ToValid({MakeRecord(std::string(24, 'k'), std::string(kMaxRecordBytes - 24, 'v'))}),
      nullptr)));
}

TEST_F(ValidationTest, BatchOverTheLimit) {
  std::vector<Record> records;
  for (int i = 0; i < 5; ++i) records.push_back(MakeRecord("", std::string(1000, 'v')));
  ExpectRefused(ToValid(records), grpc::StatusCode::RESOURCE_EXHAUSTED, {"4096", "batch"});
  ExpectRefused(ToValid(records, kNoPartition), grpc::StatusCode::RESOURCE_EXHAUSTED,
                {"4096", "batch"});
  records.resize(3);
  EXPECT_TRUE(IsOk(Publish(*broker_, ToValid(records), nullptr)));
}

TEST_F(ValidationTest, EmptyBatch) {
  ExpectRefused(ToValid({}), grpc::StatusCode::INVALID_ARGUMENT, {"record", "empty"});
  ExpectRefused(ToValid({}, kNoPartition), grpc::StatusCode::INVALID_ARGUMENT, {"record", "empty"});
}

TEST_F(ValidationTest, CreateTopicArguments) {
  EXPECT_TRUE(HasCode(CreateTopic(*admin_, "negative", -1), grpc::StatusCode::INVALID_ARGUMENT,
                      {"partition"}));
  // A partition count beyond any sensible limit is refused, not attempted.
  const grpc::Status huge = CreateTopic(*admin_, "huge", 1'000'000);
  EXPECT_TRUE(huge.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
              huge.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
      << CodeName(huge.error_code()) << ": " << huge.error_message();
}

TEST_F(ValidationTest, BadSubscriptions) {
  ExpectSubscribeRefused(SubscribeStream::Direct("valid", 0, ferry::v1::START_POSITION_OFFSET, -1),
                         grpc::StatusCode::INVALID_ARGUMENT, {"offset"});
  ExpectSubscribeRefused(SubscribeStream::Direct("valid", 0, ferry::v1::START_POSITION_UNSPECIFIED),
                         grpc::StatusCode::INVALID_ARGUMENT, {"start"});
  ExpectSubscribeRefused(SubscribeRequest(), grpc::StatusCode::INVALID_ARGUMENT,
                         {"direct", "group", "mode", "subscription"});
  // The end offset (1) is a valid start; 2 is past it.
  ExpectSubscribeRefused(SubscribeStream::Direct("valid", 0, ferry::v1::START_POSITION_OFFSET, 2),
                         grpc::StatusCode::OUT_OF_RANGE, {"offset"});
  ExpectSubscribeRefused(SubscribeStream::Direct("valid", 2, ferry::v1::START_POSITION_EARLIEST),
                         grpc::StatusCode::NOT_FOUND, {"partition"});
  ExpectSubscribeRefused(SubscribeStream::Direct("valid", -1, ferry::v1::START_POSITION_EARLIEST),
                         grpc::StatusCode::INVALID_ARGUMENT, {"partition"});
  ExpectSubscribeRefused(SubscribeStream::Direct("bad/name", 0, ferry::v1::START_POSITION_EARLIEST),
                         grpc::StatusCode::INVALID_ARGUMENT, {"topic"});
}

}  // namespace
}  // namespace ferry::integration
