#include "sim/sim_random.h"

namespace strand::sim {

std::uint64_t site_hash(const std::source_location& site) {
  // The base name only: the directory part depends on where the build directory is, and the
  // same seed must pick the same sites in every build.
  const char* name = site.file_name();
  for (const char* p = name; *p != '\0'; ++p) {
    if (*p == '/') name = p + 1;
  }
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
  for (std::size_t i = 0; name[i] != '\0' && i < 4096; ++i) {
    hash ^= static_cast<unsigned char>(name[i]);
    hash *= 0x100000001b3ull;
  }
  return io::mix64(hash ^ site.line());
}

bool SimRandom::buggify(std::source_location site) {
  if (!world_.buggify_enabled()) return false;
  if (!world_.buggify_site_enabled(site_hash(site))) return false;
  return chance(SimWorld::kBuggifyFireProbability);
}

}  // namespace strand::sim
