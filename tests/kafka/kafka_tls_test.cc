// TLS on the Kafka door against the real ferryd, with certificates the openssl tool makes in the
// test's directory: an SSL listener beside a PLAINTEXT one (ApiVersions and Metadata over TLS), a
// plaintext client and garbage closing only their own connections, a stalled handshake closed,
// clients refusing an untrusted CA, an expired and a wrong-host certificate, mTLS with the
// principal from the client certificate's CN, a rotated certificate served to new connections while
// an open one keeps answering, and the flag mistakes that stop the start.
#include <sys/stat.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "integration/ferryd_process.h"
#include "kafka/kafka_conn.h"
#include "kafka/tls_client.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"
#include "server/security/tls_principal.h"

namespace ferry::kafka {
namespace {

using integration::FerrydProcess;
using integration::WaitFor;
using ktest::KafkaConn;
using ktest::Pki;
using ktest::TlsClient;

class KafkaTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ktest::Sh("command -v openssl")) GTEST_SKIP() << "openssl is not installed";
    dir_ = ferryd_.dir() + "/pki";
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
    pki_ = std::make_unique<Pki>(dir_);
    ASSERT_TRUE(pki_->MakeCa("ca"));
    ASSERT_TRUE(pki_->MakeCert("ca", "server", "localhost"));
  }

  // An SSL and a PLAINTEXT listener; the certificate is --kafka-tls-* (gRPC stays plaintext).
  std::vector<std::string> Flags(const std::string& cert = "server") const {
    return {"--kafka-listen=SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0",
            "--kafka-tls-cert=" + pki_->pem(cert), "--kafka-tls-key=" + pki_->key(cert),
            "--log-level=debug"};
  }
  int ssl_port() const { return ferryd_.kafka_ports().at(0); }
  int plaintext_port() const { return ferryd_.kafka_ports().at(1); }
  TlsClient::Options Trusting(const std::string& ca) const {
    TlsClient::Options o;
    o.ca_file = pki_->pem(ca);
    return o;
  }
  bool LogSays(const std::string& text) const {
    return WaitFor([&] { return absl::StrContains(ferryd_.LogTail(), text); }, absl::Seconds(10));
  }

  FerrydProcess ferryd_;
  std::string dir_;
  std::unique_ptr<Pki> pki_;
};

TEST_F(KafkaTlsTest, ServesApiVersionsAndMetadataOverSsl) {
  ASSERT_TRUE(ferryd_.Start(Flags()));
  TlsClient client;
  ASSERT_TRUE(client.Connect(ssl_port(), Trusting("ca"))) << client.error();
  EXPECT_TRUE(client.ApiVersionsOk());
  std::string body;
  Writer(&body).ArrayCount(0);
  const std::optional<std::string> metadata = client.Call(kMetadata, 1, body);
  ASSERT_TRUE(metadata.has_value());
  Reader m(*metadata);
  ASSERT_EQ(m.ArrayCount(), 1);
  m.Int32();
  EXPECT_EQ(m.String(), "127.0.0.1");
  EXPECT_EQ(m.Int32(), ssl_port()) << "the SSL listener advertises itself";
  EXPECT_TRUE(absl::StrContains(ferryd_.LogTail(), "listener=SSL security_protocol=SSL"));

  KafkaConn plain;  // the PLAINTEXT listener beside it
  ASSERT_TRUE(plain.Connect(plaintext_port()));
  EXPECT_TRUE(plain.Call(kApiVersions, 0, "").has_value());
}

TEST_F(KafkaTlsTest, PlaintextAndGarbageCloseOnlyTheirConnection) {
  ASSERT_TRUE(ferryd_.Start(Flags()));
  TlsClient before;
  ASSERT_TRUE(before.Connect(ssl_port(), Trusting("ca"))) << before.error();

  KafkaConn plaintext;
  ASSERT_TRUE(plaintext.Connect(ssl_port()));
  plaintext.Send(kApiVersions, 0, "");
  EXPECT_TRUE(plaintext.ClosedByPeer());
  EXPECT_TRUE(LogSays("reason=\"TLS handshake failed: "));

  KafkaConn garbage;
  ASSERT_TRUE(garbage.Connect(ssl_port()));
  // A TLS record header announcing a handshake, then bytes that are none.
  ASSERT_TRUE(garbage.SendRaw(std::string("\x16\x03\x01\x00\x20", 5) + std::string(32, '\x7f')));
  EXPECT_TRUE(garbage.ClosedByPeer());

  // The broker still serves TLS clients, the one from before and a new one.
  EXPECT_TRUE(before.ApiVersionsOk());
  TlsClient after;
  ASSERT_TRUE(after.Connect(ssl_port(), Trusting("ca"))) << after.error();
  EXPECT_TRUE(after.ApiVersionsOk());
}

TEST_F(KafkaTlsTest, AHandshakeThatNeverCompletesIsClosed) {
  std::vector<std::string> flags = Flags();
  flags.push_back("--kafka-connections-max-idle-ms=1000");  // bounds the handshake too
  ASSERT_TRUE(ferryd_.Start(flags));
  KafkaConn stalled;  // connects and says nothing
  ASSERT_TRUE(stalled.Connect(ssl_port()));
  EXPECT_TRUE(stalled.ClosedByPeer());
  EXPECT_TRUE(LogSays("reason=\"TLS handshake not completed in time\" timeout_ms=1000"));
}

TEST_F(KafkaTlsTest, VerifyingClientsRefuseAnotherCaAnExpiredAndAWrongHostCertificate) {
  ASSERT_TRUE(pki_->MakeCa("other-ca"));
  ASSERT_TRUE(pki_->MakeCert("ca", "expired", "localhost", "IP:127.0.0.1,DNS:localhost", -1));
  ASSERT_TRUE(pki_->MakeCert("ca", "elsewhere", "broker.example", "DNS:broker.example"));
  ASSERT_TRUE(ferryd_.Start(Flags()));
  TlsClient untrusted;
  EXPECT_FALSE(untrusted.Connect(ssl_port(), Trusting("other-ca")));
  EXPECT_TRUE(LogSays("unknown ca")) << "the server logs the client's alert as the reason";
  ferryd_.Terminate();

  for (const std::string cert : {"expired", "elsewhere"}) {
    FerrydProcess ferryd;
    ASSERT_TRUE(ferryd.Start(Flags(cert)));
    TlsClient client;
    EXPECT_FALSE(client.Connect(ferryd.kafka_ports().at(0), Trusting("ca"))) << cert;
  }
}

TEST_F(KafkaTlsTest, RequiredClientCertificatesNameThePrincipal) {
  ASSERT_TRUE(pki_->MakeCert("ca", "alice", "alice", "DNS:alice.clients.example"));
  ASSERT_TRUE(pki_->MakeCa("other-ca"));
  ASSERT_TRUE(pki_->MakeCert("other-ca", "mallory", "mallory"));
  std::vector<std::string> flags = Flags();
  flags.push_back("--kafka-tls-ca=" + pki_->pem("ca"));
  flags.push_back("--kafka-tls-client-auth=require");
  ASSERT_TRUE(ferryd_.Start(flags));

  // TLS 1.3 clients finish their side before the server checks their certificate: the refusal
  // shows on the first request.
  TlsClient anonymous;
  EXPECT_FALSE(anonymous.Connect(ssl_port(), Trusting("ca")) && anonymous.ApiVersionsOk());
  EXPECT_TRUE(LogSays("peer did not return a certificate"));
  TlsClient mallory;
  TlsClient::Options o = Trusting("ca");
  o.cert_file = pki_->pem("mallory");
  o.key_file = pki_->key("mallory");
  EXPECT_FALSE(mallory.Connect(ssl_port(), o) && mallory.ApiVersionsOk());

  TlsClient alice;
  o.cert_file = pki_->pem("alice");
  o.key_file = pki_->key("alice");
  ASSERT_TRUE(alice.Connect(ssl_port(), o)) << alice.error();
  EXPECT_TRUE(alice.ApiVersionsOk());
  EXPECT_TRUE(LogSays("event=kafka_tls_principal")) << ferryd_.LogTail();
  EXPECT_TRUE(absl::StrContains(ferryd_.LogTail(), "principal=User:alice")) << ferryd_.LogTail();
}

TEST_F(KafkaTlsTest, PrincipalIsTheCnTheFirstSanOrTheDn) {
  ASSERT_TRUE(pki_->MakeCert("ca", "bob", "bob", "IP:10.0.0.1,URI:spiffe://example/bob"));
  std::string pem;
  {
    FILE* f = std::fopen(pki_->pem("bob").c_str(), "r");
    ASSERT_NE(f, nullptr);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) pem.append(buf, n);
    std::fclose(f);
  }
  using security::PrincipalField;
  EXPECT_EQ(security::PrincipalNameFromPem(pem, PrincipalField::kCn).value_or(""), "bob");
  EXPECT_EQ(security::PrincipalNameFromPem(pem, PrincipalField::kSan).value_or(""),
            "spiffe://example/bob")
      << "no DNS name: the URI";
  EXPECT_EQ(security::PrincipalNameFromPem(pem, PrincipalField::kDn).value_or(""), "CN=bob");
  EXPECT_FALSE(security::PrincipalNameFromPem("not a certificate", PrincipalField::kCn).ok());
  EXPECT_FALSE(security::ParsePrincipalField("uid").ok());
}

// Kubernetes updates a mounted Secret in place: new connections get the new certificate within
// the reload interval, and a connection opened before keeps answering.
TEST_F(KafkaTlsTest, ARotatedCertificateServesNewConnectionsWhileOpenOnesStay) {
  ASSERT_TRUE(pki_->MakeCa("new-ca"));
  ASSERT_TRUE(pki_->MakeCert("new-ca", "server2", "localhost"));
  std::vector<std::string> flags = Flags();
  flags.push_back("--tls-reload-interval-s=1");
  ASSERT_TRUE(ferryd_.Start(flags));
  TlsClient old_connection;
  ASSERT_TRUE(old_connection.Connect(ssl_port(), Trusting("ca"))) << old_connection.error();
  ASSERT_TRUE(old_connection.ApiVersionsOk());

  // Each file replaced whole, as the kubelet's symlink swap does.
  ASSERT_EQ(std::rename(pki_->key("server2").c_str(), pki_->key("server").c_str()), 0);
  ASSERT_EQ(std::rename(pki_->pem("server2").c_str(), pki_->pem("server").c_str()), 0);
  EXPECT_TRUE(WaitFor(
      [&] {
        TlsClient c;
        return c.Connect(ssl_port(), Trusting("new-ca")) && c.ApiVersionsOk();
      },
      absl::Seconds(20)))
      << "new connections never got the rotated certificate";
  TlsClient trusting_old;
  EXPECT_FALSE(trusting_old.Connect(ssl_port(), Trusting("ca")))
      << "new connections still get the old certificate";
  EXPECT_TRUE(old_connection.ApiVersionsOk()) << "the connection opened before was dropped";
  EXPECT_TRUE(absl::StrContains(ferryd_.LogTail(), "event=kafka_tls_reloaded"));
}

TEST_F(KafkaTlsTest, MistakesStopTheStartNamingTheFlag) {
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--kafka-listen=SSL://127.0.0.1:0"}, "Kafka listener SSL is SSL and has no certificate"},
      {{"--kafka-listen=CLIENTS://127.0.0.1:0"},
       "--kafka-security-protocol-map: listener CLIENTS has no security protocol"},
      {{"--kafka-listen=CLIENTS://127.0.0.1:0", "--kafka-security-protocol-map=CLIENTS:TLS"},
       "not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"},
      {{"--kafka-listen=SSL://127.0.0.1:0", "--kafka-tls-cert=" + pki_->pem("server")},
       "--kafka-tls-cert and --kafka-tls-key come together"},
      {{"--tls-principal=uid"}, "--tls-principal must be cn, san or dn"},
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
}  // namespace ferry::kafka
