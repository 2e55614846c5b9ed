// The broker scenario's simulated clients (internal to broker_workload): producers, consumers, the
// setup client that creates the topics and the read-back client that reads every partition after
// the heal. They run on client nodes, use Strand's client library (src/client), and write what
// they do and see into the run's BrokerHistory, which lives outside every node.
#pragma once

#include <cstdint>

#include "broker/config.h"
#include "io/env.h"
#include "io/result.h"
#include "io/task.h"
#include "sim/broker_history.h"
#include "sim/broker_workload.h"
#include "sim/sim_world.h"

namespace strand::sim {

inline constexpr std::uint16_t kBrokerPort = 9092;
inline constexpr const char* kBrokerHost = "broker";

// Shared by the broker's boot function, the clients and the fault injector of one run.
struct BrokerRun {
  SimWorld* world = nullptr;
  const BrokerWorkloadOptions* options = nullptr;
  BrokerConfig broker_config;
  BrokerHistory history;
  std::uint32_t tasks_running = 0;  // producers and consumers not yet finished
  std::uint64_t broker_boots = 0;
  std::uint64_t broker_start_failures = 0;
};

// The broker node's program: starts a Broker on the node's disk and serves until the node
// crashes; a start that fails (a disk error during recovery) is retried after a pause.
io::Task<void> run_broker(io::Env* env, BrokerRun* run);

// Creates the topics (retrying until the broker answers). Errors: kTimeout after `limit`.
io::Task<io::Result<void>> create_topics(io::Env* env, BrokerRun* run);

// Produces records until history.producers_stop, then waits for their outcomes (bounded).
io::Task<void> run_producer(io::Env* env, BrokerRun* run, std::uint32_t index);

// Fetches its topic's partitions until history.run_end, from offset 0 or from the end.
io::Task<void> run_consumer(io::Env* env, BrokerRun* run, std::uint32_t index);

// Reads every partition from its log start to its high watermark into the history (reader
// kReadback) and sets history.readback_done.
io::Task<void> read_back(io::Env* env, BrokerRun* run);

}  // namespace strand::sim
