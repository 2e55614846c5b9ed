#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <vector>

#include "broker/protocol/varint.h"

namespace strand::protocol {
namespace {

TEST(Varint, EncodesZigZagAsKafkaDoes) {
  std::vector<std::byte> out;
  append_varint(out, 0);
  append_varint(out, -1);
  append_varint(out, 1);
  append_varint(out, 300);
  const std::vector<std::byte> expected = {std::byte{0x00}, std::byte{0x01}, std::byte{0x02},
                                           std::byte{0xd8}, std::byte{0x04}};
  EXPECT_EQ(out, expected);
}

TEST(Varint, RejectsTruncatedAndOverlong) {
  std::vector<std::byte> truncated = {std::byte{0x80}};
  std::span<const std::byte> in = truncated;
  EXPECT_FALSE(read_varint(in).has_value());
  std::vector<std::byte> overlong(6, std::byte{0xff});
  in = overlong;
  EXPECT_FALSE(read_varint(in).has_value());
}

RC_GTEST_PROP(Varint, RoundTrips, (std::int32_t a, std::int64_t b)) {
  std::vector<std::byte> out;
  append_varint(out, a);
  append_varlong(out, b);
  std::span<const std::byte> in = out;
  RC_ASSERT(read_varint(in) == std::optional<std::int32_t>(a));
  RC_ASSERT(read_varlong(in) == std::optional<std::int64_t>(b));
  RC_ASSERT(in.empty());
}

}  // namespace
}  // namespace strand::protocol
