// The Admin service and topic auto-creation against the real ferryd.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using ferry::v1::DescribeTopicResponse;
using ferry::v1::PublishResponse;
using ferry::v1::Record;

grpc::Status CreatePartitions(ferry::v1::Admin::Stub& admin, const std::string& topic,
                              int partitions, ferry::v1::CreatePartitionsResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::CreatePartitionsRequest request;
  request.set_topic(topic);
  request.set_partitions(partitions);
  return admin.CreatePartitions(&context, request, response);
}

grpc::Status DeleteTopic(ferry::v1::Admin::Stub& admin, const std::string& topic) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::DeleteTopicRequest request;
  request.set_topic(topic);
  ferry::v1::DeleteTopicResponse response;
  return admin.DeleteTopic(&context, request, &response);
}

std::vector<ferry::v1::TopicInfo> ListTopics(ferry::v1::Admin::Stub& admin) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::ListTopicsResponse response;
  EXPECT_TRUE(IsOk(admin.ListTopics(&context, {}, &response)));
  return {response.topics().begin(), response.topics().end()};
}

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start());
    broker_ = ferryd_.broker();
    admin_ = ferryd_.admin();
  }

  FerrydProcess ferryd_;
  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  std::unique_ptr<ferry::v1::Admin::Stub> admin_;
};

TEST_F(AdminTest, CreateListDescribe) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::CreateTopicRequest request;
  request.set_topic("payments");
  request.set_partitions(4);
  request.mutable_config()->set_retention_ms(3'600'000);
  request.mutable_config()->set_retention_bytes(1 << 20);
  request.mutable_config()->set_max_record_bytes(2048);
  ferry::v1::CreateTopicResponse created;
  ASSERT_TRUE(IsOk(admin_->CreateTopic(&context, request, &created)));
  EXPECT_EQ(created.topic().name(), "payments");
  EXPECT_EQ(created.topic().partitions(), 4);
  EXPECT_EQ(created.topic().config().retention_ms(), 3'600'000);
  EXPECT_EQ(created.topic().config().retention_bytes(), 1 << 20);
  EXPECT_EQ(created.topic().config().max_record_bytes(), 2048);

  // 0 partitions means --default-partitions (3).
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "audit", 0)));

  EXPECT_TRUE(
      HasCode(CreateTopic(*admin_, "payments", 4), grpc::StatusCode::ALREADY_EXISTS, {"payments"}));
  EXPECT_TRUE(
      HasCode(CreateTopic(*admin_, "payments", 9), grpc::StatusCode::ALREADY_EXISTS, {"payments"}));

  std::vector<ferry::v1::TopicInfo> topics = ListTopics(*admin_);
  std::sort(topics.begin(), topics.end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0].name(), "audit");
  EXPECT_EQ(topics[0].partitions(), 3);
  EXPECT_EQ(topics[1].name(), "payments");
  EXPECT_EQ(topics[1].partitions(), 4);
  EXPECT_EQ(topics[1].config().retention_ms(), 3'600'000);

  DescribeTopicResponse described;
  ASSERT_TRUE(IsOk(Describe(*admin_, "payments", &described)));
  EXPECT_EQ(described.topic().name(), "payments");
  EXPECT_EQ(described.topic().partitions(), 4);
  EXPECT_EQ(described.topic().config().max_record_bytes(), 2048);
  ASSERT_EQ(described.partitions_size(), 4);
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(described.partitions(p).partition(), p);
    EXPECT_EQ(described.partitions(p).log_start_offset(), 0);
    EXPECT_EQ(described.partitions(p).end_offset(), 0);
  }

  std::vector<Record> records;
  for (int i = 0; i < 5; ++i) records.push_back(MakeRecord("k", absl::StrCat("payment-", i)));
  ASSERT_TRUE(IsOk(Publish(*broker_, "payments", 2, records)));
  ASSERT_TRUE(IsOk(Describe(*admin_, "payments", &described)));
  ASSERT_EQ(described.partitions_size(), 4);
  for (int p = 0; p < 4; ++p) {
    SCOPED_TRACE(absl::StrCat("partition ", p));
    EXPECT_EQ(described.partitions(p).log_start_offset(), 0);
    EXPECT_EQ(described.partitions(p).end_offset(), p == 2 ? 5 : 0);
    if (p == 2) {
      EXPECT_GT(described.partitions(p).size_bytes(), 0);
    } else {
      EXPECT_EQ(described.partitions(p).size_bytes(), 0);
    }
  }

  EXPECT_TRUE(
      HasCode(Describe(*admin_, "nope", &described), grpc::StatusCode::NOT_FOUND, {"nope"}));
}

TEST_F(AdminTest, TopicMaxRecordBytesOverridesTheBrokerLimit) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::CreateTopicRequest request;
  request.set_topic("small");
  request.set_partitions(1);
  request.mutable_config()->set_max_record_bytes(100);
  ferry::v1::CreateTopicResponse created;
  ASSERT_TRUE(IsOk(admin_->CreateTopic(&context, request, &created)));
  EXPECT_TRUE(IsOk(Publish(*broker_, "small", 0, {MakeRecord("", std::string(100, 'x'))})));
  EXPECT_TRUE(HasCode(Publish(*broker_, "small", 0, {MakeRecord("", std::string(101, 'x'))}),
                      grpc::StatusCode::RESOURCE_EXHAUSTED, {"100"}));
  EXPECT_EQ(EndOffsets(*admin_, "small"), (std::vector<int64_t>{1}));
}

TEST_F(AdminTest, CreatePartitionsOnlyGrows) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "growing", 3)));
  ferry::v1::CreatePartitionsResponse response;
  EXPECT_TRUE(HasCode(CreatePartitions(*admin_, "growing", 3, &response),
                      grpc::StatusCode::INVALID_ARGUMENT, {"3"}));
  EXPECT_TRUE(HasCode(CreatePartitions(*admin_, "growing", 2, &response),
                      grpc::StatusCode::INVALID_ARGUMENT, {"3"}));
  EXPECT_TRUE(HasCode(CreatePartitions(*admin_, "unknown", 5, &response),
                      grpc::StatusCode::NOT_FOUND, {"unknown"}));

  ASSERT_TRUE(IsOk(Publish(*broker_, "growing", 0, {MakeRecord("", "before")})));
  ASSERT_TRUE(IsOk(CreatePartitions(*admin_, "growing", 5, &response)));
  EXPECT_EQ(response.topic().name(), "growing");
  EXPECT_EQ(response.topic().partitions(), 5);
  EXPECT_EQ(EndOffsets(*admin_, "growing"), (std::vector<int64_t>{1, 0, 0, 0, 0}));

  PublishResponse published;
  ASSERT_TRUE(IsOk(Publish(*broker_, "growing", 4, {MakeRecord("", "new")}, &published)));
  EXPECT_EQ(published.acks(0).partition(), 4);
  EXPECT_EQ(published.acks(0).offset(), 0);
  const std::vector<Record> records = ReadRange(*broker_, "growing", 4, 0, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value(), "new");
  // The partitioner sees the new count: keyless records now reach all five partitions.
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(IsOk(Publish(*broker_, "growing", -1, {MakeRecord("", "x")})));
  for (int64_t end : EndOffsets(*admin_, "growing")) EXPECT_GT(end, 0);
}

TEST_F(AdminTest, DeleteTopic) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "doomed", 2)));
  ASSERT_TRUE(IsOk(Publish(*broker_, "doomed", 0, {MakeRecord("", "a"), MakeRecord("", "b")})));
  // A subscriber waiting at the end of the topic when it is deleted.
  SubscribeStream subscriber(
      *broker_, SubscribeStream::Direct("doomed", 0, ferry::v1::START_POSITION_EARLIEST));
  ASSERT_TRUE(subscriber.WaitForRecords(2));

  ASSERT_TRUE(IsOk(DeleteTopic(*admin_, "doomed")));
  ASSERT_TRUE(subscriber.WaitForEnd(absl::Seconds(10)))
      << "the subscriber of a deleted topic was not ended";
  EXPECT_TRUE(HasCode(subscriber.status(), grpc::StatusCode::NOT_FOUND, {"doomed", "deleted"}));

  DescribeTopicResponse described;
  EXPECT_TRUE(
      HasCode(Describe(*admin_, "doomed", &described), grpc::StatusCode::NOT_FOUND, {"doomed"}));
  EXPECT_TRUE(HasCode(DeleteTopic(*admin_, "doomed"), grpc::StatusCode::NOT_FOUND, {"doomed"}));
  for (const auto& topic : ListTopics(*admin_)) EXPECT_NE(topic.name(), "doomed");

  // The same name again is a new, empty topic.
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "doomed", 1)));
  EXPECT_EQ(EndOffsets(*admin_, "doomed"), (std::vector<int64_t>{0}));
  PublishResponse published;
  ASSERT_TRUE(IsOk(Publish(*broker_, "doomed", 0, {MakeRecord("", "reborn")}, &published)));
  EXPECT_EQ(published.acks(0).offset(), 0);
  const std::vector<Record> records = ReadRange(*broker_, "doomed", 0, 0, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value(), "reborn");

  // And the deletion holds across a restart.
  ASSERT_TRUE(ferryd_.Restart());
  admin_ = ferryd_.admin();
  EXPECT_EQ(EndOffsets(*admin_, "doomed"), (std::vector<int64_t>{1}));
}

TEST_F(AdminTest, TopicsSurviveRestart) {
  ASSERT_TRUE(IsOk(CreateTopic(*admin_, "persistent", 2)));
  ferry::v1::CreatePartitionsResponse grown;
  ASSERT_TRUE(IsOk(CreatePartitions(*admin_, "persistent", 4, &grown)));
  ASSERT_TRUE(IsOk(Publish(*broker_, "persistent", 3, {MakeRecord("", "v")})));
  ASSERT_TRUE(ferryd_.Restart());
  admin_ = ferryd_.admin();
  EXPECT_EQ(EndOffsets(*admin_, "persistent"), (std::vector<int64_t>{0, 0, 0, 1}));
}

TEST(AutoCreateTest, PublishCreatesTheTopicWithDefaultPartitions) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto broker = ferryd.broker();
  auto admin = ferryd.admin();
  PublishResponse response;
  ASSERT_TRUE(IsOk(Publish(*broker, "fresh", -1, {MakeRecord("k", "v")}, &response)));
  ASSERT_EQ(response.acks_size(), 1);
  EXPECT_EQ(response.acks(0).offset(), 0);
  DescribeTopicResponse described;
  ASSERT_TRUE(IsOk(Describe(*admin, "fresh", &described)));
  EXPECT_EQ(described.topic().partitions(), 3);
  EXPECT_EQ(described.partitions_size(), 3);
}

TEST(AutoCreateTest, DefaultPartitionsFlag) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--default-partitions=5"}));
  ASSERT_TRUE(IsOk(Publish(*ferryd.broker(), "fresh", -1, {MakeRecord("k", "v")})));
  DescribeTopicResponse described;
  ASSERT_TRUE(IsOk(Describe(*ferryd.admin(), "fresh", &described)));
  EXPECT_EQ(described.topic().partitions(), 5);
  EXPECT_EQ(EndOffsets(*ferryd.admin(), "fresh").size(), 5u);
}

TEST(AutoCreateTest, DisabledMeansNotFound) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--auto-create-topics=false"}));
  auto broker = ferryd.broker();
  auto admin = ferryd.admin();
  EXPECT_TRUE(HasCode(Publish(*broker, "ghost", -1, {MakeRecord("k", "v")}),
                      grpc::StatusCode::NOT_FOUND, {"ghost"}));
  EXPECT_TRUE(HasCode(Publish(*broker, "ghost", 0, {MakeRecord("k", "v")}),
                      grpc::StatusCode::NOT_FOUND, {"ghost"}));
  DescribeTopicResponse described;
  EXPECT_TRUE(HasCode(Describe(*admin, "ghost", &described), grpc::StatusCode::NOT_FOUND));
  SubscribeStream subscriber(
      *broker, SubscribeStream::Direct("ghost", 0, ferry::v1::START_POSITION_EARLIEST));
  ASSERT_TRUE(subscriber.WaitForEnd());
  EXPECT_TRUE(HasCode(subscriber.status(), grpc::StatusCode::NOT_FOUND, {"ghost"}));
  // Explicitly created topics still work.
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "ghost", 1)));
  EXPECT_TRUE(IsOk(Publish(*broker, "ghost", -1, {MakeRecord("k", "v")})));
}

}  // namespace
}  // namespace ferry::integration
