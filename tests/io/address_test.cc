#include <gtest/gtest.h>

#include "io/file_system.h"
#include "io/network.h"

namespace strand::io {
namespace {

TEST(Address, ParsesHostAndPort) {
  Result<Address> parsed = parse_address("127.0.0.1:9092");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->host, "127.0.0.1");
  EXPECT_EQ(parsed->port, 9092);
  EXPECT_EQ(parsed->to_string(), "127.0.0.1:9092");
}

TEST(Address, ParsesBracketedIpv6) {
  Result<Address> parsed = parse_address("[::1]:19092");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->to_string(), "[::1]:19092");
}

TEST(Address, RejectsMalformedWithMessage) {
  for (const char* text : {"", "9092", "host:", ":9092", "host:99999", "host:12ab", "[::1:80"}) {
    Result<Address> parsed = parse_address(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalid) << text;
    EXPECT_FALSE(parsed.error().message.empty());
  }
}

TEST(Paths, ParentAndJoin) {
  EXPECT_EQ(parent_path("a/b/c"), "a/b");
  EXPECT_EQ(parent_path("c"), ".");
  EXPECT_EQ(parent_path("/c"), "/");
  EXPECT_EQ(parent_path("a/b/"), "a");
  EXPECT_EQ(join_path("a/b", "c"), "a/b/c");
  EXPECT_EQ(join_path("a/b/", "c"), "a/b/c");
  EXPECT_EQ(join_path(".", "c"), "c");
}

}  // namespace
}  // namespace strand::io
