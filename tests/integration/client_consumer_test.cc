// ferry::Consumer and ferry::PartitionReader (the C++ client library) against the real ferryd:
// revoke-before-assign with the final commit, auto-commit, leaving on Close, commits across a
// rebalance, Seek, rejoining after a broker restart, and direct reads from every start
// position.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ferry/consumer.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using TpSet = std::set<TopicPartition>;

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::unique_ptr<Consumer> NewConsumer(const ConsumerOptions& options) {
  absl::StatusOr<std::unique_ptr<Consumer>> c = Consumer::Create(options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

ConsumerOptions Options(const FerrydProcess& ferryd, const std::string& group,
                        const std::string& topic) {
  ConsumerOptions o;
  o.broker = ferryd.address();
  o.group = group;
  o.topics = {topic};
  o.offset_reset = OffsetReset::kEarliest;
  return o;
}

// Publishes `count` records ("p<partition>-<i>") to each of `partitions` partitions.
void Fill(const FerrydProcess& ferryd, const std::string& topic, int partitions, int count) {
  auto broker = ferryd.broker();
  for (int p = 0; p < partitions; ++p) {
    std::vector<ferry::v1::Record> records;
    for (int i = 0; i < count; ++i) records.push_back(MakeRecord("", absl::StrCat("p", p, "-", i)));
    ASSERT_TRUE(IsOk(Publish(*broker, topic, p, records)));
  }
}

// The group's committed offset of each partition of `topic` (-1: none).
std::map<int32_t, int64_t> Committed(const FerrydProcess& ferryd, const std::string& group,
                                     const std::string& topic, int partitions) {
  auto broker = ferryd.broker();
  ferry::v1::FetchOffsetsRequest request;
  request.set_group(group);
  for (int p = 0; p < partitions; ++p) {
    ferry::v1::TopicPartition* tp = request.add_partitions();
    tp->set_topic(topic);
    tp->set_partition(p);
  }
  ferry::v1::FetchOffsetsResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  EXPECT_TRUE(IsOk(broker->FetchOffsets(&context, request, &response)));
  std::map<int32_t, int64_t> out;
  for (const auto& o : response.offsets()) out[o.partition()] = o.offset();
  return out;
}

ferry::v1::DescribeGroupResponse DescribeGroup(const FerrydProcess& ferryd,
                                               const std::string& group) {
  auto admin = ferryd.admin();
  ferry::v1::DescribeGroupRequest request;
  request.set_group(group);
  ferry::v1::DescribeGroupResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  EXPECT_TRUE(IsOk(admin->DescribeGroup(&context, request, &response)));
  return response;
}

// Polls `consumer` (short timeouts) until `done` holds or `timeout` passes; returns whether
// it holds. Every record received is appended to `out` when given.
bool PollUntil(Consumer& consumer, const std::function<bool()>& done, absl::Duration timeout,
               std::vector<ConsumerRecord>* out = nullptr) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::StatusOr<std::vector<ConsumerRecord>> records = consumer.Poll(absl::Milliseconds(20));
    if (!records.ok()) {
      ADD_FAILURE() << "Poll: " << records.status();
      return false;
    }
    if (out != nullptr) out->insert(out->end(), records->begin(), records->end());
  }
  return true;
}

TpSet AsSet(const std::vector<TopicPartition>& v) { return TpSet(v.begin(), v.end()); }

// Callback order across consumers.
class Journal {
 public:
  std::function<void(const std::vector<TopicPartition>&)> Recorder(const std::string& what) {
    return [this, what](const std::vector<TopicPartition>& tps) {
      absl::MutexLock lock(&mu_);
      for (const auto& tp : tps) entries_.push_back({what, tp});
    };
  }
  // Index of the first entry `what` for `tp`, or -1.
  int Index(const std::string& what, const TopicPartition& tp) const {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].first == what && entries_[i].second == tp) return static_cast<int>(i);
    }
    return -1;
  }
  TpSet Of(const std::string& what) const {
    absl::MutexLock lock(&mu_);
    TpSet out;
    for (const auto& [w, tp] : entries_) {
      if (w == what) out.insert(tp);
    }
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::pair<std::string, TopicPartition>> entries_ ABSL_GUARDED_BY(mu_);
};

TEST(ClientConsumerTest, RevokeRunsBeforeTheNewOwnersAssignAndRevokedPositionsAreCommitted) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "events", 4)));
  Fill(ferryd, "events", 4, 5);

  Journal journal;
  ConsumerOptions a_options = Options(ferryd, "g", "events");
  a_options.auto_commit_interval = absl::Hours(1);  // only the commit on revoke
  a_options.on_assign = journal.Recorder("A+");
  a_options.on_revoke = journal.Recorder("A-");
  std::unique_ptr<Consumer> a = NewConsumer(a_options);
  ASSERT_NE(a, nullptr);
  std::vector<ConsumerRecord> a_records;
  ASSERT_TRUE(PollUntil(
      *a, [&] { return a_records.size() >= 20; }, absl::Seconds(10), &a_records));
  EXPECT_EQ(a_records.size(), 20u);
  EXPECT_EQ(a->Assignment().size(), 4u);
  // Nothing committed yet: auto-commit is an hour away.
  EXPECT_EQ(Committed(ferryd, "g", "events", 4),
            (std::map<int32_t, int64_t>{{0, -1}, {1, -1}, {2, -1}, {3, -1}}));

  ConsumerOptions b_options = Options(ferryd, "g", "events");
  b_options.on_assign = journal.Recorder("B+");
  b_options.on_revoke = journal.Recorder("B-");
  std::unique_ptr<Consumer> b = NewConsumer(b_options);
  ASSERT_NE(b, nullptr);
  std::vector<ConsumerRecord> b_records;
  const auto balanced = [&] { return a->Assignment().size() == 2 && b->Assignment().size() == 2; };
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!balanced() && absl::Now() < deadline) {
    auto ra = a->Poll(absl::Milliseconds(10));
    ASSERT_TRUE(ra.ok()) << ra.status();
    auto rb = b->Poll(absl::Milliseconds(10));
    ASSERT_TRUE(rb.ok()) << rb.status();
    b_records.insert(b_records.end(), rb->begin(), rb->end());
  }
  ASSERT_TRUE(balanced());
  const TpSet moved = AsSet(b->Assignment());
  EXPECT_EQ(journal.Of("A-"), moved);
  EXPECT_EQ(journal.Of("B+"), moved);
  for (const TopicPartition& tp : moved) {
    const int revoked_at = journal.Index("A-", tp);
    const int assigned_at = journal.Index("B+", tp);
    ASSERT_GE(revoked_at, 0);
    ASSERT_GE(assigned_at, 0);
    EXPECT_LT(revoked_at, assigned_at) << tp.first << "-" << tp.second;
  }
  // The revoked partitions' final positions were committed; the kept ones were not.
  const std::map<int32_t, int64_t> committed = Committed(ferryd, "g", "events", 4);
  for (int32_t p = 0; p < 4; ++p) {
    EXPECT_EQ(committed.at(p), moved.contains({"events", p}) ? 5 : -1) << "partition " << p;
  }
  // So B resumes after A's last record: with a new record in each partition, B gets exactly
  // the new ones of its partitions, at offset 5.
  Fill(ferryd, "events", 4, 1);
  ASSERT_TRUE(PollUntil(
      *b, [&] { return b_records.size() >= 2; }, absl::Seconds(10), &b_records));
  ASSERT_EQ(b_records.size(), 2u);
  for (const ConsumerRecord& r : b_records) {
    EXPECT_TRUE(moved.contains({r.topic, r.partition}));
    EXPECT_EQ(r.offset, 5);
  }
  EXPECT_TRUE(a->Close().ok());
  EXPECT_TRUE(b->Close().ok());
}

TEST(ClientConsumerTest, AutoCommitCommitsPositions) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "auto", 3)));
  Fill(ferryd, "auto", 3, 10);
  ConsumerOptions options = Options(ferryd, "auto-group", "auto");
  options.auto_commit_interval = absl::Milliseconds(50);
  std::unique_ptr<Consumer> c = NewConsumer(options);
  ASSERT_NE(c, nullptr);
  std::vector<ConsumerRecord> records;
  ASSERT_TRUE(PollUntil(
      *c, [&] { return records.size() >= 30; }, absl::Seconds(10), &records));
  EXPECT_EQ(records.size(), 30u);
  // Per partition: offsets 0..9 in order.
  std::map<int32_t, int64_t> next;
  for (const ConsumerRecord& r : records) {
    EXPECT_EQ(r.offset, next[r.partition]++);
    EXPECT_EQ(r.value, absl::StrCat("p", r.partition, "-", r.offset));
  }
  const std::map<int32_t, int64_t> all_done = {{0, 10}, {1, 10}, {2, 10}};
  ASSERT_TRUE(PollUntil(
      *c, [&] { return Committed(ferryd, "auto-group", "auto", 3) == all_done; },
      absl::Seconds(10)));
  const ferry::v1::DescribeGroupResponse group = DescribeGroup(ferryd, "auto-group");
  EXPECT_EQ(group.members_size(), 1);
  ASSERT_EQ(group.partitions_size(), 3);
  for (const auto& p : group.partitions()) {
    EXPECT_EQ(p.committed_offset(), 10);
    EXPECT_EQ(p.lag(), 0);
    EXPECT_EQ(p.member_id(), c->member_id());
  }
  EXPECT_TRUE(c->Close().ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(c->Poll(absl::ZeroDuration()).status()));
}

TEST(ClientConsumerTest, CloseLeavesTheGroupSoTheOtherGetsEverythingAtOnce) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "leave", 4)));
  ConsumerOptions options = Options(ferryd, "leavers", "leave");
  options.session_timeout = absl::Seconds(30);
  std::unique_ptr<Consumer> a = NewConsumer(options);
  ASSERT_NE(a, nullptr);
  std::unique_ptr<Consumer> b = NewConsumer(options);
  ASSERT_NE(b, nullptr);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!(a->Assignment().size() == 2 && b->Assignment().size() == 2) && absl::Now() < deadline) {
    ASSERT_TRUE(a->Poll(absl::Milliseconds(10)).ok());
    ASSERT_TRUE(b->Poll(absl::Milliseconds(10)).ok());
  }
  ASSERT_EQ(a->Assignment().size(), 2u);
  ASSERT_EQ(b->Assignment().size(), 2u);

  const absl::Time closed_at = absl::Now();
  ASSERT_TRUE(a->Close().ok());
  ASSERT_TRUE(PollUntil(
      *b, [&] { return b->Assignment().size() == 4; }, absl::Seconds(10)));
  // Far below the 30 s session timeout, and below the broker's 3 s revoke grace too.
  EXPECT_LT(absl::Now() - closed_at, absl::Milliseconds(2500));
  const ferry::v1::DescribeGroupResponse group = DescribeGroup(ferryd, "leavers");
  ASSERT_EQ(group.members_size(), 1);
  EXPECT_EQ(group.members(0).member_id(), b->member_id());
  EXPECT_TRUE(b->Close().ok());
}

TEST(ClientConsumerTest, CommitDuringARebalanceUsesTheCurrentGeneration) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "stale", 2)));
  // More records than the consumer queues (about 10000): its reader thread stops reading the
  // stream, so a rebalance reaches it only once Poll makes room.
  Fill(ferryd, "stale", 2, 12000);
  ConsumerOptions options = Options(ferryd, "stale-group", "stale");
  options.auto_commit = false;
  std::unique_ptr<Consumer> a = NewConsumer(options);
  ASSERT_NE(a, nullptr);
  std::vector<ConsumerRecord> records;
  ASSERT_TRUE(PollUntil(
      *a, [&] { return !records.empty(); }, absl::Seconds(10), &records));
  std::map<int32_t, int64_t> expected = {{0, -1}, {1, -1}};
  for (const ConsumerRecord& r : records) expected[r.partition] = r.offset + 1;
  const int64_t before = DescribeGroup(ferryd, "stale-group").generation();

  // B's join moves the generation on; A has not polled since, so its view is stale.
  std::unique_ptr<Consumer> b = NewConsumer(options);
  ASSERT_NE(b, nullptr);
  EXPECT_GT(DescribeGroup(ferryd, "stale-group").generation(), before);
  const absl::Status committed = a->Commit();
  ASSERT_TRUE(committed.ok()) << committed;
  // Both partitions: the kept one at the new generation, the revoked one as its final commit.
  EXPECT_EQ(Committed(ferryd, "stale-group", "stale", 2), expected);

  // CommitAsync works from any thread and reports through its callback.
  std::promise<absl::Status> async_done;
  a->CommitAsync([&](absl::Status s) { async_done.set_value(s); });
  auto future = async_done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const absl::Status async_status = future.get();
  EXPECT_TRUE(async_status.ok() || absl::IsFailedPrecondition(async_status)) << async_status;

  // Explicit offsets.
  ASSERT_TRUE(PollUntil(
      *a, [&] { return a->Assignment().size() == 1; }, absl::Seconds(10)));
  const TopicPartition kept = a->Assignment()[0];
  const absl::Status explicit_commit = a->Commit({{kept, 1}});
  ASSERT_TRUE(explicit_commit.ok()) << explicit_commit;
  EXPECT_EQ(Committed(ferryd, "stale-group", "stale", 2).at(kept.second), 1);
  EXPECT_TRUE(absl::IsInvalidArgument(a->Commit({{kept, -1}})));
  EXPECT_TRUE(a->Close().ok());
  EXPECT_TRUE(b->Close().ok());
}

// Poll hands out at most about max_poll_records, however much is queued, so an application
// comes back (and answers a revoke) within a bounded time.
TEST(ClientConsumerTest, PollReturnsAtMostMaxPollRecords) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "bounded", 1)));
  Fill(ferryd, "bounded", 1, 3000);
  ConsumerOptions options = Options(ferryd, "bounded-group", "bounded");
  options.max_poll_records = 100;
  options.max_records_per_message = 50;
  std::unique_ptr<Consumer> c = NewConsumer(options);
  ASSERT_NE(c, nullptr);
  size_t total = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (total < 3000 && absl::Now() < deadline) {
    absl::StatusOr<std::vector<ConsumerRecord>> got = c->Poll(absl::Milliseconds(100));
    ASSERT_TRUE(got.ok()) << got.status();
    // At most one message beyond the bound.
    EXPECT_LE(got->size(), 150u);
    total += got->size();
  }
  EXPECT_EQ(total, 3000u);
  options.max_poll_records = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(Consumer::Create(options).status()));
  EXPECT_TRUE(c->Close().ok());
}

TEST(ClientConsumerTest, SeekRewindsAndSkipsAhead) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "seek", 1)));
  Fill(ferryd, "seek", 1, 10);
  ConsumerOptions options = Options(ferryd, "seekers", "seek");
  options.auto_commit = false;
  std::unique_ptr<Consumer> c = NewConsumer(options);
  ASSERT_NE(c, nullptr);
  std::vector<ConsumerRecord> records;
  ASSERT_TRUE(PollUntil(
      *c, [&] { return records.size() >= 10; }, absl::Seconds(10), &records));
  const TopicPartition tp = {"seek", 0};

  const auto offsets_from = [&](int64_t from) {
    std::vector<ConsumerRecord> got;
    EXPECT_TRUE(PollUntil(
        *c, [&] { return !got.empty() && got.back().offset == 9; }, absl::Seconds(10), &got));
    std::vector<int64_t> out;
    for (const ConsumerRecord& r : got) out.push_back(r.offset);
    std::vector<int64_t> want;
    for (int64_t o = from; o < 10; ++o) want.push_back(o);
    EXPECT_EQ(out, want) << "after Seek to " << from;
  };
  ASSERT_TRUE(c->Seek(tp, 3).ok());
  offsets_from(3);
  ASSERT_TRUE(c->Seek(tp, 8).ok());
  offsets_from(8);
  ASSERT_TRUE(c->Seek(tp, 0).ok());
  offsets_from(0);
  // Tailing goes on after a Seek.
  Fill(ferryd, "seek", 1, 1);
  std::vector<ConsumerRecord> tail;
  ASSERT_TRUE(PollUntil(
      *c, [&] { return !tail.empty(); }, absl::Seconds(10), &tail));
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].offset, 10);

  EXPECT_TRUE(absl::IsFailedPrecondition(c->Seek({"seek", 5}, 0)));
  EXPECT_TRUE(absl::IsInvalidArgument(c->Seek(tp, -1)));
  ASSERT_TRUE(c->Commit().ok());
  EXPECT_EQ(Committed(ferryd, "seekers", "seek", 1).at(0), 11);
  EXPECT_TRUE(c->Close().ok());
}

TEST(ClientConsumerTest, RejoinsAfterABrokerRestartAndResumesFromCommittedOffsets) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({absl::StrCat("--listen=127.0.0.1:", port)}));
  {
    auto admin = ferryd.admin();
    ASSERT_TRUE(IsOk(CreateTopic(*admin, "restart", 2)));
  }
  Fill(ferryd, "restart", 2, 2);
  Journal journal;
  ConsumerOptions options = Options(ferryd, "phoenix", "restart");
  options.auto_commit_interval = absl::Milliseconds(50);
  options.on_revoke = journal.Recorder("-");
  std::unique_ptr<Consumer> c = NewConsumer(options);
  ASSERT_NE(c, nullptr);
  const std::string first_member = c->member_id();
  std::vector<ConsumerRecord> records;
  ASSERT_TRUE(PollUntil(
      *c, [&] { return records.size() >= 4; }, absl::Seconds(10), &records));
  const std::map<int32_t, int64_t> all_done = {{0, 2}, {1, 2}};
  ASSERT_TRUE(PollUntil(
      *c, [&] { return Committed(ferryd, "phoenix", "restart", 2) == all_done; },
      absl::Seconds(10)));

  ferryd.Kill9();
  ASSERT_TRUE(ferryd.Restart());
  Fill(ferryd, "restart", 2, 1);
  std::vector<ConsumerRecord> after;
  ASSERT_TRUE(PollUntil(
      *c, [&] { return after.size() >= 2; }, absl::Seconds(15), &after));
  // The broker forgot the member: the partitions were lost and the consumer joined anew,
  // starting from the committed offsets.
  EXPECT_NE(c->member_id(), first_member);
  EXPECT_EQ(journal.Of("-"), (TpSet{{"restart", 0}, {"restart", 1}}));
  ASSERT_EQ(after.size(), 2u);
  for (const ConsumerRecord& r : after) EXPECT_EQ(r.offset, 2);
  EXPECT_TRUE(c->Close().ok());
}

TEST(ClientConsumerTest, PartitionReaderReadsFromEveryStartPositionAndTails) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  auto broker = ferryd.broker();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "direct", 2)));
  std::vector<ferry::v1::Record> five;
  for (int i = 0; i < 5; ++i) {
    five.push_back(MakeRecord(absl::StrCat("k", i), absl::StrCat("v", i), 1000 * (i + 1)));
  }
  ASSERT_TRUE(IsOk(Publish(*broker, "direct", 1, five)));

  // Reads until `count` records arrived (or 10 s passed).
  const auto read = [](PartitionReader& reader, size_t count) {
    std::vector<ConsumerRecord> out;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (out.size() < count && absl::Now() < deadline) {
      absl::StatusOr<std::vector<ConsumerRecord>> got = reader.Read(absl::Milliseconds(50));
      if (!got.ok()) {
        ADD_FAILURE() << got.status();
        break;
      }
      out.insert(out.end(), got->begin(), got->end());
    }
    return out;
  };
  const auto offsets = [](const std::vector<ConsumerRecord>& records) {
    std::vector<int64_t> out;
    for (const ConsumerRecord& r : records) out.push_back(r.offset);
    return out;
  };
  const auto open = [&](PartitionReader::Start start, int64_t at) {
    absl::StatusOr<std::unique_ptr<PartitionReader>> r =
        PartitionReader::Create(ferryd.address(), "direct", 1, start, at);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : nullptr;
  };

  std::unique_ptr<PartitionReader> earliest = open(PartitionReader::Start::kEarliest, 0);
  ASSERT_NE(earliest, nullptr);
  std::vector<ConsumerRecord> got = read(*earliest, 5);
  EXPECT_EQ(offsets(got), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[2].key, "k2");
  EXPECT_EQ(got[2].value, "v2");
  EXPECT_EQ(got[2].timestamp_ms, 3000);
  EXPECT_EQ(got[2].topic, "direct");
  EXPECT_EQ(got[2].partition, 1);
  EXPECT_EQ(earliest->end_offset(), 5);

  std::unique_ptr<PartitionReader> from_offset = open(PartitionReader::Start::kOffset, 3);
  ASSERT_NE(from_offset, nullptr);
  EXPECT_EQ(offsets(read(*from_offset, 2)), (std::vector<int64_t>{3, 4}));

  std::unique_ptr<PartitionReader> from_time = open(PartitionReader::Start::kTimestamp, 2500);
  ASSERT_NE(from_time, nullptr);
  EXPECT_EQ(offsets(read(*from_time, 3)), (std::vector<int64_t>{2, 3, 4}));

  // Latest: nothing that was there before; new records as they come. The broker resolves
  // "latest" when the stream starts, so publish until the reader sees something.
  std::unique_ptr<PartitionReader> latest = open(PartitionReader::Start::kLatest, 0);
  ASSERT_NE(latest, nullptr);
  std::vector<ConsumerRecord> tailed;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (tailed.empty() && absl::Now() < deadline) {
    ASSERT_TRUE(IsOk(Publish(*broker, "direct", 1, {MakeRecord("", "new")})));
    absl::StatusOr<std::vector<ConsumerRecord>> r = latest->Read(absl::Milliseconds(100));
    ASSERT_TRUE(r.ok()) << r.status();
    tailed = *r;
  }
  ASSERT_FALSE(tailed.empty());
  EXPECT_GE(tailed[0].offset, 5);
  for (size_t i = 1; i < tailed.size(); ++i) EXPECT_EQ(tailed[i].offset, tailed[i - 1].offset + 1);

  // The earliest reader tails too.
  const std::vector<ConsumerRecord> more = read(*earliest, 1);
  ASSERT_FALSE(more.empty());
  EXPECT_EQ(more[0].offset, 5);
  EXPECT_EQ(more[0].value, "new");

  // Errors come from Read, and stay.
  absl::StatusOr<std::unique_ptr<PartitionReader>> missing =
      PartitionReader::Create(ferryd.address(), "direct", 7, PartitionReader::Start::kEarliest);
  ASSERT_TRUE(missing.ok()) << missing.status();
  absl::StatusOr<std::vector<ConsumerRecord>> r = (*missing)->Read(absl::Seconds(10));
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_TRUE(absl::IsNotFound((*missing)->Read(absl::ZeroDuration()).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      PartitionReader::Create(ferryd.address(), "direct", -1, PartitionReader::Start::kEarliest)
          .status()));
}

}  // namespace
}  // namespace ferry::integration
