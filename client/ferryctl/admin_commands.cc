// topic and group commands: thin wrappers over the Admin service.
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/ferryctl/commands.h"
#include "client/ferryctl/errors.h"
#include "client/ferryctl/json.h"
#include "client/ferryctl/output.h"

namespace ferry::ctl {
namespace {

std::string Quoted(const std::string& name) { return absl::StrCat("'", name, "'"); }

void PrintJson(const JsonWriter& json) { PrintOut(json.str() + "\n"); }

std::string OrNone(int64_t value, const std::string& none) {
  return value == 0 ? none : absl::StrCat(value);
}

std::string StateName(v1::GroupState state) {
  switch (state) {
    case v1::GROUP_STATE_EMPTY:
      return "EMPTY";
    case v1::GROUP_STATE_REBALANCING:
      return "REBALANCING";
    case v1::GROUP_STATE_STABLE:
      return "STABLE";
    default:
      return "UNKNOWN";
  }
}

// The fields of a topic, inside an open JSON object. 0 in a config field: the default.
void TopicFields(JsonWriter& json, const v1::TopicInfo& t) {
  json.Key("topic")
      .String(t.name())
      .Key("partitions")
      .Int(t.partitions())
      .Key("retention_ms")
      .Int(t.config().retention_ms())
      .Key("retention_bytes")
      .Int(t.config().retention_bytes())
      .Key("max_record_bytes")
      .Int(t.config().max_record_bytes());
}

// Adds subcommand `name` of `parent` whose Runner calls `fn` with the options in `*o`.
template <typename Options>
CLI::App* AddCommand(CLI::App* parent, Runner* run, const std::string& name,
                     const std::string& about, std::shared_ptr<Options> o,
                     absl::Status (*fn)(Context&, const Options&)) {
  CLI::App* cmd = parent->add_subcommand(name, about);
  cmd->callback([run, o, fn] { *run = [o, fn](Context& ctx) { return fn(ctx, *o); }; });
  return cmd;
}

bool Given(const CLI::Option* option) { return option != nullptr && option->count() > 0; }

// ---------------------------------------------------------------------------------------------
// topic

struct TopicOptions {
  std::string topic;
  int32_t partitions = 0;
  int32_t add = 0;
  int64_t retention_ms = 0;
  int64_t retention_bytes = 0;
  int32_t max_record_bytes = 0;
  bool validate_only = false;
  int32_t partition = 0;
  int64_t before = 0;
  CLI::Option* partitions_given = nullptr;
  CLI::Option* add_given = nullptr;
  CLI::Option* retention_ms_given = nullptr;
  CLI::Option* retention_bytes_given = nullptr;
  CLI::Option* max_record_bytes_given = nullptr;
};

absl::Status PrintTopic(Context& ctx, const v1::TopicInfo& t, const std::string& text) {
  if (!ctx.json) {
    PrintOut(text);
    return absl::OkStatus();
  }
  JsonWriter json;
  json.BeginObject();
  TopicFields(json, t);
  PrintJson(json.EndObject());
  return absl::OkStatus();
}

absl::Status TopicCreate(Context& ctx, const TopicOptions& o) {
  v1::CreateTopicRequest request;
  request.set_topic(o.topic);
  request.set_partitions(o.partitions);
  request.mutable_config()->set_retention_ms(o.retention_ms);
  request.mutable_config()->set_retention_bytes(o.retention_bytes);
  request.mutable_config()->set_max_record_bytes(o.max_record_bytes);
  v1::CreateTopicResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->CreateTopic(call.get(), request, &response),
                            absl::StrCat("create topic ", Quoted(o.topic)));
  if (!s.ok()) return s;
  return PrintTopic(ctx, response.topic(),
                    absl::StrCat("Created topic ", Quoted(response.topic().name()), " with ",
                                 response.topic().partitions(), " partitions.\n"));
}

absl::Status TopicList(Context& ctx, const TopicOptions& /*o*/) {
  v1::ListTopicsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->ListTopics(call.get(), v1::ListTopicsRequest(), &response),
                            "list topics");
  if (!s.ok()) return s;
  if (ctx.json) {
    JsonWriter json;
    json.BeginObject().Key("topics").BeginArray();
    for (const v1::TopicInfo& t : response.topics()) {
      json.BeginObject();
      TopicFields(json, t);
      json.EndObject();
    }
    PrintJson(json.EndArray().EndObject());
    return absl::OkStatus();
  }
  Table table({"TOPIC", "PARTITIONS", "RETENTION_MS", "RETENTION_BYTES"});
  for (const v1::TopicInfo& t : response.topics()) {
    table.AddRow({t.name(), absl::StrCat(t.partitions()), OrNone(t.config().retention_ms(), "-"),
                  OrNone(t.config().retention_bytes(), "-")});
  }
  PrintOut(table.Render());
  return absl::OkStatus();
}

absl::Status TopicDescribe(Context& ctx, const TopicOptions& o) {
  absl::StatusOr<v1::DescribeTopicResponse> d = ctx.DescribeTopic(o.topic);
  if (!d.ok()) return d.status();
  const v1::TopicInfo& t = d->topic();
  if (ctx.json) {
    JsonWriter json;
    json.BeginObject();
    TopicFields(json, t);
    json.Key("offsets").BeginArray();
    for (const v1::PartitionInfo& p : d->partitions()) {
      json.BeginObject()
          .Key("partition")
          .Int(p.partition())
          .Key("log_start_offset")
          .Int(p.log_start_offset())
          .Key("end_offset")
          .Int(p.end_offset())
          .Key("records")
          .Int(p.end_offset() - p.log_start_offset())
          .Key("size_bytes")
          .Int(p.size_bytes())
          .EndObject();
    }
    PrintJson(json.EndArray().EndObject());
    return absl::OkStatus();
  }
  PrintOut(absl::StrCat("topic ", t.name(), ": ", t.partitions(), " partitions, retention_ms ",
                        OrNone(t.config().retention_ms(), "none"), ", retention_bytes ",
                        OrNone(t.config().retention_bytes(), "none"), ", max_record_bytes ",
                        OrNone(t.config().max_record_bytes(), "broker-default"), "\n"));
  Table table({"PARTITION", "LOG_START", "END", "RECORDS", "SIZE_BYTES"});
  for (const v1::PartitionInfo& p : d->partitions()) {
    table.AddRow({absl::StrCat(p.partition()), absl::StrCat(p.log_start_offset()),
                  absl::StrCat(p.end_offset()), absl::StrCat(p.end_offset() - p.log_start_offset()),
                  absl::StrCat(p.size_bytes())});
  }
  PrintOut(table.Render());
  return absl::OkStatus();
}

absl::Status TopicDelete(Context& ctx, const TopicOptions& o) {
  v1::DeleteTopicRequest request;
  request.set_topic(o.topic);
  v1::DeleteTopicResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DeleteTopic(call.get(), request, &response),
                            absl::StrCat("delete topic ", Quoted(o.topic)));
  if (!s.ok()) return s;
  if (ctx.json) {
    PrintJson(JsonWriter()
                  .BeginObject()
                  .Key("topic")
                  .String(o.topic)
                  .Key("deleted")
                  .Bool(true)
                  .EndObject());
  } else {
    PrintOut(absl::StrCat("Deleted topic ", Quoted(o.topic), ".\n"));
  }
  return absl::OkStatus();
}

absl::Status TopicAddPartitions(Context& ctx, const TopicOptions& o) {
  if (Given(o.partitions_given) == Given(o.add_given)) {
    return UsageError("give exactly one of --partitions TOTAL and --add COUNT");
  }
  int64_t total = o.partitions;
  if (Given(o.add_given)) {
    absl::StatusOr<v1::DescribeTopicResponse> d = ctx.DescribeTopic(o.topic);
    if (!d.ok()) return d.status();
    total = d->topic().partitions() + int64_t{o.add};
  }
  v1::CreatePartitionsRequest request;
  request.set_topic(o.topic);
  request.set_partitions(static_cast<int32_t>(total));
  v1::CreatePartitionsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->CreatePartitions(call.get(), request, &response),
                            absl::StrCat("add partitions to topic ", Quoted(o.topic)));
  if (!s.ok()) return s;
  return PrintTopic(ctx, response.topic(),
                    absl::StrCat("Topic ", Quoted(o.topic), " now has ",
                                 response.topic().partitions(), " partitions.\n"));
}

absl::Status TopicAlter(Context& ctx, const TopicOptions& o) {
  v1::AlterTopicConfigRequest request;
  request.set_topic(o.topic);
  if (Given(o.retention_ms_given)) request.set_retention_ms(o.retention_ms);
  if (Given(o.retention_bytes_given)) request.set_retention_bytes(o.retention_bytes);
  if (Given(o.max_record_bytes_given)) request.set_max_record_bytes(o.max_record_bytes);
  if (!request.has_retention_ms() && !request.has_retention_bytes() &&
      !request.has_max_record_bytes()) {
    return UsageError("give at least one of --retention-ms, --retention-bytes, --max-record-bytes");
  }
  request.set_validate_only(o.validate_only);
  v1::AlterTopicConfigResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->AlterTopicConfig(call.get(), request, &response),
                            absl::StrCat("alter topic ", Quoted(o.topic)));
  if (!s.ok()) return s;
  if (ctx.json) {
    JsonWriter json;
    json.BeginObject();
    TopicFields(json, response.topic());
    PrintJson(json.Key("validate_only").Bool(o.validate_only).EndObject());
    return absl::OkStatus();
  }
  const v1::TopicConfig& c = response.topic().config();
  PrintOut(absl::StrCat(o.validate_only ? "Valid: topic " : "Topic ", Quoted(o.topic),
                        o.validate_only ? " would have" : " now has", " retention_ms ",
                        OrNone(c.retention_ms(), "none"), ", retention_bytes ",
                        OrNone(c.retention_bytes(), "none"), ", max_record_bytes ",
                        c.max_record_bytes(), ".\n"));
  return absl::OkStatus();
}

absl::Status TopicDeleteRecords(Context& ctx, const TopicOptions& o) {
  v1::DeleteRecordsRequest request;
  request.set_topic(o.topic);
  request.set_partition(o.partition);
  request.set_before_offset(o.before);
  v1::DeleteRecordsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DeleteRecords(call.get(), request, &response),
                            absl::StrCat("delete records of topic ", Quoted(o.topic)));
  if (!s.ok()) return s;
  if (ctx.json) {
    PrintJson(JsonWriter()
                  .BeginObject()
                  .Key("topic")
                  .String(o.topic)
                  .Key("partition")
                  .Int(o.partition)
                  .Key("log_start_offset")
                  .Int(response.log_start_offset())
                  .EndObject());
  } else {
    PrintOut(absl::StrCat("Topic ", Quoted(o.topic), " partition ", o.partition,
                          " now starts at offset ", response.log_start_offset(), ".\n"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// group

struct GroupOptions {
  std::string group;
  std::string topic;
  std::vector<int32_t> partitions;
  bool to_earliest = false;
  bool to_latest = false;
  int64_t to_offset = 0;
  int64_t to_timestamp = 0;
  bool execute = false;
  bool dry_run = false;
  CLI::Option* to_offset_given = nullptr;
  CLI::Option* to_timestamp_given = nullptr;
};

absl::StatusOr<v1::DescribeGroupResponse> DescribeGroup(Context& ctx, const std::string& group) {
  v1::DescribeGroupRequest request;
  request.set_group(group);
  v1::DescribeGroupResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DescribeGroup(call.get(), request, &response),
                            absl::StrCat("describe group ", Quoted(group)));
  if (!s.ok()) return s;
  return response;
}

int64_t TotalLag(const v1::DescribeGroupResponse& group) {
  int64_t lag = 0;
  for (const v1::GroupPartitionLag& p : group.partitions()) lag += p.lag();
  return lag;
}

absl::Status GroupList(Context& ctx, const GroupOptions& /*o*/) {
  v1::ListGroupsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->ListGroups(call.get(), v1::ListGroupsRequest(), &response),
                            "list groups");
  if (!s.ok()) return s;
  // ListGroups has no offsets: each group's lag comes from its DescribeGroup. A group deleted
  // in between shows no lag ("-", null).
  std::map<std::string, int64_t> lags;
  for (const v1::GroupSummary& g : response.groups()) {
    absl::StatusOr<v1::DescribeGroupResponse> d = DescribeGroup(ctx, g.group());
    if (d.ok()) {
      lags[g.group()] = TotalLag(*d);
    } else if (!absl::IsNotFound(d.status())) {
      return d.status();
    }
  }
  if (ctx.json) {
    JsonWriter json;
    json.BeginObject().Key("groups").BeginArray();
    for (const v1::GroupSummary& g : response.groups()) {
      json.BeginObject()
          .Key("group")
          .String(g.group())
          .Key("state")
          .String(StateName(g.state()))
          .Key("members")
          .Int(g.members())
          .Key("lag");
      if (lags.count(g.group()) > 0) {
        json.Int(lags[g.group()]);
      } else {
        json.Null();
      }
      json.EndObject();
    }
    PrintJson(json.EndArray().EndObject());
    return absl::OkStatus();
  }
  Table table({"GROUP", "STATE", "MEMBERS", "LAG"});
  for (const v1::GroupSummary& g : response.groups()) {
    table.AddRow({g.group(), StateName(g.state()), absl::StrCat(g.members()),
                  lags.count(g.group()) > 0 ? absl::StrCat(lags[g.group()]) : "-"});
  }
  PrintOut(table.Render());
  return absl::OkStatus();
}

absl::Status GroupDescribe(Context& ctx, const GroupOptions& o) {
  absl::StatusOr<v1::DescribeGroupResponse> d = DescribeGroup(ctx, o.group);
  if (!d.ok()) return d.status();
  if (ctx.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("group")
        .String(d->group())
        .Key("state")
        .String(StateName(d->state()))
        .Key("generation")
        .Int(d->generation())
        .Key("lag")
        .Int(TotalLag(*d))
        .Key("members")
        .BeginArray();
    for (const v1::GroupMember& m : d->members()) {
      json.BeginObject()
          .Key("member_id")
          .String(m.member_id())
          .Key("instance_id")
          .String(m.instance_id())
          .Key("assignment")
          .BeginArray();
      for (const v1::TopicPartition& tp : m.assignment()) {
        json.BeginObject().Key("topic").String(tp.topic()).Key("partition").Int(tp.partition());
        json.EndObject();
      }
      json.EndArray().EndObject();
    }
    json.EndArray().Key("partitions").BeginArray();
    for (const v1::GroupPartitionLag& p : d->partitions()) {
      json.BeginObject().Key("topic").String(p.topic()).Key("partition").Int(p.partition());
      json.Key("member_id");
      if (p.member_id().empty()) {
        json.Null();
      } else {
        json.String(p.member_id());
      }
      json.Key("committed_offset");
      if (p.committed_offset() < 0) {
        json.Null();
      } else {
        json.Int(p.committed_offset());
      }
      json.Key("end_offset").Int(p.end_offset()).Key("lag").Int(p.lag()).EndObject();
    }
    PrintJson(json.EndArray().EndObject());
    return absl::OkStatus();
  }
  PrintOut(absl::StrCat("group ", d->group(), ": state ", StateName(d->state()), ", generation ",
                        d->generation(), ", members ", d->members_size(), ", lag ", TotalLag(*d),
                        "\n"));
  Table table({"TOPIC", "PARTITION", "MEMBER", "COMMITTED", "END", "LAG"});
  for (const v1::GroupPartitionLag& p : d->partitions()) {
    table.AddRow({p.topic(), absl::StrCat(p.partition()), p.member_id(),
                  p.committed_offset() < 0 ? "-" : absl::StrCat(p.committed_offset()),
                  absl::StrCat(p.end_offset()), absl::StrCat(p.lag())});
  }
  PrintOut(table.Render());
  return absl::OkStatus();
}

absl::Status GroupResetOffsets(Context& ctx, const GroupOptions& o) {
  v1::ResetOffsetsRequest request;
  request.set_group(o.group);
  request.set_topic(o.topic);
  for (int32_t p : o.partitions) request.add_partitions(p);
  int targets = 0;
  if (o.to_earliest) {
    ++targets;
    request.set_to(v1::START_POSITION_EARLIEST);
  }
  if (o.to_latest) {
    ++targets;
    request.set_to(v1::START_POSITION_LATEST);
  }
  if (Given(o.to_offset_given)) {
    ++targets;
    request.set_to(v1::START_POSITION_OFFSET);
    request.set_offset(o.to_offset);
  }
  if (Given(o.to_timestamp_given)) {
    ++targets;
    request.set_to(v1::START_POSITION_TIMESTAMP);
    request.set_timestamp_ms(o.to_timestamp);
  }
  if (targets != 1) {
    return UsageError(
        "give exactly one of --to-earliest, --to-latest, --to-offset N, --to-timestamp MS");
  }
  // The current offsets, for the plan; a group that never committed has none.
  std::map<std::pair<std::string, int32_t>, int64_t> current;
  absl::StatusOr<v1::DescribeGroupResponse> before = DescribeGroup(ctx, o.group);
  if (!before.ok() && !absl::IsNotFound(before.status())) return before.status();
  if (before.ok()) {
    for (const v1::GroupPartitionLag& p : before->partitions()) {
      current[{p.topic(), p.partition()}] = p.committed_offset();
    }
  }
  request.set_validate_only(!o.execute);
  v1::ResetOffsetsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->ResetOffsets(call.get(), request, &response),
                            absl::StrCat("reset offsets of group ", Quoted(o.group)));
  if (!s.ok()) return s;
  const auto current_of = [&current](const v1::CommittedOffset& c) -> int64_t {
    auto it = current.find({c.topic(), c.partition()});
    return it == current.end() ? -1 : it->second;
  };
  if (ctx.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("group")
        .String(o.group)
        .Key("topic")
        .String(o.topic)
        .Key("executed")
        .Bool(o.execute)
        .Key("offsets")
        .BeginArray();
    for (const v1::CommittedOffset& c : response.offsets()) {
      json.BeginObject().Key("topic").String(c.topic()).Key("partition").Int(c.partition());
      json.Key("current_offset");
      if (current_of(c) < 0) {
        json.Null();
      } else {
        json.Int(current_of(c));
      }
      json.Key("new_offset").Int(c.offset()).EndObject();
    }
    PrintJson(json.EndArray().EndObject());
  } else {
    Table table({"GROUP", "TOPIC", "PARTITION", "CURRENT_OFFSET", "NEW_OFFSET"});
    for (const v1::CommittedOffset& c : response.offsets()) {
      table.AddRow({o.group, c.topic(), absl::StrCat(c.partition()),
                    current_of(c) < 0 ? "-" : absl::StrCat(current_of(c)),
                    absl::StrCat(c.offset())});
    }
    PrintOut(table.Render());
  }
  std::fputs(o.execute
                 ? "ferryctl: offsets reset.\n"
                 : "ferryctl: dry run, nothing changed; add --execute to reset the offsets.\n",
             stderr);
  return absl::OkStatus();
}

absl::Status GroupDelete(Context& ctx, const GroupOptions& o) {
  v1::DeleteGroupRequest request;
  request.set_group(o.group);
  v1::DeleteGroupResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DeleteGroup(call.get(), request, &response),
                            absl::StrCat("delete group ", Quoted(o.group)));
  if (!s.ok()) return s;
  if (ctx.json) {
    PrintJson(JsonWriter()
                  .BeginObject()
                  .Key("group")
                  .String(o.group)
                  .Key("deleted")
                  .Bool(true)
                  .EndObject());
  } else {
    PrintOut(absl::StrCat("Deleted group ", Quoted(o.group), ".\n"));
  }
  return absl::OkStatus();
}

const CLI::Range kPartitionCount(1, INT32_MAX, "N >= 1");
const CLI::Range kPartitionNumber(0, INT32_MAX, "N >= 0");
const CLI::Range kNonNegative(int64_t{0}, INT64_MAX, ">= 0");

}  // namespace

void PrintOut(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

std::unique_ptr<grpc::ClientContext> Context::CallContext() const {
  auto call = std::make_unique<grpc::ClientContext>();
  call->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return call;
}

absl::StatusOr<v1::DescribeTopicResponse> Context::DescribeTopic(const std::string& topic) const {
  v1::DescribeTopicRequest request;
  request.set_topic(topic);
  v1::DescribeTopicResponse response;
  auto call = CallContext();
  absl::Status s = FromGrpc(admin->DescribeTopic(call.get(), request, &response),
                            absl::StrCat("describe topic ", Quoted(topic)));
  if (!s.ok()) return s;
  return response;
}

void AddTopicCommands(CLI::App& app, Runner* run) {
  CLI::App* topic = app.add_subcommand("topic", "create, list, describe, alter and delete topics");
  topic->require_subcommand(1);
  const auto positional = [](CLI::App* cmd, TopicOptions& o) {
    cmd->add_option("topic", o.topic, "the topic")->required();
  };

  auto o = std::make_shared<TopicOptions>();
  CLI::App* cmd = AddCommand(topic, run, "create", "Creates a topic.", o, TopicCreate);
  positional(cmd, *o);
  cmd->add_option("-p,--partitions", o->partitions,
                  "partition count (default: the broker's --default-partitions)")
      ->check(kPartitionCount);
  cmd->add_option("--retention-ms", o->retention_ms,
                  "delete records older than this (default 0: keep)")
      ->check(kNonNegative);
  cmd->add_option("--retention-bytes", o->retention_bytes,
                  "keep at most this many bytes per partition (default 0: no limit)")
      ->check(kNonNegative);
  cmd->add_option("--max-record-bytes", o->max_record_bytes,
                  "largest record accepted (default 0: the broker's --max-record-bytes)")
      ->check(kPartitionNumber);
  cmd->footer("Example:\n  ferryctl topic create orders --partitions 6 --retention-ms 604800000");

  o = std::make_shared<TopicOptions>();
  AddCommand(topic, run, "list", "Lists topics with their partition counts and retention.", o,
             TopicList);

  o = std::make_shared<TopicOptions>();
  cmd = AddCommand(topic, run, "describe",
                   "Shows a topic's configuration and offsets. Per partition: log start offset, "
                   "end offset (the next offset to be written), record count and stored bytes.",
                   o, TopicDescribe);
  positional(cmd, *o);

  o = std::make_shared<TopicOptions>();
  cmd = AddCommand(topic, run, "delete", "Deletes a topic and all its records.", o, TopicDelete);
  positional(cmd, *o);

  o = std::make_shared<TopicOptions>();
  cmd = AddCommand(topic, run, "add-partitions",
                   "Grows a topic's partition count (it never shrinks). Keyed records of "
                   "existing keys may map to other partitions afterwards.",
                   o, TopicAddPartitions);
  positional(cmd, *o);
  o->partitions_given =
      cmd->add_option("-p,--partitions", o->partitions, "the new total partition count")
          ->check(kPartitionCount);
  o->add_given =
      cmd->add_option("--add", o->add, "how many partitions to add")->check(kPartitionCount);
  cmd->footer("Example:\n  ferryctl topic add-partitions orders --add 2");

  o = std::make_shared<TopicOptions>();
  cmd = AddCommand(topic, run, "alter",
                   "Changes a topic's retention or record limit. Only the settings given change; "
                   "0 sets one back to its default. The change is in force at once.",
                   o, TopicAlter);
  positional(cmd, *o);
  o->retention_ms_given =
      cmd->add_option("--retention-ms", o->retention_ms, "delete records older than this (0: keep)")
          ->check(kNonNegative);
  o->retention_bytes_given =
      cmd->add_option("--retention-bytes", o->retention_bytes,
                      "keep at most this many bytes per partition (0: no limit)")
          ->check(kNonNegative);
  o->max_record_bytes_given =
      cmd->add_option("--max-record-bytes", o->max_record_bytes,
                      "largest record accepted (0: the broker's --max-record-bytes)")
          ->check(kPartitionNumber);
  cmd->add_flag("--validate-only", o->validate_only, "check the change, apply nothing");
  cmd->footer("Example:\n  ferryctl topic alter orders --retention-ms 86400000");

  o = std::make_shared<TopicOptions>();
  cmd = AddCommand(topic, run, "delete-records",
                   "Deletes a partition's records below an offset, moving its log start offset "
                   "there (-1: every record).",
                   o, TopicDeleteRecords);
  positional(cmd, *o);
  cmd->add_option("-p,--partition", o->partition, "the partition")
      ->required()
      ->check(kPartitionNumber);
  cmd->add_option("--before", o->before, "the new log start offset; -1: the end offset")
      ->required()
      ->check(CLI::Range(int64_t{-1}, INT64_MAX, ">= -1"));
  cmd->footer("Example:\n  ferryctl topic delete-records orders -p 0 --before 100");
}

void AddGroupCommands(CLI::App& app, Runner* run) {
  CLI::App* group = app.add_subcommand("group", "list, describe, reset and delete consumer groups");
  group->require_subcommand(1);

  auto o = std::make_shared<GroupOptions>();
  AddCommand(group, run, "list",
             "Lists consumer groups with their state, member count and lag (the sum over their "
             "partitions of end offset - committed offset).",
             o, GroupList);

  o = std::make_shared<GroupOptions>();
  CLI::App* cmd = AddCommand(group, run, "describe",
                             "Shows a group's state and lag per partition. Per partition: its "
                             "owner, committed offset, end offset and lag (end - committed; end - "
                             "log start when nothing is committed).",
                             o, GroupDescribe);
  cmd->add_option("group", o->group, "the group")->required();
  cmd->footer(
      "Output:\n"
      "  group <group>: state <STATE>, generation <N>, members <N>, lag <N>\n"
      "  TOPIC  PARTITION  MEMBER  COMMITTED  END  LAG\n"
      "  ('-': no owner, or nothing committed)");

  o = std::make_shared<GroupOptions>();
  cmd = AddCommand(group, run, "reset-offsets",
                   "Plans, and with --execute makes, a move of a group's committed offsets: for "
                   "every partition of --topic, or those given with --partition. Prints group, "
                   "topic, partition, current and new offset. Only while the group has no "
                   "members.",
                   o, GroupResetOffsets);
  cmd->add_option("group", o->group, "the group")->required();
  cmd->add_option("-t,--topic", o->topic, "the topic whose offsets to reset")->required();
  cmd->add_option("-p,--partition", o->partitions, "only this partition (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(kPartitionNumber);
  cmd->add_flag("--to-earliest", o->to_earliest, "to each partition's log start offset");
  cmd->add_flag("--to-latest", o->to_latest,
                "to each partition's end offset (skip everything stored)");
  o->to_offset_given =
      cmd->add_option("--to-offset", o->to_offset, "to offset N")->check(kNonNegative);
  o->to_timestamp_given =
      cmd->add_option("--to-timestamp", o->to_timestamp,
                      "to the first record with timestamp >= MS (ms since the epoch)")
          ->check(kNonNegative);
  CLI::Option* execute = cmd->add_flag("--execute", o->execute, "commit the new offsets");
  cmd->add_flag("--dry-run", o->dry_run, "only print the plan (the default)")->excludes(execute);
  cmd->footer(
      "Example:\n"
      "  ferryctl group reset-offsets billing --topic orders --to-earliest            # plan\n"
      "  ferryctl group reset-offsets billing --topic orders --to-earliest --execute  # do it");

  o = std::make_shared<GroupOptions>();
  cmd = AddCommand(group, run, "delete",
                   "Deletes a group and its committed offsets. Only while the group has no "
                   "members.",
                   o, GroupDelete);
  cmd->add_option("group", o->group, "the group")->required();
}

}  // namespace ferry::ctl
