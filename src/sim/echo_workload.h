// The demo workload of strand-sim: every node runs a framed echo service, and clients on every node
// send random frames to the other nodes' services and check each echo byte for byte, while the
// world injects faults (lossy links, partitions that heal, crashes and restarts, clock drift and
// wall jumps). After a fault phase comes a quiet phase, in which every client must make progress
// again (liveness). One seed, one run: the report's trace hash is the run's fingerprint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/time.h"
#include "sim/sim_network.h"

namespace strand::sim {

struct EchoWorkloadOptions {
  std::uint32_t nodes_count = 3;
  io::Duration duration = io::Duration::s(60);  // the whole run
  io::Duration quiet = io::Duration::s(25);     // the final stretch without new faults
  std::uint32_t clients_per_node = 2;
  std::uint32_t frame_bytes_max = 2048;
  io::Duration think_time_max = io::Duration::ms(20);
  std::uint16_t port = 9000;
  LinkConfig link;  // latency and the packet faults, for every link
  // Fault classes; a zero interval switches the class off.
  io::Duration partition_every = io::Duration::s(10);
  io::Duration partition_length = io::Duration::s(3);
  io::Duration crash_every = io::Duration::s(15);
  io::Duration crash_downtime = io::Duration::s(2);
  std::int64_t clock_drift_ppm_max = 0;
  io::Duration wall_jump_max;  // at each restart, wall time jumps by up to this either way
  bool buggify = false;
  // Checks.
  std::uint64_t frames_min = 100;
  std::uint64_t events_max = 100'000'000;
};

struct EchoCheck {
  std::string name;
  bool ok = false;
  std::string detail;
};

struct EchoWorkloadReport {
  std::uint64_t seed = 0;
  std::uint64_t events_run = 0;
  std::uint64_t trace_hash = 0;
  double simulated_s = 0;
  std::uint64_t frames_verified = 0;
  std::uint64_t bytes_verified = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t connects_failed = 0;
  std::uint64_t connections_broken = 0;
  std::uint64_t partitions = 0;
  std::uint64_t crashes = 0;
  LinkStats network;
  std::vector<EchoCheck> checks;

  bool ok() const;
};

// Runs the workload for `seed`. Deterministic: the same seed and options give the same report.
EchoWorkloadReport run_echo_workload(std::uint64_t seed, const EchoWorkloadOptions& options);

// Swarm testing: draws a random mix of fault classes and rates for `seed` on top of `base`.
EchoWorkloadOptions randomize_faults(const EchoWorkloadOptions& base, std::uint64_t seed);

}  // namespace strand::sim
