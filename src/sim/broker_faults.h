// The broker scenario's fault schedule (internal to broker_workload): world events, owned by no
// node, that crash and restart the broker's machine, partition the network, fill and break the
// broker's disk, flip bits in its synced segment data and move clocks, until the heal. The heal
// stops every fault, brings the broker back (power-cycling it if its disk failed it since its
// last boot, as an operator would), and records nothing else.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "io/random.h"
#include "sim/broker_clients.h"
#include "sim/sim_node.h"

namespace strand::sim {

class BrokerFaultInjector {
 public:
  // `broker` and `clients` outlive the injector's events (the run ends before they are destroyed).
  BrokerFaultInjector(BrokerRun& run, SimNode& broker, std::vector<SimNode*> clients,
                      BrokerFaultCounts& counts);

  // Schedules the fault classes from now until history.fault_end, and the heal at fault_end.
  void start();

 private:
  void at(io::Duration delay, std::function<void()> step);
  io::Duration next_gap(io::Duration every);
  bool faulting() const;
  void remember_boot();
  bool disk_failed_since_boot() const;

  void crash();
  void restart();
  void partition();
  void no_space();
  void bit_flip();
  void wall_jump();
  void heal();

  BrokerRun& run_;
  SimWorld& world_;
  const BrokerFaultOptions& options_;
  SimNode& broker_;
  std::vector<SimNode*> clients_;
  BrokerFaultCounts& counts_;
  io::SeededRandom random_;
  SimDiskStats at_boot_;  // the broker disk's counters when it last booted
};

}  // namespace strand::sim
