// Authentication and ACLs on the gRPC door against the real ferryd (--authorizer=acl): a
// principal without an ACL is PERMISSION_DENIED and nothing is written (checked as the super
// user), an ACL lets it through, deny beats allow, prefixed patterns, ListTopics filtered, wrong
// passwords UNAUTHENTICATED, passwords over plaintext refused without --sasl-plain-without-tls,
// the principal of an mTLS client certificate's CN, users and ACLs across kill -9.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

using v1::Admin;

// A call context carrying `user`'s Basic credentials (none for an empty user).
std::unique_ptr<grpc::ClientContext> As(const std::string& user, const std::string& password) {
  auto context = std::make_unique<grpc::ClientContext>();
  SetDeadline(context.get(), absl::Seconds(10));
  if (!user.empty()) {
    context->AddMetadata("authorization",
                         "Basic " + absl::Base64Escape(absl::StrCat(user, ":", password)));
  }
  return context;
}

class GrpcAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string users = ferryd_.dir() + "/users";
    std::ofstream(users) << "admin:admin-secret\n";
    ASSERT_TRUE(ferryd_.Start({"--authorizer=acl", "--super-users=User:admin",
                               "--users-file=" + users, "--sasl-plain-without-tls"}));
    admin_ = ferryd_.admin();
    broker_ = ferryd_.broker();
    v1::SetPasswordRequest request;
    request.set_user("bob");
    request.set_password("bob-secret");
    v1::SetPasswordResponse response;
    ASSERT_TRUE(admin_->SetPassword(Admin().get(), request, &response).ok());
    ASSERT_TRUE(response.created());
    v1::CreateTopicRequest create;
    create.set_topic("orders");
    create.set_partitions(1);
    v1::CreateTopicResponse created;
    ASSERT_TRUE(admin_->CreateTopic(Admin().get(), create, &created).ok());
    create.set_topic("secret");
    ASSERT_TRUE(admin_->CreateTopic(Admin().get(), create, &created).ok());
  }

  static std::unique_ptr<grpc::ClientContext> Admin() { return As("admin", "admin-secret"); }
  static std::unique_ptr<grpc::ClientContext> Bob() { return As("bob", "bob-secret"); }

  void Acl(const std::string& permission, const std::string& op, const std::string& type,
           const std::string& name, const std::string& pattern = "literal") {
    v1::CreateAclsRequest request;
    v1::AclBinding* b = request.add_acls();
    b->set_resource_type(type);
    b->set_resource_name(name);
    b->set_pattern_type(pattern);
    b->set_principal("User:bob");
    b->set_operation(op);
    b->set_permission(permission);
    v1::CreateAclsResponse response;
    grpc::Status s = admin_->CreateAcls(Admin().get(), request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  grpc::Status Publish(std::unique_ptr<grpc::ClientContext> context, const std::string& topic) {
    v1::PublishRequest request;
    request.set_topic(topic);
    *request.add_records() = MakeRecord("k", "v");
    v1::PublishResponse response;
    return broker_->Publish(context.get(), request, &response);
  }

  int64_t EndOffset(const std::string& topic) {
    v1::DescribeTopicRequest request;
    request.set_topic(topic);
    v1::DescribeTopicResponse response;
    EXPECT_TRUE(admin_->DescribeTopic(Admin().get(), request, &response).ok());
    return response.partitions_size() > 0 ? response.partitions(0).end_offset() : -1;
  }

  FerrydProcess ferryd_;
  std::unique_ptr<Admin::Stub> admin_;
  std::unique_ptr<v1::Broker::Stub> broker_;
};

TEST_F(GrpcAuthTest, DeniedWritesNothingAnAclAllowsDenyWins) {
  grpc::Status s = Publish(Bob(), "orders");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "User:bob may not write topic orders");
  EXPECT_EQ(Publish(As("", ""), "orders").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(EndOffset("orders"), 0);

  Acl("allow", "write", "topic", "orders");
  EXPECT_TRUE(Publish(Bob(), "orders").ok());
  EXPECT_EQ(EndOffset("orders"), 1);
  Acl("deny", "write", "topic", "ord", "prefixed");
  EXPECT_EQ(Publish(Bob(), "orders").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(EndOffset("orders"), 1);
  EXPECT_TRUE(Publish(Admin(), "orders").ok()) << "a super user passes whatever the ACLs say";
}

TEST_F(GrpcAuthTest, CreateTopicCommitAndUserAdminNeedTheirAcls) {
  v1::CreateTopicRequest create;
  create.set_topic("bobs");
  v1::CreateTopicResponse created;
  EXPECT_EQ(admin_->CreateTopic(Bob().get(), create, &created).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::DescribeTopicRequest describe;
  describe.set_topic("bobs");
  v1::DescribeTopicResponse described;
  EXPECT_EQ(admin_->DescribeTopic(Admin().get(), describe, &described).error_code(),
            grpc::StatusCode::NOT_FOUND);
  Acl("allow", "create", "topic", "bo", "prefixed");
  EXPECT_TRUE(admin_->CreateTopic(Bob().get(), create, &created).ok());

  v1::CommitOffsetRequest commit;
  commit.set_group("billing");
  commit.set_member_id("m");
  commit.set_generation(1);
  v1::OffsetCommit* o = commit.add_offsets();
  o->set_topic("orders");
  o->set_offset(1);
  v1::CommitOffsetResponse committed;
  grpc::Status s = broker_->CommitOffset(Bob().get(), commit, &committed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(s.error_message(), "User:bob may not read group billing");
  v1::FetchOffsetsRequest fetch;
  fetch.set_group("billing");
  v1::FetchOffsetsResponse fetched;
  grpc::Status f = broker_->FetchOffsets(Admin().get(), fetch, &fetched);
  if (f.ok()) {
    EXPECT_EQ(fetched.offsets_size(), 0) << "nothing was committed";
  } else {
    EXPECT_EQ(f.error_code(), grpc::StatusCode::NOT_FOUND) << f.error_message();
  }

  v1::ListUsersResponse users;
  EXPECT_EQ(admin_->ListUsers(Bob().get(), v1::ListUsersRequest(), &users).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::DeleteUserRequest del;
  del.set_user("nobody");
  v1::DeleteUserResponse deleted;
  EXPECT_EQ(admin_->DeleteUser(Admin().get(), del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::CreateAclsRequest bad;
  bad.add_acls()->set_resource_type("planet");
  v1::CreateAclsResponse bad_response;
  s = admin_->CreateAcls(Admin().get(), bad, &bad_response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "resource_type 'planet'")) << s.error_message();
}

TEST_F(GrpcAuthTest, ListTopicsShowsWhatThePrincipalMayDescribe) {
  Acl("allow", "describe", "topic", "ord", "prefixed");
  v1::ListTopicsResponse topics;
  ASSERT_TRUE(admin_->ListTopics(Bob().get(), v1::ListTopicsRequest(), &topics).ok());
  ASSERT_EQ(topics.topics_size(), 1);
  EXPECT_EQ(topics.topics(0).name(), "orders");
  v1::ListTopicsResponse all;
  ASSERT_TRUE(admin_->ListTopics(Admin().get(), v1::ListTopicsRequest(), &all).ok());
  EXPECT_EQ(all.topics_size(), 2);
}

TEST_F(GrpcAuthTest, WrongPasswordIsUnauthenticated) {
  v1::ListTopicsResponse topics;
  grpc::Status s = admin_->ListTopics(As("bob", "wrong").get(), v1::ListTopicsRequest(), &topics);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "invalid user or password");
  s = admin_->ListTopics(As("nobody", "x").get(), v1::ListTopicsRequest(), &topics);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(GrpcAuthTest, UsersAndAclsSurviveKill9) {
  Acl("allow", "write", "topic", "orders");
  ferryd_.Kill9();
  ASSERT_TRUE(ferryd_.Restart());
  admin_ = ferryd_.admin();
  broker_ = ferryd_.broker();
  EXPECT_TRUE(Publish(Bob(), "orders").ok());
  v1::ListAclsResponse acls;
  ASSERT_TRUE(admin_->ListAcls(Admin().get(), v1::ListAclsRequest(), &acls).ok());
  ASSERT_EQ(acls.acls_size(), 1);
  EXPECT_EQ(acls.acls(0).principal(), "User:bob");
  v1::ListUsersResponse users;
  ASSERT_TRUE(admin_->ListUsers(Admin().get(), v1::ListUsersRequest(), &users).ok());
  ASSERT_EQ(users.users_size(), 2);
  EXPECT_EQ(users.users(1).name(), "bob");
}

TEST(GrpcAuthPlaintextTest, BasicOverPlaintextIsRefusedWithoutTheFlag) {
  FerrydProcess ferryd;
  ASSERT_TRUE(ferryd.Start({"--authorizer=acl"}));
  v1::ListTopicsResponse topics;
  grpc::Status s =
      ferryd.admin()->ListTopics(As("bob", "x").get(), v1::ListTopicsRequest(), &topics);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "needs TLS")) << s.error_message();
}

// mTLS: the client certificate's CN is the principal.
bool Sh(const std::string& command) {
  return std::system(("bash -c '" + command + "' >/dev/null 2>&1").c_str()) == 0;
}
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(GrpcAuthMtlsTest, TheCertificateCommonNameIsThePrincipal) {
  if (!Sh("command -v openssl")) GTEST_SKIP() << "openssl is not installed";
  FerrydProcess ferryd;
  const std::string d = ferryd.dir() + "/pki";
  ASSERT_EQ(mkdir(d.c_str(), 0700), 0);
  const auto cert = [&](const std::string& name, const std::string& cn) {
    return Sh(absl::StrCat(
        "cd ", d, " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ",
        "-keyout ", name, ".key -out ", name, ".csr -subj /CN=", cn, " && printf ",
        "\"subjectAltName=IP:127.0.0.1,DNS:localhost\" > ", name, ".ext && openssl x509 -req -in ",
        name, ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out ", name, ".pem -extfile ",
        name, ".ext"));
  };
  ASSERT_TRUE(Sh(absl::StrCat("cd ", d,
                              " && openssl req -x509 -newkey ec -pkeyopt "
                              "ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem "
                              "-days 2 -subj /CN=ca")));
  ASSERT_TRUE(cert("server", "localhost"));
  ASSERT_TRUE(cert("carol", "carol"));
  ASSERT_TRUE(cert("admin", "admin"));
  const auto creds = [&](const std::string& client) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ReadFile(d + "/ca.pem");
    o.pem_cert_chain = ReadFile(d + "/" + client + ".pem");
    o.pem_private_key = ReadFile(d + "/" + client + ".key");
    return grpc::SslCredentials(o);
  };
  ferryd.set_channel_credentials(creds("admin"), "localhost");
  ASSERT_TRUE(ferryd.Start({"--authorizer=acl", "--super-users=User:admin",
                            "--tls-cert=" + d + "/server.pem", "--tls-key=" + d + "/server.key",
                            "--tls-ca=" + d + "/ca.pem", "--tls-client-auth=require"}));
  auto admin = ferryd.admin();
  grpc::Status created = CreateTopic(*admin, "orders", 1);
  ASSERT_TRUE(created.ok()) << created.error_message();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetSslTargetNameOverride("localhost");
  auto carol = Admin::NewStub(grpc::CreateCustomChannel(ferryd.address(), creds("carol"), args));
  v1::DescribeTopicRequest describe;
  describe.set_topic("orders");
  v1::DescribeTopicResponse described;
  grpc::ClientContext c1;
  SetDeadline(&c1, absl::Seconds(10));
  grpc::Status s = carol->DescribeTopic(&c1, describe, &described);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "User:carol may not describe topic orders");
  v1::CreateAclsRequest acl;
  v1::AclBinding* b = acl.add_acls();
  b->set_resource_type("topic");
  b->set_resource_name("orders");
  b->set_principal("User:carol");
  b->set_operation("describe");
  b->set_permission("allow");
  v1::CreateAclsResponse acl_response;
  grpc::ClientContext c2;
  SetDeadline(&c2, absl::Seconds(10));
  ASSERT_TRUE(admin->CreateAcls(&c2, acl, &acl_response).ok());
  grpc::ClientContext c3;
  SetDeadline(&c3, absl::Seconds(10));
  s = carol->DescribeTopic(&c3, describe, &described);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace ferry::integration
