// TLS on the gRPC listener against the real ferryd, with certificates made by the openssl tool
// in the test's directory: TLS only (plaintext and an untrusted CA refused), mTLS with
// --tls-client-auth=require, a rotated certificate served to new connections while an open
// Subscribe stream keeps delivering, TLS 1.1 refused, and flag mistakes stopping the start.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "integration/test_client.h"

namespace ferry::integration {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command; true on exit 0.
bool Sh(const std::string& command) {
  return std::system(("bash -c '" + command + "' >/dev/null 2>&1").c_str()) == 0;
}

// A CA and certificates it signs, in `dir`: <name>.pem and <name>.key.
class Pki {
 public:
  explicit Pki(std::string dir) : dir_(std::move(dir)) {}

  bool MakeCa(const std::string& ca) {
    return Sh(absl::StrCat("cd ", dir_, " && openssl req -x509 -newkey ec -pkeyopt ",
                           "ec_paramgen_curve:prime256v1 -nodes -keyout ", ca, ".key -out ", ca,
                           ".pem -days 2 -subj /CN=", ca));
  }
  // A certificate for `cn` with SANs 127.0.0.1 and localhost, signed by `ca`.
  bool MakeCert(const std::string& ca, const std::string& name, const std::string& cn) {
    return Sh(absl::StrCat(
        "cd ", dir_, " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ",
        "-keyout ", name, ".key -out ", name, ".csr -subj /CN=", cn, " && printf ",
        "\"subjectAltName=IP:127.0.0.1,DNS:localhost\" > ", name, ".ext && openssl x509 -req -in ",
        name, ".csr -CA ", ca, ".pem -CAkey ", ca, ".key -CAcreateserial -days 2 -out ", name,
        ".pem -extfile ", name, ".ext"));
  }
  std::string pem(const std::string& name) const { return absl::StrCat(dir_, "/", name, ".pem"); }
  std::string key(const std::string& name) const { return absl::StrCat(dir_, "/", name, ".key"); }

  // Credentials trusting `ca`, presenting `client` when not empty.
  std::shared_ptr<grpc::ChannelCredentials> Client(const std::string& ca,
                                                   const std::string& client = "") const {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ReadFile(pem(ca));
    if (!client.empty()) {
      o.pem_cert_chain = ReadFile(pem(client));
      o.pem_private_key = ReadFile(key(client));
    }
    return grpc::SslCredentials(o);
  }

 private:
  std::string dir_;
};

grpc::Status ListTopics(const std::shared_ptr<grpc::Channel>& channel) {
  auto admin = ferry::v1::Admin::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(5));
  ferry::v1::ListTopicsRequest request;
  ferry::v1::ListTopicsResponse response;
  return admin->ListTopics(&context, request, &response);
}

std::shared_ptr<grpc::Channel> Channel(const FerrydProcess& ferryd,
                                       std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(ferryd.address(), std::move(credentials), args);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Sh("command -v openssl")) GTEST_SKIP() << "openssl is not installed";
    dir_ = ferryd_.dir() + "/pki";
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
    pki_ = std::make_unique<Pki>(dir_);
    ASSERT_TRUE(pki_->MakeCa("ca"));
    ASSERT_TRUE(pki_->MakeCert("ca", "server", "localhost"));
    ASSERT_TRUE(pki_->MakeCa("other-ca"));
  }
  std::vector<std::string> TlsFlags() const {
    return {"--tls-cert=" + pki_->pem("server"), "--tls-key=" + pki_->key("server")};
  }

  FerrydProcess ferryd_;
  std::string dir_;
  std::unique_ptr<Pki> pki_;
};

TEST_F(TlsTest, ServesTlsOnlyToClientsThatTrustItsCa) {
  ferryd_.set_channel_credentials(pki_->Client("ca"));
  ASSERT_TRUE(ferryd_.Start(TlsFlags()));
  EXPECT_TRUE(ListTopics(Channel(ferryd_, pki_->Client("ca"))).ok());
  auto broker = ferryd_.broker();
  auto admin = ferryd_.admin();
  ASSERT_TRUE(CreateTopic(*admin, "secret", 1).ok());
  ASSERT_TRUE(Publish(*broker, "secret", 0, {MakeRecord("k", "v")}).ok());

  const grpc::Status plaintext = ListTopics(Channel(ferryd_, grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE) << plaintext.error_message();
  const grpc::Status untrusted = ListTopics(Channel(ferryd_, pki_->Client("other-ca")));
  EXPECT_EQ(untrusted.error_code(), grpc::StatusCode::UNAVAILABLE) << untrusted.error_message();
  EXPECT_TRUE(absl::StrContains(ferryd_.LogTail(), "grpc_tls=on")) << ferryd_.LogTail();
}

TEST_F(TlsTest, RequireClientAuthAdmitsOnlyCertificatesTheCaSigned) {
  ASSERT_TRUE(pki_->MakeCert("ca", "alice", "alice"));
  ASSERT_TRUE(pki_->MakeCert("other-ca", "mallory", "mallory"));
  ferryd_.set_channel_credentials(pki_->Client("ca", "alice"));
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls-ca=" + pki_->pem("ca"));
  flags.push_back("--tls-client-auth=require");
  ASSERT_TRUE(ferryd_.Start(flags));
  EXPECT_TRUE(ListTopics(Channel(ferryd_, pki_->Client("ca", "alice"))).ok());
  EXPECT_FALSE(ListTopics(Channel(ferryd_, pki_->Client("ca"))).ok()) << "no client certificate";
  EXPECT_FALSE(ListTopics(Channel(ferryd_, pki_->Client("ca", "mallory"))).ok())
      << "a certificate another CA signed";
}

// Kubernetes updates a mounted Secret in place: new connections get the new certificate within
// the reload interval, and a stream opened before keeps delivering.
TEST_F(TlsTest, ARotatedCertificateServesNewConnectionsWithoutDroppingOpenOnes) {
  ASSERT_TRUE(pki_->MakeCert("other-ca", "server2", "localhost"));
  ferryd_.set_channel_credentials(pki_->Client("ca"));
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls-reload-interval-s=1");
  ASSERT_TRUE(ferryd_.Start(flags));
  ASSERT_TRUE(CreateTopic(*ferryd_.admin(), "events", 1).ok());

  auto old_channel = Channel(ferryd_, pki_->Client("ca"));
  auto old_broker = ferry::v1::Broker::NewStub(old_channel);
  grpc::ClientContext stream_context;
  SetDeadline(&stream_context, absl::Seconds(60));
  ferry::v1::SubscribeRequest subscribe;
  subscribe.mutable_direct()->set_topic("events");
  subscribe.mutable_direct()->set_partition(0);
  subscribe.mutable_direct()->set_start(ferry::v1::START_POSITION_EARLIEST);
  auto stream = old_broker->Subscribe(&stream_context, subscribe);
  ASSERT_TRUE(Publish(*old_broker, "events", 0, {MakeRecord("k", "before")}).ok());
  ferry::v1::SubscribeResponse got;
  std::vector<std::string> values;
  while (values.empty() && stream->Read(&got)) {
    for (const auto& r : got.records()) values.push_back(r.value());
  }
  ASSERT_EQ(values, std::vector<std::string>{"before"});

  // Rotate: each file replaced whole, as the kubelet's symlink swap does.
  ASSERT_EQ(std::rename(pki_->key("server2").c_str(), pki_->key("server").c_str()), 0);
  ASSERT_EQ(std::rename(pki_->pem("server2").c_str(), pki_->pem("server").c_str()), 0);
  EXPECT_TRUE(WaitFor([&] { return ListTopics(Channel(ferryd_, pki_->Client("other-ca"))).ok(); },
                      absl::Seconds(20)))
      << "new connections never got the rotated certificate";
  EXPECT_FALSE(ListTopics(Channel(ferryd_, pki_->Client("ca"))).ok())
      << "new connections still get the old certificate";

  auto new_broker = ferry::v1::Broker::NewStub(Channel(ferryd_, pki_->Client("other-ca")));
  ASSERT_TRUE(Publish(*new_broker, "events", 0, {MakeRecord("k", "after")}).ok());
  while (values.size() < 2 && stream->Read(&got)) {
    for (const auto& r : got.records()) values.push_back(r.value());
  }
  EXPECT_EQ(values, (std::vector<std::string>{"before", "after"}))
      << "the stream opened before the rotation stopped delivering";
  stream_context.TryCancel();
}

// ferryctl against a broker requiring mTLS: with the CA and a client certificate it works;
// without TLS options it fails with the unavailable exit code and says so.
TEST_F(TlsTest, FerryctlSpeaksTlsAndMtls) {
  ASSERT_TRUE(pki_->MakeCert("ca", "alice", "alice"));
  ferryd_.set_channel_credentials(pki_->Client("ca", "alice"));
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls-ca=" + pki_->pem("ca"));
  flags.push_back("--tls-client-auth=require");
  ASSERT_TRUE(ferryd_.Start(flags));
  const std::string ctl = absl::StrCat(FERRYCTL_PATH, " -b ", ferryd_.address(), " --timeout 5 ");
  const std::string mtls = absl::StrCat(" --tls-ca ", pki_->pem("ca"), " --tls-cert ",
                                        pki_->pem("alice"), " --tls-key ", pki_->key("alice"));
  EXPECT_TRUE(Sh(ctl + "topic create over-tls -p 1" + mtls));
  EXPECT_TRUE(Sh("printf \"k:v\\n\" | " + ctl + "produce over-tls -K :" + mtls));
  EXPECT_TRUE(Sh(ctl + "consume over-tls -e" + mtls + " | grep -qx v"));
  EXPECT_FALSE(Sh(ctl + "topic list")) << "plaintext against a TLS broker";
  EXPECT_FALSE(Sh(ctl + "topic list --tls-ca " + pki_->pem("ca"))) << "no client certificate";
  EXPECT_FALSE(Sh(ctl + "topic list --tls-cert " + pki_->pem("alice")))
      << "--tls-cert without --tls-key";
}

TEST_F(TlsTest, RefusesTls11) {
  ferryd_.set_channel_credentials(pki_->Client("ca"));
  ASSERT_TRUE(ferryd_.Start(TlsFlags()));
  const std::string connect =
      absl::StrCat("openssl s_client -connect ", ferryd_.address(), " -CAfile ", pki_->pem("ca"),
                   " -verify_return_error -alpn h2 -cipher DEFAULT@SECLEVEL=0 </dev/null");
  EXPECT_TRUE(Sh(connect + " -tls1_2")) << "TLS 1.2 must work, or the next check proves nothing";
  EXPECT_FALSE(Sh(connect + " -tls1_1"));
}

TEST_F(TlsTest, FlagMistakesStopTheStartNamingTheFlag) {
  ASSERT_TRUE(pki_->MakeCert("ca", "other", "localhost"));
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert=" + pki_->pem("server")}, "--tls-cert and --tls-key come together"},
      {{"--tls-cert=" + pki_->pem("server"), "--tls-key=" + pki_->key("other")},
       "is not the private key"},
      {{"--tls-cert=" + dir_ + "/missing.pem", "--tls-key=" + pki_->key("server")},
       "--tls-cert: cannot read"},
      {{"--tls-cert=" + pki_->pem("server"), "--tls-key=" + pki_->key("server"),
        "--tls-client-auth=require"},
       "needs --tls-ca"},
      {{"--tls-client-auth=sometimes"}, "none, request or require"},
      {{"--tls-ca=" + pki_->pem("ca")}, "need TLS"},
  };
  for (const Case& c : cases) {
    FerrydProcess ferryd;
    const ::testing::AssertionResult started = ferryd.Start(c.flags);
    ASSERT_FALSE(started) << c.says;
    EXPECT_TRUE(absl::StrContains(started.message(), c.says)) << started.message();
    EXPECT_TRUE(absl::StrContains(started.message(), "exit code 2")) << started.message();
  }
}

}  // namespace
}  // namespace ferry::integration
