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
#include "server/security/scram.h"

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

  struct AuthAnswer {
    int16_t error = -100;
    std::string message = "no answer";
    std::string bytes;
  };
  // SaslAuthenticate v1 carrying `token`: its error code, message and the server's bytes.
  AuthAnswer Authenticate(KafkaConn* conn, const std::string& token) {
    std::string body;
    Writer(&body).BytesField(token);
    auto answer = conn->Call(kSaslAuthenticateKey, 1, body);
    if (!answer.has_value()) return {};
    Reader r(*answer);
    AuthAnswer out;
    out.error = r.Int16();
    out.message = std::string(r.NullableString().value_or(""));
    out.bytes = std::string(r.BytesField());
    r.Int64();  // session_lifetime_ms
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
    return out;
  }

  // SaslAuthenticate v1 with PLAIN's token for `user`/`password`: its error code and message.
  std::pair<int16_t, std::string> Plain(KafkaConn* conn, const std::string& user,
                                        const std::string& password) {
    AuthAnswer a =
        Authenticate(conn, std::string(1, '\0') + user + std::string(1, '\0') + password);
    return {a.error, a.message};
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

// The client's final SCRAM-SHA-256 message answering `server_first` for `client_first_bare`.
std::string ScramFinal(const std::string& client_first_bare, const std::string& server_first,
                       const std::string& password) {
  namespace scram = security::scram_internal;
  using security::ScramMechanism;
  constexpr ScramMechanism m = ScramMechanism::kSha256;
  const size_t s_at = server_first.find(",s="), i_at = server_first.find(",i=");
  if (s_at == std::string::npos || i_at == std::string::npos) return "unparsable server-first";
  const std::string nonce = server_first.substr(2, s_at - 2);
  const std::string salt =
      scram::Base64Decode(server_first.substr(s_at + 3, i_at - s_at - 3)).value_or("");
  const int iterations = std::stoi(server_first.substr(i_at + 3));
  const std::string without_proof = "c=biws,r=" + nonce;
  const std::string salted = scram::SaltedPassword(m, password, salt, iterations);
  const std::string client_key = scram::Hmac(m, salted, "Client Key");
  const std::string auth = client_first_bare + "," + server_first + "," + without_proof;
  const std::string sig = scram::Hmac(m, scram::Hash(m, client_key), auth);
  std::string proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= sig[i];
  return without_proof + ",p=" + scram::Base64Encode(proof);
}

// Bad SASL input fails the connection it came on, and only that one: an exchange begun without
// a handshake, an oversized token, garbage, a SCRAM exchange cut off half way, and a SCRAM final
// message replayed onto another connection's exchange.
TEST_F(KafkaSaslTest, BadSaslInputFailsOnlyItsConnection) {
  KafkaConn early;
  ASSERT_TRUE(Connect(&early));
  EXPECT_EQ(Plain(&early, "alice", "wonderland").first, error::kIllegalSaslState)
      << "SaslAuthenticate before SaslHandshake";
  EXPECT_TRUE(early.ClosedByPeer());

  KafkaConn oversized;
  ASSERT_TRUE(Connect(&oversized));
  ASSERT_EQ(Handshake(&oversized, "PLAIN"), error::kNone);
  AuthAnswer big = Authenticate(&oversized, std::string(9000, 'a'));
  EXPECT_EQ(big.error, error::kSaslAuthenticationFailed);
  EXPECT_NE(big.message.find("9000 bytes"), std::string::npos) << big.message;
  EXPECT_TRUE(oversized.ClosedByPeer());

  KafkaConn garbage;
  ASSERT_TRUE(Connect(&garbage));
  ASSERT_EQ(Handshake(&garbage, "SCRAM-SHA-256"), error::kNone);
  EXPECT_EQ(Authenticate(&garbage, "\x16\x03\x01 not scram").error,
            error::kSaslAuthenticationFailed);
  EXPECT_TRUE(garbage.ClosedByPeer());

  // A whole SCRAM-SHA-256 exchange over the door, kept to replay its final message.
  const std::string bare = "n=alice,r=rOprNGfwEbeRWgbNEkqO";
  KafkaConn scram;
  ASSERT_TRUE(Connect(&scram));
  ASSERT_EQ(Handshake(&scram, "SCRAM-SHA-256"), error::kNone);
  AuthAnswer first = Authenticate(&scram, "n,," + bare);
  ASSERT_EQ(first.error, error::kNone) << first.message;
  const std::string final_message = ScramFinal(bare, first.bytes, "wonderland");
  AuthAnswer last = Authenticate(&scram, final_message);
  ASSERT_EQ(last.error, error::kNone) << last.message;
  EXPECT_EQ(last.bytes.rfind("v=", 0), 0u) << "the server's signature: " << last.bytes;
  EXPECT_EQ(Produce(&scram, "orders"), error::kTopicAuthorizationFailed)
      << "authenticated as alice, who has no ACL";

  KafkaConn cut;
  ASSERT_TRUE(Connect(&cut));
  ASSERT_EQ(Handshake(&cut, "SCRAM-SHA-256"), error::kNone);
  ASSERT_EQ(Authenticate(&cut, "n,," + bare).error, error::kNone);
  cut.Close();  // gone after the server's first message

  KafkaConn replay;
  ASSERT_TRUE(Connect(&replay));
  ASSERT_EQ(Handshake(&replay, "SCRAM-SHA-256"), error::kNone);
  AuthAnswer replay_first = Authenticate(&replay, "n,," + bare);
  ASSERT_EQ(replay_first.error, error::kNone);
  EXPECT_NE(replay_first.bytes, first.bytes) << "each exchange gets its own server nonce";
  EXPECT_EQ(Authenticate(&replay, final_message).error, error::kSaslAuthenticationFailed)
      << "a final message from another exchange";
  EXPECT_TRUE(replay.ClosedByPeer());

  // None of that touched anyone else: the authenticated connection still works, a new one logs in.
  std::vector<std::pair<std::string, int16_t>> none = Metadata(&scram, std::nullopt);
  EXPECT_TRUE(none.empty());
  KafkaConn fresh;
  EXPECT_TRUE(Login(&fresh, "alice", "wonderland"));
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
