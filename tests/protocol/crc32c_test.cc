#include "broker/protocol/crc32c.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace strand::protocol {
namespace {

std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

// Known vectors: the CRC-32C check value, and the iSCSI test patterns of RFC 3720 B.4.
TEST(Crc32c, MatchesKnownVectors) {
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xe3069283u);
  std::vector<std::byte> zeros(32, std::byte{0});
  EXPECT_EQ(crc32c(zeros), 0x8a9136aau);
  std::vector<std::byte> ones(32, std::byte{0xff});
  EXPECT_EQ(crc32c(ones), 0x62a8ab43u);
  std::vector<std::byte> ascending(32);
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<std::byte>(i);
  EXPECT_EQ(crc32c(ascending), 0x46dd794eu);
  std::vector<std::byte> descending(32);
  for (int i = 0; i < 32; ++i) descending[i] = static_cast<std::byte>(31 - i);
  EXPECT_EQ(crc32c(descending), 0x113fdb5cu);
  EXPECT_EQ(crc32c_portable(bytes_of("123456789")), 0xe3069283u);
  EXPECT_EQ(crc32c({}), 0u);
}

// Hardware and portable paths agree on every input, and checksumming in pieces equals one pass.
RC_GTEST_PROP(Crc32c, HardwareEqualsPortableAndPiecesCompose,
              (const std::string& text, std::size_t cut_seed)) {
  std::span<const std::byte> all = bytes_of(text);
  RC_ASSERT(crc32c(all) == crc32c_portable(all));
  const std::size_t cut = text.empty() ? 0 : cut_seed % (text.size() + 1);
  const std::uint32_t first = crc32c(all.first(cut));
  RC_ASSERT(crc32c(all.subspan(cut), first) == crc32c(all));
  RC_ASSERT(crc32c_portable(all.subspan(cut), crc32c_portable(all.first(cut))) == crc32c(all));
}

// The same for inputs long enough for the three-lane paths (768 bytes and 24 KiB blocks), at every
// alignment and at lengths around the block boundaries.
RC_GTEST_PROP(Crc32c, LongInputsAgreeAcrossLaneBoundaries, ()) {
  const std::size_t length = *rc::gen::oneOf(rc::gen::inRange<std::size_t>(700, 900),
                                             rc::gen::inRange<std::size_t>(24'500, 25'000),
                                             rc::gen::inRange<std::size_t>(0, 200'000));
  const std::size_t offset = *rc::gen::inRange<std::size_t>(0, 8);
  const auto seed = *rc::gen::arbitrary<std::uint32_t>();
  std::vector<std::byte> buffer(length + offset);
  std::uint32_t x = seed | 1;
  for (std::byte& b : buffer) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::byte>(x);
  }
  std::span<const std::byte> all = std::span<const std::byte>(buffer).subspan(offset);
  const auto start = *rc::gen::arbitrary<std::uint32_t>();
  RC_ASSERT(crc32c(all, start) == crc32c_portable(all, start));
}

}  // namespace
}  // namespace strand::protocol
