// The broker scenario's simulated clients (internal to broker_workload): producers, consumers, the
// setup client that creates the topics and the read-back client that reads every partition after
// the heal. They run on client nodes, use Strand's client library (src/client), and write what
// they do and see into the run's BrokerHistory, which lives outside every node.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/config.h"
#include "io/env.h"
#include "io/result.h"
#include "io/task.h"
#include "sim/broker_history.h"
#include "sim/broker_workload.h"
#include "sim/sim_world.h"

namespace strand {
class Broker;
}
namespace strand::client {
class Client;
}

namespace strand::sim {

inline constexpr std::uint16_t kBrokerPort = 9092;
inline constexpr std::uint16_t kBrokerRpcPort = 9093;  // inter-broker RPC (Raft), clusters only
inline constexpr const char* kBrokerHost = "broker";

// Broker `index`'s host name: "broker" alone, "broker<index>" in a cluster.
std::string broker_host(const BrokerWorkloadOptions& options, std::uint32_t index);

// Shared by the broker's boot function, the clients and the fault injector of one run.
struct BrokerRun {
  SimWorld* world = nullptr;
  const BrokerWorkloadOptions* options = nullptr;
  std::vector<BrokerConfig> broker_configs;  // by broker index
  std::vector<io::Address> bootstrap;        // every broker's Kafka address
  // The started Broker on each broker node, nullptr while it is down (for the leader sampler).
  std::vector<Broker*> live_brokers;
  // A serving broker's SIGTERM (a rolling restart sets it, on the broker's node), by index; null
  // while none serves. stopped[i]: broker i shut down on request and its node runs nothing now.
  std::vector<io::Event*> stop_requests;
  std::vector<bool> stopped;
  BrokerHistory history;
  std::uint32_t tasks_running = 0;  // producers and consumers not yet finished
  std::uint64_t broker_boots = 0;
  std::uint64_t broker_start_failures = 0;
  std::uint64_t clean_stops = 0;          // shutdowns on request that finished well
  std::uint64_t clean_stop_failures = 0;  // shutdowns on request that failed (disk errors)
  struct Reassignments {
    std::uint64_t asked = 0;     // moves and cancels sent
    std::uint64_t accepted = 0;  // recorded by the controller
    std::uint64_t left = 0;      // still in progress when last listed
    bool all_done = false;       // none in progress within the bound after the heal
  } reassignments;
  struct Fencing {
    std::set<std::int32_t> ever_fenced;  // brokers some live broker's image showed fenced
    std::size_t listed = 0;              // brokers in the last Metadata answer after the heal
    bool all_listed = false;             // every broker listed (none fenced) within the bound
    io::Duration listed_after;           // how long after the wind-down that took
  } fencing;
};

// The broker node's program: starts a Broker on the node's disk and serves until the node
// crashes; a start that fails (a disk error during recovery) is retried after a pause.
io::Task<void> run_broker(io::Env* env, BrokerRun* run, std::uint32_t index);

// Notes which broker leads each partition in which term, on every live broker (replicated
// partitions only), into history.leaders; a second leader for one term is a conflict.
void sample_leaders(BrokerRun& run);
// Notes each partition's log start offset on every live broker into history.log_start_rises
// when it is the highest yet, with `wall_ms_max`, the largest wall clock any broker had so far.
void sample_log_starts(BrokerRun& run, std::int64_t wall_ms_max);
// Records every live replica's log (history.replica_logs) for the log-matching check.
void sample_replica_logs(BrokerRun& run);

// The index of a live broker that leads some replicated partition (chosen by `pick`), if any.
std::optional<std::uint32_t> some_partition_leader(BrokerRun& run, std::uint64_t pick);

// Creates the topics (retrying until the cluster accepts them) and waits until every partition
// has a leader. Errors: kTimeout after 120 s.
io::Task<io::Result<void>> create_topics(io::Env* env, BrokerRun* run);

// Produces records until history.producers_stop, then waits for their outcomes (bounded).
io::Task<void> run_producer(io::Env* env, BrokerRun* run, std::uint32_t index);

// Fetches its topic's partitions until history.run_end, from offset 0 or from the end.
io::Task<void> run_consumer(io::Env* env, BrokerRun* run, std::uint32_t index);

// A client connected to some broker (each client starts with a different one), or nullptr once
// `deadline` (world time) passed first.
io::Task<std::unique_ptr<client::Client>> connect_sim_client(io::Env* env, BrokerRun* run,
                                                             std::string client_id,
                                                             io::Instant deadline);

// A member of the group "group-0" on topic 0 (the boot function of member node `index`): joins,
// consumes and commits until history.run_end, then leaves. A crash of its node ends it without a
// LeaveGroup; the restarted node runs it again as a new member. Records into history.group.
io::Task<void> run_group_member(io::Env* env, BrokerRun* run, std::uint32_t index);

// Moves a random partition to a random replica set (or cancels its move) every
// options.reassign_every on average, until history.fault_end (broker_reassigner.cc).
io::Task<void> run_reassigner(io::Env* env, BrokerRun* run);
// Lists the moves in progress until there are none (run.reassignments.all_done) or `bound`
// passed.
io::Task<void> await_reassignments(io::Env* env, BrokerRun* run, io::Duration bound);
// Asks for Metadata until it lists every broker (run.fencing.all_listed: none is fenced any more)
// or `bound` passed.
io::Task<void> await_brokers_listed(io::Env* env, BrokerRun* run, io::Duration bound);

// Reads every partition from its log start to its high watermark into the history (reader
// kReadback) and sets history.readback_done.
io::Task<void> read_back(io::Env* env, BrokerRun* run);

}  // namespace strand::sim
