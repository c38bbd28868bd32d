// --kafka-listen and --kafka-advertise as Kafka's listeners and advertised.listeners.
#include "server/kafka/listeners.h"

#include <string>

#include "gtest/gtest.h"

namespace ferry::kafka {
namespace {

TEST(KafkaListenersTest, OneUnnamedListenerIsPlaintext) {
  auto l = ParseKafkaListeners("127.0.0.1:9092", "");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].name, "PLAINTEXT");
  EXPECT_EQ((*l)[0].host, "127.0.0.1");
  EXPECT_EQ((*l)[0].port, 9092);
  EXPECT_EQ((*l)[0].advertised_host, "");
  EXPECT_EQ((*l)[0].advertised_port, 0);
}

TEST(KafkaListenersTest, UnnamedAdvertiseGoesToTheOnlyListener) {
  auto l = ParseKafkaListeners("0.0.0.0:9092", "broker.example");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ((*l)[0].advertised_host, "broker.example");
  EXPECT_EQ((*l)[0].advertised_port, 0);  // the bound port
  l = ParseKafkaListeners("0.0.0.0:9092", "broker.example:19092");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ((*l)[0].advertised_port, 19092);
}

TEST(KafkaListenersTest, NamedListenersGetTheirOwnAdvertisedAddresses) {
  auto l =
      ParseKafkaListeners("INTERNAL://0.0.0.0:9092, EXTERNAL://:9094",
                          "EXTERNAL://203.0.113.7:30094,INTERNAL://ferry-0.ferry-headless:9092",
                          "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].name, "INTERNAL");
  EXPECT_EQ((*l)[0].advertised_host, "ferry-0.ferry-headless");
  EXPECT_EQ((*l)[0].advertised_port, 9092);
  EXPECT_EQ((*l)[1].name, "EXTERNAL");
  EXPECT_EQ((*l)[1].host, "");  // every interface
  EXPECT_EQ((*l)[1].port, 9094);
  EXPECT_EQ((*l)[1].advertised_host, "203.0.113.7");
  EXPECT_EQ((*l)[1].advertised_port, 30094);
}

TEST(KafkaListenersTest, Ipv6LiteralsInBrackets) {
  auto l = ParseKafkaListeners("PLAINTEXT://[::1]:0", "[2001:db8::1]:9092");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ((*l)[0].host, "::1");
  EXPECT_EQ((*l)[0].port, 0);
  EXPECT_EQ((*l)[0].advertised_host, "2001:db8::1");
  EXPECT_EQ(JoinHostPort("::1", 9092), "[::1]:9092");
  EXPECT_EQ(JoinHostPort("a.example", 9092), "a.example:9092");
}

TEST(KafkaListenersTest, EmptyListenTurnsTheDoorOff) {
  auto l = ParseKafkaListeners("", "ignored.example");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_TRUE(l->empty());
}

TEST(KafkaListenersTest, MistakesNameTheFlagAndTheEntry) {
  struct Case {
    const char* listen;
    const char* advertise;
    const char* says;
  };
  for (const Case& c : {
           Case{"127.0.0.1", "", "--kafka-listen: '127.0.0.1' needs a port"},
           Case{"127.0.0.1:99999", "", "not 0..65535"},
           Case{"internal://0.0.0.0:9092", "", "listener name"},
           Case{"0.0.0.0:9092,0.0.0.0:9093", "", "two listeners are named PLAINTEXT"},
           Case{"A://:1,A://:2", "", "two listeners are named A"},
           Case{"A://:1,B://:2", "x.example", "names no listener"},
           Case{"A://:1", "B://x.example", "names listener B"},
           Case{"A://:1", "A://x.example,A://y.example", "advertised twice"},
           Case{"::1:9092", "", "[brackets]"},
           Case{"A://:1", "A://:1", "needs a host"},
       }) {
    auto l = ParseKafkaListeners(c.listen, c.advertise);
    ASSERT_FALSE(l.ok()) << c.listen << " / " << c.advertise;
    EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(l.status().message().find(c.says), std::string::npos)
        << c.listen << " / " << c.advertise << ": " << l.status().message();
  }
}

TEST(KafkaListenersTest, ProtocolNamesGiveTheirProtocol) {
  auto l = ParseKafkaListeners(
      "PLAINTEXT://:9092,SSL://:9093,SASL_PLAINTEXT://:9094,SASL_SSL://:9095", "");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 4u);
  EXPECT_EQ((*l)[0].protocol, SecurityProtocol::kPlaintext);
  EXPECT_EQ((*l)[1].protocol, SecurityProtocol::kSsl);
  EXPECT_EQ((*l)[2].protocol, SecurityProtocol::kSaslPlaintext);
  EXPECT_EQ((*l)[3].protocol, SecurityProtocol::kSaslSsl);
  EXPECT_TRUE(UsesTls((*l)[1].protocol) && UsesTls((*l)[3].protocol));
  EXPECT_TRUE(UsesSasl((*l)[2].protocol) && UsesSasl((*l)[3].protocol));
  EXPECT_FALSE(UsesTls((*l)[0].protocol) || UsesSasl((*l)[0].protocol));
  EXPECT_EQ(SecurityProtocolName((*l)[3].protocol), "SASL_SSL");
  // An unnamed listener is PLAINTEXT.
  l = ParseKafkaListeners("127.0.0.1:9092", "");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ((*l)[0].protocol, SecurityProtocol::kPlaintext);
}

TEST(KafkaListenersTest, TheMapGivesOtherNamesTheirProtocol) {
  auto l = ParseKafkaListeners("INTERNAL://:9092,EXTERNAL://:9094,SSL://:9093", "",
                               " INTERNAL:SASL_SSL , EXTERNAL:SSL,UNUSED:PLAINTEXT");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ((*l)[0].protocol, SecurityProtocol::kSaslSsl);
  EXPECT_EQ((*l)[1].protocol, SecurityProtocol::kSsl);
  EXPECT_EQ((*l)[2].protocol, SecurityProtocol::kSsl);
  // The map may also say what a protocol-named listener speaks, as Kafka's does.
  l = ParseKafkaListeners("SSL://:9093", "", "SSL:PLAINTEXT");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ((*l)[0].protocol, SecurityProtocol::kPlaintext);
}

TEST(KafkaListenersTest, ProtocolMapMistakesNameTheFlagAndTheListener) {
  struct Case {
    const char* listen;
    const char* map;
    const char* says;
  };
  for (const Case& c : {
           Case{"CLIENTS://:9092", "",
                "--kafka-security-protocol-map: listener CLIENTS has no security protocol"},
           Case{"CLIENTS://:9092", "OTHER:SSL", "listener CLIENTS has no security protocol"},
           Case{"CLIENTS://:9092", "CLIENTS", "'CLIENTS' is not NAME:PROTOCOL"},
           Case{"CLIENTS://:9092", "CLIENTS:TLS", "not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"},
           Case{"CLIENTS://:9092", "clients:SSL", "upper case"},
           Case{"CLIENTS://:9092", "CLIENTS:SSL,CLIENTS:PLAINTEXT", "maps a listener named before"},
       }) {
    auto l = ParseKafkaListeners(c.listen, "", c.map);
    ASSERT_FALSE(l.ok()) << c.listen << " / " << c.map;
    EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(l.status().message().find(c.says), std::string::npos)
        << c.listen << " / " << c.map << ": " << l.status().message();
  }
}

}  // namespace
}  // namespace ferry::kafka
