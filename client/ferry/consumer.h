// ferry::Consumer: a member of a consumer group. It joins the group, keeps one group Subscribe
// stream open (which also keeps it alive: no heartbeat thread), and hands out records with
// Poll(). Commits are explicit (Commit, CommitAsync) or automatic every auto_commit_interval.
// On a rebalance, queued records of partitions that move away are dropped at once; at the next
// Poll (so after the application finished what the last Poll returned), on_revoke runs for
// them, their final positions are committed (when auto-commit is on) and the revocation is
// answered, and only then does the broker hand them to their new owner: another member's
// on_assign for a partition comes after this member's on_revoke for it, and two members never
// process one partition at the same time. on_assign runs for partitions gained. An application
// that does not call Poll within rebalance_timeout of a revoke is removed from the group.
//
// A reader thread receives the stream into a bounded queue (about 10000 records): when Poll is
// not called, the stream stops and the broker waits. The consumer rejoins by itself when the
// broker forgot the member (restart, session timeout): on_revoke then runs for the lost
// partitions, nothing is committed for them, and the new assignment starts from the committed
// offsets. Delivery is at least once.
//
// Thread-safety: Poll, Commit, Seek and Close are for one thread (the consuming thread), like
// Kafka's consumer; callbacks run inside Poll (and Close) on that thread. CommitAsync,
// Assignment and member_id may be called from any thread.
#ifndef FERRY_CLIENT_FERRY_CONSUMER_H_
#define FERRY_CLIENT_FERRY_CONSUMER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/ferry/tls.h"

namespace ferry {

using TopicPartition = std::pair<std::string, int32_t>;

struct ConsumerRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  // False: the key / value is null (absent on the wire; a Kafka null key or tombstone, or an
  // empty one sent by a stub without presence); `key` / `value` is then empty.
  bool has_key = false;
  bool has_value = false;
};

enum class OffsetReset { kEarliest, kLatest, kNone };
// How the broker assigns a group's partitions; kGroupDefault: the group's own (sticky for a new
// group). A named one must match the group's.
enum class Assignor { kGroupDefault, kRange, kRoundRobin, kSticky };

struct ConsumerOptions {
  std::string broker = "127.0.0.1:50051";
  TlsOptions tls;           // plaintext unless tls.enabled
  Credentials credentials;  // user and password, when the broker checks them
  std::string group;
  std::vector<std::string> topics;
  absl::Duration session_timeout = absl::Seconds(10);
  // How long the application may take, once a rebalance revokes partitions, to call Poll again
  // (which runs on_revoke, commits and answers the broker); a member that takes longer is
  // removed from the group, loses its partitions and rejoins. Zero: the broker's
  // --group-revoke-grace-ms.
  absl::Duration rebalance_timeout = absl::ZeroDuration();
  std::string instance_id;  // static membership
  Assignor assignor = Assignor::kGroupDefault;
  OffsetReset offset_reset = OffsetReset::kLatest;
  bool auto_commit = true;
  absl::Duration auto_commit_interval = absl::Seconds(1);
  int max_records_per_message = 0;  // 0: the broker's default
  // Poll stops taking queued messages once it has this many records (it may exceed it by
  // part of one message), which bounds the application's time between Polls.
  int64_t max_poll_records = 2000;
  // Called inside Poll, on the polling thread.
  std::function<void(const std::vector<TopicPartition>&)> on_assign;
  std::function<void(const std::vector<TopicPartition>&)> on_revoke;
};

class Consumer {
 public:
  // Joins the group (blocks for the JoinGroup call, up to 10 s). Fails when the options are
  // invalid (INVALID_ARGUMENT), the broker is unreachable (UNAVAILABLE) or rejects the join.
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(const ConsumerOptions& options);
  virtual ~Consumer() = default;  // Close()s.

  // Records received, up to `timeout` waiting for the first; empty on timeout. Runs the
  // rebalance callbacks and the auto-commit (a blocking CommitOffset) when they are due. Rejoins
  // by itself when the broker forgot the member (restart, session timeout). An error is final
  // (fenced by a newer static instance, OFFSET_RESET_NONE with nothing to start at), except one
  // of a Seek's stream, which pauses that partition until the next Seek.
  virtual absl::StatusOr<std::vector<ConsumerRecord>> Poll(absl::Duration timeout) = 0;
  // Commits the position (offset after the last record Poll returned) of every owned
  // partition that has one; blocks until durable. It uses the newest generation the stream
  // brought; when even that is stale (a rebalance Poll has not seen yet), it learns the current
  // generation from the broker and commits again the partitions still owned (revoked ones got
  // their final commit at the older generation).
  virtual absl::Status Commit() = 0;
  // Commits explicit offsets (the next offset to read) and blocks, as Commit().
  virtual absl::Status Commit(const std::map<TopicPartition, int64_t>& offsets) = 0;
  // Commits the positions without blocking; `done` runs on a gRPC thread (keep it short), or
  // inline when there is nothing to commit or the consumer is closed.
  virtual void CommitAsync(std::function<void(absl::Status)> done) = 0;
  // Next Poll returns records of `tp` from `offset` (the partition must be owned:
  // FAILED_PRECONDITION otherwise). The partition is then read by its own direct stream until
  // it is revoked. Does not block; does not commit.
  virtual absl::Status Seek(const TopicPartition& tp, int64_t offset) = 0;
  // The partitions owned as of the last Poll.
  virtual std::vector<TopicPartition> Assignment() const = 0;
  virtual std::string member_id() const = 0;
  // Runs on_revoke for the owned partitions, commits (when auto-commit is on), leaves the group
  // so the others rebalance at once, and stops the threads; blocks for those calls. A static
  // member (instance_id set) does not leave, as in Kafka: its partitions wait for the same
  // instance to come back within the session timeout. Returns the first error of the commit or
  // the leave. Later calls of the other methods return FAILED_PRECONDITION; Close again is a
  // no-op.
  virtual absl::Status Close() = 0;
};

// Reads one partition directly (no group): from an offset, earliest, latest or a timestamp,
// then tails it. A thread receives the stream into a bounded queue.
// Read and end_offset are for one thread; the destructor cancels the stream.
class PartitionReader {
 public:
  enum class Start { kOffset, kEarliest, kLatest, kTimestamp };
  // Checks the arguments and opens the stream; does not block. Errors of the stream (unknown
  // topic or partition, offset out of range unless `reset` says where to go) come from the
  // first Read.
  static absl::StatusOr<std::unique_ptr<PartitionReader>> Create(
      const std::string& broker, const std::string& topic, int32_t partition, Start start,
      int64_t offset_or_timestamp = 0, OffsetReset reset = OffsetReset::kNone,
      const TlsOptions& tls = {}, const Credentials& credentials = {});
  virtual ~PartitionReader() = default;
  // Records, waiting up to `timeout` for the first; empty on timeout. An error (also the broker
  // going away: UNAVAILABLE) ends the reader: every later Read returns it.
  virtual absl::StatusOr<std::vector<ConsumerRecord>> Read(absl::Duration timeout) = 0;
  // The partition's end offset as of the last message Read returned (0 before any).
  virtual int64_t end_offset() const = 0;
};

}  // namespace ferry

#endif  // FERRY_CLIENT_FERRY_CONSUMER_H_
