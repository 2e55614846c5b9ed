#include "io/random.h"

namespace strand::io {

std::uint64_t mix64(std::uint64_t value) {
  value += 0x9e3779b97f4a7c15ull;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

Xoshiro256::Xoshiro256(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (std::uint64_t& word : state_) {
    x += 0x9e3779b97f4a7c15ull;
    word = mix64(x);
  }
}

namespace {
constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

std::uint64_t Xoshiro256::next() {
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

std::uint64_t Random::uniform(std::uint64_t bound) {
  STRAND_ASSERT(bound > 0, "uniform over an empty range");
  // Lemire's multiply-shift with rejection: unbiased and without division in the common case.
  std::uint64_t x = next_u64();
  __uint128_t m = static_cast<__uint128_t>(x) * bound;
  auto low = static_cast<std::uint64_t>(m);
  if (low < bound) {
    const std::uint64_t threshold = -bound % bound;
    for (int tries = 0; low < threshold; ++tries) {
      STRAND_ASSERT(tries < 1000, "rejection sampling converges");
      x = next_u64();
      m = static_cast<__uint128_t>(x) * bound;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

std::int64_t Random::between(std::int64_t low, std::int64_t high) {
  STRAND_ASSERT(low <= high, "between needs low <= high");
  const auto span = static_cast<std::uint64_t>(high - low);
  if (span == ~0ull) return static_cast<std::int64_t>(next_u64());
  return low + static_cast<std::int64_t>(uniform(span + 1));
}

double Random::unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

}  // namespace strand::io
