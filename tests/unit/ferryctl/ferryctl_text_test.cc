// ferryctl's text helpers: the JSON writer, UTF-8 detection, flag escapes and durations, and a
// record rendered as JSON.
#include <string>

#include "absl/time/time.h"
#include "client/ferryctl/json.h"
#include "client/ferryctl/output.h"
#include "gtest/gtest.h"

namespace ferry::ctl {
namespace {

TEST(JsonWriterTest, NestsAndSeparates) {
  JsonWriter json;
  json.BeginObject()
      .Key("a")
      .Int(-1)
      .Key("b")
      .BeginArray()
      .Bool(true)
      .Null()
      .BeginObject()
      .EndObject()
      .BeginArray()
      .EndArray()
      .EndArray()
      .Key("c")
      .String("x")
      .EndObject();
  EXPECT_EQ(json.str(), R"({"a":-1,"b":[true,null,{},[]],"c":"x"})");
}

TEST(JsonWriterTest, EscapesStrings) {
  JsonWriter json;
  json.String(std::string("q\" b\\ n\n t\t c\x01 z\0.", 18));
  EXPECT_EQ(json.str(), R"("q\" b\\ n\n t\t c\u0001 z\u0000.")");
}

TEST(JsonWriterTest, KeepsUtf8AndReplacesInvalidBytes) {
  JsonWriter json;
  json.BeginArray()
      .String("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")
      .String(
          "a\xff"
          "b")
      .EndArray();
  EXPECT_EQ(json.str(), "[\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"a\\ufffdb\"]");
}

TEST(JsonWriterTest, BytesAreUtf8OrBase64OrNull) {
  JsonWriter json;
  json.BeginObject()
      .Bytes("k", "text")
      .Bytes("v", std::string("\x00\xff\x10", 3))
      .Bytes("n", "", /*present=*/false)
      .EndObject();
  EXPECT_EQ(json.str(), R"({"k":"text","v":"AP8Q","v_encoding":"base64","n":null})");
}

TEST(Utf8Test, AcceptsWellFormedOnly) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

TEST(UnescapeTest, KnownEscapes) {
  EXPECT_EQ(*Unescape(R"(\t)", "-K"), "\t");
  EXPECT_EQ(*Unescape(R"(a\nb\r\\)", "-K"), "a\nb\r\\");
  EXPECT_EQ(*Unescape(R"(\x1f\x3A)", "-K"), "\x1f:");
  EXPECT_EQ(*Unescape(R"(\0)", "-K"), std::string(1, '\0'));
  EXPECT_EQ(*Unescape("::", "-K"), "::");
  EXPECT_FALSE(Unescape(R"(\q)", "-K").ok());
  EXPECT_FALSE(Unescape(R"(\x1)", "-K").ok());
  EXPECT_FALSE(Unescape(R"(a\)", "-K").ok());
}

TEST(RecordFormatTest, HexEscapeIsTextNotAField) {
  absl::StatusOr<RecordFormat> f = RecordFormat::Parse(R"(%k\x1f%v\x25\n)");
  ASSERT_TRUE(f.ok());
  ConsumerRecord r;
  r.key = "k";
  r.has_key = true;
  r.value = "v";
  r.has_value = true;
  EXPECT_EQ(f->Render(r), "k\x1fv%\n");
}

TEST(DurationFlagTest, SecondsWithoutUnit) {
  EXPECT_EQ(*ParseDurationFlag("1", "--timeout"), absl::Seconds(1));
  EXPECT_EQ(*ParseDurationFlag("1.5", "--timeout"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseDurationFlag("500ms", "--timeout"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseDurationFlag("2m", "--timeout"), absl::Minutes(2));
  EXPECT_FALSE(ParseDurationFlag("never", "--timeout").ok());
  EXPECT_FALSE(ParseDurationFlag("0", "--timeout").ok());
  EXPECT_FALSE(ParseDurationFlag("-1s", "--timeout").ok());
  EXPECT_FALSE(ParseDurationFlag("", "--timeout").ok());
}

TEST(RecordJsonTest, FieldsNullsAndBase64) {
  ConsumerRecord r;
  r.topic = "orders";
  r.partition = 2;
  r.offset = 7;
  r.timestamp_ms = 1700000000000;
  r.value = std::string("\xff\xfe", 2);
  r.has_value = true;
  r.headers = {{"source", "web"}, {"bin", std::string("\x80", 1)}};
  EXPECT_EQ(
      RecordJson(r),
      R"({"topic":"orders","partition":2,"offset":7,"timestamp":1700000000000,)"
      R"("key":null,"value":"//4=","value_encoding":"base64","headers":[)"
      R"({"key":"source","value":"web"},{"key":"bin","value":"gA==","value_encoding":"base64"}]})");
}

}  // namespace
}  // namespace ferry::ctl
