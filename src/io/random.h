// The only source of randomness for broker code. On libuv it is seeded once from the OS (and the
// seed is logged); in the simulator every node's Random derives from the world's seed.
#pragma once

#include <cstdint>
#include <source_location>

#include "io/assert.h"

namespace strand::io {

class Random {
 public:
  virtual ~Random() = default;

  virtual std::uint64_t next_u64() = 0;

  // Rare and simulation-only: when true, take a legal but unusual path here (a short read, a tiny
  // batch, an early timeout). In the simulator each call site is switched on or off once per seed,
  // then a coin is tossed per call. On libuv: always false.
  virtual bool buggify(std::source_location site = std::source_location::current()) = 0;

  // Uniform in [0, bound). REQUIRES: bound > 0.
  std::uint64_t uniform(std::uint64_t bound);
  // Uniform in [low, high]. REQUIRES: low <= high.
  std::int64_t between(std::int64_t low, std::int64_t high);
  // Uniform in [0, 1).
  double unit();
  // True with probability `p`.
  bool chance(double p) { return unit() < p; }
};

// xoshiro256** seeded through splitmix64: fast, small state, good statistics. Deterministic for a
// seed on every platform, which is what the simulator needs.
class Xoshiro256 {
 public:
  explicit Xoshiro256(std::uint64_t seed);
  std::uint64_t next();

 private:
  std::uint64_t state_[4];
};

// splitmix64 step: mixes a 64-bit value; used to derive independent seeds from one.
std::uint64_t mix64(std::uint64_t value);

// A Random over Xoshiro256 whose buggify() always answers false (production and plain tests).
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : generator_(seed) {}
  std::uint64_t next_u64() override { return generator_.next(); }
  bool buggify(std::source_location = std::source_location::current()) override { return false; }

 private:
  Xoshiro256 generator_;
};

}  // namespace strand::io
