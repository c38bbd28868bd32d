#include "integration/test_client.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace ferry::integration {

using ferry::v1::Admin;
using ferry::v1::Broker;
using ferry::v1::PublishRequest;
using ferry::v1::PublishResponse;
using ferry::v1::PublishStreamResponse;
using ferry::v1::Record;
using ferry::v1::SubscribeRequest;
using ferry::v1::SubscribeResponse;

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

std::string CodeName(grpc::StatusCode code) {
  // grpc::StatusCode and absl::StatusCode share google.rpc.Code's numbering and names.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

::testing::AssertionResult IsOk(const grpc::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << CodeName(status.error_code()) << ": " << status.error_message();
}

::testing::AssertionResult HasCode(const grpc::Status& status, grpc::StatusCode code,
                                   std::initializer_list<std::string> hints) {
  if (status.error_code() != code) {
    return ::testing::AssertionFailure()
           << "expected " << CodeName(code) << ", got " << CodeName(status.error_code()) << ": \""
           << status.error_message() << "\"";
  }
  if (hints.size() == 0) return ::testing::AssertionSuccess();
  const std::string message = absl::AsciiStrToLower(status.error_message());
  for (const std::string& hint : hints) {
    if (absl::StrContains(message, absl::AsciiStrToLower(hint))) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << CodeName(code) << " message \"" << status.error_message()
                                       << "\" mentions none of: " << absl::StrJoin(hints, ", ");
}

Record MakeRecord(const std::string& key, const std::string& value, int64_t timestamp_ms) {
  Record record;
  if (!key.empty()) record.set_key(key);  // "": a null key (keyless)
  record.set_value(value);
  record.set_timestamp_ms(timestamp_ms);
  return record;
}

grpc::Status CreateTopic(Admin::Stub& admin, const std::string& topic, int partitions) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::CreateTopicRequest request;
  request.set_topic(topic);
  request.set_partitions(partitions);
  ferry::v1::CreateTopicResponse response;
  return admin.CreateTopic(&context, request, &response);
}

grpc::Status Describe(Admin::Stub& admin, const std::string& topic,
                      ferry::v1::DescribeTopicResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  ferry::v1::DescribeTopicRequest request;
  request.set_topic(topic);
  return admin.DescribeTopic(&context, request, response);
}

std::vector<int64_t> EndOffsets(Admin::Stub& admin, const std::string& topic) {
  ferry::v1::DescribeTopicResponse response;
  const grpc::Status status = Describe(admin, topic, &response);
  if (!status.ok()) {
    ADD_FAILURE() << "DescribeTopic(" << topic << "): " << CodeName(status.error_code()) << ": "
                  << status.error_message();
    return {};
  }
  std::vector<int64_t> ends(response.partitions_size(), -1);
  for (const ferry::v1::PartitionInfo& info : response.partitions()) {
    if (info.partition() < 0 || info.partition() >= response.partitions_size()) {
      ADD_FAILURE() << "DescribeTopic(" << topic << ") lists partition " << info.partition()
                    << " among " << response.partitions_size();
      continue;
    }
    ends[info.partition()] = info.end_offset();
  }
  return ends;
}

grpc::Status Publish(Broker::Stub& broker, const PublishRequest& request,
                     PublishResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  PublishResponse ignored;
  return broker.Publish(&context, request, response != nullptr ? response : &ignored);
}

grpc::Status Publish(Broker::Stub& broker, const std::string& topic, int partition,
                     const std::vector<Record>& records, PublishResponse* response) {
  PublishRequest request;
  request.set_topic(topic);
  if (partition >= 0) request.set_partition(partition);
  for (const Record& record : records) *request.add_records() = record;
  return Publish(broker, request, response);
}

std::vector<PublishStreamResponse> PublishStreamAll(Broker::Stub& broker,
                                                    const std::vector<PublishRequest>& requests,
                                                    grpc::Status* status) {
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(60));
  auto stream = broker.PublishStream(&context);
  std::vector<PublishStreamResponse> responses;
  std::thread reader([&] {
    PublishStreamResponse response;
    while (stream->Read(&response)) responses.push_back(response);
  });
  for (const PublishRequest& request : requests) {
    if (!stream->Write(request)) break;  // The stream failed; Finish() says why.
  }
  stream->WritesDone();
  reader.join();
  *status = stream->Finish();
  return responses;
}

SubscribeStream::SubscribeStream(Broker::Stub& broker, const SubscribeRequest& request,
                                 absl::Duration timeout) {
  SetDeadline(&context_, timeout);
  reader_ = broker.Subscribe(&context_, request);
  thread_ = std::thread([this] { ReadLoop(); });
}

SubscribeStream::~SubscribeStream() {
  context_.TryCancel();
  thread_.join();
}

SubscribeRequest SubscribeStream::Direct(const std::string& topic, int partition,
                                         ferry::v1::StartPosition start, int64_t offset,
                                         int64_t timestamp_ms) {
  SubscribeRequest request;
  ferry::v1::DirectSubscription* direct = request.mutable_direct();
  direct->set_topic(topic);
  direct->set_partition(partition);
  direct->set_start(start);
  direct->set_offset(offset);
  direct->set_timestamp_ms(timestamp_ms);
  return request;
}

void SubscribeStream::ReadLoop() {
  SubscribeResponse response;
  while (reader_->Read(&response)) {
    absl::MutexLock lock(&mu_);
    record_count_ += response.records_size();
    responses_.push_back(std::move(response));
    response.Clear();
  }
  grpc::Status status = reader_->Finish();
  absl::MutexLock lock(&mu_);
  status_ = std::move(status);
  ended_ = true;
}

bool SubscribeStream::WaitForRecords(size_t count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this, count]()
                  ABSL_SHARED_LOCKS_REQUIRED(mu_) { return record_count_ >= count || ended_; };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  return record_count_ >= count;
}

bool SubscribeStream::WaitForEnd(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&ended_), timeout);
}

void SubscribeStream::Cancel() { context_.TryCancel(); }

std::vector<Record> SubscribeStream::records() const {
  absl::MutexLock lock(&mu_);
  std::vector<Record> records;
  records.reserve(record_count_);
  for (const SubscribeResponse& response : responses_) {
    records.insert(records.end(), response.records().begin(), response.records().end());
  }
  return records;
}

std::vector<SubscribeResponse> SubscribeStream::responses() const {
  absl::MutexLock lock(&mu_);
  return responses_;
}

bool SubscribeStream::ended() const {
  absl::MutexLock lock(&mu_);
  return ended_;
}

grpc::Status SubscribeStream::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

std::vector<Record> ReadRange(Broker::Stub& broker, const std::string& topic, int partition,
                              int64_t offset, int64_t count) {
  if (count <= 0) return {};
  SubscribeStream stream(
      broker, SubscribeStream::Direct(topic, partition, ferry::v1::START_POSITION_OFFSET, offset));
  if (!stream.WaitForRecords(count, absl::Seconds(30))) {
    const grpc::Status status = stream.status();
    ADD_FAILURE() << "reading " << count << " records of " << topic << "/" << partition
                  << " from offset " << offset << ": got " << stream.records().size()
                  << (stream.ended()
                          ? absl::StrCat(", stream ended with ", CodeName(status.error_code()),
                                         ": ", status.error_message())
                          : std::string(" before the deadline"));
  }
  std::vector<Record> records = stream.records();
  if (records.size() > static_cast<size_t>(count)) records.resize(count);
  return records;
}

}  // namespace ferry::integration
