// Admin.AlterTopicConfig and Admin.DeleteRecords against the real ferryd: only the settings
// given change, changes are in force at once (retention, record limit on publish) and survive
// a restart, validate_only changes nothing, and errors say what was wrong.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using ferry::v1::AlterTopicConfigRequest;
using ferry::v1::AlterTopicConfigResponse;
using ferry::v1::Record;

class TopicConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Retention's periodic pass is far off: anything removed was removed by the change itself.
    ASSERT_TRUE(
        ferryd_.Start({"--max-record-bytes=10000", "--retention-check-interval-ms=3600000"}));
    Connect();
  }

  void Connect() {
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
  }

  grpc::Status Alter(const AlterTopicConfigRequest& request,
                     AlterTopicConfigResponse* response = nullptr) {
    grpc::ClientContext context;
    SetDeadline(&context);
    AlterTopicConfigResponse ignored;
    return admin_->AlterTopicConfig(&context, request, response ? response : &ignored);
  }

  grpc::Status DeleteRecords(const std::string& topic, int partition, int64_t before,
                             int64_t* log_start = nullptr) {
    grpc::ClientContext context;
    SetDeadline(&context);
    ferry::v1::DeleteRecordsRequest request;
    request.set_topic(topic);
    request.set_partition(partition);
    request.set_before_offset(before);
    ferry::v1::DeleteRecordsResponse response;
    grpc::Status s = admin_->DeleteRecords(&context, request, &response);
    if (log_start != nullptr) *log_start = response.log_start_offset();
    return s;
  }

  ferry::v1::DescribeTopicResponse Describe(const std::string& topic) {
    ferry::v1::DescribeTopicResponse d;
    EXPECT_TRUE(IsOk(integration::Describe(*admin_, topic, &d)));
    return d;
  }

  FerrydProcess ferryd_;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
};

TEST_F(TopicConfigTest, OnlyTheGivenSettingsChangeAndTheySurviveARestart) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "orders", 2)));
  AlterTopicConfigRequest request;
  request.set_topic("orders");
  request.set_retention_ms(86400000);
  AlterTopicConfigResponse response;
  ASSERT_TRUE(IsOk(Alter(request, &response)));
  EXPECT_EQ(response.topic().config().retention_ms(), 86400000);
  EXPECT_EQ(response.topic().config().retention_bytes(), 0);
  EXPECT_EQ(response.topic().config().max_record_bytes(), 10000);

  request.clear_retention_ms();
  request.set_retention_bytes(1 << 20);
  request.set_max_record_bytes(500);
  ASSERT_TRUE(IsOk(Alter(request, &response)));
  EXPECT_EQ(response.topic().config().retention_ms(), 86400000);
  EXPECT_EQ(response.topic().config().retention_bytes(), 1 << 20);
  EXPECT_EQ(response.topic().config().max_record_bytes(), 500);

  // Rewriting an older topic's settings must not disturb later topic creations.
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "later", 1)));
  ASSERT_TRUE(IsOk(Alter(request)));
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "latest", 1)));

  ASSERT_TRUE(ferryd_.Restart());
  Connect();
  ferry::v1::DescribeTopicResponse d = Describe("orders");
  EXPECT_EQ(d.topic().partitions(), 2);
  EXPECT_EQ(d.topic().config().retention_ms(), 86400000);
  EXPECT_EQ(d.topic().config().retention_bytes(), 1 << 20);
  EXPECT_EQ(d.topic().config().max_record_bytes(), 500);
  EXPECT_TRUE(IsOk(CreateTopic(*admin_, "after-restart", 1)));
  EXPECT_EQ(Describe("latest").topic().partitions(), 1);
}

TEST_F(TopicConfigTest, RecordLimitAppliesToPublishAtOnce) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "limited", 1)));
  Record big;
  big.set_value(std::string(2000, 'x'));
  ASSERT_TRUE(IsOk(Publish(*broker_, "limited", 0, {big})));
  AlterTopicConfigRequest request;
  request.set_topic("limited");
  request.set_max_record_bytes(1000);
  ASSERT_TRUE(IsOk(Alter(request)));
  grpc::Status s = Publish(*broker_, "limited", 0, {big});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("1000"), std::string::npos) << s.error_message();
  // 0: back to the broker's limit.
  request.set_max_record_bytes(0);
  ASSERT_TRUE(IsOk(Alter(request)));
  EXPECT_TRUE(IsOk(Publish(*broker_, "limited", 0, {big})));
}

TEST_F(TopicConfigTest, RetentionAppliesAtOnce) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "old", 1)));
  for (int i = 0; i < 4; ++i) {
    Record r;
    r.set_value("ancient");
    r.set_timestamp_ms(1000 + i);  // 1970: older than any retention
    ASSERT_TRUE(IsOk(Publish(*broker_, "old", 0, {r})));
  }
  Record fresh;
  fresh.set_value("fresh");  // the broker's time
  ASSERT_TRUE(IsOk(Publish(*broker_, "old", 0, {fresh})));
  EXPECT_EQ(Describe("old").partitions(0).log_start_offset(), 0);
  AlterTopicConfigRequest request;
  request.set_topic("old");
  request.set_retention_ms(3600000);
  ASSERT_TRUE(IsOk(Alter(request)));
  // No waiting: the change ran a retention pass before answering.
  ferry::v1::DescribeTopicResponse d = Describe("old");
  EXPECT_EQ(d.partitions(0).log_start_offset(), 4);
  EXPECT_EQ(d.partitions(0).end_offset(), 5);
}

TEST_F(TopicConfigTest, ValidateOnlyAndErrors) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "t", 1)));
  AlterTopicConfigRequest request;
  request.set_topic("t");
  request.set_retention_ms(5000);
  request.set_validate_only(true);
  AlterTopicConfigResponse response;
  ASSERT_TRUE(IsOk(Alter(request, &response)));
  EXPECT_EQ(response.topic().config().retention_ms(), 5000);
  EXPECT_EQ(Describe("t").topic().config().retention_ms(), 0);

  request.set_validate_only(false);
  request.set_retention_ms(-1);
  grpc::Status s = Alter(request);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.clear_retention_ms();
  request.set_max_record_bytes(10001);
  s = Alter(request);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("--max-record-bytes"), std::string::npos) << s.error_message();
  request.set_validate_only(true);  // validation refuses it too
  EXPECT_EQ(Alter(request).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.set_topic("missing");
  request.set_max_record_bytes(100);
  s = Alter(request);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("missing"), std::string::npos);
  request.set_topic("bad name!");
  EXPECT_EQ(Alter(request).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Describe("t").topic().config().max_record_bytes(), 10000);
}

TEST_F(TopicConfigTest, DeleteRecordsMovesTheLogStartDurably) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "trim", 1)));
  for (int i = 0; i < 5; ++i) {
    Record r;
    r.set_value("v" + std::to_string(i));
    ASSERT_TRUE(IsOk(Publish(*broker_, "trim", 0, {r})));
  }
  int64_t start = -1;
  ASSERT_TRUE(IsOk(DeleteRecords("trim", 0, 3, &start)));
  EXPECT_EQ(start, 3);
  ASSERT_TRUE(IsOk(DeleteRecords("trim", 0, 1, &start)));  // below: nothing changes
  EXPECT_EQ(start, 3);
  EXPECT_EQ(DeleteRecords("trim", 0, 6).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(DeleteRecords("trim", 0, -2).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(DeleteRecords("trim", 1, 0).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteRecords("nope", 0, 0).error_code(), grpc::StatusCode::NOT_FOUND);

  ASSERT_TRUE(ferryd_.Restart());
  Connect();
  ferry::v1::DescribeTopicResponse d = Describe("trim");
  EXPECT_EQ(d.partitions(0).log_start_offset(), 3);
  EXPECT_EQ(d.partitions(0).end_offset(), 5);
  std::vector<Record> got = ReadRange(*broker_, "trim", 0, 3, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].value(), "v3");
  // Below the log start, a reader without a reset rule is told it is out of range.
  SubscribeStream below(*broker_,
                        SubscribeStream::Direct("trim", 0, ferry::v1::START_POSITION_OFFSET, 1));
  ASSERT_TRUE(below.WaitForEnd());
  EXPECT_EQ(below.status().error_code(), grpc::StatusCode::OUT_OF_RANGE)
      << below.status().error_message();
  ASSERT_TRUE(IsOk(DeleteRecords("trim", 0, -1, &start)));
  EXPECT_EQ(start, 5);
  EXPECT_EQ(Describe("trim").partitions(0).size_bytes(), 0);
}

}  // namespace
}  // namespace ferry::integration
