// SASL and ACLs on the Kafka door against the real ferryd, with a raw-socket client: a
// SASL_PLAINTEXT listener (PLAIN allowed there by --sasl-plain-without-tls; SCRAM is exercised by
// the unit tests and by real clients in kafka_sasl_clients), the authorizer on, users from
// --users-file. What a Kafka client relies on:
//   - before authenticating only ApiVersions, SaslHandshake and SaslAuthenticate are served; any
//     other request closes the connection;
//   - an unknown mechanism answers UNSUPPORTED_SASL_MECHANISM with the enabled ones; a wrong
//     password answers SASL_AUTHENTICATION_FAILED and closes the connection;
//   - once authenticated, the ACLs decide: Produce, Fetch, Metadata and FindCoordinator answer
//     TOPIC_/GROUP_AUTHORIZATION_FAILED until an ACL allows, and Metadata lists only the topics
//     the principal may describe; an ACL created while connected applies to the next request.
// The gRPC door is plaintext and anonymous here; User:ANONYMOUS is a super user so the test sets
// topics and ACLs up through it.
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"
#include "kafka/compressed_batch.h"
#include "kafka/kafka_conn.h"
#include "kafka/kafka_requests.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using ktest::KafkaConn;

constexpr int16_t kSaslHandshakeKey = 17;
constexpr int16_t kSaslAuthenticateKey = 36;

class KafkaSaslTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string users = ferryd_.dir() + "/users";
    std::ofstream(users) << "alice:wonderland\nbob:builder\n";
    ASSERT_TRUE(ferryd_.Start({"--kafka-listen=SASL_PLAINTEXT://127.0.0.1:0", "--authorizer=acl",
                               "--super-users=User:ANONYMOUS", "--users-file=" + users,
                               "--sasl-plain-without-tls", "--log-level=debug"}));
    admin_ = ferryd_.admin();
    ASSERT_TRUE(integration::CreateTopic(*admin_, "orders", 1).ok());
  }

  bool Connect(KafkaConn* conn) { return conn->Connect(ferryd_.kafka_ports().at(0)); }

  // SaslHandshake v1 for `mechanism`: its error code; `mechanisms` gets the enabled ones.
  int16_t Handshake(KafkaConn* conn, const std::string& mechanism,
                    std::vector<std::string>* mechanisms = nullptr) {
    std::string body;
    Writer(&body).String(mechanism);
    auto answer = conn->Call(kSaslHandshakeKey, 1, body);
    if (!answer.has_value()) return -100;
    Reader r(*answer);
    const int16_t error = r.Int16();
    const int32_t n = r.ArrayCount();
    for (int32_t i = 0; i < n; ++i) {
      std::string_view m = r.String();
      if (mechanisms != nullptr) mechanisms->emplace_back(m);
    }
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
    return error;
  }

  // SaslAuthenticate v1 with PLAIN's token for `user`/`password`: its error code and message.
  std::pair<int16_t, std::string> Plain(KafkaConn* conn, const std::string& user,
                                        const std::string& password) {
    std::string token = std::string(1, '\0') + user + std::string(1, '\0') + password;
    std::string body;
    Writer(&body).BytesField(token);
    auto answer = conn->Call(kSaslAuthenticateKey, 1, body);
    if (!answer.has_value()) return {-100, "no answer"};
    Reader r(*answer);
    const int16_t error = r.Int16();
    const std::string message(r.NullableString().value_or(""));
    r.BytesField();
    r.Int64();  // session_lifetime_ms
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
    return {error, message};
  }

  // A connection authenticated as `user` with PLAIN.
  bool Login(KafkaConn* conn, const std::string& user, const std::string& password) {
    if (!Connect(conn) || Handshake(conn, "PLAIN") != error::kNone) return false;
    return Plain(conn, user, password).first == error::kNone;
  }

  int16_t Produce(KafkaConn* conn, const std::string& topic) {
    auto answer =
        conn->Call(kProduce, 3,
                   ktest::ProduceBody(3, topic, 0, ktest::ValuesBatch({"v1", "v2"}, Codec::kNone)));
    if (!answer.has_value()) return -100;
    return ktest::ParseProduce(3, *answer).error;
  }

  // Fetch v4 of partition 0 from offset 0, not waiting: the partition's error code.
  int16_t Fetch(KafkaConn* conn, const std::string& topic) {
    std::string body;
    Writer w(&body);
    w.Int32(-1);
    w.Int32(0);
    w.Int32(0);
    w.Int32(1 << 20);
    w.Int8(0);
    w.ArrayCount(1);
    w.String(topic);
    w.ArrayCount(1);
    w.Int32(0);
    w.Int64(0);
    w.Int32(1 << 20);
    auto answer = conn->Call(kFetch, 4, body);
    if (!answer.has_value()) return -100;
    Reader r(*answer);
    r.Int32();
    EXPECT_EQ(r.ArrayCount(), 1);
    r.String();
    EXPECT_EQ(r.ArrayCount(), 1);
    r.Int32();
    const int16_t error = r.Int16();
    EXPECT_TRUE(r.ok()) << r.error();
    return error;
  }

  // Metadata v1 of every topic (null list): the topics listed, with their error codes.
  std::vector<std::pair<std::string, int16_t>> Metadata(KafkaConn* conn,
                                                        std::optional<std::string> topic) {
    std::string body;
    Writer w(&body);
    if (topic.has_value()) {
      w.ArrayCount(1);
      w.String(*topic);
    } else {
      w.Int32(-1);
    }
    std::vector<std::pair<std::string, int16_t>> out;
    auto answer = conn->Call(kMetadata, 1, body);
    if (!answer.has_value()) return {{"no answer", -100}};
    Reader r(*answer);
    const int32_t brokers = r.ArrayCount();
    for (int32_t i = 0; i < brokers; ++i) {
      r.Int32();
      r.String();
      r.Int32();
      r.NullableString();
    }
    r.Int32();  // controller
    const int32_t topics = r.ArrayCount();
    for (int32_t i = 0; i < topics; ++i) {
      const int16_t error = r.Int16();
      const std::string name(r.String());
      r.Bool();
      const int32_t partitions = r.ArrayCount();
      for (int32_t p = 0; p < partitions; ++p) {
        r.Int16();
        r.Int32();
        r.Int32();
        for (int replicas = 0; replicas < 2; ++replicas) {
          const int32_t n = r.ArrayCount(0);
          for (int32_t k = 0; k < n; ++k) r.Int32();
        }
      }
      out.emplace_back(name, error);
    }
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
    return out;
  }

  // FindCoordinator v1 of group `group`: its error code.
  int16_t FindGroupCoordinator(KafkaConn* conn, const std::string& group) {
    std::string body;
    Writer w(&body);
    w.String(group);
    w.Int8(0);
    auto answer = conn->Call(kFindCoordinator, 1, body);
    if (!answer.has_value()) return -100;
    Reader r(*answer);
    r.Int32();
    return r.Int16();
  }

  void Allow(const std::string& type, const std::string& name, const std::string& principal,
             const std::string& operation) {
    v1::CreateAclsRequest request;
    v1::AclBinding* b = request.add_acls();
    b->set_resource_type(type);
    b->set_resource_name(name);
    b->set_principal(principal);
    b->set_operation(operation);
    b->set_permission("allow");
    v1::CreateAclsResponse response;
    grpc::ClientContext context;
    integration::SetDeadline(&context, absl::Seconds(10));
    grpc::Status s = admin_->CreateAcls(&context, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  FerrydProcess ferryd_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

TEST_F(KafkaSaslTest, OnlyTheSaslApisAreServedBeforeAuthentication) {
  KafkaConn conn;
  ASSERT_TRUE(Connect(&conn));
  auto versions = conn.Call(kApiVersions, 1, "");
  ASSERT_TRUE(versions.has_value()) << "ApiVersions comes before the handshake";
  conn.Send(kMetadata, 1, std::string("\xff\xff\xff\xff", 4));
  EXPECT_TRUE(conn.ClosedByPeer()) << "Metadata before authenticating closes the connection";
}

TEST_F(KafkaSaslTest, UnknownMechanismAndWrongPasswordAreRefused) {
  KafkaConn unknown;
  ASSERT_TRUE(Connect(&unknown));
  std::vector<std::string> enabled;
  EXPECT_EQ(Handshake(&unknown, "GSSAPI", &enabled), error::kUnsupportedSaslMechanism);
  EXPECT_EQ(enabled, (std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"}));
  EXPECT_TRUE(unknown.ClosedByPeer());

  KafkaConn wrong;
  ASSERT_TRUE(Connect(&wrong));
  ASSERT_EQ(Handshake(&wrong, "PLAIN"), error::kNone);
  auto [code, message] = Plain(&wrong, "alice", "looking-glass");
  EXPECT_EQ(code, error::kSaslAuthenticationFailed);
  EXPECT_FALSE(message.empty());
  EXPECT_EQ(message.find("looking-glass"), std::string::npos) << "the password is not echoed";
  EXPECT_TRUE(wrong.ClosedByPeer());

  KafkaConn nobody;
  ASSERT_TRUE(Connect(&nobody));
  ASSERT_EQ(Handshake(&nobody, "PLAIN"), error::kNone);
  auto [nobody_code, nobody_message] = Plain(&nobody, "mallory", "wonderland");
  EXPECT_EQ(nobody_code, error::kSaslAuthenticationFailed);
  EXPECT_EQ(nobody_message, message) << "an unknown user reads as a wrong password";

  KafkaConn twice;
  ASSERT_TRUE(Login(&twice, "alice", "wonderland"));
  EXPECT_EQ(Handshake(&twice, "PLAIN"), error::kIllegalSaslState);
  EXPECT_TRUE(twice.ClosedByPeer());
}

TEST_F(KafkaSaslTest, AclsDecideWhatAnAuthenticatedPrincipalMayDo) {
  ASSERT_TRUE(integration::CreateTopic(*admin_, "secret", 1).ok());
  KafkaConn alice;
  ASSERT_TRUE(Login(&alice, "alice", "wonderland"));
  EXPECT_EQ(Produce(&alice, "orders"), error::kTopicAuthorizationFailed);
  EXPECT_EQ(Fetch(&alice, "orders"), error::kTopicAuthorizationFailed);
  EXPECT_TRUE(Metadata(&alice, std::nullopt).empty()) << "no topic alice may describe";
  EXPECT_EQ(
      Metadata(&alice, "orders"),
      (std::vector<std::pair<std::string, int16_t>>{{"orders", error::kTopicAuthorizationFailed}}));
  EXPECT_EQ(FindGroupCoordinator(&alice, "billing"), error::kGroupAuthorizationFailed);

  // Write implies Describe; Read on the topic and the group lets alice consume as billing.
  Allow("topic", "orders", "User:alice", "write");
  EXPECT_EQ(Produce(&alice, "orders"), error::kNone) << "the new ACL applies at once";
  EXPECT_EQ(Metadata(&alice, std::nullopt),
            (std::vector<std::pair<std::string, int16_t>>{{"orders", error::kNone}}))
      << "only the topic alice may describe is listed, not secret";
  EXPECT_EQ(Fetch(&alice, "orders"), error::kTopicAuthorizationFailed) << "Write is not Read";
  Allow("topic", "orders", "User:alice", "read");
  Allow("group", "billing", "User:alice", "read");
  EXPECT_EQ(Fetch(&alice, "orders"), error::kNone);
  EXPECT_EQ(FindGroupCoordinator(&alice, "billing"), error::kNone);

  // bob, authenticated on the same listener, still may do none of it.
  KafkaConn bob;
  ASSERT_TRUE(Login(&bob, "bob", "builder"));
  EXPECT_EQ(Produce(&bob, "orders"), error::kTopicAuthorizationFailed);
  EXPECT_EQ(FindGroupCoordinator(&bob, "billing"), error::kGroupAuthorizationFailed);
  EXPECT_EQ(Produce(&bob, "secret"), error::kTopicAuthorizationFailed);
}

}  // namespace
}  // namespace ferry::kafka
