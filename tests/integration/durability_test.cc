// Crash and shutdown against the real ferryd: after kill -9 during a publish load every
// acknowledged record is still there at its offset and offsets continue without a gap or reuse;
// SIGTERM stops the broker cleanly and promptly, even with a subscriber attached.
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using ferry::v1::PublishRequest;
using ferry::v1::PublishResponse;
using ferry::v1::Record;

constexpr int kPartitions = 3;

// Publishes batches to `topic` from its own thread until an RPC fails (the broker died) or it
// is stopped, remembering each acknowledged record. Thread-safe.
class LoadPublisher {
 public:
  LoadPublisher(std::shared_ptr<grpc::Channel> channel, std::string topic, int id)
      : broker_(ferry::v1::Broker::NewStub(std::move(channel))),
        topic_(std::move(topic)),
        id_(id),
        thread_([this] { Run(); }) {}
  ~LoadPublisher() { Stop(); }

  // Stops publishing and waits for the thread, so acks() is final.
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  size_t acked() const {
    absl::MutexLock lock(&mu_);
    return acks_.size();
  }
  // (partition, offset) -> value of every acknowledged record.
  std::map<std::pair<int, int64_t>, std::string> acks() const {
    absl::MutexLock lock(&mu_);
    return acks_;
  }

 private:
  void Run() {
    for (int batch = 0; !stop_ && batch < 100'000; ++batch) {
      PublishRequest request;
      request.set_topic(topic_);
      // Explicit partitions and keyless records both take part.
      if (batch % 2 == 0) request.set_partition(batch / 2 % kPartitions);
      for (int i = 0; i < 20; ++i) {
        *request.add_records() = MakeRecord("", absl::StrCat("w", id_, "-b", batch, "-r", i));
      }
      grpc::ClientContext context;
      SetDeadline(&context, absl::Seconds(10));
      PublishResponse response;
      if (!broker_->Publish(&context, request, &response).ok()) return;
      absl::MutexLock lock(&mu_);
      for (int i = 0; i < response.acks_size(); ++i) {
        acks_[{response.acks(i).partition(), response.acks(i).offset()}] =
            request.records(i).value();
      }
    }
  }

  std::unique_ptr<ferry::v1::Broker::Stub> broker_;
  const std::string topic_;
  const int id_;
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  std::map<std::pair<int, int64_t>, std::string> acks_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class CrashTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CrashTest, AcknowledgedRecordsSurviveKill9AndOffsetsContinue) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--fsync=" + GetParam()}));
  ASSERT_TRUE(IsOk(CreateTopic(*ferryd.admin(), "durable", kPartitions)));

  std::map<std::pair<int, int64_t>, std::string> acked;
  {
    LoadPublisher first(ferryd.NewChannel(), "durable", 1);
    LoadPublisher second(ferryd.NewChannel(), "durable", 2);
    ASSERT_TRUE(WaitFor([&] { return first.acked() + second.acked() >= 3000; }, absl::Seconds(30)))
        << "acked only " << first.acked() + second.acked() << " records";
    ferryd.Kill9();  // While both publishers have requests in flight.
    first.Stop();
    second.Stop();
    for (const auto& ack : first.acks()) acked.insert(ack);
    for (const auto& ack : second.acks()) {
      EXPECT_TRUE(acked.insert(ack).second) << "offset " << ack.first.second << " of partition "
                                            << ack.first.first << " acknowledged twice";
    }
  }

  ASSERT_TRUE(ferryd.Restart());
  auto broker = ferryd.broker();
  auto admin = ferryd.admin();
  const std::vector<int64_t> ends = EndOffsets(*admin, "durable");
  ASSERT_EQ(ends.size(), static_cast<size_t>(kPartitions));
  for (int partition = 0; partition < kPartitions; ++partition) {
    SCOPED_TRACE(absl::StrCat("partition ", partition));
    int64_t highest_acked = -1;
    for (const auto& [key, value] : acked) {
      if (key.first == partition) highest_acked = std::max(highest_acked, key.second);
    }
    // Records in flight at the crash may or may not be stored; acknowledged ones must be.
    EXPECT_GT(ends[partition], highest_acked);
    const std::vector<Record> records =
        ReadRange(*broker, "durable", partition, 0, ends[partition]);
    ASSERT_EQ(static_cast<int64_t>(records.size()), ends[partition]);
    for (int64_t o = 0; o < ends[partition]; ++o) {
      ASSERT_EQ(records[o].offset(), o);
      EXPECT_TRUE(absl::StartsWith(records[o].value(), "w")) << "offset " << o;
      auto it = acked.find({partition, o});
      if (it != acked.end()) {
        EXPECT_EQ(records[o].value(), it->second) << "offset " << o;
      }
    }

    // The next record goes right after the last stored one: no gap, no reuse.
    PublishResponse response;
    ASSERT_TRUE(
        IsOk(Publish(*broker, "durable", partition, {MakeRecord("", "after-crash")}, &response)));
    ASSERT_EQ(response.acks_size(), 1);
    EXPECT_EQ(response.acks(0).offset(), ends[partition]);
  }
  std::vector<int64_t> expected_ends = ends;
  for (int64_t& end : expected_ends) ++end;
  EXPECT_EQ(EndOffsets(*admin, "durable"), expected_ends);
}

INSTANTIATE_TEST_SUITE_P(FsyncPolicies, CrashTest, ::testing::Values("always", "interval", "never"),
                         [](const auto& info) { return info.param; });

TEST(ShutdownTest, SigtermExitsZeroWithAnOpenSubscriberAndKeepsData) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto broker = ferryd.broker();
  ASSERT_TRUE(IsOk(CreateTopic(*ferryd.admin(), "kept", 1)));
  std::vector<Record> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(MakeRecord(absl::StrCat("k", i), absl::StrCat(i)));
  ASSERT_TRUE(IsOk(Publish(*broker, "kept", 0, batch)));

  // A subscriber that has read everything and now waits for more.
  SubscribeStream subscriber(
      *broker, SubscribeStream::Direct("kept", 0, ferry::v1::START_POSITION_EARLIEST));
  ASSERT_TRUE(subscriber.WaitForRecords(100));

  const absl::Time start = absl::Now();
  const int exit_code = ferryd.Terminate(absl::Seconds(15));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(exit_code, 0) << "ferryd did not exit cleanly on SIGTERM";
  EXPECT_LT(took, absl::Seconds(10)) << "ferryd took " << took << " to stop on SIGTERM";
  ASSERT_TRUE(subscriber.WaitForEnd(absl::Seconds(5))) << "the subscriber stream did not end";
  // "The broker is stopping: retry".
  EXPECT_TRUE(HasCode(subscriber.status(), grpc::StatusCode::UNAVAILABLE));

  ASSERT_TRUE(ferryd.Restart());
  broker = ferryd.broker();
  EXPECT_EQ(EndOffsets(*ferryd.admin(), "kept"), (std::vector<int64_t>{100}));
  const std::vector<Record> records = ReadRange(*broker, "kept", 0, 0, 100);
  ASSERT_EQ(records.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(records[i].key(), absl::StrCat("k", i));
    EXPECT_EQ(records[i].value(), absl::StrCat(i));
  }
  PublishResponse response;
  ASSERT_TRUE(IsOk(Publish(*broker, "kept", 0, {MakeRecord("", "next")}, &response)));
  EXPECT_EQ(response.acks(0).offset(), 100);
}

TEST(ShutdownTest, SigtermExitsZeroWithAnIdlePublishStream) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto broker = ferryd.broker();
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = broker->PublishStream(&context);
  PublishRequest request;
  request.set_topic("idle");
  *request.add_records() = MakeRecord("", "v");
  ASSERT_TRUE(stream->Write(request));
  ferry::v1::PublishStreamResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_ok()) << response.error().message();
  // The client neither writes nor half-closes any more.
  const absl::Time start = absl::Now();
  EXPECT_EQ(ferryd.Terminate(absl::Seconds(15)), 0);
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Seconds(10)) << "ferryd took " << took << " to stop on SIGTERM";
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_FALSE(stream->Finish().ok());
}

TEST(ShutdownTest, SigtermDuringPublishLoadKeepsAcknowledgedRecords) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  ASSERT_TRUE(IsOk(CreateTopic(*ferryd.admin(), "draining", kPartitions)));
  std::map<std::pair<int, int64_t>, std::string> acked;
  int exit_code = -1;
  {
    LoadPublisher publisher(ferryd.NewChannel(), "draining", 1);
    ASSERT_TRUE(WaitFor([&] { return publisher.acked() >= 1000; }, absl::Seconds(30)));
    exit_code = ferryd.Terminate(absl::Seconds(15));
    publisher.Stop();
    acked = publisher.acks();
  }
  EXPECT_EQ(exit_code, 0);
  ASSERT_TRUE(ferryd.Restart());
  auto broker = ferryd.broker();
  const std::vector<int64_t> ends = EndOffsets(*ferryd.admin(), "draining");
  ASSERT_EQ(ends.size(), static_cast<size_t>(kPartitions));
  for (int partition = 0; partition < kPartitions; ++partition) {
    const std::vector<Record> records =
        ReadRange(*broker, "draining", partition, 0, ends[partition]);
    ASSERT_EQ(static_cast<int64_t>(records.size()), ends[partition]);
    for (const auto& [key, value] : acked) {
      if (key.first != partition) continue;
      ASSERT_LT(key.second, ends[partition])
          << "acknowledged offset lost in partition " << partition;
      EXPECT_EQ(records[key.second].value(), value);
    }
  }
}

}  // namespace
}  // namespace ferry::integration
