// Kafka wire primitives: exact bytes for the encodings the protocol guide fixes, and the
// Reader's sticky error on every kind of malformed input.
#include "server/kafka/wire.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace ferry::kafka {
namespace {

std::string Hex(const std::string& s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

TEST(WireTest, FixedWidthIntegersAreBigEndian) {
  std::string buf;
  Writer w(&buf);
  w.Int8(-2);
  w.Int16(0x0102);
  w.Int32(-2);
  w.Int64(0x0102030405060708);
  w.Uint32(0xdeadbeef);
  w.Bool(true);
  EXPECT_EQ(Hex(buf), "fe0102fffffffe0102030405060708deadbeef01");

  Reader r(buf);
  EXPECT_EQ(r.Int8(), -2);
  EXPECT_EQ(r.Int16(), 0x0102);
  EXPECT_EQ(r.Int32(), -2);
  EXPECT_EQ(r.Int64(), 0x0102030405060708);
  EXPECT_EQ(r.Uint32(), 0xdeadbeefu);
  EXPECT_TRUE(r.Bool());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(WireTest, ZigzagVarintsMatchTheProtocolGuide) {
  const struct {
    int64_t value;
    const char* hex;
  } kCases[] = {{0, "00"},     {-1, "01"},     {1, "02"},         {-2, "03"},
                {63, "7e"},    {-64, "7f"},    {64, "8001"},      {150, "ac02"},
                {-65, "8101"}, {8191, "fe7f"}, {-8193, "818001"}, {300, "d804"}};
  for (const auto& c : kCases) {
    std::string buf;
    Writer(&buf).Varlong(c.value);
    EXPECT_EQ(Hex(buf), c.hex) << c.value;
    Reader r(buf);
    EXPECT_EQ(r.Varlong(), c.value);
    EXPECT_TRUE(r.ok());
  }
}

TEST(WireTest, VarintExtremesRoundTrip) {
  for (int32_t v : {0, 1, -1, 127, 128, -129, std::numeric_limits<int32_t>::max(),
                    std::numeric_limits<int32_t>::min()}) {
    std::string buf;
    Writer(&buf).Varint(v);
    EXPECT_LE(buf.size(), 5u);
    Reader r(buf);
    EXPECT_EQ(r.Varint(), v);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
  }
  for (int64_t v : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<int64_t>::min(), int64_t{1} << 40}) {
    std::string buf;
    Writer(&buf).Varlong(v);
    EXPECT_LE(buf.size(), 10u);
    Reader r(buf);
    EXPECT_EQ(r.Varlong(), v);
    EXPECT_TRUE(r.ok());
  }
  std::string buf;
  Writer(&buf).UnsignedVarint(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(Hex(buf), "ffffffffffffffffff01");
  Reader r(buf);
  EXPECT_EQ(r.UnsignedVarint64(), std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(r.ok());
}

TEST(WireTest, MalformedVarintsFail) {
  Reader truncated(std::string_view("\x80\x80", 2));
  truncated.Varint();
  EXPECT_FALSE(truncated.ok());

  const std::string eleven = std::string(10, '\x80') + '\x01';
  Reader too_long(eleven);
  too_long.UnsignedVarint64();
  EXPECT_FALSE(too_long.ok());

  std::string big;
  Writer(&big).UnsignedVarint(uint64_t{1} << 32);
  Reader over32(big);
  over32.UnsignedVarint();
  EXPECT_FALSE(over32.ok());

  Reader empty("");
  empty.Varlong();
  EXPECT_FALSE(empty.ok());
}

TEST(WireTest, StringsAndBytes) {
  std::string buf;
  Writer w(&buf);
  w.String("abc");
  w.NullableString(std::nullopt);
  w.NullableString(std::string_view(""));
  w.BytesField(std::string_view("\x00\x01", 2));
  w.NullBytes();
  w.ArrayCount(2);
  EXPECT_EQ(Hex(buf), "0003616263ffff0000000000020001ffffffff00000002");

  Reader r(buf);
  EXPECT_EQ(r.String(), "abc");
  EXPECT_FALSE(r.NullableString().has_value());
  auto empty = r.NullableString();
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, "");
  EXPECT_EQ(r.BytesField(), std::string_view("\x00\x01", 2));
  EXPECT_FALSE(r.NullableBytes().has_value());
  EXPECT_EQ(r.ArrayCount(0), 2);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(WireTest, NegativeLengthsFail) {
  Reader s(std::string_view("\xff\xfe", 2));
  s.String();
  EXPECT_FALSE(s.ok());
  Reader ns(std::string_view("\xff\xfe", 2));
  ns.NullableString();
  EXPECT_FALSE(ns.ok());
  Reader b(std::string_view("\xff\xff\xff\xfe", 4));
  b.NullableBytes();
  EXPECT_FALSE(b.ok());
  Reader a(std::string_view("\xff\xff\xff\xfe", 4));
  a.ArrayCount();
  EXPECT_FALSE(a.ok());
  Reader null_array(std::string_view("\xff\xff\xff\xff", 4));
  EXPECT_EQ(null_array.ArrayCount(), 0);
  EXPECT_TRUE(null_array.ok());
}

TEST(WireTest, LengthsLongerThanTheDataFail) {
  Reader s(
      std::string_view("\x00\x05"
                       "abc",
                       5));
  EXPECT_EQ(s.String(), "");
  EXPECT_FALSE(s.ok());
  Reader b(
      std::string_view("\x00\x00\x00\x04"
                       "abc",
                       7));
  b.BytesField();
  EXPECT_FALSE(b.ok());
  // A forged array count must not pass when it cannot fit in what is left.
  Reader a(
      std::string_view("\x7f\xff\xff\xff"
                       "abcd",
                       8));
  EXPECT_EQ(a.ArrayCount(4), 0);
  EXPECT_FALSE(a.ok());
  Reader fits(
      std::string_view("\x00\x00\x00\x02"
                       "abcd",
                       8));
  EXPECT_EQ(fits.ArrayCount(2), 2);
  EXPECT_TRUE(fits.ok());
}

TEST(WireTest, ErrorIsStickyAndKeepsTheFirstReason) {
  Reader r(std::string_view("\x01\x02\x03", 3));
  EXPECT_EQ(r.Int32(), 0);
  EXPECT_FALSE(r.ok());
  const std::string first = r.error();
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.Int8(), 0);
  r.Fail("another reason");
  EXPECT_EQ(r.error(), first);
  EXPECT_FALSE(r.ok());
}

TEST(WireTest, PatchOverwritesReservedInt32) {
  std::string buf;
  Writer w(&buf);
  w.Int8(7);
  const size_t at = w.ReserveInt32();
  w.Int8(9);
  w.PatchInt32(at, -3);
  EXPECT_EQ(Hex(buf), "07fffffffd09");
}

TEST(WireTest, FlexibleFormsAreCompact) {
  std::string buf;
  Writer w(&buf, /*flexible=*/true);
  w.String("ab");
  w.NullableString(std::nullopt);
  w.NullableString("");
  w.BytesField("xyz");
  w.NullBytes();
  w.ArrayCount(2);
  w.NullArray();
  w.TaggedFields();
  // Lengths are unsigned varints of length + 1; 0 is null; an empty tag section is one 0.
  EXPECT_EQ(Hex(buf),
            "03616200"
            "01"
            "0478797a"
            "00"
            "03"
            "00"
            "00");

  Reader r(buf, /*flexible=*/true);
  EXPECT_EQ(r.String(), "ab");
  EXPECT_FALSE(r.NullableString().has_value());
  EXPECT_EQ(r.NullableString(), std::optional<std::string_view>(""));
  EXPECT_EQ(r.BytesField(), "xyz");
  EXPECT_FALSE(r.NullableBytes().has_value());
  EXPECT_EQ(r.ArrayCount(), 2);
  EXPECT_EQ(r.NullableArrayCount(), -1);
  r.TaggedFields();
  EXPECT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(WireTest, NotFlexibleTaggedFieldsAreNoOps) {
  std::string buf;
  Writer w(&buf);
  w.TaggedFields();
  w.NullArray();
  EXPECT_EQ(Hex(buf), "ffffffff");
  Reader r(buf);
  r.TaggedFields();
  EXPECT_EQ(r.NullableArrayCount(), -1);
  EXPECT_TRUE(r.ok());
}

TEST(WireTest, TaggedFieldsAreSeenAndChecked) {
  // Two fields: tag 0 with "a", tag 5 with "bc".
  std::string buf(
      "\x02\x00\x01"
      "a"
      "\x05\x02"
      "bc",
      8);
  Reader r(buf, true);
  std::string seen;
  r.TaggedFields([&](uint32_t tag, std::string_view data) {
    seen += std::to_string(tag) + "=" + std::string(data) + ";";
  });
  EXPECT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(seen, "0=a;5=bc;");

  // Out of order, truncated, and a null where a string is due: each fails.
  std::string unordered("\x02\x05\x00\x01\x00", 5);
  Reader r1(unordered, true);
  r1.TaggedFields();
  EXPECT_FALSE(r1.ok());
  std::string truncated(
      "\x01\x00\x05"
      "ab",
      5);
  Reader r2(truncated, true);
  r2.TaggedFields();
  EXPECT_FALSE(r2.ok());
  std::string null_string("\x00", 1);
  Reader r3(null_string, true);
  r3.String();
  EXPECT_FALSE(r3.ok());
  // A forged compact array count fails before any allocation.
  std::string forged("\xff\xff\xff\x0f", 4);
  Reader r4(forged, true);
  EXPECT_EQ(r4.ArrayCount(), 0);
  EXPECT_FALSE(r4.ok());
}

}  // namespace
}  // namespace ferry::kafka
