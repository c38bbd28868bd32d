// Fetch: reads each partition from the broker's logs and returns its records in the format
// of the request's version (message sets v0/v1, record batch v2); long-polls for min bytes,
// woken by appends or by shutdown. Thread-safe: blocks only its own connection's thread.
#include "server/kafka/fetch.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/broker/broker.h"
#include "server/kafka/records.h"

namespace ferry::kafka {
namespace {

// One pass over a Fetch's partitions; returns the record bytes gathered.
int64_t ReadFetch(ApiContext& ctx, const RequestHeader& h, const FetchRequest& r,
                  FetchResponse* out) {
  out->topics.clear();
  int64_t total = 0;
  const int64_t budget = r.max_bytes > 0 ? r.max_bytes : INT32_MAX;
  for (const auto& topic : r.topics) {
    FetchResponse::Topic ft;
    ft.name = topic.name;
    for (const auto& p : topic.partitions) {
      FetchResponse::Partition fp;
      fp.index = p.index;
      auto log = ctx.broker->GetPartition(topic.name, p.index);
      if (!log.ok()) {
        fp.error_code = error::kUnknownTopicOrPartition;
        ft.partitions.push_back(std::move(fp));
        continue;
      }
      const int64_t end = (*log)->end_offset();
      fp.high_watermark = end;
      if (p.fetch_offset < (*log)->log_start_offset() || p.fetch_offset > end) {
        fp.error_code = error::kOffsetOutOfRange;
      } else if (p.fetch_offset < end && (total == 0 || total < budget)) {
        // Always at least one record when any is there (the first partition with data), as
        // Kafka does, so a record larger than the limits still gets through.
        int64_t limit = std::min<int64_t>(p.max_bytes > 0 ? p.max_bytes : INT32_MAX,
                                          total == 0 ? budget : budget - total);
        v1::SubscribeResponse read;
        auto next = ctx.broker->Read(**log, p.fetch_offset, 0,
                                     static_cast<int32_t>(std::max<int64_t>(1, limit)), &read);
        if (!next.ok()) {
          fp.error_code = absl::IsOutOfRange(next.status()) ? error::kOffsetOutOfRange
                          : absl::IsNotFound(next.status()) ? error::kUnknownTopicOrPartition
                                                            : error::kUnknownServerError;
        } else if (read.records_size() > 0) {
          std::vector<const v1::Record*> records;
          records.reserve(read.records_size());
          for (const auto& rec : read.records()) records.push_back(&rec);
          if (h.api_version >= 4) {
            EncodeRecordBatch(records, &fp.records);
          } else {
            EncodeMessageSet(h.api_version >= 2 ? 1 : 0, records, &fp.records);
          }
          total += static_cast<int64_t>(fp.records.size());
          // Fetch names no group: counted as a direct read, like a gRPC direct subscriber.
          ctx.broker->CountDelivered(topic.name, "", read.records_size());
        }
      }
      ft.partitions.push_back(std::move(fp));
    }
    out->topics.push_back(std::move(ft));
  }
  return total;
}

}  // namespace

Result HandleFetch(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  const FetchRequest r = DecodeFetchRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  FetchResponse resp;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(std::max(0, r.max_wait_ms));
  while (true) {
    const int64_t bytes = ReadFetch(ctx, h, r, &resp);
    bool failed = false;
    for (const auto& t : resp.topics) {
      for (const auto& p : t.partitions) failed |= p.error_code != error::kNone;
    }
    if (failed || r.min_bytes <= 0 || bytes >= r.min_bytes || absl::Now() >= deadline) break;
    // Long poll: wake when any partition read from grows.
    auto state = std::make_shared<Wakeup>();
    if (!ctx.serving->AddWait(state)) break;  // shutting down
    std::vector<std::pair<std::shared_ptr<storage::PartitionLog>, uint64_t>> waiters;
    bool ready = false;
    for (const auto& topic : r.topics) {
      for (const auto& p : topic.partitions) {
        auto log = ctx.broker->GetPartition(topic.name, p.index);
        if (!log.ok()) continue;
        const uint64_t id = (*log)->AddWaiter(p.fetch_offset, [state] { state->Wake(); });
        if (id == 0) {
          ready = true;
        } else {
          waiters.emplace_back(*log, id);
        }
      }
    }
    if (!ready) {
      absl::MutexLock lock(&state->mu);
      state->mu.AwaitWithDeadline(absl::Condition(&state->woken), deadline);
    }
    for (auto& [log, id] : waiters) log->RemoveWaiter(id);
    ctx.serving->RemoveWait(state);
  }
  return Result::Reply(EncodeResponse(h, resp));
}

std::string FetchErrorResponse(const RequestHeader& h, int16_t /*error_code*/) {
  return EncodeResponse(h, FetchResponse{});  // no topics, so nowhere for the error
}

}  // namespace ferry::kafka
