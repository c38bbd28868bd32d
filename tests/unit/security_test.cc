// The engine's security: Kafka's ACL rules, SCRAM against RFC 7677's vector, the PLAIN and
// SCRAM exchanges as a client drives them, and users and ACLs surviving a reopen of the store.
#include "server/security/security.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/security/acl.h"
#include "server/security/sasl_server.h"
#include "server/security/scram.h"
#include "storage/store.h"
#include "temp_dir.h"

namespace ferry::security {
namespace {

using namespace scram_internal;  // NOLINT(build/namespaces)

AclBinding Acl(Permission perm, std::string principal, Operation op, ResourceType type,
               std::string name, PatternType pattern = PatternType::kLiteral,
               std::string host = "*") {
  AclBinding b;
  b.permission = perm;
  b.principal = std::move(principal);
  b.operation = op;
  b.resource_type = type;
  b.resource_name = std::move(name);
  b.pattern_type = pattern;
  b.host = std::move(host);
  return b;
}

std::unique_ptr<Security> InMemory(bool allow_if_no_acl = false,
                                   std::string super_users = "User:root") {
  auto o = ParseSecurityFlags("acl", super_users, allow_if_no_acl);
  EXPECT_TRUE(o.ok()) << o.status();
  auto s = Security::Open(nullptr, *o);
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

const Principal kAlice = UserPrincipal("alice");
const Principal kBob = UserPrincipal("bob");

TEST(AuthorizerTest, NothingIsAllowedWithoutAnAclUnlessConfigured) {
  auto strict = InMemory(false);
  EXPECT_FALSE(strict->Authorize(kAlice, "1.2.3.4", Operation::kWrite, ResourceType::kTopic, "t"));
  auto open = InMemory(true);
  EXPECT_TRUE(open->Authorize(kAlice, "1.2.3.4", Operation::kWrite, ResourceType::kTopic, "t"));
  // Once any ACL names the resource, only its bindings decide.
  ASSERT_TRUE(open->CreateAcl(Acl(Permission::kAllow, "User:bob", Operation::kRead,
                                  ResourceType::kTopic, "t"))
                  .ok());
  EXPECT_FALSE(open->Authorize(kAlice, "h", Operation::kWrite, ResourceType::kTopic, "t"));
  EXPECT_TRUE(open->Authorize(kAlice, "h", Operation::kWrite, ResourceType::kTopic, "other"));
}

TEST(AuthorizerTest, AllowDenyImpliedPrefixedWildcardHostAndSuperUsers) {
  auto s = InMemory();
  ASSERT_TRUE(s->CreateAcl(Acl(Permission::kAllow, "User:alice", Operation::kWrite,
                               ResourceType::kTopic, "orders"))
                  .ok());
  EXPECT_TRUE(s->Authorize(kAlice, "h", Operation::kWrite, ResourceType::kTopic, "orders"));
  EXPECT_TRUE(s->Authorize(kAlice, "h", Operation::kDescribe, ResourceType::kTopic, "orders"))
      << "write implies describe";
  EXPECT_FALSE(s->Authorize(kAlice, "h", Operation::kRead, ResourceType::kTopic, "orders"));
  EXPECT_FALSE(s->Authorize(kBob, "h", Operation::kWrite, ResourceType::kTopic, "orders"));
  EXPECT_FALSE(s->Authorize(kAlice, "h", Operation::kWrite, ResourceType::kTopic, "orders2"));
  EXPECT_FALSE(s->Authorize(kAlice, "h", Operation::kWrite, ResourceType::kGroup, "orders"));

  // Prefixed.
  ASSERT_TRUE(s->CreateAcl(Acl(Permission::kAllow, "User:bob", Operation::kAll,
                               ResourceType::kTopic, "logs.", PatternType::kPrefixed))
                  .ok());
  EXPECT_TRUE(s->Authorize(kBob, "h", Operation::kDelete, ResourceType::kTopic, "logs.app"));
  EXPECT_FALSE(s->Authorize(kBob, "h", Operation::kDelete, ResourceType::kTopic, "logs"));

  // Deny beats allow, even a wildcard principal's deny against a named allow.
  ASSERT_TRUE(s->CreateAcl(Acl(Permission::kDeny, "User:*", Operation::kWrite, ResourceType::kTopic,
                               "logs.secret", PatternType::kLiteral))
                  .ok());
  EXPECT_FALSE(s->Authorize(kBob, "h", Operation::kWrite, ResourceType::kTopic, "logs.secret"));
  EXPECT_TRUE(s->Authorize(kBob, "h", Operation::kRead, ResourceType::kTopic, "logs.secret"));

  // A deny of READ does not deny DESCRIBE (implication is for allows only), as in Kafka.
  ASSERT_TRUE(s->CreateAcl(Acl(Permission::kDeny, "User:bob", Operation::kRead,
                               ResourceType::kTopic, "logs.x"))
                  .ok());
  EXPECT_FALSE(s->Authorize(kBob, "h", Operation::kRead, ResourceType::kTopic, "logs.x"));
  EXPECT_TRUE(s->Authorize(kBob, "h", Operation::kDescribe, ResourceType::kTopic, "logs.x"));

  // Host-bound allow; literal "*" names every topic.
  ASSERT_TRUE(s->CreateAcl(Acl(Permission::kAllow, "User:carol", Operation::kRead,
                               ResourceType::kTopic, "*", PatternType::kLiteral, "10.0.0.1"))
                  .ok());
  EXPECT_TRUE(s->Authorize(UserPrincipal("carol"), "10.0.0.1", Operation::kRead,
                           ResourceType::kTopic, "z"));
  EXPECT_FALSE(s->Authorize(UserPrincipal("carol"), "10.0.0.2", Operation::kRead,
                            ResourceType::kTopic, "z"));

  // AlterConfigs implies DescribeConfigs.
  ASSERT_TRUE(s->CreateAcl(Acl(Permission::kAllow, "User:dave", Operation::kAlterConfigs,
                               ResourceType::kTopic, "cfg"))
                  .ok());
  EXPECT_TRUE(s->Authorize(UserPrincipal("dave"), "h", Operation::kDescribeConfigs,
                           ResourceType::kTopic, "cfg"));

  // Super users pass everything, even a deny.
  ASSERT_TRUE(s->CreateAcl(Acl(Permission::kDeny, "User:root", Operation::kAll,
                               ResourceType::kCluster, std::string(kClusterName)))
                  .ok());
  EXPECT_TRUE(s->Authorize(UserPrincipal("root"), "h", Operation::kAlter, ResourceType::kCluster,
                           kClusterName));
}

TEST(AuthorizerTest, OffAllowsEverything) {
  auto s = Security::Open(nullptr, SecurityOptions{});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->Authorize(kAlice, "h", Operation::kDelete, ResourceType::kTopic, "x"));
}

TEST(AclTest, FiltersSelectBindingsAndDeleteRemovesOnlyThose) {
  auto s = InMemory();
  ASSERT_TRUE(s->CreateAcl(Acl(Permission::kAllow, "User:a", Operation::kRead, ResourceType::kTopic,
                               "orders"))
                  .ok());
  ASSERT_TRUE(s->CreateAcl(Acl(Permission::kAllow, "User:a", Operation::kRead, ResourceType::kTopic,
                               "ord", PatternType::kPrefixed))
                  .ok());
  ASSERT_TRUE(
      s->CreateAcl(Acl(Permission::kAllow, "User:b", Operation::kRead, ResourceType::kGroup, "g"))
          .ok());
  // Idempotent.
  ASSERT_TRUE(
      s->CreateAcl(Acl(Permission::kAllow, "User:b", Operation::kRead, ResourceType::kGroup, "g"))
          .ok());
  EXPECT_EQ(s->DescribeAcls(AclFilter{}).size(), 3u);
  AclFilter match;
  match.resource_type = ResourceType::kTopic;
  match.resource_name = "orders";
  match.pattern_type = PatternType::kMatch;
  EXPECT_EQ(s->DescribeAcls(match).size(), 2u);
  AclFilter literal = match;
  literal.pattern_type = PatternType::kLiteral;
  EXPECT_EQ(s->DescribeAcls(literal).size(), 1u);
  AclFilter by_principal;
  by_principal.principal = "User:b";
  auto removed = s->DeleteAcls(by_principal);
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0].resource_type, ResourceType::kGroup);
  EXPECT_EQ(s->DescribeAcls(AclFilter{}).size(), 2u);
}

TEST(AclTest, BadBindingsAreRefused) {
  auto s = InMemory();
  EXPECT_EQ(
      s->CreateAcl(Acl(Permission::kAny, "User:a", Operation::kRead, ResourceType::kTopic, "t"))
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      s->CreateAcl(Acl(Permission::kAllow, "User:a", Operation::kAny, ResourceType::kTopic, "t"))
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      s->CreateAcl(Acl(Permission::kAllow, "alice", Operation::kRead, ResourceType::kTopic, "t"))
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s->CreateAcl(Acl(Permission::kAllow, "User:a", Operation::kRead, ResourceType::kCluster,
                             "other"))
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      s->CreateAcl(Acl(Permission::kAllow, "User:a", Operation::kRead, ResourceType::kTopic, ""))
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(s->DescribeAcls(AclFilter{}).empty());
  EXPECT_FALSE(ParseSecurityFlags("maybe", "", false).ok());
  EXPECT_FALSE(ParseSecurityFlags("acl", "User:", false).ok());
}

TEST(AclTest, NamesRoundTrip) {
  EXPECT_EQ(ParseOperation("describe_configs"), Operation::kDescribeConfigs);
  EXPECT_EQ(ParseOperation("DescribeConfigs"), Operation::kDescribeConfigs);
  EXPECT_EQ(ParseOperation("IDEMPOTENT-WRITE"), Operation::kIdempotentWrite);
  EXPECT_EQ(ParseResourceType("transactional-id"), ResourceType::kTransactionalId);
  EXPECT_EQ(ParsePatternType("PREFIXED"), PatternType::kPrefixed);
  EXPECT_EQ(ParsePermission("deny"), Permission::kDeny);
  EXPECT_FALSE(ParseOperation("fly").has_value());
  const AclBinding b = Acl(Permission::kDeny, "User:x", Operation::kAlter, ResourceType::kGroup,
                           "g.", PatternType::kPrefixed, "10.1.1.1");
  auto back = DecodeBinding(EncodeBinding(b));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, b);
  EXPECT_FALSE(DecodeBinding("garbage").has_value());
}

// RFC 7677's SCRAM-SHA-256 example: user "user", password "pencil".
TEST(ScramTest, Rfc7677Vector) {
  const std::string salt = *Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  const std::string salted = SaltedPassword(ScramMechanism::kSha256, "pencil", salt, 4096);
  const std::string client_first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
  const std::string server_first =
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  const std::string final_without_proof =
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const std::string auth = client_first_bare + "," + server_first + "," + final_without_proof;
  const std::string client_key = Hmac(ScramMechanism::kSha256, salted, "Client Key");
  const std::string stored_key = Hash(ScramMechanism::kSha256, client_key);
  std::string proof = client_key;
  const std::string sig = Hmac(ScramMechanism::kSha256, stored_key, auth);
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= sig[i];
  EXPECT_EQ(Base64Encode(proof), "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  const std::string server_key = Hmac(ScramMechanism::kSha256, salted, "Server Key");
  EXPECT_EQ(Base64Encode(Hmac(ScramMechanism::kSha256, server_key, auth)),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");

  auto c = CredentialFromSaltedPassword(ScramMechanism::kSha256, salt, salted, 4096);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->stored_key, stored_key);
  EXPECT_TRUE(CheckPassword(*c, "pencil"));
  EXPECT_FALSE(CheckPassword(*c, "pencil2"));
}

TEST(ScramTest, CredentialsRoundTripAndBoundsAreKafkas) {
  auto c = MakeScramCredential(ScramMechanism::kSha512, "s3cret", 4096);
  ASSERT_TRUE(c.ok());
  auto back = DecodeCredential(EncodeCredential(*c));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->stored_key, c->stored_key);
  EXPECT_TRUE(CheckPassword(*back, "s3cret"));
  EXPECT_FALSE(MakeScramCredential(ScramMechanism::kSha256, "x", 4095).ok());
  EXPECT_FALSE(MakeScramCredential(ScramMechanism::kSha256, "x", 16385).ok());
  EXPECT_FALSE(MakeScramCredential(ScramMechanism::kSha256, "", 4096).ok());
  EXPECT_EQ(Base64Decode("Zm9vYg=="), "foob");
  EXPECT_FALSE(Base64Decode("Zm9").has_value());
  EXPECT_FALSE(Base64Decode("Zm9!").has_value());
}

// A SCRAM client as Kafka clients do it, returning the exchange's outcome.
struct ClientRun {
  absl::Status status;
  std::string server_final;
};
ClientRun ScramLogin(Security& s, ScramMechanism m, const std::string& user,
                     const std::string& password, bool tamper_nonce = false) {
  std::unique_ptr<SaslServer> server = s.NewSaslServer(MechanismName(m));
  const std::string cnonce = "fyko+d2lbbFgONRv9qkxdawL";
  const std::string bare = "n=" + user + ",r=" + cnonce;
  auto first = server->Evaluate("n,," + bare);
  if (!first.ok()) return {first.status(), ""};
  // r=...,s=...,i=...
  const std::string& sf = first->challenge;
  const size_t s_at = sf.find(",s="), i_at = sf.find(",i=");
  std::string nonce = sf.substr(2, s_at - 2);
  const std::string salt = *Base64Decode(sf.substr(s_at + 3, i_at - s_at - 3));
  const int iterations = std::stoi(sf.substr(i_at + 3));
  if (tamper_nonce) nonce += "x";
  // librdkafka repeats its own nonce in front of the server's, which Kafka accepts.
  if (!tamper_nonce && m == ScramMechanism::kSha512) nonce = cnonce + nonce;
  const std::string without_proof = "c=biws,r=" + nonce;
  const std::string salted = SaltedPassword(m, password, salt, iterations);
  const std::string client_key = Hmac(m, salted, "Client Key");
  const std::string auth = bare + "," + sf + "," + without_proof;
  const std::string sig = Hmac(m, Hash(m, client_key), auth);
  std::string proof = client_key;
  for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= sig[i];
  auto fin = server->Evaluate(without_proof + ",p=" + Base64Encode(proof));
  if (!fin.ok()) return {fin.status(), ""};
  EXPECT_TRUE(fin->done);
  EXPECT_EQ(server->user(), user);
  const std::string expected = "v=" + Base64Encode(Hmac(m, Hmac(m, salted, "Server Key"), auth));
  EXPECT_EQ(fin->challenge, expected) << "the server proves it knows the credential";
  // Nothing after done.
  EXPECT_FALSE(server->Evaluate("more").ok());
  return {absl::OkStatus(), fin->challenge};
}

TEST(SaslTest, ScramBothMechanismsRightAndWrongPasswordsUnknownUser) {
  auto s = InMemory();
  ASSERT_TRUE(s->SetPassword("alice", "wonderland").ok());
  for (ScramMechanism m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    SCOPED_TRACE(std::string(MechanismName(m)));
    EXPECT_TRUE(ScramLogin(*s, m, "alice", "wonderland").status.ok());
    EXPECT_EQ(ScramLogin(*s, m, "alice", "wrong").status.code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(ScramLogin(*s, m, "nobody", "wonderland").status.code(),
              absl::StatusCode::kUnauthenticated)
        << "an unknown user fails like a wrong password, at the proof";
    EXPECT_EQ(ScramLogin(*s, m, "alice", "wonderland", /*tamper_nonce=*/true).status.code(),
              absl::StatusCode::kInvalidArgument);
  }
  // Only SHA-512 for bob: SHA-256 fails.
  ASSERT_TRUE(s->SetPassword("bob", "builder", {ScramMechanism::kSha512}).ok());
  EXPECT_FALSE(ScramLogin(*s, ScramMechanism::kSha256, "bob", "builder").status.ok());
  EXPECT_TRUE(ScramLogin(*s, ScramMechanism::kSha512, "bob", "builder").status.ok());
}

TEST(SaslTest, ScramRefusesMalformedAndReplayedMessages) {
  auto s = InMemory();
  ASSERT_TRUE(s->SetPassword("alice", "wonderland").ok());
  for (const std::string& bad :
       {std::string(""), std::string("garbage"), std::string("p=tls-unique,,n=alice,r=x"),
        std::string("n,,r=abc"), std::string("n,,n=alice"), std::string("n,,n=al=ZZice,r=x"),
        std::string("n,a=bob,n=alice,r=x"), std::string(9000, 'n'),
        std::string("n,,n=alice,r=x,tokenauth=true")}) {
    auto server = s->NewSaslServer("SCRAM-SHA-256");
    EXPECT_FALSE(server->Evaluate(bad).ok()) << bad.substr(0, 40);
    EXPECT_FALSE(server->Evaluate("n,,n=alice,r=abc").ok()) << "a failed exchange stays failed";
  }
  // A final message replayed from another exchange: its nonce is not this server's.
  auto server = s->NewSaslServer("SCRAM-SHA-256");
  ASSERT_TRUE(server->Evaluate("n,,n=alice,r=abc").ok());
  EXPECT_EQ(server->Evaluate("c=biws,r=abcOTHER,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s->NewSaslServer("GSSAPI"), nullptr);
}

TEST(SaslTest, Plain) {
  auto s = InMemory();
  ASSERT_TRUE(s->SetPassword("alice", "wonderland").ok());
  auto ok = s->NewSaslServer("PLAIN");
  auto step = ok->Evaluate(std::string("\0alice\0wonderland", 17));
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->done);
  EXPECT_EQ(ok->user(), "alice");
  EXPECT_EQ(s->NewSaslServer("PLAIN")->Evaluate(std::string("\0alice\0nope", 11)).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(s->NewSaslServer("PLAIN")
                ->Evaluate(std::string("bob\0alice\0wonderland", 20))
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(s->NewSaslServer("PLAIN")->Evaluate("no separators").status().code(),
            absl::StatusCode::kInvalidArgument);
  // The verified-password cache forgets a changed password.
  EXPECT_TRUE(s->CheckPassword("alice", "wonderland"));
  EXPECT_TRUE(s->CheckPassword("alice", "wonderland"));
  ASSERT_TRUE(s->SetPassword("alice", "looking-glass").ok());
  EXPECT_FALSE(s->CheckPassword("alice", "wonderland"));
  EXPECT_TRUE(s->CheckPassword("alice", "looking-glass"));
  ASSERT_TRUE(s->DeleteUser("alice").ok());
  EXPECT_FALSE(s->CheckPassword("alice", "looking-glass"));
}

TEST(SecurityStoreTest, UsersAndAclsSurviveAReopen) {
  testing::TempDir dir;
  storage::StoreOptions so;
  so.data_dir = dir.path() + "/db";
  auto opts = ParseSecurityFlags("acl", "", false);
  ASSERT_TRUE(opts.ok());
  {
    auto store = storage::Store::Open(so);
    ASSERT_TRUE(store.ok()) << store.status();
    auto s = Security::Open(store->get(), *opts);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->SetPassword("alice", "wonderland").ok());
    ASSERT_TRUE((*s)->SetPassword("bob", "builder").ok());
    ASSERT_TRUE((*s)->DeleteCredential("bob", ScramMechanism::kSha256).ok());
    ASSERT_TRUE((*s)->SetPassword("carol", "x").ok());
    ASSERT_TRUE((*s)->DeleteUser("carol").ok());
    EXPECT_EQ((*s)->DeleteUser("carol").code(), absl::StatusCode::kNotFound);
    ASSERT_TRUE((*s)->CreateAcl(Acl(Permission::kAllow, "User:alice", Operation::kWrite,
                                    ResourceType::kTopic, "orders"))
                    .ok());
    ASSERT_TRUE((*s)->CreateAcl(Acl(Permission::kDeny, "User:bob", Operation::kRead,
                                    ResourceType::kTopic, "orders"))
                    .ok());
    AclFilter deny;
    deny.permission = Permission::kDeny;
    ASSERT_TRUE((*s)->DeleteAcls(deny).ok());
  }
  auto store = storage::Store::Open(so);
  ASSERT_TRUE(store.ok()) << store.status();
  auto s = Security::Open(store->get(), *opts);
  ASSERT_TRUE(s.ok()) << s.status();
  const auto users = (*s)->Users();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_EQ(users[0].credentials.size(), 2u);
  EXPECT_EQ(users[1].name, "bob");
  ASSERT_EQ(users[1].credentials.size(), 1u);
  EXPECT_EQ(users[1].credentials[0].first, ScramMechanism::kSha512);
  EXPECT_TRUE((*s)->CheckPassword("alice", "wonderland"));
  EXPECT_TRUE((*s)->CheckPassword("bob", "builder"));
  const auto acls = (*s)->DescribeAcls(AclFilter{});
  ASSERT_EQ(acls.size(), 1u);
  EXPECT_EQ(acls[0].principal, "User:alice");
  EXPECT_TRUE((*s)->Authorize(kAlice, "h", Operation::kWrite, ResourceType::kTopic, "orders"));
  // The topic catalog is untouched by the security records beside it.
  EXPECT_TRUE((*store)->ListTopics().empty());
}

}  // namespace
}  // namespace ferry::security
