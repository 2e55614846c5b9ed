#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "io/random.h"

namespace strand::io {
namespace {

TEST(Random, SameSeedSameSequenceDifferentSeedDifferent) {
  SeededRandom a(42), b(42), c(43);
  bool any_difference = false;
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    if (x != c.next_u64()) any_difference = true;
  }
  EXPECT_TRUE(any_difference);
}

TEST(Random, UniformStaysInRangeAndCoversIt) {
  SeededRandom random(7);
  std::array<int, 10> counts{};
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t x = random.uniform(10);
    ASSERT_LT(x, 10u);
    counts[x] += 1;
  }
  for (int count : counts) {  // expected 10,000 each; 5 sigma is about 470
    EXPECT_GT(count, 9'500);
    EXPECT_LT(count, 10'500);
  }
}

TEST(Random, BetweenIsInclusiveAndUnitIsHalfOpen) {
  SeededRandom random(9);
  bool saw_low = false, saw_high = false;
  for (int i = 0; i < 10'000; ++i) {
    const std::int64_t x = random.between(-3, 3);
    ASSERT_GE(x, -3);
    ASSERT_LE(x, 3);
    saw_low |= x == -3;
    saw_high |= x == 3;
    const double u = random.unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
  EXPECT_TRUE(saw_low);
  EXPECT_TRUE(saw_high);
}

TEST(Random, ProductionRandomNeverBuggifies) {
  SeededRandom random(1);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(random.buggify());
}

}  // namespace
}  // namespace strand::io
