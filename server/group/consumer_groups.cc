#include "server/group/consumer_groups.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "server/broker/validation.h"

namespace ferry::group {

class ConsumerGroups::Topics : public TopicView {
 public:
  explicit Topics(broker::Broker* broker) : broker_(broker) {}
  int32_t PartitionCount(const std::string& topic) const override {
    auto t = broker_->FindTopic(topic);
    return t == nullptr ? 0 : t->meta.partitions;
  }

 private:
  broker::Broker* const broker_;
};

ConsumerGroups::ConsumerGroups(broker::Broker* broker, const CoordinatorOptions& options,
                               const broker::Clock* clock, bool run_timer)
    : broker_(broker),
      clock_(clock),
      topics_(std::make_unique<Topics>(broker)),
      coordinator_(options, clock, topics_.get()) {
  broker_->SetTopicsChangedListener([this] { coordinator_.TopicsChanged(); });
  if (run_timer) timer_ = std::thread([this] { TimerLoop(); });
}

ConsumerGroups::~ConsumerGroups() {
  broker_->SetTopicsChangedListener(nullptr);
  {
    absl::MutexLock lock(&timer_mu_);
    stop_ = true;
  }
  if (timer_.joinable()) timer_.join();
}

void ConsumerGroups::TimerLoop() {
  // Session timeouts need only be noticed promptly, not to the millisecond: wake at the next
  // deadline, and at least every 100 ms to see deadlines set since.
  absl::MutexLock lock(&timer_mu_);
  while (!stop_) {
    const absl::Duration wait = std::clamp(coordinator_.NextDeadline() - clock_->Now(),
                                           absl::ZeroDuration(), absl::Milliseconds(100));
    timer_mu_.AwaitWithTimeout(absl::Condition(&stop_), wait);
    if (stop_) break;
    timer_mu_.Unlock();
    coordinator_.Tick();
    timer_mu_.Lock();
  }
}

absl::StatusOr<JoinResult> ConsumerGroups::Join(const JoinRequest& request) {
  for (const auto& topic : request.topics) {
    auto t = broker_->FindOrCreateTopic(topic);
    if (!t.ok()) return t.status();
  }
  return coordinator_.Join(request);
}

absl::StatusOr<MemberView> ConsumerGroups::Heartbeat(const std::string& group,
                                                     const std::string& member_id,
                                                     int64_t generation) {
  return coordinator_.Heartbeat(group, member_id, generation);
}

absl::StatusOr<MemberView> ConsumerGroups::Sync(const std::string& group,
                                                const std::string& member_id, int64_t generation) {
  return coordinator_.Sync(group, member_id, generation);
}

absl::Status ConsumerGroups::Leave(const std::string& group, const std::string& member_id) {
  return coordinator_.Leave(group, member_id);
}

absl::StatusOr<uint64_t> ConsumerGroups::OpenStream(const std::string& group,
                                                    const std::string& member_id,
                                                    std::shared_ptr<MemberStream> stream) {
  return coordinator_.OpenStream(group, member_id, std::move(stream));
}

void ConsumerGroups::CloseStream(const std::string& group, const std::string& member_id,
                                 uint64_t stream_id) {
  coordinator_.CloseStream(group, member_id, stream_id);
}

void ConsumerGroups::Shutdown(const absl::Status& why) {
  coordinator_.CancelWaits();
  coordinator_.CloseAllStreams(why);
}

void ConsumerGroups::Commit(const std::string& group, const std::string& member_id,
                            int64_t generation, std::vector<OffsetToCommit> offsets,
                            CommitDone done) {
  absl::Status valid = broker::ValidateGroupName(group);
  if (valid.ok() && offsets.empty()) valid = absl::InvalidArgumentError("commit has no offsets");
  if (!valid.ok()) {
    done(valid);
    return;
  }
  for (OffsetToCommit& o : offsets) {
    if (!o.clamp_to_log) continue;
    auto log = broker_->GetPartition(o.tp.first, o.tp.second);
    if (!log.ok()) continue;  // refused below
    const int64_t end = (*log)->end_offset();
    if (o.offset == -2) {
      o.offset = (*log)->log_start_offset();
    } else if (o.offset == -1 || o.offset > end) {
      o.offset = end;
    }
  }
  std::vector<absl::Status> results(offsets.size());
  std::vector<TopicPartition> tps;
  for (const auto& o : offsets) tps.push_back(o.tp);
  std::vector<absl::Status> checks = coordinator_.CheckCommit(group, member_id, generation, tps);
  std::vector<storage::CommittedOffset> accepted;
  std::vector<TopicPartition> accepted_tps;
  std::set<TopicPartition> seen;
  for (size_t i = 0; i < offsets.size(); ++i) {
    const OffsetToCommit& o = offsets[i];
    if (!seen.insert(o.tp).second) {
      results[i] = absl::InvalidArgumentError(
          absl::StrCat("partition ", o.tp.first, "-", o.tp.second, " appears twice"));
      continue;
    }
    auto log = broker_->GetPartition(o.tp.first, o.tp.second);
    if (!log.ok()) {
      results[i] = log.status();
    } else if (o.offset < 0) {
      results[i] = absl::InvalidArgumentError(absl::StrCat("offset must be >= 0, got ", o.offset,
                                                           " for ", o.tp.first, "-", o.tp.second));
    } else if (o.offset > (*log)->end_offset()) {
      results[i] = absl::OutOfRangeError(
          absl::StrCat("offset ", o.offset, " is beyond the end offset ", (*log)->end_offset(),
                       " of ", o.tp.first, "-", o.tp.second));
    } else if (!checks[i].ok()) {
      results[i] = checks[i];
    } else {
      accepted.push_back({o.tp.first, o.tp.second, o.offset, o.metadata});
      accepted_tps.push_back(o.tp);
    }
  }
  if (accepted.empty()) {
    done(std::move(results));
    return;
  }
  broker_->offsets().Commit(
      group, accepted,
      [this, group, member_id, generation, accepted_tps = std::move(accepted_tps),
       results = std::move(results), done = std::move(done)](absl::Status s) mutable {
        if (!s.ok()) {
          for (auto& r : results) {
            if (r.ok()) r = s;
          }
        } else {
          coordinator_.Committed(group, member_id, generation, accepted_tps);
        }
        done(std::move(results));
      });
}

absl::StatusOr<std::vector<storage::CommittedOffset>> ConsumerGroups::FetchOffsets(
    const std::string& group, const std::vector<TopicPartition>& partitions) const {
  absl::Status s = broker::ValidateGroupName(group);
  if (!s.ok()) return s;
  if (partitions.empty()) return broker_->offsets().FetchAll(group);
  std::vector<storage::CommittedOffset> out;
  for (const auto& tp : partitions) {
    auto c = broker_->offsets().Fetch(group, tp.first, tp.second);
    if (!c.ok()) return c.status();
    if (c->has_value()) {
      out.push_back(**c);
    } else {
      out.push_back({tp.first, tp.second, -1, ""});
    }
  }
  return out;
}

absl::StatusOr<broker::TailReader> ConsumerGroups::OpenReader(const std::string& group,
                                                              const TopicPartition& tp,
                                                              broker::OffsetReset reset) const {
  auto log = broker_->GetPartition(tp.first, tp.second);
  if (!log.ok()) return log.status();
  auto c = broker_->offsets().Fetch(group, tp.first, tp.second);
  if (!c.ok()) return c.status();
  const int64_t start = (*log)->log_start_offset();
  const int64_t end = (*log)->end_offset();
  std::optional<int64_t> from;
  if (c->has_value() && (*c)->offset >= start && (*c)->offset <= end) {
    from = (*c)->offset;
  } else if (reset == broker::OffsetReset::kEarliest) {
    from = start;
  } else if (reset == broker::OffsetReset::kLatest) {
    from = end;
  } else if (!c->has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("group '", group, "' has no committed offset for ", tp.first, "-", tp.second,
                     " and offset_reset is NONE: commit one, reset the group's offsets, or "
                     "subscribe with EARLIEST or LATEST"));
  } else {
    return absl::OutOfRangeError(absl::StrCat("committed offset ", (*c)->offset, " of ", tp.first,
                                              "-", tp.second, " is outside the log [", start, ", ",
                                              end, "] and offset_reset is NONE"));
  }
  return broker_->OpenReader(tp.first, tp.second, broker::StartPosition::AtOffset(*from), reset,
                             group);
}

absl::StatusOr<std::vector<GroupInfo>> ConsumerGroups::List() const {
  std::vector<GroupInfo> out = coordinator_.ListGroups();
  auto stored = broker_->offsets().ListGroups();
  if (!stored.ok()) return stored.status();
  std::set<std::string> known;
  for (const auto& g : out) known.insert(g.group);
  for (const auto& name : *stored) {
    if (known.contains(name)) continue;
    GroupInfo info;
    info.group = name;
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const GroupInfo& a, const GroupInfo& b) { return a.group < b.group; });
  return out;
}

absl::StatusOr<GroupDescription> ConsumerGroups::Describe(const std::string& group) const {
  absl::Status s = broker::ValidateGroupName(group);
  if (!s.ok()) return s;
  GroupDescription d;
  auto info = coordinator_.Describe(group);
  auto committed = broker_->offsets().FetchAll(group);
  if (!committed.ok()) return committed.status();
  if (!info.ok() && committed->empty()) {
    return absl::NotFoundError(
        absl::StrCat("group '", group, "' has neither members nor committed offsets"));
  }
  if (info.ok()) {
    d.info = *std::move(info);
  } else {
    d.info.group = group;
  }
  std::map<TopicPartition, PartitionLag> rows;
  for (const auto& m : d.info.members) {
    for (const auto& tp : m.assignment) rows[tp].member_id = m.member_id;
    for (const auto& topic : m.topics) {
      auto t = broker_->FindTopic(topic);
      if (t == nullptr) continue;
      for (int32_t p = 0; p < t->meta.partitions; ++p) rows[{topic, p}];
    }
  }
  for (const auto& c : *committed) rows[{c.topic, c.partition}].committed = c.offset;
  for (auto& [tp, row] : rows) {
    row.tp = tp;
    auto log = broker_->GetPartition(tp.first, tp.second);
    if (!log.ok()) continue;  // a deleted topic
    row.log_start = (*log)->log_start_offset();
    row.end = (*log)->end_offset();
    row.lag = std::max<int64_t>(0, row.end - (row.committed >= 0 ? row.committed : row.log_start));
    d.partitions.push_back(row);
  }
  return d;
}

absl::Status ConsumerGroups::Delete(const std::string& group) {
  absl::Status s = broker::ValidateGroupName(group);
  if (!s.ok()) return s;
  if (coordinator_.HasMembers(group)) {
    return absl::FailedPreconditionError(
        absl::StrCat("group '", group, "' has members; only an empty group can be deleted"));
  }
  auto committed = broker_->offsets().FetchAll(group);
  if (!committed.ok()) return committed.status();
  const bool known = coordinator_.Describe(group).ok();
  if (!known && committed->empty()) {
    return absl::NotFoundError(absl::StrCat("group '", group, "' does not exist"));
  }
  s = coordinator_.Delete(group);
  if (!s.ok()) return s;
  return broker_->offsets().DeleteGroup(group);
}

absl::StatusOr<std::vector<absl::Status>> ConsumerGroups::DeleteOffsets(
    const std::string& group, const std::vector<TopicPartition>& partitions) {
  absl::Status s = broker::ValidateGroupName(group);
  if (!s.ok()) return s;
  auto committed = broker_->offsets().FetchAll(group);
  if (!committed.ok()) return committed.status();
  auto info = coordinator_.Describe(group);
  if (!info.ok() && committed->empty()) {
    return absl::NotFoundError(absl::StrCat("group '", group, "' does not exist"));
  }
  std::set<std::string> subscribed;
  if (info.ok()) {
    for (const auto& m : info->members) subscribed.insert(m.topics.begin(), m.topics.end());
  }
  std::vector<absl::Status> results(partitions.size());
  std::vector<TopicPartition> doomed;
  for (size_t i = 0; i < partitions.size(); ++i) {
    const TopicPartition& tp = partitions[i];
    auto log = broker_->GetPartition(tp.first, tp.second);
    if (!log.ok()) {
      results[i] = log.status();
    } else if (subscribed.contains(tp.first)) {
      results[i] = absl::FailedPreconditionError(
          absl::StrCat("a member of group '", group, "' subscribes to topic '", tp.first,
                       "'; its offsets can be deleted once no member does"));
    } else {
      doomed.push_back(tp);
    }
  }
  // A member may join between the check and the write; it then starts by its reset policy,
  // as if the offsets had been deleted just before it joined.
  s = broker_->offsets().DeleteOffsets(group, doomed);
  if (!s.ok()) {
    for (size_t i = 0; i < partitions.size(); ++i) {
      if (results[i].ok()) results[i] = s;
    }
  }
  return results;
}

absl::StatusOr<std::vector<storage::CommittedOffset>> ConsumerGroups::ResetOffsets(
    const std::string& group, const std::string& topic_name, std::vector<int32_t> partitions,
    const broker::StartPosition& to, bool validate_only) {
  absl::Status s = broker::ValidateGroupName(group);
  if (!s.ok()) return s;
  if (coordinator_.HasMembers(group)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "group '", group, "' has members; stop them (or wait for their sessions to end) first"));
  }
  auto topic = broker_->GetTopic(topic_name);
  if (!topic.ok()) return topic.status();
  if (partitions.empty()) {
    for (int32_t p = 0; p < (*topic)->meta.partitions; ++p) partitions.push_back(p);
  }
  std::vector<storage::CommittedOffset> out;
  for (int32_t p : partitions) {
    auto log = broker_->GetPartition(topic_name, p);
    if (!log.ok()) return log.status();
    auto resolved = broker_->ResolveStart(**log, to, broker::OffsetReset::kNone);
    if (!resolved.ok()) return resolved.status();
    out.push_back({topic_name, p, *resolved, ""});
  }
  if (validate_only) return out;
  s = broker_->offsets().CommitSync(group, out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace ferry::group
