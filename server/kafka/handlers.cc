#include "server/kafka/handlers.h"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/broker/validation.h"
#include "server/kafka/records.h"
#include "server/log.h"

namespace ferry::kafka {
namespace {

constexpr int32_t kNodeId = 0;
// A handler's answer that means "close the connection" (a response frame never starts so: its
// first bytes are a size prefix).
constexpr char kCloseConnection[] =
    "\xff\xff\xff\xff"
    "close:";
// How long JoinGroup may wait for partitions moving to the member, at most: long enough for
// the old owners' next heartbeat (3 s by default in Kafka clients) and their commit.
constexpr absl::Duration kMaxJoinWait = absl::Seconds(5);

// The compression codec of the first batch (or message) in a Produce's records; 0 is none.
int PeekCompression(std::string_view d) {
  if (d.size() < 18) return 0;
  const int8_t magic = static_cast<int8_t>(d[16]);
  if (magic == 2) {
    if (d.size() < 23) return 0;
    return static_cast<uint8_t>(d[22]) & 7;
  }
  return static_cast<uint8_t>(d[17]) & 7;
}

int16_t ProduceError(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return error::kNone;
    case absl::StatusCode::kNotFound:
      return error::kUnknownTopicOrPartition;
    case absl::StatusCode::kResourceExhausted:
      return error::kMessageTooLarge;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
      return error::kCorruptMessage;
    case absl::StatusCode::kUnimplemented:
      return error::kUnsupportedForMessageFormat;
    case absl::StatusCode::kUnavailable:
      return error::kKafkaStorageError;
    default:
      return error::kUnknownServerError;
  }
}

// A coordinator refusal as Kafka's group error codes.
int16_t GroupErrorCode(const absl::Status& s) {
  if (s.ok()) return error::kNone;
  switch (group::GroupErrorOf(s)) {
    case group::GroupError::kUnknownMember:
      return error::kUnknownMemberId;
    case group::GroupError::kStaleGeneration:
    case group::GroupError::kFutureGeneration:
      return error::kIllegalGeneration;
    case group::GroupError::kNotOwner:
    case group::GroupError::kRebalancing:
      return error::kRebalanceInProgress;
    case group::GroupError::kNone:
      break;
  }
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      return error::kUnknownTopicOrPartition;
    case absl::StatusCode::kOutOfRange:
      return error::kOffsetOutOfRange;
    case absl::StatusCode::kResourceExhausted:
      return error::kGroupMaxSizeReached;
    case absl::StatusCode::kInvalidArgument:
      return error::kInvalidRequest;
    case absl::StatusCode::kUnavailable:
      return error::kCoordinatorNotAvailable;
    default:
      return error::kUnknownServerError;
  }
}

std::optional<group::AssignorKind> AssignorFor(std::string_view protocol) {
  if (protocol == "range" || protocol == "RangeAssignor") return group::AssignorKind::kRange;
  if (protocol == "roundrobin" || protocol == "RoundRobinAssigner") {
    return group::AssignorKind::kRoundRobin;
  }
  if (protocol == "sticky" || protocol == "cooperative-sticky") return group::AssignorKind::kSticky;
  return std::nullopt;
}

}  // namespace

// A long-polling Fetch: woken by any of its partitions' appends, or by shutdown.
struct Handlers::PollState {
  absl::Mutex mu;
  bool woken ABSL_GUARDED_BY(mu) = false;
  void Wake() {
    absl::MutexLock lock(&mu);
    woken = true;
  }
};

Handlers::Handlers(broker::Broker* broker, group::ConsumerGroups* groups)
    : broker_(broker), groups_(groups) {}

void Handlers::SetAdvertisedAddress(std::string host, int32_t port) {
  absl::MutexLock lock(&mu_);
  advertised_host_ = std::move(host);
  advertised_port_ = port;
}

void Handlers::BeginShutdown() {
  std::set<std::shared_ptr<PollState>> polls;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    polls = polls_;
  }
  for (const auto& p : polls) p->Wake();
  groups_->coordinator().CancelWaits();
}

absl::StatusOr<std::string> Handlers::Handle(std::string_view frame, std::string_view peer_host) {
  std::string_view body;
  auto header = ParseRequestHeader(frame, &body);
  if (!header.ok()) return header.status();
  const ApiVersionRange* api = FindApi(header->api_key);
  if (api == nullptr && header->api_key != kSaslHandshake) {
    return absl::UnimplementedError(absl::StrCat("API key ", header->api_key, " (",
                                                 ApiName(header->api_key), ") is not served"));
  }
  const int16_t max_version = api != nullptr ? api->max_version : 1;
  if (header->api_version < 0 || header->api_version > max_version) {
    log::Event(log::Level::kDebug, "kafka_unsupported_version",
               {{"api", ApiName(header->api_key)},
                {"version", std::to_string(header->api_version)},
                {"client_id", header->client_id.value_or("")}});
    return EncodeVersionError(*header, error::kUnsupportedVersion);
  }
  auto request = ParseRequest(frame);
  if (!request.ok()) return request.status();
  const RequestHeader& h = request->header;
  std::string response = std::visit(
      [&](auto& body) {
        if constexpr (std::is_same_v<std::decay_t<decltype(body)>, JoinGroupRequest>) {
          return Handle(h, body, peer_host);
        } else {
          return Handle(h, body);
        }
      },
      request->body);
  if (response.starts_with(kCloseConnection)) {
    return absl::AbortedError(response.substr(sizeof(kCloseConnection) - 1));
  }
  return response;
}

// --- metadata and topics ---------------------------------------------------------------------

std::string Handlers::Handle(const RequestHeader& h, const ApiVersionsRequest&) {
  return EncodeResponse(h, ApiVersionsResponse{error::kNone, SupportedApis()});
}

std::string Handlers::Handle(const RequestHeader& h, const MetadataRequest& r) {
  MetadataResponse resp;
  {
    absl::MutexLock lock(&mu_);
    resp.brokers.push_back({kNodeId, advertised_host_, advertised_port_});
  }
  resp.cluster_id = "ferry";
  resp.controller_id = kNodeId;
  std::vector<std::shared_ptr<const storage::Topic>> topics;
  if (!r.topics.has_value()) {
    topics = broker_->ListTopics();
    std::sort(topics.begin(), topics.end(),
              [](const auto& a, const auto& b) { return a->meta.name < b->meta.name; });
  }
  const auto add_topic = [&](const storage::Topic& t) {
    MetadataResponse::Topic mt;
    mt.name = t.meta.name;
    for (int32_t p = 0; p < t.meta.partitions; ++p) {
      mt.partitions.push_back({error::kNone, p, kNodeId, {kNodeId}, {kNodeId}});
    }
    resp.topics.push_back(std::move(mt));
  };
  for (const auto& t : topics) add_topic(*t);
  if (r.topics.has_value()) {
    for (const auto& name : *r.topics) {
      auto topic = broker_->GetTopic(name);
      // Kafka's internal topics (__consumer_offsets, ...) are never created by a lookup.
      if (absl::IsNotFound(topic.status()) && broker_->options().auto_create_topics &&
          r.allow_auto_topic_creation && !name.starts_with("__")) {
        // Kafka creates a topic a client asks metadata for, when auto-creation is on.
        topic = broker_->CreateTopic(name, 0, v1::TopicConfig());
        if (absl::IsAlreadyExists(topic.status())) topic = broker_->GetTopic(name);
      }
      if (topic.ok()) {
        add_topic(**topic);
        continue;
      }
      MetadataResponse::Topic mt;
      mt.name = name;
      mt.error_code = absl::IsInvalidArgument(topic.status()) ? error::kInvalidTopic
                                                              : error::kUnknownTopicOrPartition;
      resp.topics.push_back(std::move(mt));
    }
  }
  return EncodeResponse(h, resp);
}

std::string Handlers::Handle(const RequestHeader& h, const CreateTopicsRequest& r) {
  CreateTopicsResponse resp;
  for (const auto& t : r.topics) {
    CreateTopicsResponse::Topic out;
    out.name = t.name;
    const auto fail = [&](int16_t code, std::string message) {
      out.error_code = code;
      out.error_message = std::move(message);
    };
    int32_t partitions = t.num_partitions;
    if (!t.assignments.empty()) partitions = static_cast<int32_t>(t.assignments.size());
    v1::TopicConfig config;
    std::string bad_config;
    for (const auto& c : t.configs) {
      int64_t value = 0;
      const bool numeric = c.value.has_value() && absl::SimpleAtoi(*c.value, &value);
      if (c.name == "retention.ms" && numeric) {
        config.set_retention_ms(value < 0 ? 0 : value);
      } else if (c.name == "retention.bytes" && numeric) {
        config.set_retention_bytes(value < 0 ? 0 : value);
      } else if (c.name == "max.message.bytes" && numeric) {
        config.set_max_record_bytes(static_cast<int32_t>(value));
      } else if (!(c.name == "cleanup.policy" && c.value == "delete")) {
        bad_config = c.name;
      }
    }
    absl::Status valid = broker::ValidateTopicName(t.name);
    if (!valid.ok()) {
      fail(error::kInvalidTopic, std::string(valid.message()));
    } else if (t.replication_factor != 1 && t.replication_factor != -1) {
      fail(error::kInvalidReplicationFactor,
           absl::StrCat("Ferry keeps one copy of each partition: replication factor must be 1 "
                        "or -1, got ",
                        t.replication_factor));
    } else if (partitions == 0 || partitions < -1 ||
               partitions > broker_->options().max_partitions) {
      fail(error::kInvalidPartitions,
           absl::StrCat("partitions must be between 1 and ", broker_->options().max_partitions,
                        " (or -1 for the default), got ", partitions));
    } else if (!bad_config.empty()) {
      fail(error::kInvalidConfig,
           absl::StrCat("config '", bad_config,
                        "' is not supported (retention.ms, retention.bytes, max.message.bytes)"));
    } else if (r.validate_only) {
      if (broker_->GetTopic(t.name).ok()) {
        fail(error::kTopicAlreadyExists, absl::StrCat("topic '", t.name, "' already exists"));
      }
    } else {
      auto created = broker_->CreateTopic(t.name, partitions < 0 ? 0 : partitions, config);
      if (absl::IsAlreadyExists(created.status())) {
        fail(error::kTopicAlreadyExists, absl::StrCat("topic '", t.name, "' already exists"));
      } else if (absl::IsInvalidArgument(created.status())) {
        fail(error::kInvalidConfig, std::string(created.status().message()));
      } else if (!created.ok()) {
        fail(error::kUnknownServerError, std::string(created.status().message()));
      }
    }
    resp.topics.push_back(std::move(out));
  }
  return EncodeResponse(h, resp);
}

std::string Handlers::Handle(const RequestHeader& h, const DeleteTopicsRequest& r) {
  DeleteTopicsResponse resp;
  for (const auto& name : r.names) {
    absl::Status s = broker_->DeleteTopic(name);
    int16_t code = error::kNone;
    if (absl::IsNotFound(s)) {
      code = error::kUnknownTopicOrPartition;
    } else if (absl::IsInvalidArgument(s)) {
      code = error::kInvalidTopic;
    } else if (!s.ok()) {
      code = error::kUnknownServerError;
    }
    resp.topics.push_back({name, code});
  }
  return EncodeResponse(h, resp);
}

std::string Handlers::Handle(const RequestHeader& h, const SaslHandshakeRequest& r) {
  log::Event(log::Level::kWarn, "kafka_sasl_refused",
             {{"mechanism", r.mechanism}, {"client_id", h.client_id.value_or("")}});
  return EncodeResponse(h, SaslHandshakeResponse{error::kUnsupportedSaslMechanism, {}});
}

std::string Handlers::Handle(const RequestHeader& h, const ListGroupsRequest&) {
  ListGroupsResponse resp;
  auto groups = groups_->List();
  if (!groups.ok()) {
    resp.error_code = error::kCoordinatorNotAvailable;
  } else {
    // Every Ferry group is a consumer group, whichever front door its members use.
    for (const auto& g : *groups) resp.groups.emplace_back(g.group, "consumer");
  }
  return EncodeResponse(h, resp);
}

std::string Handlers::Handle(const RequestHeader& h, const DescribeGroupsRequest& r) {
  DescribeGroupsResponse resp;
  for (const auto& name : r.groups) {
    DescribeGroupsResponse::Group g;
    g.group_id = name;
    g.protocol_type = "consumer";
    auto d = groups_->Describe(name);
    if (absl::IsInvalidArgument(d.status())) {
      g.error_code = error::kInvalidGroupId;
    } else if (!d.ok()) {
      g.state = "Dead";  // as Kafka describes a group it does not know
      g.protocol_type.clear();
    } else {
      const group::GroupInfo& info = d->info;
      g.state = info.members.empty()                       ? "Empty"
                : info.state == group::GroupState::kStable ? "Stable"
                                                           : "PreparingRebalance";
      if (!info.members.empty()) g.protocol = info.assignor;
      for (const auto& m : info.members) {
        DescribeGroupsResponse::Member dm;
        dm.member_id = m.member_id;
        dm.client_id = m.client_id;
        dm.client_host = m.client_host;
        dm.metadata = EncodeSubscription(m.topics);
        dm.assignment = EncodeAssignment(m.assignment);
        g.members.push_back(std::move(dm));
      }
    }
    resp.groups.push_back(std::move(g));
  }
  return EncodeResponse(h, resp);
}

// --- produce ---------------------------------------------------------------------------------

std::string Handlers::Handle(const RequestHeader& h, ProduceRequest& r) {
  ProduceResponse resp;
  struct Wait {
    absl::Mutex mu;
    int outstanding ABSL_GUARDED_BY(mu) = 0;
  };
  auto wait = std::make_shared<Wait>();
  // Filled by the publish callbacks (on the commit thread) before `outstanding` drops.
  std::vector<std::vector<std::pair<absl::Status, int64_t>>> results(r.topics.size());
  for (size_t ti = 0; ti < r.topics.size(); ++ti) {
    const ProduceRequest::Topic& topic = r.topics[ti];
    results[ti].resize(topic.partitions.size(), {absl::OkStatus(), -1});
  }
  std::vector<std::vector<int16_t>> codes(r.topics.size());
  for (size_t ti = 0; ti < r.topics.size(); ++ti) {
    const ProduceRequest::Topic& topic = r.topics[ti];
    codes[ti].resize(topic.partitions.size(), error::kNone);
    auto t = broker_->GetTopic(topic.name);
    for (size_t pi = 0; pi < topic.partitions.size(); ++pi) {
      const ProduceRequest::Partition& p = topic.partitions[pi];
      int16_t& code = codes[ti][pi];
      if (r.acks != 0 && r.acks != 1 && r.acks != -1) {
        code = error::kInvalidRequiredAcks;
        continue;
      }
      if (!t.ok()) {
        code = absl::IsInvalidArgument(t.status()) ? error::kInvalidTopic
                                                   : error::kUnknownTopicOrPartition;
        continue;
      }
      if (p.index < 0 || p.index >= (*t)->meta.partitions) {
        code = error::kUnknownTopicOrPartition;
        continue;
      }
      if (!p.records.has_value()) {
        code = error::kCorruptMessage;
        continue;
      }
      if (PeekCompression(*p.records) != 0) {
        code = error::kUnsupportedCompressionType;
        continue;
      }
      std::vector<v1::Record> records;
      absl::Status decoded = DecodeProduceRecords(*p.records, &records);
      if (!decoded.ok()) {
        code = ProduceError(decoded);
        log::Event(log::Level::kDebug, "kafka_produce_rejected",
                   {{"topic", topic.name},
                    {"partition", std::to_string(p.index)},
                    {"error", std::string(decoded.message())}});
        continue;
      }
      if (records.empty()) {
        results[ti][pi].second = (*t)->partitions[p.index]->end_offset();
        continue;
      }
      v1::PublishRequest publish;
      publish.set_topic(topic.name);
      publish.set_partition(p.index);
      for (auto& rec : records) *publish.add_records() = std::move(rec);
      {
        absl::MutexLock lock(&wait->mu);
        ++wait->outstanding;
      }
      auto* slot = &results[ti][pi];
      broker_->Publish(&publish, [wait, slot](absl::Status s, v1::PublishResponse* response) {
        slot->first = s;
        if (s.ok() && response != nullptr && response->acks_size() > 0) {
          slot->second = response->acks(0).offset();
        }
        absl::MutexLock lock(&wait->mu);
        --wait->outstanding;
      });
    }
  }
  {
    // Every append is answered (durable, refused or failed by shutdown), so this ends.
    absl::MutexLock lock(&wait->mu);
    wait->mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &wait->outstanding));
  }
  for (size_t ti = 0; ti < r.topics.size(); ++ti) {
    ProduceResponse::Topic out;
    out.name = r.topics[ti].name;
    for (size_t pi = 0; pi < r.topics[ti].partitions.size(); ++pi) {
      ProduceResponse::Partition p;
      p.index = r.topics[ti].partitions[pi].index;
      p.error_code = codes[ti][pi];
      if (p.error_code == error::kNone) {
        p.error_code = ProduceError(results[ti][pi].first);
        p.base_offset = p.error_code == error::kNone ? results[ti][pi].second : -1;
      }
      out.partitions.push_back(p);
    }
    resp.topics.push_back(std::move(out));
  }
  if (r.acks == 0) {
    // No response to carry an error: close the connection, as Kafka does, so the producer
    // notices and refreshes its metadata instead of sending into the void.
    for (const auto& t : resp.topics) {
      for (const auto& p : t.partitions) {
        if (p.error_code != error::kNone) {
          return absl::StrCat(kCloseConnection, "acks=0 produce to ", t.name, "-", p.index,
                              " failed with error ", p.error_code);
        }
      }
    }
    return "";
  }
  return EncodeResponse(h, resp);
}

// --- fetch -----------------------------------------------------------------------------------

int64_t Handlers::ReadFetch(const RequestHeader& h, const FetchRequest& r,
                            FetchResponse* out) const {
  out->topics.clear();
  int64_t total = 0;
  const int64_t budget = r.max_bytes > 0 ? r.max_bytes : INT32_MAX;
  for (const auto& topic : r.topics) {
    FetchResponse::Topic ft;
    ft.name = topic.name;
    for (const auto& p : topic.partitions) {
      FetchResponse::Partition fp;
      fp.index = p.index;
      auto log = broker_->GetPartition(topic.name, p.index);
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
        auto next = broker_->Read(**log, p.fetch_offset, 0,
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
          broker_->CountDelivered(topic.name, "", read.records_size());
        }
      }
      ft.partitions.push_back(std::move(fp));
    }
    out->topics.push_back(std::move(ft));
  }
  return total;
}

std::string Handlers::Handle(const RequestHeader& h, const FetchRequest& r) {
  FetchResponse resp;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(std::max(0, r.max_wait_ms));
  while (true) {
    const int64_t bytes = ReadFetch(h, r, &resp);
    bool failed = false;
    for (const auto& t : resp.topics) {
      for (const auto& p : t.partitions) failed |= p.error_code != error::kNone;
    }
    if (failed || r.min_bytes <= 0 || bytes >= r.min_bytes || absl::Now() >= deadline) break;
    // Long poll: wake when any partition read from grows.
    auto state = std::make_shared<PollState>();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      polls_.insert(state);
    }
    std::vector<std::pair<std::shared_ptr<storage::PartitionLog>, uint64_t>> waiters;
    bool ready = false;
    for (const auto& topic : r.topics) {
      for (const auto& p : topic.partitions) {
        auto log = broker_->GetPartition(topic.name, p.index);
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
    {
      absl::MutexLock lock(&mu_);
      polls_.erase(state);
    }
  }
  return EncodeResponse(h, resp);
}

std::string Handlers::Handle(const RequestHeader& h, const ListOffsetsRequest& r) {
  ListOffsetsResponse resp;
  for (const auto& topic : r.topics) {
    ListOffsetsResponse::Topic lt;
    lt.name = topic.name;
    for (const auto& p : topic.partitions) {
      ListOffsetsResponse::Partition lp;
      lp.index = p.index;
      auto log = broker_->GetPartition(topic.name, p.index);
      if (!log.ok()) {
        lp.error_code = error::kUnknownTopicOrPartition;
      } else if (p.timestamp == -1) {
        lp.offset = (*log)->end_offset();
      } else if (p.timestamp == -2) {
        lp.offset = (*log)->log_start_offset();
      } else if (p.timestamp < 0) {
        lp.error_code = error::kInvalidRequest;
      } else {
        v1::DirectSubscription sub;
        sub.set_start(v1::START_POSITION_TIMESTAMP);
        sub.set_timestamp_ms(p.timestamp);
        auto offset = broker_->ResolveStart(**log, sub);
        if (!offset.ok()) {
          lp.error_code = error::kUnknownServerError;
        } else if (*offset >= (*log)->end_offset()) {
          // No record at or after the timestamp: v0 gives the end, v1+ gives none.
          if (h.api_version == 0) lp.offset = *offset;
        } else {
          lp.offset = *offset;
          v1::SubscribeResponse read;
          if (broker_->Read(**log, *offset, 1, 1, &read).ok() && read.records_size() > 0) {
            lp.timestamp = read.records(0).timestamp_ms();
          }
        }
      }
      if (h.api_version == 0 && p.max_num_offsets <= 0) lp.offset = -1;
      lt.partitions.push_back(lp);
    }
    resp.topics.push_back(std::move(lt));
  }
  return EncodeResponse(h, resp);
}

// --- groups ----------------------------------------------------------------------------------

std::string Handlers::Handle(const RequestHeader& h, const FindCoordinatorRequest& r) {
  FindCoordinatorResponse resp;
  if (r.key_type != 0) {
    resp.error_code = error::kCoordinatorNotAvailable;
    resp.error_message = "Ferry does not serve transactions";
    return EncodeResponse(h, resp);
  }
  absl::Status valid = broker::ValidateGroupName(r.key);
  if (!valid.ok()) {
    resp.error_code = error::kInvalidGroupId;
    resp.error_message = std::string(valid.message());
    return EncodeResponse(h, resp);
  }
  absl::MutexLock lock(&mu_);
  resp.node_id = kNodeId;
  resp.host = advertised_host_;
  resp.port = advertised_port_;
  return EncodeResponse(h, resp);
}

std::string Handlers::Handle(const RequestHeader& h, const JoinGroupRequest& r,
                             std::string_view peer_host) {
  JoinGroupResponse resp;
  resp.member_id = r.member_id;
  const auto fail = [&](int16_t code) {
    resp.error_code = code;
    return EncodeResponse(h, resp);
  };
  if (!broker::ValidateGroupName(r.group_id).ok()) return fail(error::kInvalidGroupId);
  if (r.protocol_type != "consumer" || r.protocols.empty()) {
    return fail(error::kInconsistentGroupProtocol);
  }
  const auto& options = groups_->coordinator().options();
  const absl::Duration session = absl::Milliseconds(r.session_timeout_ms);
  if (session < options.min_session_timeout || session > options.max_session_timeout) {
    return fail(error::kInvalidSessionTimeout);
  }
  // The client's preferred assignor Ferry has (cooperative protocols last: members are eager).
  std::optional<group::AssignorKind> preferred;
  std::vector<std::string> topics;
  for (int pass = 0; pass < 2 && !preferred; ++pass) {
    for (const auto& p : r.protocols) {
      if ((p.name == "cooperative-sticky") != (pass == 1)) continue;
      preferred = AssignorFor(p.name);
      if (preferred) break;
    }
  }
  for (const auto& p : r.protocols) {
    auto parsed = ParseSubscriptionTopics(p.metadata);
    if (parsed.ok() && !parsed->empty()) {
      topics = *std::move(parsed);
      break;
    }
  }
  if (topics.empty()) return fail(error::kInconsistentGroupProtocol);

  group::JoinRequest join;
  join.group = r.group_id;
  join.topics = topics;
  join.session_timeout = session;
  join.member_id = r.member_id;
  join.assignor = preferred.value_or(group::AssignorKind::kSticky);
  join.classic = true;
  join.client_id = h.client_id.value_or("");
  join.client_host = absl::StrCat("/", std::string(peer_host));
  const absl::Duration rebalance_timeout =
      r.rebalance_timeout_ms > 0 ? absl::Milliseconds(r.rebalance_timeout_ms) : session;
  join.revoke_grace = rebalance_timeout;
  auto joined = groups_->Join(join);
  if (!joined.ok()) {
    log::Event(log::Level::kDebug, "kafka_join_refused",
               {{"group", r.group_id}, {"error", std::string(joined.status().message())}});
    if (absl::IsInvalidArgument(joined.status())) return fail(error::kInvalidRequest);
    return fail(GroupErrorCode(joined.status()));
  }
  group::GroupCoordinator& coordinator = groups_->coordinator();
  // An eager member rejoining has given up every partition (and committed): acknowledge its
  // revocations so they pass to their new owners now.
  auto acked = coordinator.Heartbeat(r.group_id, joined->member_id, joined->generation);
  if (!acked.ok()) return fail(GroupErrorCode(acked.status()));
  // Let the partitions moving to this member arrive, so it gets its share in one round.
  auto view = coordinator.AwaitPending(r.group_id, joined->member_id,
                                       std::min(rebalance_timeout, kMaxJoinWait));
  if (!view.ok()) return fail(GroupErrorCode(view.status()));
  resp.generation_id = static_cast<int32_t>(view->generation);
  resp.member_id = joined->member_id;
  resp.leader = kCoordinatorLeaderId;
  resp.protocol_name = r.protocols.front().name;
  for (const auto& p : r.protocols) {
    if (AssignorFor(p.name) == joined->assignor && p.name != "cooperative-sticky") {
      resp.protocol_name = p.name;
      break;
    }
  }
  return EncodeResponse(h, resp);
}

std::string Handlers::Handle(const RequestHeader& h, const SyncGroupRequest& r) {
  SyncGroupResponse resp;
  auto view = groups_->coordinator().Sync(r.group_id, r.member_id, r.generation_id);
  if (!view.ok()) {
    resp.error_code = GroupErrorCode(view.status());
    if (resp.error_code == error::kInvalidRequest) resp.error_code = error::kInvalidGroupId;
    return EncodeResponse(h, resp);
  }
  resp.assignment = EncodeAssignment(view->assignment);
  return EncodeResponse(h, resp);
}

std::string Handlers::Handle(const RequestHeader& h, const HeartbeatRequest& r) {
  auto view = groups_->coordinator().Heartbeat(r.group_id, r.member_id, r.generation_id);
  int16_t code = error::kNone;
  if (!view.ok()) {
    code = GroupErrorCode(view.status());
    if (code == error::kInvalidRequest) code = error::kInvalidGroupId;
  } else if (view->generation != r.generation_id || view->resync) {
    // The group moved on, or the member's partitions changed since its SyncGroup: it rejoins
    // (keeping its member id) and takes its new assignment.
    code = error::kRebalanceInProgress;
  }
  return EncodeResponse(h, HeartbeatResponse{code});
}

std::string Handlers::Handle(const RequestHeader& h, const LeaveGroupRequest& r) {
  absl::Status s = groups_->coordinator().Leave(r.group_id, r.member_id);
  int16_t code = GroupErrorCode(s);
  if (code == error::kInvalidRequest) code = error::kInvalidGroupId;
  return EncodeResponse(h, LeaveGroupResponse{code});
}

std::string Handlers::Handle(const RequestHeader& h, const OffsetCommitRequest& r) {
  OffsetCommitResponse resp;
  std::vector<group::OffsetToCommit> offsets;
  for (const auto& t : r.topics) {
    for (const auto& p : t.partitions) {
      int64_t offset = p.offset;
      // Kafka stores any offset; clients rely on that: kafkajs resets a group by committing -2
      // (earliest) or -1 (latest), and a consumer given an offset past the end resets itself.
      // Ferry keeps committed offsets inside the log, so resolve those here.
      auto log = broker_->GetPartition(t.name, p.index);
      if (log.ok()) {
        const int64_t end = (*log)->end_offset();
        if (offset == -2) {
          offset = (*log)->log_start_offset();
        } else if (offset == -1 || offset > end) {
          offset = end;
        }
      }
      offsets.push_back({{t.name, p.index}, offset, p.metadata.value_or("")});
    }
  }
  std::vector<int16_t> codes(offsets.size(), error::kNone);
  if (!broker::ValidateGroupName(r.group_id).ok()) {
    std::fill(codes.begin(), codes.end(), error::kInvalidGroupId);
  } else if (!offsets.empty()) {
    struct Wait {
      absl::Mutex mu;
      bool done ABSL_GUARDED_BY(mu) = false;
      std::vector<absl::Status> results;
    };
    auto wait = std::make_shared<Wait>();
    groups_->Commit(r.group_id, r.member_id, r.generation_id, offsets,
                    [wait](std::vector<absl::Status> results) {
                      absl::MutexLock lock(&wait->mu);
                      wait->results = std::move(results);
                      wait->done = true;
                    });
    absl::MutexLock lock(&wait->mu);
    wait->mu.Await(absl::Condition(&wait->done));
    for (size_t i = 0; i < codes.size() && i < wait->results.size(); ++i) {
      codes[i] = GroupErrorCode(wait->results[i]);
    }
  }
  size_t i = 0;
  for (const auto& t : r.topics) {
    OffsetCommitResponse::Topic ot;
    ot.name = t.name;
    for (const auto& p : t.partitions) ot.partitions.push_back({p.index, codes[i++]});
    resp.topics.push_back(std::move(ot));
  }
  return EncodeResponse(h, resp);
}

std::string Handlers::Handle(const RequestHeader& h, const OffsetFetchRequest& r) {
  OffsetFetchResponse resp;
  std::vector<group::TopicPartition> tps;
  for (const auto& t : r.topics) {
    for (int32_t p : t.partitions) tps.emplace_back(t.name, p);
  }
  std::vector<storage::CommittedOffset> committed;
  int16_t code = error::kNone;
  if (r.all_topics) {
    // v2 with null topics: every partition the group has committed.
    auto fetched = groups_->FetchOffsets(r.group_id, {});
    resp.error_code = !fetched.ok()
                          ? (absl::IsInvalidArgument(fetched.status()) ? error::kInvalidGroupId
                                                                       : error::kUnknownServerError)
                          : error::kNone;
    if (fetched.ok()) {
      for (const auto& c : *fetched) {
        if (resp.topics.empty() || resp.topics.back().name != c.topic) {
          resp.topics.push_back({c.topic, {}});
        }
        resp.topics.back().partitions.push_back({c.partition, c.offset, c.metadata, 0});
      }
    }
    return EncodeResponse(h, resp);
  }
  if (!tps.empty()) {
    auto fetched = groups_->FetchOffsets(r.group_id, tps);
    if (fetched.ok()) {
      committed = *std::move(fetched);
    } else {
      code = absl::IsInvalidArgument(fetched.status()) ? error::kInvalidGroupId
                                                       : error::kUnknownServerError;
    }
  }
  size_t i = 0;
  for (const auto& t : r.topics) {
    OffsetFetchResponse::Topic ot;
    ot.name = t.name;
    for (int32_t p : t.partitions) {
      OffsetFetchResponse::Partition op;
      op.index = p;
      op.error_code = code;
      if (code == error::kNone && i < committed.size()) {
        op.offset = committed[i].offset;
        op.metadata = committed[i].metadata;
      }
      ++i;
      ot.partitions.push_back(std::move(op));
    }
    resp.topics.push_back(std::move(ot));
  }
  if (code != error::kNone) resp.error_code = code;
  return EncodeResponse(h, resp);
}

}  // namespace ferry::kafka
