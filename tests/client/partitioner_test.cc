#include "client/partitioner.h"

#include <gtest/gtest.h>

#include <string>

namespace strand::client {
namespace {

std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

// The vectors of Kafka's own UtilsTest.testMurmur2 (Java's signed results).
TEST(Partitioner, Murmur2MatchesTheJavaClient) {
  const std::pair<std::string, std::int32_t> cases[] = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(static_cast<std::int32_t>(murmur2(bytes_of(text))), expected) << text;
  }
}

TEST(Partitioner, KeyPicksPartitionAsJavaDoes) {
  // (hash & 0x7fffffff) % n with the hashes above.
  EXPECT_EQ(partition_for_key(bytes_of("21"), 12), (-973932308 & 0x7fffffff) % 12);
  EXPECT_EQ(partition_for_key(bytes_of("foobar"), 7), (-790332482 & 0x7fffffff) % 7);
  for (int n = 1; n < 50; ++n) {
    const std::int32_t p = partition_for_key(bytes_of("key-" + std::to_string(n)), n);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, n);
  }
}

}  // namespace
}  // namespace strand::client
