// Fetch: reads each partition from the broker's logs and returns its records in the format
// of the request's version (message sets v0/v1, record batch v2); long-polls for min bytes,
// woken by appends or by shutdown. Every fetch is a full one: Ferry declines to create
// incremental fetch sessions (KIP-227 lets a broker answer session id 0), so clients keep
// sending full fetches. Thread-safe: blocks only its own connection's thread.
#include "server/kafka/fetch.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/kafka/consumer_offsets.h"
#include "server/kafka/observer.h"
#include "server/kafka/records.h"
#include "storage/offset_store.h"

namespace ferry::kafka {
namespace {

int16_t ReadError(const absl::Status& s) {
  return absl::IsOutOfRange(s) ? error::kOffsetOutOfRange
         : absl::IsNotFound(s) ? error::kUnknownTopicOrPartition
                               : error::kUnknownServerError;
}

// One partition of a Fetch: its reader (null when it could not be opened) or its error.
struct FetchPartition {
  std::optional<broker::TailReader> reader;
  int16_t error_code = error::kNone;
  // A partition of __consumer_offsets, read from the offsets log: its index, the log end the
  // last pass saw, and the long poll's wait for it to grow.
  bool consumer_offsets = false;
  int32_t log_partition = 0;
  int64_t log_end = -1;
  std::optional<uint64_t> log_wait;
};

// One pass over a Fetch's partitions; returns the record bytes gathered.
int64_t ReadFetch(broker::Broker& broker, const RequestHeader& h, const FetchRequest& r,
                  std::vector<FetchPartition>& parts, FetchResponse* out) {
  out->topics.clear();
  int64_t total = 0;
  const int64_t budget = r.max_bytes > 0 ? r.max_bytes : INT32_MAX;
  size_t i = 0;
  for (const auto& topic : r.topics) {
    FetchResponse::Topic ft;
    ft.name = topic.name;
    for (const auto& p : topic.partitions) {
      FetchPartition& part = parts[i++];
      FetchResponse::Partition fp;
      fp.index = p.index;
      fp.error_code = part.error_code;
      if (part.consumer_offsets) {
        const int64_t limit = std::min<int64_t>(p.max_bytes > 0 ? p.max_bytes : INT32_MAX,
                                                total == 0 ? budget : budget - total);
        if (total == 0 || total < budget) {
          ConsumerOffsetsRead read =
              ReadConsumerOffsets(broker, h.api_version, p.index, p.fetch_offset, limit);
          fp.error_code = read.error_code;
          fp.high_watermark = read.high_watermark;
          fp.log_start_offset = read.log_start_offset;
          fp.records = std::move(read.records);
          total += static_cast<int64_t>(fp.records.size());
        } else {
          fp.high_watermark = broker.offsets().LogEnd(p.index);
          fp.log_start_offset = 0;
        }
        part.log_end = fp.high_watermark;
        ft.partitions.push_back(std::move(fp));
        continue;
      }
      if (!part.reader.has_value()) {
        ft.partitions.push_back(std::move(fp));
        continue;
      }
      broker::TailReader& reader = *part.reader;
      fp.high_watermark = reader.end_offset();
      fp.log_start_offset = reader.log_start_offset();
      if (reader.next() < fp.high_watermark && (total == 0 || total < budget)) {
        // Always at least one record when any is there (the first partition with data), as
        // Kafka does, so a record larger than the limits still gets through.
        const int64_t limit = std::min<int64_t>(p.max_bytes > 0 ? p.max_bytes : INT32_MAX,
                                                total == 0 ? budget : budget - total);
        // The stored bytes are copied out while reading, then decoded into views of the copy.
        // One Read gives at most a gRPC Subscribe message's worth (--max-subscribe-records),
        // so reads repeat until the partition's Kafka limit is filled or the log is caught
        // up: a consumer gets max_bytes per round trip, not 1,000 records.
        std::string arena;
        std::vector<std::pair<size_t, int64_t>> ends;  // end in `arena`, offset
        bool full = false;
        absl::StatusOr<int32_t> read = 0;
        while (!full && static_cast<int64_t>(arena.size()) < limit) {
          const int64_t room = std::max<int64_t>(1, limit - static_cast<int64_t>(arena.size()));
          read = reader.Read(
              0, static_cast<int32_t>(std::min<int64_t>(room, INT32_MAX)),
              [&](std::string_view encoded, int64_t offset) {
                // Past the first record, only what fits.
                if (!arena.empty() && static_cast<int64_t>(arena.size() + encoded.size()) > limit) {
                  full = true;
                  return absl::ResourceExhaustedError("the fetch is full");
                }
                arena.append(encoded.data(), encoded.size());
                ends.emplace_back(arena.size(), offset);
                return absl::OkStatus();
              });
          if (!read.ok()) {
            if (full) read = 0;  // the record that did not fit stays for the next Fetch
            break;
          }
          if (*read == 0) break;  // caught up
        }
        std::vector<FetchedRecord> records(ends.size());
        size_t begin = 0;
        for (size_t k = 0; k < ends.size() && read.ok(); ++k) {
          records[k].offset = ends[k].second;
          read = broker::DecodeRecord(std::string_view(arena).substr(begin, ends[k].first - begin),
                                      &records[k].fields)
                         .ok()
                     ? read
                     : absl::DataLossError("a stored record cannot be decoded");
          begin = ends[k].first;
        }
        if (!read.ok()) {
          fp.error_code = ReadError(read.status());
        } else if (!records.empty()) {
          if (h.api_version >= 4) {
            EncodeRecordBatch(records, &fp.records);
          } else {
            EncodeMessageSet(h.api_version >= 2 ? 1 : 0, records, &fp.records);
          }
          total += static_cast<int64_t>(fp.records.size());
        }
      }
      ft.partitions.push_back(std::move(fp));
    }
    out->topics.push_back(std::move(ft));
  }
  return total;
}

// KIP-227's rules for a request's session id and epoch, with no session ever created: epoch
// 0 (open a session) and -1 (no session) are full fetches whatever the id (a session the id
// names is closed, and there is none); any other epoch asks for an incremental fetch of a
// session: FETCH_SESSION_ID_NOT_FOUND for an id, INVALID_FETCH_SESSION_EPOCH without one.
int16_t SessionError(const FetchRequest& r) {
  if (r.session_epoch == 0 || r.session_epoch == -1) return error::kNone;
  return r.session_id != 0 ? error::kFetchSessionIdNotFound : error::kInvalidFetchSessionEpoch;
}

}  // namespace

Result HandleFetch(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const FetchRequest r = DecodeFetchRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  if (h.api_version >= 7) {
    if (int16_t code = SessionError(r); code != error::kNone) {
      FetchResponse refused;
      refused.error_code = code;
      return Result::Reply(EncodeResponse(h, refused));
    }
  }
  // A reader per partition at the fetch offset. Kafka clients apply auto.offset.reset
  // themselves, so the engine's reset rule here is kNone: OFFSET_OUT_OF_RANGE.
  // A Fetch names no group: a partition that a Kafka member with this client id and host owns
  // is counted under that member's group, any other apart from direct gRPC subscribers
  // (observer.h).
  const std::map<group::TopicPartition, std::string> owners =
      ctx.groups != nullptr && h.client_id.has_value() && !h.client_id->empty()
          ? ctx.groups->ClassicOwners(*h.client_id, "/" + std::string(ctx.peer_host))
          : std::map<group::TopicPartition, std::string>();
  std::vector<FetchPartition> parts;
  for (const auto& topic : r.topics) {
    const bool may_read = Authorized(ctx, kFetch, security::Operation::kRead,
                                     security::ResourceType::kTopic, topic.name);
    for (const auto& p : topic.partitions) {
      FetchPartition& part = parts.emplace_back();
      if (!may_read) {
        part.error_code = error::kTopicAuthorizationFailed;
        continue;
      }
      if (IsConsumerOffsetsTopic(topic.name)) {
        part.consumer_offsets = true;
        part.log_partition = p.index;
        continue;
      }
      const auto owner = owners.find({topic.name, p.index});
      auto reader = ctx.broker->OpenReader(
          topic.name, p.index, broker::StartPosition::AtOffset(p.fetch_offset),
          broker::OffsetReset::kNone,
          owner != owners.end() ? owner->second : std::string(kKafkaFetchReaderLabel));
      if (reader.ok()) {
        // Checked once the partition is known to exist, as Kafka does.
        part.error_code = LeaderEpochError(p.current_leader_epoch);
        if (part.error_code == error::kNone) part.reader.emplace(*std::move(reader));
      } else {
        // INVALID_ARGUMENT: a bad topic name or partition, or a negative offset.
        const bool bad_offset =
            absl::IsInvalidArgument(reader.status()) && p.fetch_offset < 0 && p.index >= 0;
        part.error_code = bad_offset || absl::IsOutOfRange(reader.status())
                              ? error::kOffsetOutOfRange
                              : error::kUnknownTopicOrPartition;
      }
    }
  }
  FetchResponse resp;
  const broker::Clock& clock = ctx.broker->clock();
  const absl::Time deadline = clock.Now() + absl::Milliseconds(std::max(0, r.max_wait_ms));
  while (true) {
    const int64_t bytes = ReadFetch(*ctx.broker, h, r, parts, &resp);
    bool failed = false;
    for (const auto& t : resp.topics) {
      for (const auto& p : t.partitions) failed |= p.error_code != error::kNone;
    }
    if (failed || r.min_bytes <= 0 || bytes >= r.min_bytes || clock.Now() >= deadline) break;
    // Long poll: wake when any partition read from grows, or at shutdown.
    auto state = std::make_shared<Wakeup>();
    if (!ctx.serving->AddWait(state)) break;  // shutting down
    bool ready = false;
    for (FetchPartition& part : parts) {
      if (part.reader.has_value() && !part.reader->WaitAsync([state] { state->Wake(); })) {
        ready = true;
      }
      if (part.consumer_offsets && part.log_end >= 0) {
        // Woken by the next durable commit (or deletion) in the partition.
        part.log_wait = ctx.broker->offsets().WaitForLog(part.log_partition, part.log_end,
                                                         [state] { state->Wake(); });
        if (!part.log_wait.has_value()) ready = true;
      }
    }
    if (!ready) {
      absl::MutexLock lock(&state->mu);
      state->mu.AwaitWithTimeout(absl::Condition(&state->woken), deadline - clock.Now());
    }
    for (FetchPartition& part : parts) {
      if (part.reader.has_value()) part.reader->CancelWait();
      if (part.log_wait.has_value()) ctx.broker->offsets().CancelLogWait(*part.log_wait);
      part.log_wait.reset();
    }
    ctx.serving->RemoveWait(state);
  }
  return Result::Reply(EncodeResponse(h, resp));
}

std::string FetchErrorResponse(const RequestHeader& h, int16_t error_code) {
  FetchResponse r;  // no topics; v7+ carries the error at the top level
  r.error_code = error_code;
  return EncodeResponse(h, r);
}

}  // namespace ferry::kafka
