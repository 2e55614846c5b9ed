// The broker scenario's fault schedule (internal to broker_workload): world events, owned by no
// node, that crash and restart brokers' machines (one at a time, or all at once), pause a
// broker's process, partition the network (in the shapes of PartitionShape; isolating a broker, a
// partition leader among them), fill and break one broker's disk, flip bits in its synced segment
// data and move clocks, until the heal. The heal stops every fault, resumes a paused broker,
// brings every broker back (power-cycling those whose disk failed them since their last boot, as
// an operator would), and records nothing else. In a cluster the injector also samples
// the partition leaders (sample_leaders) at every fault step and every 250 ms until the run ends.
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
  // `brokers` and `clients` outlive the injector's events (the run ends before they are
  // destroyed).
  BrokerFaultInjector(BrokerRun& run, std::vector<SimNode*> brokers, std::vector<SimNode*> clients,
                      BrokerFaultCounts& counts);

  // The consumer-group members' machines, for member crashes. Call before start().
  void set_group_members(std::vector<SimNode*> members) { members_ = std::move(members); }

  // Schedules the fault classes from now until history.fault_end, and the heal at fault_end.
  void start();

 private:
  void at(io::Duration delay, std::function<void()> step);
  io::Duration next_gap(io::Duration every);
  bool faulting() const;
  void remember_boot(std::size_t broker);
  bool disk_failed_since_boot(std::size_t broker) const;
  std::size_t pick_broker();
  bool all_up() const;
  SimNode& disk_broker() { return *brokers_[disk_broker_]; }
  void set_disk_faults(SimDisk& disk);
  void move_disk_faults();
  void sample();
  void sample_periodically();

  void crash();
  void crash_all();
  void restart(std::size_t broker);
  void partition();
  void isolate_one();
  void cut_clients(NodeId broker);
  void client_one_way(NodeId broker);
  void broker_one_way();
  void split_brokers();
  void bridge();
  void isolate_rack();
  std::vector<std::size_t> shuffled_brokers();
  void pause();
  void rolling_restart();
  // Stops broker `broker` of a roll cleanly, waits (polling) for its shutdown, power-cycles its
  // machine, and goes on with the next broker.
  void roll(std::size_t broker);
  void roll_wait(std::size_t broker, io::Instant give_up);
  void roll_restart(std::size_t broker);
  void no_space();
  void bit_flip();
  void wall_jump();
  void member_crash();
  void heal();

  BrokerRun& run_;
  SimWorld& world_;
  const BrokerFaultOptions& options_;
  std::vector<SimNode*> brokers_;
  std::vector<SimNode*> clients_;
  std::vector<SimNode*> members_;
  BrokerFaultCounts& counts_;
  io::SeededRandom random_;
  io::SeededRandom member_random_;  // its own stream: runs without a group replay unchanged
  io::SeededRandom pause_random_;   // its own stream: runs without pauses replay unchanged
  // What a partition picks from: the scenario's shapes, a one-way block split in two kinds (a
  // client's link, or in a cluster a link between brokers), in the order of the time before
  // shapes could be chosen, so scenarios with only the old shapes replay as they did.
  enum class Kind : std::uint8_t {
    kIsolate,
    kClients,
    kClientOneWay,
    kBrokerOneWay,
    kSplit,
    kBridge,
    kRack,
  };
  std::vector<Kind> kinds_;
  std::vector<SimDiskStats> at_boot_;  // each broker disk's counters when it last booted
  std::size_t disk_broker_ = 0;        // the broker whose disk has faults
  std::size_t flip_broker_ = 0;        // the broker whose disk flips bits (never moves)
  bool no_space_now_ = false;
  bool rolling_ = false;  // a rolling restart is under way
};

}  // namespace strand::sim
