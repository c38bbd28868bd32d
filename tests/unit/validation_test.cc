#include "server/broker/validation.h"

#include <string>

#include "gtest/gtest.h"

namespace ferry::broker {
namespace {

TEST(ValidateTopicNameTest, KafkasRule) {
  for (const char* ok : {"orders", "a", "my-topic", "my_topic.v2", "A.B-C_9"}) {
    EXPECT_TRUE(ValidateTopicName(ok).ok()) << ok;
  }
  EXPECT_TRUE(ValidateTopicName(std::string(249, 'x')).ok());
  for (const std::string& bad : {std::string(""), std::string("."), std::string(".."),
                                 std::string(250, 'x'), std::string("a/b"), std::string("a b"),
                                 std::string("é"), std::string("a\0b", 3), std::string("a:b")}) {
    absl::Status s = ValidateTopicName(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << bad;
    EXPECT_FALSE(s.message().empty());
  }
}

TEST(ValidateGroupNameTest, RejectsEmptyLongAndControl) {
  EXPECT_TRUE(ValidateGroupName("my-group").ok());
  EXPECT_TRUE(ValidateGroupName("group with spaces").ok());
  EXPECT_FALSE(ValidateGroupName("").ok());
  EXPECT_FALSE(ValidateGroupName(std::string(250, 'g')).ok());
  EXPECT_FALSE(ValidateGroupName(std::string("a\0b", 3)).ok());
}

}  // namespace
}  // namespace ferry::broker
