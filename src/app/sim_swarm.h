// strand-sim swarm's worker processes. Seeds run in children made with fork(): the simulator and
// spdlog keep process-global state, so a separate process per worker keeps every simulation as
// isolated as an in-process run one seed at a time, and a child that dies (a broker assertion's
// abort, a signal) costs only the seed it was running.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace strand::app {

// The verdict on one seed.
struct SeedOutcome {
  std::uint64_t seed = 0;
  bool ok = false;
  std::string why;  // when !ok: the failed checks, or how the worker died (one line)
};

struct SwarmTally {
  std::uint64_t ran = 0;  // seeds low .. low + ran - 1 have an outcome
  std::uint64_t failed = 0;
  std::string error;  // non-empty: no worker could be started, so seeds after those were not run
};

using RunSeed = std::function<SeedOutcome(std::uint64_t seed)>;
using ReportSeed = std::function<void(const SeedOutcome&)>;

// Runs seeds low..high, each by `run_seed` in one of `jobs` worker processes made with fork().
// The parent hands out seeds in ascending order, one at a time to whichever worker is free, and
// calls `report` in the parent for every seed, in ascending seed order, as soon as every lower seed
// has its outcome. A worker that dies before answering yields a failed outcome for the seed it held
// and is replaced. With `stop_early`, no seed is handed out once a failure is known; seeds already
// running finish and are reported. Returns once every worker has been reaped.
// The caller must not have run a simulation in this process (each fork must start clean).
// Requires 1 <= jobs and low <= high.
SwarmTally run_seeds_forked(std::uint64_t low, std::uint64_t high, int jobs, bool stop_early,
                            const RunSeed& run_seed, const ReportSeed& report);

}  // namespace strand::app
