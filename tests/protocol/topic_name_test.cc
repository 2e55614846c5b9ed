#include "broker/protocol/topic_name.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <string_view>

namespace strand::protocol {
namespace {

// The message of the error validate_topic_name returns; fails the test if the name was accepted.
std::string refusal(std::string_view name) {
  io::Result<void> result = validate_topic_name(name);
  if (result.ok()) {
    ADD_FAILURE() << "'" << name << "' was accepted";
    return {};
  }
  EXPECT_EQ(result.error().kind, io::ErrorKind::kInvalid);
  return result.error().message;
}

TEST(TopicName, AcceptsLettersDigitsDotUnderscoreAndDash) {
  for (const char* name : {"a", "orders", "Orders-2024.v1_final", "0", "...", "a..b", "-", "_",
                           "__consumer_offsets", "ABCXYZabcxyz0189._-"}) {
    EXPECT_TRUE(validate_topic_name(name).ok()) << name;
  }
}

TEST(TopicName, RefusesTheEmptyName) { EXPECT_EQ(refusal(""), "topic name is empty"); }

TEST(TopicName, RefusesDotAndDotDot) {
  EXPECT_EQ(refusal("."), "topic name '.' is not allowed");
  EXPECT_EQ(refusal(".."), "topic name '..' is not allowed");
}

TEST(TopicName, Accepts249CharactersAndRefuses250) {
  EXPECT_TRUE(validate_topic_name(std::string(249, 'a')).ok());
  EXPECT_EQ(refusal(std::string(250, 'a')),
            "topic name of 250 characters is longer than the maximum of 249");
}

TEST(TopicName, RefusesASpaceAndNamesIt) {
  EXPECT_EQ(refusal("a b"),
            "topic name 'a b' has illegal character ' '; only ASCII letters, digits, '.', '_' and "
            "'-' are allowed");
}

TEST(TopicName, RefusesEachIllegalCharacterClass) {
  const std::string punctuation = "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}~";
  for (char c : punctuation) {
    EXPECT_NE(refusal(std::string("t") + c).find("illegal character"), std::string::npos) << c;
  }
  EXPECT_NE(refusal("a\tb").find("illegal character '\\x09'"), std::string::npos);
  EXPECT_NE(refusal(std::string("a\0b", 3)).find("'a\\x00b'"), std::string::npos);
  EXPECT_NE(refusal("a\x7f").find("'\\x7f'"), std::string::npos);
  EXPECT_NE(refusal("caf\xc3\xa9").find("illegal character '\\xc3'"), std::string::npos);
}

// A name is accepted exactly when it is 1-249 legal characters and not "." or "..".
RC_GTEST_PROP(TopicName, AcceptsExactlyKafkasLegalNames, ()) {
  // Mostly legal characters, with lengths around the limit, so both outcomes are common.
  const std::string legal_chars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
  const auto size = *rc::gen::inRange<std::size_t>(0, 260);
  const auto name = *rc::gen::container<std::string>(
      size, rc::gen::weightedOneOf<char>(
                {{20, rc::gen::elementOf(legal_chars)}, {1, rc::gen::arbitrary<char>()}}));
  bool legal = !name.empty() && name.size() <= 249 && name != "." && name != "..";
  for (char c : name) legal = legal && legal_chars.find(c) != std::string::npos;
  RC_ASSERT(validate_topic_name(name).ok() == legal);
}

TEST(TopicName, DotAndUnderscoreCollide) {
  EXPECT_TRUE(topic_names_collide("a.b", "a_b"));
  EXPECT_TRUE(topic_names_collide("a_b.c", "a.b_c"));
  EXPECT_TRUE(topic_names_collide("same", "same"));
  EXPECT_FALSE(topic_names_collide("a.b", "a-b"));
  EXPECT_FALSE(topic_names_collide("a.b", "a.bc"));
  EXPECT_FALSE(topic_names_collide("ab", "a_"));
}

TEST(TopicName, OnlyTheBrokersOwnTopicsAreInternal) {
  EXPECT_TRUE(is_internal_topic("__consumer_offsets"));
  EXPECT_TRUE(is_internal_topic("__transaction_state"));
  EXPECT_FALSE(is_internal_topic("__consumer_offsets2"));
  EXPECT_FALSE(is_internal_topic("consumer_offsets"));
  EXPECT_FALSE(is_internal_topic(""));
}

}  // namespace
}  // namespace strand::protocol
