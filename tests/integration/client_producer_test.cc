// ferry::Producer (the C++ client library) against the real ferryd: client-side partitioning
// that matches the broker's, per-partition order under batching and pipelining, sticky keyless
// batches, topic auto-creation, a bounded buffer, Flush/Close, and retries across a kill -9.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/partitioner.h"
#include "ferry/consumer.h"
#include "ferry/producer.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

// A port free right now on 127.0.0.1, for a ferryd that must come back on the same address.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::unique_ptr<Producer> NewProducer(const ProducerOptions& options) {
  absl::StatusOr<std::unique_ptr<Producer>> p = Producer::Create(options);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

ProducerRecord Keyed(const std::string& topic, const std::string& key, const std::string& value) {
  ProducerRecord r;
  r.topic = topic;
  r.key = key;
  r.value = value;
  return r;
}

// The outcome of every Send, by record index.
class Acks {
 public:
  explicit Acks(size_t n) : results_(n, absl::UnknownError("no callback yet")) {}
  Producer::Callback For(size_t i) {
    return [this, i](const absl::StatusOr<RecordMetadata>& r) {
      absl::MutexLock lock(&mu_);
      results_[i] = r;
      ++done_;
    };
  }
  size_t done() const {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  absl::StatusOr<RecordMetadata> Get(size_t i) const {
    absl::MutexLock lock(&mu_);
    return results_[i];
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<absl::StatusOr<RecordMetadata>> results_ ABSL_GUARDED_BY(mu_);
  size_t done_ ABSL_GUARDED_BY(mu_) = 0;
};

// Every record of every partition of `topic`, read back in offset order.
std::vector<std::vector<ferry::v1::Record>> ReadAll(const FerrydProcess& ferryd,
                                                    const std::string& topic) {
  auto admin = ferryd.admin();
  auto broker = ferryd.broker();
  std::vector<std::vector<ferry::v1::Record>> out;
  const std::vector<int64_t> ends = EndOffsets(*admin, topic);
  for (size_t p = 0; p < ends.size(); ++p) {
    out.push_back(ReadRange(*broker, topic, static_cast<int>(p), 0, ends[p]));
  }
  return out;
}

// "key:seq" values.
std::pair<std::string, int> ParseValue(const std::string& value) {
  std::vector<std::string> parts = absl::StrSplit(value, ':');
  int seq = -1;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &seq)) return {"", -1};
  return {parts[0], seq};
}

TEST(ClientProducerTest, ClientPartitionerMatchesTheBroker) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  auto broker = ferryd.broker();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "hashing", 7)));
  // Keys of every length mod 4, and bytes >= 0x80 (signed-char pitfalls).
  std::vector<std::string> keys = {"a", "ab", "abc", "abcd", "abcde", "user-42", "\xff\x80\x01"};
  for (int i = 0; i < 60; ++i) keys.push_back(absl::StrCat("key-", i * 7919));
  for (const std::string& key : keys) {
    ferry::v1::PublishResponse response;
    ASSERT_TRUE(IsOk(Publish(*broker, "hashing", -1, {MakeRecord(key, "v")}, &response)));
    ASSERT_EQ(response.acks_size(), 1);
    EXPECT_EQ(response.acks(0).partition(), PartitionForKey(key, 7)) << "key " << key;
  }
  // Kafka's own test vectors for Utils.murmur2.
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

TEST(ClientProducerTest, KeyedRecordsKeepPerKeyOrderUnderBatchingWithDenseOffsets) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "orders", 4)));

  ProducerOptions options;
  options.broker = ferryd.address();
  options.linger = absl::Milliseconds(2);
  options.batch_records = 37;
  options.max_in_flight_batches = 8;
  std::unique_ptr<Producer> producer = NewProducer(options);
  ASSERT_NE(producer, nullptr);

  constexpr int kKeys = 25;
  constexpr int kPerKey = 200;
  Acks acks(kKeys * kPerKey);
  const auto index = [](int key, int seq) { return static_cast<size_t>(seq * kKeys + key); };
  for (int seq = 0; seq < kPerKey; ++seq) {
    for (int k = 0; k < kKeys; ++k) {
      const std::string key = absl::StrCat("key", k);
      producer->Send(Keyed("orders", key, absl::StrCat(key, ":", seq)), acks.For(index(k, seq)));
    }
  }
  ASSERT_TRUE(producer->Flush().ok());
  // Flush returns after every callback ran.
  ASSERT_EQ(acks.done(), static_cast<size_t>(kKeys * kPerKey));

  std::map<std::pair<int32_t, int64_t>, std::string> acked;  // (partition, offset) -> value
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = absl::StrCat("key", k);
    int64_t previous = -1;
    for (int seq = 0; seq < kPerKey; ++seq) {
      const absl::StatusOr<RecordMetadata> m = acks.Get(index(k, seq));
      ASSERT_TRUE(m.ok()) << m.status();
      EXPECT_EQ(m->topic, "orders");
      ASSERT_EQ(m->partition, PartitionForKey(key, 4)) << key;
      ASSERT_GT(m->offset, previous) << key << " seq " << seq;
      previous = m->offset;
      acked[{m->partition, m->offset}] = absl::StrCat(key, ":", seq);
    }
  }

  const std::vector<std::vector<ferry::v1::Record>> log = ReadAll(ferryd, "orders");
  ASSERT_EQ(log.size(), 4u);
  size_t total = 0;
  for (int32_t p = 0; p < 4; ++p) {
    std::map<std::string, int> next_seq;
    for (size_t i = 0; i < log[p].size(); ++i) {
      const ferry::v1::Record& r = log[p][i];
      ASSERT_EQ(r.offset(), static_cast<int64_t>(i)) << "partition " << p << ": offsets dense";
      const auto [key, seq] = ParseValue(r.value());
      EXPECT_EQ(r.key(), key);
      EXPECT_EQ(seq, next_seq[key]++) << "partition " << p << " offset " << i;
      EXPECT_EQ((acked[{p, r.offset()}]), r.value());
    }
    total += log[p].size();
  }
  EXPECT_EQ(total, static_cast<size_t>(kKeys * kPerKey));
  EXPECT_TRUE(producer->Close().ok());
}

TEST(ClientProducerTest, KeylessRecordsStickToOnePartitionPerBatch) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "spread", 3)));

  ProducerOptions options;
  options.broker = ferryd.address();
  options.linger = absl::Hours(1);  // batches close only when full (or flushed)
  options.batch_records = 10;
  std::unique_ptr<Producer> producer = NewProducer(options);
  ASSERT_NE(producer, nullptr);

  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 60; ++i) {
    futures.push_back(producer->Send(Keyed("spread", "", absl::StrCat("r", i))));
  }
  ASSERT_TRUE(producer->Flush().ok());

  std::vector<int32_t> partition_of_batch;
  std::map<int32_t, int> per_partition;
  for (int i = 0; i < 60; ++i) {
    const absl::StatusOr<RecordMetadata> m = futures[i].get();
    ASSERT_TRUE(m.ok()) << m.status();
    ++per_partition[m->partition];
    if (i % 10 == 0) {
      partition_of_batch.push_back(m->partition);
    } else {
      EXPECT_EQ(m->partition, partition_of_batch.back()) << "record " << i << " left its batch";
    }
  }
  for (size_t b = 1; b < partition_of_batch.size(); ++b) {
    EXPECT_EQ(partition_of_batch[b], (partition_of_batch[b - 1] + 1) % 3);
  }
  EXPECT_EQ(per_partition, (std::map<int32_t, int>{{0, 20}, {1, 20}, {2, 20}}));
  // A record's own partition wins over its key.
  ProducerRecord pinned = Keyed("spread", "some-key", "pinned");
  pinned.partition = 2;
  auto pinned_ack = producer->Send(pinned);
  ASSERT_TRUE(producer->Flush().ok());  // linger is an hour
  const absl::StatusOr<RecordMetadata> pm = pinned_ack.get();
  ASSERT_TRUE(pm.ok()) << pm.status();
  EXPECT_EQ(pm->partition, 2);
}

// Null and empty stay apart through the client library: an empty key sent with has_key goes
// to murmur2("")'s partition and reads back as an empty key, a null key and a null value
// (null_value) read back without has_key / has_value, an empty value as empty.
TEST(ClientProducerTest, NullAndEmptyKeysAndValuesStayApart) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "nulls", 3)));
  ProducerOptions options;
  options.broker = ferryd.address();
  std::unique_ptr<Producer> producer = NewProducer(options);
  ASSERT_NE(producer, nullptr);

  ProducerRecord empty_key = Keyed("nulls", "", "");
  empty_key.has_key = true;  // an empty key and an empty value
  ProducerRecord tombstone = Keyed("nulls", "", "ignored");
  tombstone.has_key = true;
  tombstone.null_value = true;
  auto a = producer->Send(empty_key);
  auto b = producer->Send(tombstone);
  ASSERT_TRUE(producer->Flush().ok());
  const absl::StatusOr<RecordMetadata> ma = a.get(), mb = b.get();
  ASSERT_TRUE(ma.ok() && mb.ok());
  const int32_t hashed = PartitionForKey("", 3);
  EXPECT_EQ(ma->partition, hashed);
  EXPECT_EQ(mb->partition, hashed);
  ProducerRecord null_key = Keyed("nulls", "", "");
  null_key.partition = hashed;  // no key at all, an empty value
  auto c = producer->Send(null_key);
  ASSERT_TRUE(producer->Flush().ok());
  ASSERT_TRUE(c.get().ok());

  auto reader =
      PartitionReader::Create(ferryd.address(), "nulls", hashed, PartitionReader::Start::kEarliest);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<ConsumerRecord> got;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (got.size() < 3 && absl::Now() < deadline) {
    absl::StatusOr<std::vector<ConsumerRecord>> batch = (*reader)->Read(absl::Milliseconds(200));
    ASSERT_TRUE(batch.ok()) << batch.status();
    got.insert(got.end(), batch->begin(), batch->end());
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(got[0].has_key && got[0].has_value);
  EXPECT_TRUE(got[1].has_key);
  EXPECT_FALSE(got[1].has_value);
  EXPECT_TRUE(got[1].value.empty());
  EXPECT_FALSE(got[2].has_key);
  EXPECT_TRUE(got[2].has_value);
  // The same records through gRPC directly.
  auto broker = ferryd.broker();
  const std::vector<v1::Record> raw = ReadRange(*broker, "nulls", hashed, 0, 3);
  ASSERT_EQ(raw.size(), 3u);
  EXPECT_TRUE(raw[0].has_key() && raw[0].has_value());
  EXPECT_TRUE(raw[1].has_key() && !raw[1].has_value());
  EXPECT_TRUE(!raw[2].has_key() && raw[2].has_value());
}

TEST(ClientProducerTest, AutoCreatesTheTopicThenPartitionsByKey) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--default-partitions=5"}));
  ProducerOptions options;
  options.broker = ferryd.address();
  std::unique_ptr<Producer> producer = NewProducer(options);
  ASSERT_NE(producer, nullptr);

  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 300; ++i) {
    futures.push_back(producer->Send(
        Keyed("fresh", absl::StrCat("k", i % 11), absl::StrCat("k", i % 11, ":", i))));
  }
  ASSERT_TRUE(producer->Flush().ok());
  std::map<std::string, int64_t> last_offset;
  for (int i = 0; i < 300; ++i) {
    const absl::StatusOr<RecordMetadata> m = futures[i].get();
    ASSERT_TRUE(m.ok()) << m.status();
    const std::string key = absl::StrCat("k", i % 11);
    EXPECT_EQ(m->partition, PartitionForKey(key, 5)) << key;
    auto it = last_offset.find(key);
    if (it != last_offset.end()) {
      EXPECT_GT(m->offset, it->second) << key;
    }
    last_offset[key] = m->offset;
  }
  auto admin = ferryd.admin();
  ferry::v1::DescribeTopicResponse described;
  ASSERT_TRUE(IsOk(Describe(*admin, "fresh", &described)));
  EXPECT_EQ(described.topic().partitions(), 5);

  // Without auto-creation, records for a missing topic fail with NOT_FOUND.
  FerrydProcess strict;
  ASSERT_TRUE(strict.Start({"--auto-create-topics=false"}));
  options.broker = strict.address();
  std::unique_ptr<Producer> strict_producer = NewProducer(options);
  ASSERT_NE(strict_producer, nullptr);
  auto missing = strict_producer->Send(Keyed("missing", "k", "v"));
  const absl::StatusOr<RecordMetadata> m = missing.get();
  EXPECT_TRUE(absl::IsNotFound(m.status())) << m.status();
}

TEST(ClientProducerTest, FailsFastWhenTheBufferIsFull) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  ProducerOptions options;
  options.broker = ferryd.address();
  options.linger = absl::Hours(1);  // nothing is sent (and acked) before Flush
  options.buffer_records = 10;
  options.block_when_full = false;
  std::unique_ptr<Producer> producer = NewProducer(options);
  ASSERT_NE(producer, nullptr);

  Acks acks(12);
  for (size_t i = 0; i < 10; ++i) {
    ProducerRecord r = Keyed("full", "", absl::StrCat("r", i));
    r.partition = 0;
    producer->Send(r, acks.For(i));
  }
  EXPECT_EQ(acks.done(), 0u);
  ProducerRecord extra = Keyed("full", "", "extra");
  extra.partition = 0;
  producer->Send(extra, acks.For(10));
  // Rejected inline, on this thread.
  ASSERT_EQ(acks.done(), 1u);
  EXPECT_TRUE(absl::IsResourceExhausted(acks.Get(10).status())) << acks.Get(10).status();

  ASSERT_TRUE(producer->Flush().ok());
  ASSERT_EQ(acks.done(), 11u);
  for (size_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(acks.Get(i).ok()) << acks.Get(i).status();
    EXPECT_EQ(acks.Get(i)->offset, static_cast<int64_t>(i));
  }
  // Room again after the acks.
  producer->Send(extra, acks.For(11));
  ASSERT_TRUE(producer->Flush().ok());
  ASSERT_TRUE(acks.Get(11).ok()) << acks.Get(11).status();
  EXPECT_EQ(acks.Get(11)->offset, 10);
}

TEST(ClientProducerTest, FlushWaitsForAcksAndCloseRejectsLaterSends) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  auto admin = ferryd.admin();
  ASSERT_TRUE(IsOk(CreateTopic(*admin, "flush", 2)));
  ProducerOptions options;
  options.broker = ferryd.address();
  options.linger = absl::Hours(1);
  std::unique_ptr<Producer> producer = NewProducer(options);
  ASSERT_NE(producer, nullptr);

  Acks acks(51);
  for (size_t i = 0; i < 50; ++i) {
    producer->Send(Keyed("flush", absl::StrCat("k", i), "v"), acks.For(i));
  }
  ASSERT_TRUE(producer->Flush().ok());
  EXPECT_EQ(acks.done(), 50u);
  const std::vector<int64_t> ends = EndOffsets(*admin, "flush");
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(ends[0] + ends[1], 50);

  // A blocking producer with a tiny buffer: Sends from two threads wait for room.
  ProducerOptions small = options;
  small.linger = absl::ZeroDuration();
  small.buffer_records = 3;
  small.batch_records = 2;
  std::unique_ptr<Producer> blocking = NewProducer(small);
  ASSERT_NE(blocking, nullptr);
  Acks blocked(400);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        blocking->Send(Keyed("flush", absl::StrCat("t", t), "v"), blocked.For(t * 200 + i));
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(blocking->Close().ok());
  ASSERT_EQ(blocked.done(), 400u);
  for (size_t i = 0; i < 400; ++i) ASSERT_TRUE(blocked.Get(i).ok()) << blocked.Get(i).status();

  ASSERT_TRUE(producer->Close().ok());
  producer->Send(Keyed("flush", "k", "late"), acks.For(50));
  ASSERT_EQ(acks.done(), 51u);  // inline
  EXPECT_TRUE(absl::IsFailedPrecondition(acks.Get(50).status())) << acks.Get(50).status();
  EXPECT_TRUE(producer->Flush().ok());
  EXPECT_TRUE(producer->Close().ok());
}

TEST(ClientProducerTest, FailsBatchesAfterRetryTimeoutWhileTheBrokerIsDown) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start());
  ProducerOptions options;
  options.broker = ferryd.address();
  options.linger = absl::ZeroDuration();
  options.retry_timeout = absl::Milliseconds(300);
  std::unique_ptr<Producer> producer = NewProducer(options);
  ASSERT_NE(producer, nullptr);
  ProducerRecord r = Keyed("gone", "k", "v");
  r.partition = 0;
  const absl::StatusOr<RecordMetadata> first = producer->Send(r).get();
  ASSERT_TRUE(first.ok()) << first.status();

  ferryd.Kill9();
  auto lost = producer->Send(r);
  ASSERT_EQ(lost.wait_for(std::chrono::seconds(15)), std::future_status::ready);
  const absl::StatusOr<RecordMetadata> m = lost.get();
  EXPECT_TRUE(absl::IsUnavailable(m.status())) << m.status();
  EXPECT_NE(m.status().message().find("retry_timeout"), std::string::npos) << m.status();
  EXPECT_TRUE(producer->Close().ok());
}

TEST(ClientProducerTest, ResendsInOrderAcrossKill9AndRestartOnTheSamePort) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({absl::StrCat("--listen=127.0.0.1:", port)}));
  ASSERT_EQ(ferryd.port(), port);
  {
    auto admin = ferryd.admin();
    ASSERT_TRUE(IsOk(CreateTopic(*admin, "durable", 4)));
  }

  ProducerOptions options;
  options.broker = ferryd.address();
  options.linger = absl::Milliseconds(1);
  options.batch_records = 20;
  options.buffer_records = 300;  // Send blocks: the sending thread is paced by the acks
  options.retry_timeout = absl::Seconds(30);
  std::unique_ptr<Producer> producer = NewProducer(options);
  ASSERT_NE(producer, nullptr);

  constexpr int kKeys = 8;
  constexpr int kPerKey = 500;
  constexpr size_t kTotal = kKeys * kPerKey;
  Acks acks(kTotal);
  std::thread sender([&] {
    for (int seq = 0; seq < kPerKey; ++seq) {
      for (int k = 0; k < kKeys; ++k) {
        const std::string key = absl::StrCat("key", k);
        producer->Send(Keyed("durable", key, absl::StrCat(key, ":", seq)),
                       acks.For(static_cast<size_t>(seq * kKeys + k)));
      }
    }
  });
  // Kill the broker with the stream busy, then bring it back on the same address.
  ASSERT_TRUE(WaitFor([&] { return acks.done() >= 1000; }, absl::Seconds(20)));
  ferryd.Kill9();
  const size_t acked_at_kill = acks.done();
  ASSERT_TRUE(ferryd.Restart());
  ASSERT_EQ(ferryd.port(), port);
  sender.join();
  ASSERT_TRUE(producer->Flush().ok());
  ASSERT_EQ(acks.done(), kTotal);
  EXPECT_LT(acked_at_kill, kTotal) << "the kill came too late to interrupt anything";

  // Every record was acknowledged (nothing failed within retry_timeout) ...
  std::map<std::pair<int32_t, int64_t>, std::string> acked;
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = absl::StrCat("key", k);
    int64_t previous = -1;
    for (int seq = 0; seq < kPerKey; ++seq) {
      const absl::StatusOr<RecordMetadata> m = acks.Get(static_cast<size_t>(seq * kKeys + k));
      ASSERT_TRUE(m.ok()) << key << " seq " << seq << ": " << m.status();
      ASSERT_EQ(m->partition, PartitionForKey(key, 4));
      // ... at offsets that grow with the key's sequence ...
      ASSERT_GT(m->offset, previous) << key << " seq " << seq;
      previous = m->offset;
      acked[{m->partition, m->offset}] = absl::StrCat(key, ":", seq);
    }
  }
  // ... and is stored exactly at its acked offset, in a dense log where a record's first copy
  // comes in order (a resent batch whose ack was lost may appear twice: at least once).
  const std::vector<std::vector<ferry::v1::Record>> log = ReadAll(ferryd, "durable");
  ASSERT_EQ(log.size(), 4u);
  size_t stored = 0;
  for (int32_t p = 0; p < 4; ++p) {
    std::map<std::string, int> next_seq;
    for (size_t i = 0; i < log[p].size(); ++i) {
      const ferry::v1::Record& r = log[p][i];
      ASSERT_EQ(r.offset(), static_cast<int64_t>(i));
      auto it = acked.find({p, r.offset()});
      if (it != acked.end()) {
        EXPECT_EQ(it->second, r.value()) << "partition " << p;
      }
      const auto [key, seq] = ParseValue(r.value());
      ASSERT_GE(seq, 0) << r.value();
      int& next = next_seq[key];
      EXPECT_LE(seq, next) << "partition " << p << " offset " << i << ": a gap before "
                           << r.value();
      if (seq == next) ++next;
    }
    for (const auto& [key, next] : next_seq) EXPECT_EQ(next, kPerKey) << key;
    stored += log[p].size();
  }
  EXPECT_GE(stored, kTotal);
  EXPECT_TRUE(producer->Close().ok());
}

}  // namespace
}  // namespace ferry::integration
