// topic and group commands: thin wrappers over the Admin service.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/ferryctl/commands.h"
#include "client/ferryctl/errors.h"
#include "client/ferryctl/output.h"

namespace ferry::ctl {
namespace {

std::string Quoted(const std::string& name) { return absl::StrCat("'", name, "'"); }

void PrintOut(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

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

// ---------------------------------------------------------------------------------------------
// topic

absl::Status TopicCreate(Context& ctx, const Args& args) {
  const std::string topic = args.positional()[0];
  v1::CreateTopicRequest request;
  request.set_topic(topic);
  absl::StatusOr<int64_t> partitions = args.GetInt("partitions", 0, 1, INT32_MAX);
  if (!partitions.ok()) return partitions.status();
  request.set_partitions(static_cast<int32_t>(*partitions));
  absl::StatusOr<int64_t> retention_ms = args.GetInt("retention-ms", 0, 0, INT64_MAX);
  if (!retention_ms.ok()) return retention_ms.status();
  absl::StatusOr<int64_t> retention_bytes = args.GetInt("retention-bytes", 0, 0, INT64_MAX);
  if (!retention_bytes.ok()) return retention_bytes.status();
  absl::StatusOr<int64_t> max_record = args.GetInt("max-record-bytes", 0, 0, INT32_MAX);
  if (!max_record.ok()) return max_record.status();
  request.mutable_config()->set_retention_ms(*retention_ms);
  request.mutable_config()->set_retention_bytes(*retention_bytes);
  request.mutable_config()->set_max_record_bytes(static_cast<int32_t>(*max_record));
  v1::CreateTopicResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->CreateTopic(call.get(), request, &response),
                            absl::StrCat("create topic ", Quoted(topic)));
  if (!s.ok()) return s;
  PrintOut(absl::StrCat("Created topic ", Quoted(response.topic().name()), " with ",
                        response.topic().partitions(), " partitions.\n"));
  return absl::OkStatus();
}

absl::Status TopicList(Context& ctx, const Args& /*args*/) {
  v1::ListTopicsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->ListTopics(call.get(), v1::ListTopicsRequest(), &response),
                            "list topics");
  if (!s.ok()) return s;
  Table table({"TOPIC", "PARTITIONS", "RETENTION_MS", "RETENTION_BYTES"});
  for (const v1::TopicInfo& t : response.topics()) {
    table.AddRow({t.name(), absl::StrCat(t.partitions()), OrNone(t.config().retention_ms(), "-"),
                  OrNone(t.config().retention_bytes(), "-")});
  }
  PrintOut(table.Render());
  return absl::OkStatus();
}

absl::Status TopicDescribe(Context& ctx, const Args& args) {
  absl::StatusOr<v1::DescribeTopicResponse> d = ctx.DescribeTopic(args.positional()[0]);
  if (!d.ok()) return d.status();
  const v1::TopicInfo& t = d->topic();
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

absl::Status TopicDelete(Context& ctx, const Args& args) {
  const std::string topic = args.positional()[0];
  v1::DeleteTopicRequest request;
  request.set_topic(topic);
  v1::DeleteTopicResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DeleteTopic(call.get(), request, &response),
                            absl::StrCat("delete topic ", Quoted(topic)));
  if (!s.ok()) return s;
  PrintOut(absl::StrCat("Deleted topic ", Quoted(topic), ".\n"));
  return absl::OkStatus();
}

absl::Status TopicAddPartitions(Context& ctx, const Args& args) {
  const std::string topic = args.positional()[0];
  if (args.Has("partitions") == args.Has("add")) {
    return UsageError("give exactly one of --partitions TOTAL and --add COUNT");
  }
  absl::StatusOr<int64_t> total = args.GetInt("partitions", 0, 1, INT32_MAX);
  if (!total.ok()) return total.status();
  absl::StatusOr<int64_t> add = args.GetInt("add", 0, 1, INT32_MAX);
  if (!add.ok()) return add.status();
  if (args.Has("add")) {
    absl::StatusOr<v1::DescribeTopicResponse> d = ctx.DescribeTopic(topic);
    if (!d.ok()) return d.status();
    total = d->topic().partitions() + *add;
  }
  v1::CreatePartitionsRequest request;
  request.set_topic(topic);
  request.set_partitions(static_cast<int32_t>(*total));
  v1::CreatePartitionsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->CreatePartitions(call.get(), request, &response),
                            absl::StrCat("add partitions to topic ", Quoted(topic)));
  if (!s.ok()) return s;
  PrintOut(absl::StrCat("Topic ", Quoted(topic), " now has ", response.topic().partitions(),
                        " partitions.\n"));
  return absl::OkStatus();
}

absl::Status TopicAlter(Context& ctx, const Args& args) {
  const std::string topic = args.positional()[0];
  v1::AlterTopicConfigRequest request;
  request.set_topic(topic);
  if (args.Has("retention-ms")) {
    absl::StatusOr<int64_t> v = args.GetInt("retention-ms", 0, 0, INT64_MAX);
    if (!v.ok()) return v.status();
    request.set_retention_ms(*v);
  }
  if (args.Has("retention-bytes")) {
    absl::StatusOr<int64_t> v = args.GetInt("retention-bytes", 0, 0, INT64_MAX);
    if (!v.ok()) return v.status();
    request.set_retention_bytes(*v);
  }
  if (args.Has("max-record-bytes")) {
    absl::StatusOr<int64_t> v = args.GetInt("max-record-bytes", 0, 0, INT32_MAX);
    if (!v.ok()) return v.status();
    request.set_max_record_bytes(static_cast<int32_t>(*v));
  }
  if (!request.has_retention_ms() && !request.has_retention_bytes() &&
      !request.has_max_record_bytes()) {
    return UsageError("give at least one of --retention-ms, --retention-bytes, --max-record-bytes");
  }
  request.set_validate_only(args.Has("validate-only"));
  v1::AlterTopicConfigResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->AlterTopicConfig(call.get(), request, &response),
                            absl::StrCat("alter topic ", Quoted(topic)));
  if (!s.ok()) return s;
  const v1::TopicConfig& c = response.topic().config();
  PrintOut(absl::StrCat(request.validate_only() ? "Valid: topic " : "Topic ", Quoted(topic),
                        request.validate_only() ? " would have" : " now has", " retention_ms ",
                        OrNone(c.retention_ms(), "none"), ", retention_bytes ",
                        OrNone(c.retention_bytes(), "none"), ", max_record_bytes ",
                        c.max_record_bytes(), ".\n"));
  return absl::OkStatus();
}

absl::Status TopicDeleteRecords(Context& ctx, const Args& args) {
  const std::string topic = args.positional()[0];
  if (!args.Has("partition") || !args.Has("before")) {
    return UsageError("--partition and --before are required");
  }
  absl::StatusOr<int64_t> partition = args.GetInt("partition", 0, 0, INT32_MAX);
  if (!partition.ok()) return partition.status();
  absl::StatusOr<int64_t> before = args.GetInt("before", 0, -1, INT64_MAX);
  if (!before.ok()) return before.status();
  v1::DeleteRecordsRequest request;
  request.set_topic(topic);
  request.set_partition(static_cast<int32_t>(*partition));
  request.set_before_offset(*before);
  v1::DeleteRecordsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DeleteRecords(call.get(), request, &response),
                            absl::StrCat("delete records of topic ", Quoted(topic)));
  if (!s.ok()) return s;
  PrintOut(absl::StrCat("Topic ", Quoted(topic), " partition ", *partition,
                        " now starts at offset ", response.log_start_offset(), ".\n"));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// group

absl::Status GroupList(Context& ctx, const Args& /*args*/) {
  v1::ListGroupsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->ListGroups(call.get(), v1::ListGroupsRequest(), &response),
                            "list groups");
  if (!s.ok()) return s;
  Table table({"GROUP", "STATE", "MEMBERS"});
  for (const v1::GroupSummary& g : response.groups()) {
    table.AddRow({g.group(), StateName(g.state()), absl::StrCat(g.members())});
  }
  PrintOut(table.Render());
  return absl::OkStatus();
}

absl::Status GroupDescribe(Context& ctx, const Args& args) {
  const std::string group = args.positional()[0];
  v1::DescribeGroupRequest request;
  request.set_group(group);
  v1::DescribeGroupResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DescribeGroup(call.get(), request, &response),
                            absl::StrCat("describe group ", Quoted(group)));
  if (!s.ok()) return s;
  PrintOut(absl::StrCat("group ", response.group(), ": state ", StateName(response.state()),
                        ", generation ", response.generation(), ", members ",
                        response.members_size(), "\n"));
  Table table({"TOPIC", "PARTITION", "MEMBER", "COMMITTED", "END", "LAG"});
  for (const v1::GroupPartitionLag& p : response.partitions()) {
    table.AddRow({p.topic(), absl::StrCat(p.partition()), p.member_id(),
                  p.committed_offset() < 0 ? "-" : absl::StrCat(p.committed_offset()),
                  absl::StrCat(p.end_offset()), absl::StrCat(p.lag())});
  }
  PrintOut(table.Render());
  return absl::OkStatus();
}

absl::Status GroupResetOffsets(Context& ctx, const Args& args) {
  const std::string group = args.positional()[0];
  v1::ResetOffsetsRequest request;
  request.set_group(group);
  if (!args.Has("topic")) return UsageError("--topic is required");
  request.set_topic(args.Get("topic"));
  for (const std::string& p : args.GetAll("partition")) {
    int32_t partition = 0;
    if (!absl::SimpleAtoi(p, &partition) || partition < 0) {
      return UsageError(absl::StrCat("--partition wants a partition number >= 0, got '", p, "'"));
    }
    request.add_partitions(partition);
  }
  int targets = 0;
  if (args.Has("to-earliest")) {
    ++targets;
    request.set_to(v1::START_POSITION_EARLIEST);
  }
  if (args.Has("to-latest")) {
    ++targets;
    request.set_to(v1::START_POSITION_LATEST);
  }
  if (args.Has("to-offset")) {
    ++targets;
    absl::StatusOr<int64_t> offset = args.GetInt("to-offset", 0, 0, INT64_MAX);
    if (!offset.ok()) return offset.status();
    request.set_to(v1::START_POSITION_OFFSET);
    request.set_offset(*offset);
  }
  if (args.Has("to-timestamp")) {
    ++targets;
    absl::StatusOr<int64_t> ts = args.GetInt("to-timestamp", 0, 0, INT64_MAX);
    if (!ts.ok()) return ts.status();
    request.set_to(v1::START_POSITION_TIMESTAMP);
    request.set_timestamp_ms(*ts);
  }
  if (targets != 1) {
    return UsageError(
        "give exactly one of --to-earliest, --to-latest, --to-offset N, --to-timestamp MS");
  }
  v1::ResetOffsetsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->ResetOffsets(call.get(), request, &response),
                            absl::StrCat("reset offsets of group ", Quoted(group)));
  if (!s.ok()) return s;
  Table table({"TOPIC", "PARTITION", "NEW_OFFSET"});
  for (const v1::CommittedOffset& o : response.offsets()) {
    table.AddRow({o.topic(), absl::StrCat(o.partition()), absl::StrCat(o.offset())});
  }
  PrintOut(table.Render());
  return absl::OkStatus();
}

absl::Status GroupDelete(Context& ctx, const Args& args) {
  const std::string group = args.positional()[0];
  v1::DeleteGroupRequest request;
  request.set_group(group);
  v1::DeleteGroupResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DeleteGroup(call.get(), request, &response),
                            absl::StrCat("delete group ", Quoted(group)));
  if (!s.ok()) return s;
  PrintOut(absl::StrCat("Deleted group ", Quoted(group), ".\n"));
  return absl::OkStatus();
}

}  // namespace

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

std::vector<Command> TopicCommands() {
  return {
      {.spec = {.path = "topic create",
                .synopsis = "<topic> [options]",
                .summary = "Creates a topic.",
                .options = {{"partitions", 'p', "N",
                             "partition count (default: the broker's --default-partitions)"},
                            {"retention-ms", 0, "MS",
                             "delete records older than this (default 0: keep)"},
                            {"retention-bytes", 0, "BYTES",
                             "keep at most this many bytes per partition (default 0: no limit)"},
                            {"max-record-bytes", 0, "BYTES",
                             "largest record accepted (default 0: the broker's "
                             "--max-record-bytes)"}},
                .min_args = 1,
                .max_args = 1,
                .details = "Example:\n"
                           "  ferryctl topic create orders --partitions 6 --retention-ms "
                           "604800000\n"},
       .run = TopicCreate},
      {.spec = {.path = "topic list",
                .synopsis = "[options]",
                .summary = "Lists topics with their partition counts and retention."},
       .run = TopicList},
      {.spec = {.path = "topic describe",
                .synopsis = "<topic> [options]",
                .summary =
                    "Shows a topic's configuration and offsets. Per partition: log start offset, "
                    "end offset (the next offset to be written), record count and stored bytes.",
                .min_args = 1,
                .max_args = 1},
       .run = TopicDescribe},
      {.spec = {.path = "topic delete",
                .synopsis = "<topic> [options]",
                .summary = "Deletes a topic and all its records.",
                .min_args = 1,
                .max_args = 1},
       .run = TopicDelete},
      {.spec = {.path = "topic add-partitions",
                .synopsis = "<topic> (--partitions TOTAL | --add COUNT) [options]",
                .summary = "Grows a topic's partition count (it never shrinks). Keyed records "
                           "of existing keys may map to other partitions afterwards.",
                .options = {{"partitions", 'p', "TOTAL", "the new total partition count"},
                            {"add", 0, "COUNT", "how many partitions to add"}},
                .min_args = 1,
                .max_args = 1,
                .details = "Example:\n  ferryctl topic add-partitions orders --add 2\n"},
       .run = TopicAddPartitions},
      {.spec = {.path = "topic alter",
                .synopsis = "<topic> [--retention-ms MS] [--retention-bytes BYTES] "
                            "[--max-record-bytes BYTES] [options]",
                .summary = "Changes a topic's retention or record limit. Only the settings given "
                           "change; 0 sets one back to its default. The change is stored and in "
                           "force at once (a retention pass runs when retention changed).",
                .options = {{"retention-ms", 0, "MS", "delete records older than this (0: keep)"},
                            {"retention-bytes", 0, "BYTES",
                             "keep at most this many bytes per partition (0: no limit)"},
                            {"max-record-bytes", 0, "BYTES",
                             "largest record accepted (0: the broker's --max-record-bytes)"},
                            {"validate-only", 0, "", "check the change, apply nothing"}},
                .min_args = 1,
                .max_args = 1,
                .details = "Example:\n  ferryctl topic alter orders --retention-ms 86400000\n"},
       .run = TopicAlter},
      {.spec = {.path = "topic delete-records",
                .synopsis = "<topic> --partition N --before OFFSET [options]",
                .summary = "Deletes a partition's records below an offset, moving its log start "
                           "offset there (-1: every record).",
                .options = {{"partition", 'p', "N", "the partition (required)"},
                            {"before", 0, "OFFSET",
                             "the new log start offset; -1: the end offset (required)"}},
                .min_args = 1,
                .max_args = 1,
                .details = "Example:\n  ferryctl topic delete-records orders -p 0 --before 100\n"},
       .run = TopicDeleteRecords},
  };
}

std::vector<Command> GroupCommands() {
  return {
      {.spec = {.path = "group list",
                .synopsis = "[options]",
                .summary = "Lists consumer groups with their state and member count."},
       .run = GroupList},
      {.spec = {.path = "group describe",
                .synopsis = "<group> [options]",
                .summary = "Shows a group's state and lag per partition. Per partition: its owner, "
                           "committed offset, end offset and lag (end - committed; end - log start "
                           "when nothing is committed).",
                .min_args = 1,
                .max_args = 1,
                .details = "Output:\n"
                           "  group <group>: state <STATE>, generation <N>, members <N>\n"
                           "  TOPIC  PARTITION  MEMBER  COMMITTED  END  LAG\n"
                           "  ('-': no owner, or nothing committed)\n"},
       .run = GroupDescribe},
      {.spec =
           {.path = "group reset-offsets",
            .synopsis = "<group> --topic TOPIC (--to-earliest | --to-latest | --to-offset N "
                        "| --to-timestamp MS) [options]",
            .summary =
                "Moves a group's committed offsets. It sets them for every partition of --topic, "
                "or those given with --partition. Only while the group has no members.",
            .options = {{"topic", 't', "TOPIC", "the topic whose offsets to reset (required)"},
                        {"partition", 'p', "N", "only this partition (repeatable)"},
                        {"to-earliest", 0, "", "to each partition's log start offset"},
                        {"to-latest", 0, "",
                         "to each partition's end offset (skip everything stored)"},
                        {"to-offset", 0, "N", "to offset N"},
                        {"to-timestamp", 0, "MS",
                         "to the first record with timestamp >= MS (ms since the epoch)"}},
            .min_args = 1,
            .max_args = 1,
            .details = "Example:\n"
                       "  ferryctl group reset-offsets billing --topic orders --to-earliest\n"},
       .run = GroupResetOffsets},
      {.spec = {.path = "group delete",
                .synopsis = "<group> [options]",
                .summary = "Deletes a group and its committed offsets. Only while the group has "
                           "no members.",
                .min_args = 1,
                .max_args = 1},
       .run = GroupDelete},
  };
}

}  // namespace ferry::ctl
