// A node's io::Random in the simulator: a Xoshiro256 stream derived from the world seed, the node
// and its incarnation, and BUGGIFY switched per call site once per seed.
#pragma once

#include <cstdint>
#include <source_location>

#include "io/random.h"
#include "sim/sim_world.h"

namespace strand::sim {

// A stable hash of a call site (file name and line): the same site hashes the same in every run
// and every build of the same source, unlike an address.
std::uint64_t site_hash(const std::source_location& site);

class SimRandom final : public io::Random {
 public:
  SimRandom(const SimWorld& world, std::uint64_t seed) : world_(world), generator_(seed) {}

  std::uint64_t next_u64() override { return generator_.next(); }
  // False unless the world has BUGGIFY on and this site is enabled for this seed; then true with
  // SimWorld::kBuggifyFireProbability per call.
  bool buggify(std::source_location site = std::source_location::current()) override;

 private:
  const SimWorld& world_;
  io::Xoshiro256 generator_;
};

}  // namespace strand::sim
