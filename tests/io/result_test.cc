#include <gtest/gtest.h>

#include <string>

#include "io/result.h"

namespace strand::io {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Error{ErrorKind::kInvalid, std::string("not a digit: ") + c};
  return c - '0';
}

TEST(Result, CarriesValueOrError) {
  Result<int> good = parse_digit('7');
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);

  Result<int> bad = parse_digit('x');
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(bad.error().to_string(), "invalid: not a digit: x");
}

TEST(Result, VoidResultDefaultsToSuccess) {
  Result<void> done = ok();
  EXPECT_TRUE(done.ok());
  Result<void> failed = Error{ErrorKind::kNoSpace, "disk full"};
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::kNoSpace);
}

TEST(Result, WithContextPrefixesMessage) {
  Error error = with_context(Error{ErrorKind::kIoError, "short read"}, "segment 42");
  EXPECT_EQ(error.message, "segment 42: short read");
  EXPECT_EQ(error.kind, ErrorKind::kIoError);
}

TEST(ResultDeathTest, ValueOfFailedResultAborts) {
  Result<int> bad = Error{ErrorKind::kClosed, "gone"};
  EXPECT_DEATH((void)bad.value(), "value\\(\\) of a failed Result");
}

}  // namespace
}  // namespace strand::io
