// The broker scenario of strand-sim: a real strand broker (src/broker) on a simulated node, and
// simulated client nodes whose producers and consumers (src/client) speak Kafka bytes to it over
// SimNetwork, while the world injects faults: power failures of the broker's machine (its disk
// drops, keeps or tears unsynced writes), lossy links and partitions, disk errors, full disks,
// slow disks, latent bit flips in synced data, clock drift and wall-clock jumps.
//
// A run has three phases: setup (topics are created, no faults), the fault phase, and the heal
// phase (duration - quiet .. duration) in which every fault stops, the broker is restarted if its
// disk failed it, and liveness must be shown. Producers stop `drain` before the end so consumers
// can catch up; then a read-back client reads every partition from its start to its high
// watermark, and the checkers (broker_history.h) judge the whole history.
//
// One broker, or a cluster of nodes_count brokers, each on its own simulated machine and disk,
// all controller voters, with Raft-replicated partitions. Deterministic: one seed, one trace hash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/time.h"
#include "sim/broker_history.h"
#include "sim/sim_disk.h"
#include "sim/sim_network.h"

namespace strand::sim {

// The shapes a network partition takes. kIsolate: one broker from everyone; kOneWay: one broker
// blocked from a client or (in a cluster) from another broker, one way; kClients: some clients
// cut off one broker; kSplit: a minority of the brokers from the majority, each client on a random
// side; kBridge (Jepsen's): two sides that cannot see each other and one broker that sees both;
// kRack: every broker of one rack from the rest (the clients stay with the larger side).
enum class PartitionShape : std::uint8_t { kIsolate, kOneWay, kClients, kSplit, kBridge, kRack };
inline constexpr std::size_t kPartitionShapesCount = 6;
// The scenario's names for the shapes ("isolate", "one_way", ...), in enum order.
const std::vector<std::string_view>& partition_shape_names();

// Fault classes. A zero interval (or probability) switches a class off. Rates apply during the
// fault phase only.
struct BrokerFaultOptions {
  // Power failure of one broker's machine (in a cluster: only while every broker is up, so one
  // at a time), or with crash_all_fraction of all brokers' machines at once.
  io::Duration crash_every;
  io::Duration crash_downtime = io::Duration::s(2);
  double crash_all_fraction = 0;
  // Isolate one broker, cut some clients off, or one-way blocks (in a cluster also between two
  // brokers). An isolation picks a partition leader with isolate_leader_fraction, else any broker.
  double isolate_leader_fraction = 0.5;
  io::Duration partition_every;
  io::Duration partition_length = io::Duration::s(3);
  // The shapes partitions pick from, uniformly; empty: every shape that applies to the cluster
  // (kSplit and kBridge need 3 brokers, kRack 2 racks with brokers in them).
  std::vector<PartitionShape> partition_shapes;
  // One broker's process stops (a GC pause, SIGSTOP) for up to pause_length_max, a partition
  // leader half of the time; one broker at a time.
  io::Duration pause_every;
  io::Duration pause_length_max = io::Duration::s(3);
  // A rolling restart, as an operator upgrades a cluster: each broker in turn stops cleanly
  // (SIGTERM: the broker's shutdown closes its logs; killed if it has not finished within
  // kCleanStopLimit), its machine starts again, and rolling_restart_pause after that start the
  // next broker stops. A roll begins only while every broker is up, and stops at the heal.
  io::Duration rolling_restart_every;
  io::Duration rolling_restart_pause = io::Duration::s(3);
  // Disk faults hit one broker at a time (in a cluster they move to another broker when the
  // faulty one is power-cycled).
  double disk_read_error = 0;     // per read: EIO
  double disk_write_error = 0;    // per write: EIO
  double disk_sync_error = 0;     // per sync: EIO (the log then fails until a restart)
  io::Duration disk_latency_max;  // reads, writes and syncs take up to this long
  io::Duration no_space_every;    // the disk is full (ENOSPC) for a while
  io::Duration no_space_length = io::Duration::s(2);
  io::Duration bit_flip_every;  // one bit of a segment's synced data flips
  // A group member's machine stops (no LeaveGroup) and starts again, as a new member, after up
  // to member_downtime.
  io::Duration member_crash_every;
  io::Duration member_downtime = io::Duration::s(3);
  std::int64_t clock_drift_ppm_max = 0;
  io::Duration wall_jump_every;  // a node's wall clock jumps by up to wall_jump_max either way
  io::Duration wall_jump_max;
  bool buggify = false;
};

struct BrokerWorkloadOptions {
  // Brokers. More than one: a cluster, topics replicated on min(3, nodes) of them.
  std::uint32_t nodes_count = 1;
  // Brokers 1..voters_count form the controller quorum; the others follow the metadata log as
  // learners (broker.rpc.listener). 0: every broker is a voter.
  std::uint32_t voters_count = 0;
  // Broker i's broker.rack is "r<i % racks_count>"; 0: no racks.
  std::uint32_t racks_count = 0;
  io::Duration duration = io::Duration::s(60);  // after setup: the fault and heal phases
  io::Duration quiet = io::Duration::s(20);     // the heal phase
  io::Duration drain = io::Duration::s(5);      // producers stop this long before the end

  // The workload.
  std::uint32_t topics_count = 2;
  std::int32_t partitions_count = 3;
  std::uint32_t producers_count = 4;
  std::uint32_t consumers_count = 3;       // consumer i reads topic i % topics_count
  std::uint32_t tail_consumers_count = 1;  // the last ones start at the end instead of offset 0
  std::vector<std::int16_t> acks{-1, -1, 1, 0};  // producer i uses acks[i % size]
  // Producer i is idempotent (enable.idempotence: it retries failed batches, and the broker must
  // store each once) when idempotent[i % size]; empty: none is. Same size as acks, and only where
  // acks is all.
  std::vector<bool> idempotent;
  double records_per_s = 50;  // per producer, on average
  std::uint32_t record_bytes_min = 16;
  std::uint32_t record_bytes_max = 512;
  double keyed_fraction = 0.5;  // the rest are keyless (sticky partitioning)
  std::uint32_t keys_count = 32;
  io::Duration linger = io::Duration::ms(5);
  std::uint32_t batch_bytes = 16 * 1024;
  io::Duration request_timeout = io::Duration::s(3);
  std::uint32_t pending_max = 256;  // records per producer waiting for an outcome
  io::Duration fetch_max_wait = io::Duration::ms(200);
  // Members of one consumer group ("group-0") reading topic 0, each on its own machine.
  std::uint32_t group_members_count = 0;
  io::Duration group_session_timeout = io::Duration::s(6);
  io::Duration group_heartbeat_interval = io::Duration::ms(500);
  io::Duration group_commit_interval = io::Duration::ms(500);
  // An operator moves a random partition to a random set of brokers (or cancels its move) this
  // often on average during the fault phase; zero: never. Clusters only. After the heal every
  // move must finish within liveness_bound.
  io::Duration reassign_every;
  // Broker configuration overrides, by Kafka key ("log.segment.bytes" = "65536").
  std::vector<std::pair<std::string, std::string>> broker_config;
  // Builds with -Dsim_planted_bugs=true only: a bug to plant in the broker (planted_bugs_known()).
  std::string planted_bug;

  LinkConfig link;  // every link during the fault phase; the heal keeps only the latency
  BrokerFaultOptions faults;

  // Checks.
  std::uint64_t acked_min = 100;
  io::Duration liveness_bound = io::Duration::s(15);
  io::Duration group_liveness_bound = io::Duration::s(4);  // after the producers stop
  std::uint64_t events_max = 100'000'000;
};

struct BrokerFaultCounts {
  std::uint64_t crashes = 0;      // power failures of one broker
  std::uint64_t crashes_all = 0;  // power failures of every broker at once
  std::uint64_t leader_isolations = 0;
  std::uint64_t heal_restarts = 0;  // power cycles at the heal of a broker whose disk failed it
  std::uint64_t broker_start_failures = 0;
  std::uint64_t partitions = 0;
  std::uint64_t partitions_by_shape[kPartitionShapesCount] = {};  // by PartitionShape
  std::uint64_t pauses = 0;
  std::uint64_t leader_pauses = 0;
  std::uint64_t no_space_episodes = 0;
  std::uint64_t bit_flips = 0;
  std::uint64_t wall_jumps = 0;
  std::uint64_t member_crashes = 0;
  std::uint64_t rolling_restarts = 0;     // rolls begun
  std::uint64_t clean_stops = 0;          // brokers whose shutdown finished (in a roll)
  std::uint64_t clean_stop_failures = 0;  // shutdowns that failed, or were cut short by a kill
  SimDiskStats disk;
  LinkStats network;
};

struct BrokerWorkloadReport {
  std::uint64_t seed = 0;
  std::uint64_t events_run = 0;
  std::uint64_t trace_hash = 0;
  double simulated_s = 0;
  // Produce attempts by outcome.
  std::uint64_t attempts = 0;
  std::uint64_t acked_all = 0;
  std::uint64_t acked_leader = 0;
  std::uint64_t sent_no_ack = 0;
  std::uint64_t failed = 0;
  std::uint64_t refused = 0;
  std::uint64_t unknown = 0;
  std::uint32_t idempotent_producers = 0;
  std::uint64_t batches_retried = 0;  // by idempotent producers
  std::uint64_t producer_ids = 0;     // InitProducerId answers idempotent producers got
  std::uint64_t consumed = 0;         // records consumers read (with repeats across sessions)
  std::uint64_t read_back = 0;        // records in the final read-back
  std::uint64_t fetch_errors = 0;
  std::uint64_t tainted_partitions = 0;
  std::uint64_t readback_stuck = 0;  // partitions whose read-back stopped at a corrupt batch
  // The consumer group, when the scenario has one (group_members).
  std::uint32_t group_members = 0;
  std::uint64_t group_joins = 0;  // generations members settled in
  std::uint64_t group_join_failures = 0;
  std::uint64_t group_member_crashes = 0;
  std::uint64_t group_deliveries = 0;
  std::uint64_t group_commits = 0;  // acknowledged
  // Partition moves, when the scenario has them (reassign_every).
  std::uint64_t reassignments_asked = 0;
  std::uint64_t reassignments_accepted = 0;
  BrokerFaultCounts faults;
  std::vector<CheckVerdict> checks;

  bool ok() const;
};

// The shapes `options` may use: its partition_shapes, or every shape that applies.
std::vector<PartitionShape> partition_shapes_for(const BrokerWorkloadOptions& options);

// An error for options the workload can't run, or nullopt.
std::optional<std::string> validate(const BrokerWorkloadOptions& options);

// Whether this build accepts planted bugs (meson -Dsim_planted_bugs=true).
bool planted_bugs_available();
// The names a scenario's planted_bug may take (README.md, "Planted bugs", describes each).
const std::vector<std::string_view>& planted_bugs_known();

// Runs the scenario for `seed`. REQUIRES: validate(options) is nullopt. Deterministic.
BrokerWorkloadReport run_broker_workload(std::uint64_t seed, const BrokerWorkloadOptions& options);

// Swarm testing: a random mix of fault classes and rates (and broker segment sizes) for `seed`.
BrokerWorkloadOptions randomize_faults(const BrokerWorkloadOptions& base, std::uint64_t seed);

}  // namespace strand::sim
