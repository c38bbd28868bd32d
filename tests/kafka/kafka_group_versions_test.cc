// Every served version of the group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, DescribeGroups, ListGroups, OffsetCommit, OffsetFetch, DeleteGroups and
// OffsetDelete) against a real ferryd: each request is encoded here in that version, from
// Kafka's message schemas, and each answer decoded in that version, field by field, to its
// last byte. Then a join/sync/heartbeat/commit/fetch/leave cycle in the highest versions.
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "kafka/kafka_conn.h"
#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/records.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using ktest::KafkaConn;

constexpr char kTopic[] = "versions-topic";  // auto-created: 3 partitions

// The highest version of `key` Ferry serves.
int16_t MaxVersion(int16_t key) {
  const ApiEntry* api = FindApi(key);
  return api == nullptr ? -1 : api->max_version;
}

// A request body writer in the form of `key` at `version`.
struct Body {
  Body(int16_t key, int16_t version) : w(&bytes, IsFlexibleVersion(key, version)) {}
  std::string bytes;
  Writer w;
};

// A response body reader in the form of `key` at `version`.
Reader ResponseReader(int16_t key, int16_t version, const std::string& body) {
  return Reader(body, IsFlexibleVersion(key, version));
}

void ExpectConsumed(const Reader& r, const std::string& what) {
  EXPECT_TRUE(r.ok()) << what << ": " << r.error();
  EXPECT_EQ(r.remaining(), 0u) << what << ": bytes left over";
}

std::string SubscriptionBytes(const std::vector<std::string>& topics) {
  std::string out;
  Writer w(&out);
  w.Int16(0);
  w.ArrayCount(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) w.String(t);
  w.BytesField("");
  return out;
}

// A ConsumerProtocolAssignment's partitions of `topic`.
std::vector<int32_t> AssignedPartitions(std::string_view assignment, const std::string& topic) {
  std::vector<int32_t> out;
  Reader r(assignment);
  r.Int16();
  const int32_t n = r.ArrayCount();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    const std::string name(r.String());
    const int32_t np = r.ArrayCount();
    for (int32_t j = 0; j < np && r.ok(); ++j) {
      const int32_t p = r.Int32();
      if (name == topic) out.push_back(p);
    }
  }
  r.NullableBytes();
  EXPECT_TRUE(r.ok()) << r.error();
  return out;
}

struct Joined {
  int16_t error = -100;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  int32_t members = -1;
};

struct Synced {
  int16_t error = -100;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
};

struct Described {
  struct Member {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    std::string metadata;
    std::string assignment;
  };
  int16_t error = -100;
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol;
  std::vector<Member> members;
  int32_t authorized_operations = 0;
};

struct Fetched {
  int32_t partition = -1;
  int64_t offset = -2;
  int32_t leader_epoch = 0;
  std::optional<std::string> metadata;
  int16_t error = -100;
};

struct FetchedGroup {
  std::string group_id;
  std::vector<std::pair<std::string, std::vector<Fetched>>> topics;
  int16_t error = -100;
};

class KafkaGroupVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ferryd_.Start({"--log-level=debug"}));
    port_ = ferryd_.kafka_port();
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(conn_.Connect(port_));
    Produce(kTopic, 0, 10);
  }

  std::string Call(int16_t key, int16_t version, const Body& body) {
    auto got = conn_.Call(key, version, body.bytes);
    EXPECT_TRUE(got.has_value()) << ApiName(key) << " v" << version << " got no answer";
    return got.value_or("");
  }

  // Produces `count` records to topic/partition (auto-creating the topic).
  void Produce(const std::string& topic, int32_t partition, int count) {
    Body m(kMetadata, 0);  // v0 creates the topic (Produce never does)
    m.w.ArrayCount(1);
    m.w.String(topic);
    Call(kMetadata, 0, m);
    std::vector<FetchedRecord> records(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      records[i].fields.value = "v";
      records[i].offset = i;
    }
    std::string batch;
    EncodeRecordBatch(records, &batch);
    Body b(kProduce, 3);
    b.w.NullableString(std::nullopt);
    b.w.Int16(-1);
    b.w.Int32(10000);
    b.w.ArrayCount(1);
    b.w.String(topic);
    b.w.ArrayCount(1);
    b.w.Int32(partition);
    b.w.BytesField(batch);
    const std::string body = Call(kProduce, 3, b);
    Reader r(body);
    EXPECT_EQ(r.ArrayCount(), 1);
    r.String();
    EXPECT_EQ(r.ArrayCount(), 1);
    r.Int32();
    EXPECT_EQ(r.Int16(), 0) << "produce to " << topic;
  }

  Joined JoinGroup(int16_t v, const std::string& group, const std::string& member_id,
                   const std::optional<std::string>& instance_id = std::nullopt,
                   const std::string& protocol = "range") {
    return ReceiveJoin(conn_, v, SendJoin(conn_, v, group, member_id, instance_id, protocol));
  }

  // JoinGroup's request on `c`, and its answer: apart, for joins that wait for each other at
  // the group's barrier.
  int32_t SendJoin(KafkaConn& c, int16_t v, const std::string& group, const std::string& member_id,
                   const std::optional<std::string>& instance_id = std::nullopt,
                   const std::string& protocol = "range") {
    Body b(kJoinGroup, v);
    b.w.String(group);
    b.w.Int32(10000);              // session timeout
    if (v >= 1) b.w.Int32(10000);  // rebalance timeout
    b.w.String(member_id);
    if (v >= 5) b.w.NullableString(instance_id);
    b.w.String("consumer");
    b.w.ArrayCount(1);
    b.w.String(protocol);
    b.w.BytesField(SubscriptionBytes({kTopic}));
    b.w.TaggedFields();
    b.w.TaggedFields();
    return c.Send(kJoinGroup, v, b.bytes);
  }

  Joined ReceiveJoin(KafkaConn& c, int16_t v, int32_t correlation) {
    const std::string body = c.Receive(correlation, IsFlexibleVersion(kJoinGroup, v)).value_or("");
    Reader r = ResponseReader(kJoinGroup, v, body);
    Joined j;
    if (v >= 2) {
      EXPECT_EQ(r.Int32(), 0);  // throttle time
    }
    j.error = r.Int16();
    j.generation = r.Int32();
    if (v >= 7) {
      j.protocol_type = OptStr(r.NullableString());
      j.protocol_name = OptStr(r.NullableString());
    } else {
      j.protocol_name = Str(r.String());
    }
    j.leader = Str(r.String());
    j.member_id = Str(r.String());
    j.members = r.ArrayCount();
    for (int32_t i = 0; i < j.members && r.ok(); ++i) {
      r.String();
      if (v >= 5) r.NullableString();
      r.BytesField();
      r.TaggedFields();
    }
    r.TaggedFields();
    ExpectConsumed(r, absl::StrCat("JoinGroup v", v));
    return j;
  }

  // A member of `group`: JoinGroup at `v`, with the MEMBER_ID_REQUIRED round from v4 when
  // it has no instance id.
  Joined JoinNewMember(int16_t v, const std::string& group,
                       const std::optional<std::string>& instance_id = std::nullopt) {
    Joined j = JoinGroup(v, group, "", instance_id);
    if (v >= 4 && !instance_id.has_value()) {
      EXPECT_EQ(j.error, error::kMemberIdRequired) << "JoinGroup v" << v;
      EXPECT_FALSE(j.member_id.empty());
      EXPECT_EQ(j.generation, -1);
      if (v >= 7) {
        EXPECT_FALSE(j.protocol_type.has_value());
        EXPECT_FALSE(j.protocol_name.has_value());
      }
      j = JoinGroup(v, group, j.member_id, instance_id);
    }
    EXPECT_EQ(j.error, 0) << "JoinGroup v" << v;
    return j;
  }

  Synced SyncGroup(int16_t v, const std::string& group, int32_t generation,
                   const std::string& member_id,
                   const std::optional<std::string>& protocol_type = std::nullopt,
                   const std::optional<std::string>& protocol_name = std::nullopt) {
    Body b(kSyncGroup, v);
    b.w.String(group);
    b.w.Int32(generation);
    b.w.String(member_id);
    if (v >= 3) b.w.NullableString(std::nullopt);  // group instance id
    if (v >= 5) {
      b.w.NullableString(protocol_type);
      b.w.NullableString(protocol_name);
    }
    b.w.ArrayCount(0);  // a follower assigns nothing
    b.w.TaggedFields();
    const std::string body = Call(kSyncGroup, v, b);
    Reader r = ResponseReader(kSyncGroup, v, body);
    Synced s;
    if (v >= 1) {
      EXPECT_EQ(r.Int32(), 0);
    }
    s.error = r.Int16();
    if (v >= 5) {
      s.protocol_type = OptStr(r.NullableString());
      s.protocol_name = OptStr(r.NullableString());
    }
    s.assignment = Str(r.BytesField());
    r.TaggedFields();
    ExpectConsumed(r, absl::StrCat("SyncGroup v", v));
    return s;
  }

  int16_t Heartbeat(int16_t v, const std::string& group, int32_t generation,
                    const std::string& member_id) {
    Body b(kHeartbeat, v);
    b.w.String(group);
    b.w.Int32(generation);
    b.w.String(member_id);
    if (v >= 3) b.w.NullableString(std::nullopt);
    b.w.TaggedFields();
    const std::string body = Call(kHeartbeat, v, b);
    Reader r = ResponseReader(kHeartbeat, v, body);
    if (v >= 1) {
      EXPECT_EQ(r.Int32(), 0);
    }
    const int16_t code = r.Int16();
    r.TaggedFields();
    ExpectConsumed(r, absl::StrCat("Heartbeat v", v));
    return code;
  }

  // LeaveGroup: v0-2 leave `members[0].first`; v3+ the batch (member id, instance id). Returns
  // the top-level error and, from v3, each member's (member id, instance id, error).
  std::pair<int16_t, std::vector<std::tuple<std::string, std::optional<std::string>, int16_t>>>
  LeaveGroup(int16_t v, const std::string& group,
             const std::vector<std::pair<std::string, std::optional<std::string>>>& members) {
    Body b(kLeaveGroup, v);
    b.w.String(group);
    if (v <= 2) {
      b.w.String(members.at(0).first);
    } else {
      b.w.ArrayCount(static_cast<int32_t>(members.size()));
      for (const auto& [id, instance] : members) {
        b.w.String(id);
        b.w.NullableString(instance);
        b.w.TaggedFields();
      }
    }
    b.w.TaggedFields();
    const std::string body = Call(kLeaveGroup, v, b);
    Reader r = ResponseReader(kLeaveGroup, v, body);
    if (v >= 1) {
      EXPECT_EQ(r.Int32(), 0);
    }
    const int16_t code = r.Int16();
    std::vector<std::tuple<std::string, std::optional<std::string>, int16_t>> out;
    if (v >= 3) {
      const int32_t n = r.ArrayCount();
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        std::string id = Str(r.String());
        std::optional<std::string> instance = OptStr(r.NullableString());
        const int16_t member_code = r.Int16();
        r.TaggedFields();
        out.emplace_back(std::move(id), std::move(instance), member_code);
      }
    }
    r.TaggedFields();
    ExpectConsumed(r, absl::StrCat("LeaveGroup v", v));
    return {code, out};
  }

  std::vector<Described> DescribeGroups(int16_t v, const std::vector<std::string>& groups,
                                        bool include_operations) {
    Body b(kDescribeGroups, v);
    b.w.ArrayCount(static_cast<int32_t>(groups.size()));
    for (const auto& g : groups) b.w.String(g);
    if (v >= 3) b.w.Bool(include_operations);
    b.w.TaggedFields();
    const std::string body = Call(kDescribeGroups, v, b);
    Reader r = ResponseReader(kDescribeGroups, v, body);
    if (v >= 1) {
      EXPECT_EQ(r.Int32(), 0);
    }
    std::vector<Described> out;
    const int32_t n = r.ArrayCount();
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      Described d;
      d.error = r.Int16();
      d.group_id = Str(r.String());
      d.state = Str(r.String());
      d.protocol_type = Str(r.String());
      d.protocol = Str(r.String());
      const int32_t nm = r.ArrayCount();
      for (int32_t j = 0; j < nm && r.ok(); ++j) {
        Described::Member m;
        m.member_id = Str(r.String());
        if (v >= 4) m.instance_id = OptStr(r.NullableString());
        m.client_id = Str(r.String());
        m.client_host = Str(r.String());
        m.metadata = Str(r.BytesField());
        m.assignment = Str(r.BytesField());
        r.TaggedFields();
        d.members.push_back(std::move(m));
      }
      if (v >= 3) d.authorized_operations = r.Int32();
      r.TaggedFields();
      out.push_back(std::move(d));
    }
    r.TaggedFields();
    ExpectConsumed(r, absl::StrCat("DescribeGroups v", v));
    return out;
  }

  // (group id, protocol type, state (v4+)) of every listed group.
  std::vector<std::tuple<std::string, std::string, std::string>> ListGroups(
      int16_t v, const std::vector<std::string>& states = {}) {
    Body b(kListGroups, v);
    if (v >= 4) {
      b.w.ArrayCount(static_cast<int32_t>(states.size()));
      for (const auto& s : states) b.w.String(s);
    }
    b.w.TaggedFields();
    const std::string body = Call(kListGroups, v, b);
    Reader r = ResponseReader(kListGroups, v, body);
    if (v >= 1) {
      EXPECT_EQ(r.Int32(), 0);
    }
    EXPECT_EQ(r.Int16(), 0);
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    const int32_t n = r.ArrayCount();
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      std::string id = Str(r.String());
      std::string type = Str(r.String());
      std::string state = v >= 4 ? Str(r.String()) : "";
      r.TaggedFields();
      out.emplace_back(std::move(id), std::move(type), std::move(state));
    }
    r.TaggedFields();
    ExpectConsumed(r, absl::StrCat("ListGroups v", v));
    return out;
  }

  // Commits offset/metadata of `partitions` of kTopic; returns each partition's error.
  std::vector<int16_t> OffsetCommit(int16_t v, const std::string& group, int32_t generation,
                                    const std::string& member_id,
                                    const std::vector<int32_t>& partitions, int64_t offset,
                                    const std::string& metadata) {
    Body b(kOffsetCommit, v);
    b.w.String(group);
    if (v >= 1) {
      b.w.Int32(generation);
      b.w.String(member_id);
    }
    if (v >= 7) b.w.NullableString(std::nullopt);  // group instance id
    if (v >= 2 && v <= 4) b.w.Int64(-1);           // retention time
    b.w.ArrayCount(1);
    b.w.String(kTopic);
    b.w.ArrayCount(static_cast<int32_t>(partitions.size()));
    for (int32_t p : partitions) {
      b.w.Int32(p);
      b.w.Int64(offset);
      if (v >= 6) b.w.Int32(-1);  // leader epoch
      if (v == 1) b.w.Int64(-1);  // commit timestamp
      b.w.NullableString(metadata);
      b.w.TaggedFields();
    }
    b.w.TaggedFields();
    b.w.TaggedFields();
    const std::string body = Call(kOffsetCommit, v, b);
    Reader r = ResponseReader(kOffsetCommit, v, body);
    if (v >= 3) {
      EXPECT_EQ(r.Int32(), 0);
    }
    std::vector<int16_t> codes;
    EXPECT_EQ(r.ArrayCount(), 1);
    EXPECT_EQ(r.String(), kTopic);
    const int32_t n = r.ArrayCount();
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      EXPECT_EQ(r.Int32(), partitions[i]);
      codes.push_back(r.Int16());
      r.TaggedFields();
    }
    r.TaggedFields();
    r.TaggedFields();
    ExpectConsumed(r, absl::StrCat("OffsetCommit v", v));
    return codes;
  }

  // OffsetFetch of kTopic's `partitions` (nullopt: null topics, every committed partition) of
  // each group; v0-7 take one group.
  std::vector<FetchedGroup> OffsetFetch(
      int16_t v,
      const std::vector<std::pair<std::string, std::optional<std::vector<int32_t>>>>& groups) {
    Body b(kOffsetFetch, v);
    const auto write_topics = [&](const std::optional<std::vector<int32_t>>& partitions) {
      if (!partitions.has_value()) {
        b.w.NullArray();
        return;
      }
      b.w.ArrayCount(1);
      b.w.String(kTopic);
      b.w.ArrayCount(static_cast<int32_t>(partitions->size()));
      for (int32_t p : *partitions) b.w.Int32(p);
      b.w.TaggedFields();
    };
    if (v <= 7) {
      b.w.String(groups.at(0).first);
      write_topics(groups.at(0).second);
    } else {
      b.w.ArrayCount(static_cast<int32_t>(groups.size()));
      for (const auto& [group, partitions] : groups) {
        b.w.String(group);
        write_topics(partitions);
        b.w.TaggedFields();
      }
    }
    if (v >= 7) b.w.Bool(true);  // require stable
    b.w.TaggedFields();
    const std::string body = Call(kOffsetFetch, v, b);
    Reader r = ResponseReader(kOffsetFetch, v, body);
    if (v >= 3) {
      EXPECT_EQ(r.Int32(), 0);
    }
    const auto read_topics = [&](FetchedGroup& g) {
      const int32_t nt = r.ArrayCount();
      for (int32_t i = 0; i < nt && r.ok(); ++i) {
        auto& [name, partitions] = g.topics.emplace_back();
        name = Str(r.String());
        const int32_t np = r.ArrayCount();
        for (int32_t j = 0; j < np && r.ok(); ++j) {
          Fetched f;
          f.partition = r.Int32();
          f.offset = r.Int64();
          if (v >= 5) f.leader_epoch = r.Int32();
          f.metadata = OptStr(r.NullableString());
          f.error = r.Int16();
          r.TaggedFields();
          partitions.push_back(std::move(f));
        }
        r.TaggedFields();
      }
    };
    std::vector<FetchedGroup> out;
    if (v <= 7) {
      FetchedGroup& g = out.emplace_back();
      g.group_id = groups.at(0).first;
      read_topics(g);
      g.error = v >= 2 ? r.Int16() : 0;
    } else {
      const int32_t n = r.ArrayCount();
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        FetchedGroup& g = out.emplace_back();
        g.group_id = Str(r.String());
        read_topics(g);
        g.error = r.Int16();
        r.TaggedFields();
      }
    }
    r.TaggedFields();
    ExpectConsumed(r, absl::StrCat("OffsetFetch v", v));
    return out;
  }

  FerrydProcess ferryd_;
  int port_ = 0;
  KafkaConn conn_;
};

TEST_F(KafkaGroupVersionsTest, ServesTheVersionsKafkaClientsNegotiate) {
  EXPECT_GE(MaxVersion(kOffsetCommit), 8);
  EXPECT_GE(MaxVersion(kOffsetFetch), 8);
  EXPECT_GE(MaxVersion(kFindCoordinator), 4);
  EXPECT_GE(MaxVersion(kJoinGroup), 7);
  EXPECT_GE(MaxVersion(kSyncGroup), 5);
  EXPECT_GE(MaxVersion(kHeartbeat), 4);
  EXPECT_GE(MaxVersion(kLeaveGroup), 4);
  EXPECT_GE(MaxVersion(kDescribeGroups), 5);
  EXPECT_GE(MaxVersion(kListGroups), 4);
  EXPECT_EQ(MaxVersion(kDeleteGroups), 2);
  EXPECT_EQ(MaxVersion(kOffsetDelete), 0);
}

TEST_F(KafkaGroupVersionsTest, FindCoordinatorEveryVersion) {
  for (int16_t v = 0; v <= MaxVersion(kFindCoordinator); ++v) {
    SCOPED_TRACE(absl::StrCat("FindCoordinator v", v));
    Body b(kFindCoordinator, v);
    if (v <= 3) b.w.String("fc-group");
    if (v >= 1) b.w.Int8(0);
    if (v >= 4) {
      b.w.ArrayCount(2);
      b.w.String("fc-group");
      b.w.String("");  // not a valid group id
    }
    b.w.TaggedFields();
    const std::string body = Call(kFindCoordinator, v, b);
    Reader r = ResponseReader(kFindCoordinator, v, body);
    if (v >= 1) {
      EXPECT_EQ(r.Int32(), 0);
    }
    if (v <= 3) {
      EXPECT_EQ(r.Int16(), 0);
      if (v >= 1) {
        EXPECT_FALSE(r.NullableString().has_value());
      }
      EXPECT_EQ(r.Int32(), kNodeId);
      EXPECT_FALSE(r.String().empty());
      EXPECT_EQ(r.Int32(), port_);
    } else {
      EXPECT_EQ(r.ArrayCount(), 2);
      EXPECT_EQ(r.String(), "fc-group");
      EXPECT_EQ(r.Int32(), kNodeId);
      EXPECT_FALSE(r.String().empty());
      EXPECT_EQ(r.Int32(), port_);
      EXPECT_EQ(r.Int16(), 0);
      EXPECT_FALSE(r.NullableString().has_value());
      r.TaggedFields();
      EXPECT_EQ(r.String(), "");
      r.Int32();
      r.String();
      r.Int32();
      EXPECT_EQ(r.Int16(), error::kInvalidGroupId);
      EXPECT_TRUE(r.NullableString().has_value());
      r.TaggedFields();
    }
    r.TaggedFields();
    ExpectConsumed(r, "FindCoordinator");
  }
  // A transaction coordinator: Ferry has none, and says so in a code clients take as fatal.
  Body b(kFindCoordinator, 4);
  b.w.Int8(1);
  b.w.ArrayCount(1);
  b.w.String("txn");
  b.w.TaggedFields();
  const std::string body = Call(kFindCoordinator, 4, b);
  Reader r = ResponseReader(kFindCoordinator, 4, body);
  r.Int32();
  EXPECT_EQ(r.ArrayCount(), 1);
  EXPECT_EQ(r.String(), "txn");
  r.Int32();
  r.String();
  r.Int32();
  EXPECT_EQ(r.Int16(), error::kTransactionalIdAuthorizationFailed);
}

TEST_F(KafkaGroupVersionsTest, JoinGroupEveryVersion) {
  for (int16_t v = 0; v <= MaxVersion(kJoinGroup); ++v) {
    SCOPED_TRACE(absl::StrCat("JoinGroup v", v));
    const std::string group = absl::StrCat("join-v", v);
    const Joined j = JoinNewMember(v, group);
    EXPECT_EQ(j.generation, 1);
    EXPECT_EQ(j.leader, "ferry-coordinator");  // every Kafka member follows
    EXPECT_FALSE(j.member_id.empty());
    EXPECT_EQ(j.protocol_name, "range");
    if (v >= 7) {
      EXPECT_EQ(j.protocol_type, "consumer");
    }
    EXPECT_EQ(j.members, 0);
    // The member's rejoin keeps its id and the generation (nothing changed).
    const Joined again = JoinGroup(v, group, j.member_id);
    EXPECT_EQ(again.error, 0);
    EXPECT_EQ(again.member_id, j.member_id);
    EXPECT_EQ(again.generation, 1);
    // A member id nobody was given is unknown.
    EXPECT_EQ(JoinGroup(v, group, "forged-id").error, error::kUnknownMemberId);
  }
}

TEST_F(KafkaGroupVersionsTest, MemberIdRequiredHoldsNoBarrier) {
  // v4+: the id MEMBER_ID_REQUIRED hands out is no member until it joins with it, so a client
  // that never comes back does not hold up the group.
  Joined first = JoinGroup(4, "pending-group", "");
  ASSERT_EQ(first.error, error::kMemberIdRequired);
  const Joined member = JoinNewMember(4, "pending-group");
  EXPECT_EQ(member.generation, 1);
  EXPECT_NE(member.member_id, first.member_id);
  auto described = DescribeGroups(0, {"pending-group"}, false);
  ASSERT_EQ(described.size(), 1u);
  ASSERT_EQ(described[0].members.size(), 1u);
  EXPECT_EQ(described[0].members[0].member_id, member.member_id);
  EXPECT_EQ(described[0].state, "Stable");
  // The reserved id still joins (a second member: the generation moves on).
  const Joined late = JoinGroup(4, "pending-group", first.member_id);
  EXPECT_EQ(late.error, 0);
  EXPECT_EQ(late.member_id, first.member_id);
}

TEST_F(KafkaGroupVersionsTest, StaticMemberJoinsDirectlyAndIsDescribed) {
  for (int16_t v = 5; v <= MaxVersion(kJoinGroup); ++v) {
    SCOPED_TRACE(absl::StrCat("JoinGroup v", v));
    const std::string group = absl::StrCat("static-v", v);
    const Joined j = JoinGroup(v, group, "", "instance-1");
    ASSERT_EQ(j.error, 0);  // no MEMBER_ID_REQUIRED round for a static member
    // The same instance coming back without its member id keeps it.
    const Joined back = JoinGroup(v, group, "", "instance-1");
    EXPECT_EQ(back.error, 0);
    EXPECT_EQ(back.member_id, j.member_id);
    EXPECT_EQ(back.generation, j.generation);
    for (int16_t dv = 0; dv <= MaxVersion(kDescribeGroups); ++dv) {
      auto d = DescribeGroups(dv, {group}, true);
      ASSERT_EQ(d.size(), 1u);
      ASSERT_EQ(d[0].members.size(), 1u);
      EXPECT_EQ(d[0].members[0].member_id, j.member_id);
      if (dv >= 4) {
        EXPECT_EQ(d[0].members[0].instance_id, "instance-1");
      }
    }
  }
}

TEST_F(KafkaGroupVersionsTest, SyncGroupAndHeartbeatEveryVersion) {
  const Joined j = JoinNewMember(MaxVersion(kJoinGroup), "sync-group");
  for (int16_t v = 0; v <= MaxVersion(kSyncGroup); ++v) {
    SCOPED_TRACE(absl::StrCat("SyncGroup v", v));
    const Synced s =
        v >= 5 ? SyncGroup(v, "sync-group", j.generation, j.member_id, "consumer", "range")
               : SyncGroup(v, "sync-group", j.generation, j.member_id);
    EXPECT_EQ(s.error, 0);
    EXPECT_EQ(AssignedPartitions(s.assignment, kTopic), (std::vector<int32_t>{0, 1, 2}));
    if (v >= 5) {
      EXPECT_EQ(s.protocol_type, "consumer");
      EXPECT_EQ(s.protocol_name, "range");
    }
    EXPECT_EQ(SyncGroup(v, "sync-group", j.generation + 5, j.member_id).error,
              error::kRebalanceInProgress);
    EXPECT_EQ(SyncGroup(v, "sync-group", j.generation, "nobody").error, error::kUnknownMemberId);
  }
  // v5 checks the protocol the member names.
  EXPECT_EQ(SyncGroup(5, "sync-group", j.generation, j.member_id, "connect", "range").error,
            error::kInconsistentGroupProtocol);
  EXPECT_EQ(SyncGroup(5, "sync-group", j.generation, j.member_id, "consumer", "bogus").error,
            error::kInconsistentGroupProtocol);
  EXPECT_EQ(SyncGroup(5, "sync-group", j.generation, j.member_id, std::nullopt, std::nullopt).error,
            0);
  for (int16_t v = 0; v <= MaxVersion(kHeartbeat); ++v) {
    SCOPED_TRACE(absl::StrCat("Heartbeat v", v));
    EXPECT_EQ(Heartbeat(v, "sync-group", j.generation, j.member_id), 0);
    EXPECT_EQ(Heartbeat(v, "sync-group", j.generation, "nobody"), error::kUnknownMemberId);
  }
}

TEST_F(KafkaGroupVersionsTest, OffsetCommitAndFetchEveryVersion) {
  const Joined j = JoinNewMember(MaxVersion(kJoinGroup), "offsets-group");
  ASSERT_EQ(SyncGroup(0, "offsets-group", j.generation, j.member_id).error, 0);
  for (int16_t v = 0; v <= MaxVersion(kOffsetCommit); ++v) {
    SCOPED_TRACE(absl::StrCat("OffsetCommit v", v));
    // v0 has no member: a commit from outside the group protocol, to a group without members.
    const std::string group = v == 0 ? "offsets-standalone" : "offsets-group";
    const std::string metadata = absl::StrCat("m", v);
    EXPECT_EQ(OffsetCommit(v, group, j.generation, j.member_id, {0}, v + 1, metadata),
              std::vector<int16_t>{0});
    if (v >= 1) {
      EXPECT_EQ(OffsetCommit(v, group, j.generation, "nobody", {0}, 1, ""),
                std::vector<int16_t>{error::kUnknownMemberId});
    }
    for (int16_t fv = 0; fv <= MaxVersion(kOffsetFetch); ++fv) {
      SCOPED_TRACE(absl::StrCat("OffsetFetch v", fv));
      auto groups = OffsetFetch(fv, {{group, std::vector<int32_t>{0, 1}}});
      ASSERT_EQ(groups.size(), 1u);
      EXPECT_EQ(groups[0].group_id, group);
      EXPECT_EQ(groups[0].error, 0);
      ASSERT_EQ(groups[0].topics.size(), 1u);
      EXPECT_EQ(groups[0].topics[0].first, kTopic);
      const auto& ps = groups[0].topics[0].second;
      ASSERT_EQ(ps.size(), 2u);
      EXPECT_EQ(ps[0].partition, 0);
      EXPECT_EQ(ps[0].offset, v + 1);
      EXPECT_EQ(ps[0].metadata, metadata);
      EXPECT_EQ(ps[0].error, 0);
      if (fv >= 5) {
        EXPECT_EQ(ps[0].leader_epoch, -1);
      }
      EXPECT_EQ(ps[1].partition, 1);
      EXPECT_EQ(ps[1].offset, -1);  // nothing committed
      if (fv >= 2) {
        // Null topics: every committed partition.
        auto all = OffsetFetch(fv, {{group, std::nullopt}});
        ASSERT_EQ(all.size(), 1u);
        ASSERT_EQ(all[0].topics.size(), 1u);
        ASSERT_EQ(all[0].topics[0].second.size(), 1u);
        EXPECT_EQ(all[0].topics[0].second[0].offset, v + 1);
      }
    }
  }
  // v8: several groups in one request, one of them with null topics.
  auto groups = OffsetFetch(8, {{"offsets-group", std::vector<int32_t>{0}},
                                {"offsets-standalone", std::nullopt},
                                {"offsets-unknown", std::vector<int32_t>{2}}});
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].group_id, "offsets-group");
  EXPECT_EQ(groups[0].topics.at(0).second.at(0).offset, MaxVersion(kOffsetCommit) + 1);
  EXPECT_EQ(groups[1].group_id, "offsets-standalone");
  EXPECT_EQ(groups[1].topics.at(0).second.at(0).offset, 1);
  EXPECT_EQ(groups[2].group_id, "offsets-unknown");
  EXPECT_EQ(groups[2].topics.at(0).second.at(0).offset, -1);
  EXPECT_EQ(groups[2].error, 0);
}

TEST_F(KafkaGroupVersionsTest, LeaveGroupEveryVersion) {
  for (int16_t v = 0; v <= MaxVersion(kLeaveGroup); ++v) {
    SCOPED_TRACE(absl::StrCat("LeaveGroup v", v));
    const std::string group = absl::StrCat("leave-v", v);
    const Joined a = JoinNewMember(MaxVersion(kJoinGroup), group);
    if (v <= 2) {
      auto [code, members] = LeaveGroup(v, group, {{a.member_id, std::nullopt}});
      EXPECT_EQ(code, 0);
      EXPECT_EQ(LeaveGroup(v, group, {{a.member_id, std::nullopt}}).first, error::kUnknownMemberId);
    } else {
      // A batch: a member by id, a static member by its instance id alone, and an unknown one.
      // The static member's join waits at the barrier for the first member's rejoin.
      KafkaConn other;
      ASSERT_TRUE(other.Connect(port_));
      const int16_t jv = MaxVersion(kJoinGroup);
      const int32_t pending = SendJoin(other, jv, group, "", "static-1");
      // Rejoin once the static member is in (its join registered), or it would wait for another.
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      while (DescribeGroups(0, {group}, false).at(0).members.size() < 2 && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(10));
      }
      EXPECT_EQ(JoinGroup(jv, group, a.member_id).error, 0);
      ASSERT_EQ(ReceiveJoin(other, jv, pending).error, 0);
      auto [code, members] = LeaveGroup(
          v, group, {{a.member_id, std::nullopt}, {"", "static-1"}, {"nobody", std::nullopt}});
      EXPECT_EQ(code, 0);
      ASSERT_EQ(members.size(), 3u);
      EXPECT_EQ(std::get<0>(members[0]), a.member_id);
      EXPECT_EQ(std::get<2>(members[0]), 0);
      EXPECT_EQ(std::get<1>(members[1]), "static-1");
      EXPECT_EQ(std::get<2>(members[1]), 0);
      EXPECT_EQ(std::get<0>(members[2]), "nobody");
      EXPECT_EQ(std::get<2>(members[2]), error::kUnknownMemberId);
    }
    auto d = DescribeGroups(0, {group}, false);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_TRUE(d[0].members.empty());
  }
}

TEST_F(KafkaGroupVersionsTest, DescribeAndListGroupsEveryVersion) {
  const Joined j = JoinNewMember(MaxVersion(kJoinGroup), "described");
  ASSERT_EQ(SyncGroup(0, "described", j.generation, j.member_id).error, 0);
  ASSERT_EQ(OffsetCommit(0, "offsets-only", -1, "", {1}, 2, ""), std::vector<int16_t>{0});
  for (int16_t v = 0; v <= MaxVersion(kDescribeGroups); ++v) {
    SCOPED_TRACE(absl::StrCat("DescribeGroups v", v));
    for (bool ops : {false, true}) {
      auto d = DescribeGroups(v, {"described", "never-seen"}, ops);
      ASSERT_EQ(d.size(), 2u);
      EXPECT_EQ(d[0].error, 0);
      EXPECT_EQ(d[0].group_id, "described");
      EXPECT_EQ(d[0].state, "Stable");
      EXPECT_EQ(d[0].protocol_type, "consumer");
      EXPECT_EQ(d[0].protocol, "range");
      ASSERT_EQ(d[0].members.size(), 1u);
      EXPECT_EQ(d[0].members[0].member_id, j.member_id);
      EXPECT_EQ(d[0].members[0].client_id, "it");
      EXPECT_EQ(d[0].members[0].client_host, "/127.0.0.1");
      if (v >= 4) {
        EXPECT_FALSE(d[0].members[0].instance_id.has_value());
      }
      EXPECT_EQ(AssignedPartitions(d[0].members[0].assignment, kTopic),
                (std::vector<int32_t>{0, 1, 2}));
      if (v >= 3) {
        EXPECT_EQ(d[0].authorized_operations, ops ? (1 << 3) | (1 << 6) | (1 << 8) : INT32_MIN);
      }
      EXPECT_EQ(d[1].group_id, "never-seen");
      EXPECT_EQ(d[1].state, "Dead");
      EXPECT_TRUE(d[1].members.empty());
    }
  }
  for (int16_t v = 0; v <= MaxVersion(kListGroups); ++v) {
    SCOPED_TRACE(absl::StrCat("ListGroups v", v));
    auto listed = ListGroups(v);
    bool saw_described = false;
    bool saw_offsets_only = false;
    for (const auto& [id, type, state] : listed) {
      EXPECT_EQ(type, "consumer");
      if (id == "described") {
        saw_described = true;
        if (v >= 4) {
          EXPECT_EQ(state, "Stable");
        }
      }
      if (id == "offsets-only") {
        saw_offsets_only = true;
        if (v >= 4) {
          EXPECT_EQ(state, "Empty");
        }
      }
    }
    EXPECT_TRUE(saw_described);
    EXPECT_TRUE(saw_offsets_only);
  }
  // v4: the states filter.
  auto stable = ListGroups(4, {"Stable"});
  ASSERT_EQ(stable.size(), 1u);
  EXPECT_EQ(std::get<0>(stable[0]), "described");
  auto empty = ListGroups(4, {"empty"});
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(std::get<0>(empty[0]), "offsets-only");
  EXPECT_TRUE(ListGroups(4, {"Dead"}).empty());
}

TEST_F(KafkaGroupVersionsTest, DeleteGroupsEveryVersion) {
  const Joined j = JoinNewMember(MaxVersion(kJoinGroup), "busy");
  ASSERT_EQ(SyncGroup(0, "busy", j.generation, j.member_id).error, 0);
  for (int16_t v = 0; v <= MaxVersion(kDeleteGroups); ++v) {
    SCOPED_TRACE(absl::StrCat("DeleteGroups v", v));
    const std::string idle = absl::StrCat("idle-v", v);
    ASSERT_EQ(OffsetCommit(0, idle, -1, "", {0}, 3, ""), std::vector<int16_t>{0});
    Body b(kDeleteGroups, v);
    b.w.ArrayCount(4);
    for (const char* g : {"busy", "missing", ""}) b.w.String(g);
    b.w.String(idle);
    b.w.TaggedFields();
    const std::string body = Call(kDeleteGroups, v, b);
    Reader r = ResponseReader(kDeleteGroups, v, body);
    EXPECT_EQ(r.Int32(), 0);
    ASSERT_EQ(r.ArrayCount(), 4);
    const std::vector<std::pair<std::string, int16_t>> expected = {
        {"busy", error::kNonEmptyGroup},
        {"missing", error::kGroupIdNotFound},
        {"", error::kInvalidGroupId},
        {idle, error::kNone}};
    for (const auto& [group, code] : expected) {
      EXPECT_EQ(r.String(), group);
      EXPECT_EQ(r.Int16(), code) << group;
      r.TaggedFields();
    }
    r.TaggedFields();
    ExpectConsumed(r, "DeleteGroups");
    auto fetched = OffsetFetch(1, {{idle, std::vector<int32_t>{0}}});
    EXPECT_EQ(fetched.at(0).topics.at(0).second.at(0).offset, -1);  // forgotten
  }
  EXPECT_EQ(Heartbeat(0, "busy", j.generation, j.member_id), 0);  // untouched
}

TEST_F(KafkaGroupVersionsTest, OffsetDeleteV0) {
  Produce("other-topic", 0, 3);
  const auto offset_delete = [&](const std::string& group) {
    Body b(kOffsetDelete, 0);
    b.w.String(group);
    b.w.ArrayCount(2);
    b.w.String(kTopic);
    b.w.ArrayCount(1);
    b.w.Int32(0);
    b.w.String("other-topic");
    b.w.ArrayCount(2);
    b.w.Int32(0);
    b.w.Int32(99);  // no such partition
    const std::string body = Call(kOffsetDelete, 0, b);
    Reader r(body);
    std::pair<int16_t, std::vector<int16_t>> out;
    out.first = r.Int16();
    EXPECT_EQ(r.Int32(), 0);
    const int32_t nt = r.ArrayCount();
    for (int32_t i = 0; i < nt && r.ok(); ++i) {
      r.String();
      const int32_t np = r.ArrayCount();
      for (int32_t j = 0; j < np && r.ok(); ++j) {
        r.Int32();
        out.second.push_back(r.Int16());
      }
    }
    ExpectConsumed(r, "OffsetDelete v0");
    return out;
  };
  EXPECT_EQ(offset_delete("no-such-group").first, error::kGroupIdNotFound);

  const Joined j = JoinNewMember(MaxVersion(kJoinGroup), "od-group");
  ASSERT_EQ(SyncGroup(0, "od-group", j.generation, j.member_id).error, 0);
  ASSERT_EQ(OffsetCommit(2, "od-group", j.generation, j.member_id, {0}, 4, ""),
            std::vector<int16_t>{0});
  auto [code, partitions] = offset_delete("od-group");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(partitions, (std::vector<int16_t>{error::kGroupSubscribedToTopic, error::kNone,
                                              error::kUnknownTopicOrPartition}));
  EXPECT_EQ(OffsetFetch(1, {{"od-group", std::vector<int32_t>{0}}})
                .at(0)
                .topics.at(0)
                .second.at(0)
                .offset,
            4);  // a subscribed topic's offsets stay
  ASSERT_EQ(LeaveGroup(0, "od-group", {{j.member_id, std::nullopt}}).first, 0);
  std::tie(code, partitions) = offset_delete("od-group");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(partitions,
            (std::vector<int16_t>{error::kNone, error::kNone, error::kUnknownTopicOrPartition}));
  EXPECT_EQ(OffsetFetch(1, {{"od-group", std::vector<int32_t>{0}}})
                .at(0)
                .topics.at(0)
                .second.at(0)
                .offset,
            -1);
}

TEST_F(KafkaGroupVersionsTest, CycleInTheHighestVersions) {
  const std::string group = "cycle";
  const Joined j = JoinNewMember(MaxVersion(kJoinGroup), group);
  ASSERT_EQ(j.error, 0);
  const Synced s = SyncGroup(MaxVersion(kSyncGroup), group, j.generation, j.member_id, "consumer",
                             *j.protocol_name);
  ASSERT_EQ(s.error, 0);
  const std::vector<int32_t> mine = AssignedPartitions(s.assignment, kTopic);
  EXPECT_EQ(mine, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(Heartbeat(MaxVersion(kHeartbeat), group, j.generation, j.member_id), 0);
  EXPECT_EQ(
      OffsetCommit(MaxVersion(kOffsetCommit), group, j.generation, j.member_id, mine, 0, "done"),
      (std::vector<int16_t>{0, 0, 0}));
  EXPECT_EQ(
      OffsetCommit(MaxVersion(kOffsetCommit), group, j.generation, j.member_id, {0}, 7, "seven"),
      std::vector<int16_t>{0});
  auto fetched = OffsetFetch(MaxVersion(kOffsetFetch), {{group, mine}});
  ASSERT_EQ(fetched.size(), 1u);
  ASSERT_EQ(fetched[0].topics.size(), 1u);
  const auto& ps = fetched[0].topics[0].second;
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0].offset, 7);
  EXPECT_EQ(ps[0].metadata, "seven");
  EXPECT_EQ(ps[1].offset, 0);
  EXPECT_EQ(ps[1].metadata, "done");
  auto [code, members] = LeaveGroup(MaxVersion(kLeaveGroup), group, {{j.member_id, std::nullopt}});
  EXPECT_EQ(code, 0);
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(std::get<2>(members[0]), 0);
  EXPECT_EQ(Heartbeat(MaxVersion(kHeartbeat), group, j.generation, j.member_id),
            error::kUnknownMemberId);
}

}  // namespace
}  // namespace ferry::kafka
