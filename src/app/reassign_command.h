// `strand topics reassign|reassignments`: moving partitions between brokers, as
// kafka-reassign-partitions does it, through AlterPartitionReassignments and
// ListPartitionReassignments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/client.h"
#include "io/env.h"
#include "io/task.h"

namespace strand::app {

struct ReassignOptions {
  std::string topic;
  std::vector<std::int32_t> partitions;  // none: every partition of the topic
  std::vector<std::int32_t> replicas;    // the target, preferred leader first
  bool cancel = false;                   // instead of replicas: back to where they were
  bool wait = false;                     // until the moves are done (or wait_timeout_ms)
  std::int64_t wait_timeout_ms = 300'000;
};

// Asks for each partition's move (or cancel), then with --wait polls until none of them is in
// progress. Returns the exit code: 0, or 1 when a request failed or the wait timed out.
io::Task<int> reassign_command(io::Env& env, client::Client& client,
                               const ReassignOptions& options);

struct DecommissionOptions {
  std::int32_t broker = -1;
  bool dry_run = false;  // print the plan only
  bool wait = false;     // until every move is done and no partition lists the broker
  std::int64_t wait_timeout_ms = 600'000;
};

// `strand brokers decommission`: moves every replica off a broker (client::plan_decommission),
// printing each move. Refused while a partition on the broker is being moved. Returns the exit
// code: 0, or 1 when a request failed, the plan is impossible or the wait timed out. New topics
// may still be placed on the broker until it stops.
io::Task<int> decommission_command(io::Env& env, client::Client& client,
                                   const DecommissionOptions& options);

// Prints every move in progress, one partition a line; returns the exit code.
io::Task<int> reassignments_command(client::Client& client);

}  // namespace strand::app
