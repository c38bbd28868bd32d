// The admin APIs' codecs against byte-exact vectors from kafka-python 2.0.2's encoders
// (DescribeConfigs v0-1, AlterConfigs v1, CreatePartitions v0-1 requests and their responses),
// and the flexible versions read back from Ferry's own Writer.
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "server/kafka/admin.h"
#include "server/kafka/configs.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

std::string Bytes(const char* hex) { return absl::HexStringToBytes(hex); }

// A response frame's body in hex: without its size and correlation id (header v0).
std::string BodyHex(const std::string& frame) { return absl::BytesToHexString(frame.substr(8)); }

RequestHeader Header(int16_t key, int16_t version) {
  RequestHeader h;
  h.api_key = key;
  h.api_version = version;
  h.flexible = IsFlexibleVersion(key, version);
  return h;
}

TEST(AdminCodecTest, DescribeConfigsRequestsFromKafkaPython) {
  std::string v1 =
      Bytes("000000020200066f726465727300000001000c726574656e74696f6e2e6d7304000130ffffffff01");
  Reader r1(v1);
  DescribeConfigsRequest d = DecodeDescribeConfigsRequest(1, r1);
  ASSERT_TRUE(CheckRequestBody(Header(kDescribeConfigs, 1), r1).ok());
  ASSERT_EQ(d.resources.size(), 2u);
  EXPECT_EQ(d.resources[0].type, kResourceTopic);
  EXPECT_EQ(d.resources[0].name, "orders");
  ASSERT_TRUE(d.resources[0].keys.has_value());
  EXPECT_EQ(*d.resources[0].keys, std::vector<std::string>{"retention.ms"});
  EXPECT_EQ(d.resources[1].type, kResourceBroker);
  EXPECT_FALSE(d.resources[1].keys.has_value());
  EXPECT_TRUE(d.include_synonyms);

  std::string v0 = Bytes("0000000102000174ffffffff");
  Reader r0(v0);
  d = DecodeDescribeConfigsRequest(0, r0);
  ASSERT_TRUE(CheckRequestBody(Header(kDescribeConfigs, 0), r0).ok());
  ASSERT_EQ(d.resources.size(), 1u);
  EXPECT_EQ(d.resources[0].name, "t");
  EXPECT_FALSE(d.include_synonyms);

  // Cut short anywhere: malformed, never a crash.
  for (size_t n = 0; n < v1.size(); ++n) {
    Reader cut(std::string_view(v1).substr(0, n));
    DecodeDescribeConfigsRequest(1, cut);
    EXPECT_FALSE(CheckRequestBody(Header(kDescribeConfigs, 1), cut).ok()) << n;
  }
}

TEST(AdminCodecTest, DescribeConfigsResponsesAsKafkaPythonEncodesThem) {
  DescribeConfigsResponse resp;
  DescribeConfigsResponse::Result ok;
  ok.type = kResourceTopic;
  ok.name = "orders";
  DescribeConfigsResponse::Config c;
  c.name = "retention.ms";
  c.value = "1000";
  c.source = config_source::kTopic;
  c.synonyms.push_back({"retention.ms", "1000", config_source::kTopic});
  ok.configs.push_back(c);
  resp.results.push_back(ok);
  DescribeConfigsResponse::Result gone;
  gone.error_code = 3;
  gone.error_message = "gone";
  gone.type = kResourceTopic;
  gone.name = "x";
  resp.results.push_back(gone);
  EXPECT_EQ(BodyHex(EncodeResponse(Header(kDescribeConfigs, 1), resp)),
            "00000000000000020000ffff0200066f726465727300000001000c726574656e74696f6e2e6d730004"
            "3130303000010000000001000c726574656e74696f6e2e6d730004313030300100030004676f6e6502"
            "00017800000000");

  DescribeConfigsResponse v0;
  DescribeConfigsResponse::Result broker;
  broker.type = kResourceBroker;
  broker.name = "0";
  DescribeConfigsResponse::Config m;
  m.name = "message.max.bytes";
  m.value = "100";
  m.read_only = true;
  m.is_default = true;
  broker.configs.push_back(m);
  v0.results.push_back(broker);
  EXPECT_EQ(BodyHex(EncodeResponse(Header(kDescribeConfigs, 0), v0)),
            "00000000000000010000ffff040001300000000100116d6573736167652e6d61782e627974657300033130"
            "30010100");
}

TEST(AdminCodecTest, AlterConfigsAndCreatePartitionsFromKafkaPython) {
  std::string alter = Bytes(
      "000000010200066f726465727300000002000c726574656e74696f6e2e6d7300043130303000116d61782e6d"
      "6573736167652e6279746573ffff01");
  Reader ra(alter);
  AlterConfigsRequest a = DecodeAlterConfigsRequest(1, ra);
  ASSERT_TRUE(CheckRequestBody(Header(kAlterConfigs, 1), ra).ok());
  ASSERT_EQ(a.resources.size(), 1u);
  ASSERT_EQ(a.resources[0].configs.size(), 2u);
  EXPECT_EQ(a.resources[0].configs[0].name, "retention.ms");
  EXPECT_EQ(a.resources[0].configs[0].value, "1000");
  EXPECT_FALSE(a.resources[0].configs[1].value.has_value());
  EXPECT_TRUE(a.validate_only);

  AlterConfigsResponse ar;
  ar.resources.push_back({40, "bad", kResourceTopic, "orders"});
  EXPECT_EQ(BodyHex(EncodeResponse(Header(kAlterConfigs, 0), ar)),
            "0000000000000001002800036261640200066f7264657273");

  std::string cp1 =
      Bytes("0000000100066f72646572730000000400000002000000010000000000000001000000000000138800");
  Reader r1(cp1);
  CreatePartitionsRequest c = DecodeCreatePartitionsRequest(1, r1);
  ASSERT_TRUE(CheckRequestBody(Header(kCreatePartitions, 1), r1).ok());
  ASSERT_EQ(c.topics.size(), 1u);
  EXPECT_EQ(c.topics[0].count, 4);
  ASSERT_TRUE(c.topics[0].assignments.has_value());
  EXPECT_EQ(c.topics[0].assignments->size(), 2u);
  EXPECT_EQ(c.timeout_ms, 5000);
  EXPECT_FALSE(c.validate_only);
  std::string cp0 = Bytes("0000000100066f726465727300000004ffffffff0000138801");
  Reader r0(cp0);
  c = DecodeCreatePartitionsRequest(0, r0);
  ASSERT_TRUE(CheckRequestBody(Header(kCreatePartitions, 0), r0).ok());
  EXPECT_FALSE(c.topics[0].assignments.has_value());
  EXPECT_TRUE(c.validate_only);

  CreatePartitionsResponse cr;
  cr.topics.push_back({"orders", 37, "no"});
  cr.topics.push_back({"t", 0, std::nullopt});
  EXPECT_EQ(BodyHex(EncodeResponse(Header(kCreatePartitions, 0), cr)),
            "000000000000000200066f7264657273002500026e6f0001740000ffff");
}

TEST(AdminCodecTest, FlexibleVersionsReadBackTheirCompactForms) {
  std::string body;
  Writer w(&body, true);
  w.ArrayCount(1);
  w.Int8(kResourceTopic);
  w.String("orders");
  w.ArrayCount(2);
  w.String("retention.ms");
  w.Int8(AlterConfigsRequest::kSet);
  w.NullableString("5");
  w.TaggedFields();
  w.String("retention.bytes");
  w.Int8(AlterConfigsRequest::kDelete);
  w.NullableString(std::nullopt);
  w.TaggedFields();
  w.TaggedFields();
  w.Bool(true);
  w.TaggedFields();
  Reader r(body, true);
  AlterConfigsRequest a = DecodeIncrementalAlterConfigsRequest(1, r);
  ASSERT_TRUE(CheckRequestBody(Header(kIncrementalAlterConfigs, 1), r).ok()) << r.error();
  ASSERT_EQ(a.resources.size(), 1u);
  ASSERT_EQ(a.resources[0].configs.size(), 2u);
  EXPECT_EQ(a.resources[0].configs[0].op, AlterConfigsRequest::kSet);
  EXPECT_EQ(a.resources[0].configs[1].op, AlterConfigsRequest::kDelete);
  EXPECT_FALSE(a.resources[0].configs[1].value.has_value());
  EXPECT_TRUE(a.validate_only);
  // The same bytes as the non-flexible v0 are malformed.
  Reader strict(body);
  DecodeIncrementalAlterConfigsRequest(0, strict);
  EXPECT_FALSE(CheckRequestBody(Header(kIncrementalAlterConfigs, 0), strict).ok());

  std::string dr;
  Writer dw(&dr, true);
  dw.ArrayCount(1);
  dw.String("t");
  dw.ArrayCount(1);
  dw.Int32(0);
  dw.Int64(-1);
  dw.TaggedFields();
  dw.TaggedFields();
  dw.Int32(100);
  dw.TaggedFields();
  Reader rr(dr, true);
  DeleteRecordsRequest d = DecodeDeleteRecordsRequest(2, rr);
  ASSERT_TRUE(CheckRequestBody(Header(kDeleteRecords, 2), rr).ok()) << rr.error();
  ASSERT_EQ(d.topics.size(), 1u);
  EXPECT_EQ(d.topics[0].partitions[0].offset, -1);
  EXPECT_EQ(d.timeout_ms, 100);
}

}  // namespace
}  // namespace ferry::kafka
