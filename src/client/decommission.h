// Planning a broker's decommission, as kafka-reassign-partitions --generate plans one: every
// partition with a replica on the broker moves that replica to another broker. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/result.h"

namespace strand::client {

struct PartitionReplicas {
  std::string topic;
  std::int32_t partition = 0;
  std::vector<std::int32_t> replicas;  // the preferred leader first
};

struct PartitionMove {
  std::string topic;
  std::int32_t partition = 0;
  std::vector<std::int32_t> from;
  std::vector<std::int32_t> to;
};

// A move for every partition in `partitions` that has a replica on `broker`: that replica is
// replaced, in its place in the list (so a preferred leader's replacement is preferred), by the
// broker of `brokers` outside the partition's replicas that holds the fewest replicas, counting
// the moves planned so far (ties: the lowest id). `broker` need not be in `brokers` (Metadata
// leaves out a fenced broker). Deterministic. Errors: kNotFound when `broker` is neither in
// `brokers` nor holds a replica; kInvalid when a partition has no other broker to move to (its
// replicas already cover every other broker).
io::Result<std::vector<PartitionMove>> plan_decommission(
    const std::vector<PartitionReplicas>& partitions, const std::vector<std::int32_t>& brokers,
    std::int32_t broker);

}  // namespace strand::client
