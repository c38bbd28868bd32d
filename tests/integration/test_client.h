// Small synchronous clients of the Ferry API for integration tests: publish, read a range,
// tail a partition, pipeline a PublishStream, and gtest assertions on grpc::Status.
#ifndef FERRY_TESTS_INTEGRATION_TEST_CLIENT_H_
#define FERRY_TESTS_INTEGRATION_TEST_CLIENT_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace ferry::integration {

// Every RPC of the tests has a deadline, so a broker that hangs fails a test instead of
// hanging the suite.
constexpr absl::Duration kRpcDeadline = absl::Seconds(30);

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout = kRpcDeadline);

// "INVALID_ARGUMENT" for grpc::StatusCode::INVALID_ARGUMENT, and so on.
std::string CodeName(grpc::StatusCode code);

::testing::AssertionResult IsOk(const grpc::Status& status);
// The status has `code`, and when `hints` is not empty its message contains at least one of
// them (case-insensitive): the message must tell the user what is wrong.
::testing::AssertionResult HasCode(const grpc::Status& status, grpc::StatusCode code,
                                   std::initializer_list<std::string> hints = {});

ferry::v1::Record MakeRecord(const std::string& key, const std::string& value,
                             int64_t timestamp_ms = 0);

grpc::Status CreateTopic(ferry::v1::Admin::Stub& admin, const std::string& topic, int partitions);
grpc::Status Describe(ferry::v1::Admin::Stub& admin, const std::string& topic,
                      ferry::v1::DescribeTopicResponse* response);
// Each partition's end offset, in partition order; empty (and a test failure) on an error.
std::vector<int64_t> EndOffsets(ferry::v1::Admin::Stub& admin, const std::string& topic);

grpc::Status Publish(ferry::v1::Broker::Stub& broker, const ferry::v1::PublishRequest& request,
                     ferry::v1::PublishResponse* response);
// Publishes `records` to one partition (or, with partition < 0, lets the broker choose).
grpc::Status Publish(ferry::v1::Broker::Stub& broker, const std::string& topic, int partition,
                     const std::vector<ferry::v1::Record>& records,
                     ferry::v1::PublishResponse* response = nullptr);

// Writes every request on one PublishStream without waiting for acks (a second thread reads
// them), then half-closes. Returns the responses in arrival order; `status` gets the stream's
// final status.
std::vector<ferry::v1::PublishStreamResponse> PublishStreamAll(
    ferry::v1::Broker::Stub& broker, const std::vector<ferry::v1::PublishRequest>& requests,
    grpc::Status* status);

// A Subscribe stream read by a background thread into memory, so a test can wait for records
// (or for the end of the stream) with a deadline. The destructor cancels the stream.
// Thread-safe.
class SubscribeStream {
 public:
  SubscribeStream(ferry::v1::Broker::Stub& broker, const ferry::v1::SubscribeRequest& request,
                  absl::Duration timeout = kRpcDeadline);
  ~SubscribeStream();
  SubscribeStream(const SubscribeStream&) = delete;
  SubscribeStream& operator=(const SubscribeStream&) = delete;

  // Direct-mode request for one partition.
  static ferry::v1::SubscribeRequest Direct(const std::string& topic, int partition,
                                            ferry::v1::StartPosition start, int64_t offset = 0,
                                            int64_t timestamp_ms = 0);

  // True once at least `count` records arrived; false on timeout or when the stream ended
  // with fewer.
  bool WaitForRecords(size_t count, absl::Duration timeout = absl::Seconds(20));
  // True once the stream ended (status() is then final).
  bool WaitForEnd(absl::Duration timeout = absl::Seconds(10));
  void Cancel();

  std::vector<ferry::v1::Record> records() const;
  std::vector<ferry::v1::SubscribeResponse> responses() const;
  bool ended() const;
  grpc::Status status() const;

 private:
  void ReadLoop();

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<ferry::v1::SubscribeResponse>> reader_;
  mutable absl::Mutex mu_;
  std::vector<ferry::v1::SubscribeResponse> responses_ ABSL_GUARDED_BY(mu_);
  size_t record_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Reads `count` records of a partition from `offset` (direct mode, START_POSITION_OFFSET),
// then cancels the stream. Adds a test failure and returns what it got when fewer arrive.
std::vector<ferry::v1::Record> ReadRange(ferry::v1::Broker::Stub& broker, const std::string& topic,
                                         int partition, int64_t offset, int64_t count);

}  // namespace ferry::integration

#endif  // FERRY_TESTS_INTEGRATION_TEST_CLIENT_H_
