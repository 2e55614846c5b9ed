#include "client/decommission.h"

#include <algorithm>
#include <map>

#include "io/assert.h"

namespace strand::client {

io::Result<std::vector<PartitionMove>> plan_decommission(
    const std::vector<PartitionReplicas>& partitions, const std::vector<std::int32_t>& brokers,
    std::int32_t broker) {
  // A fenced (dead) broker is not among `brokers`, yet it is the one most often decommissioned.
  const bool holds_replicas =
      std::any_of(partitions.begin(), partitions.end(), [&](const PartitionReplicas& p) {
        return std::find(p.replicas.begin(), p.replicas.end(), broker) != p.replicas.end();
      });
  if (!holds_replicas && std::find(brokers.begin(), brokers.end(), broker) == brokers.end()) {
    return io::Error{io::ErrorKind::kNotFound,
                     "broker " + std::to_string(broker) + " is not in the cluster"};
  }
  std::map<std::int32_t, std::int64_t> load;  // replicas per broker, as planned so far
  for (std::int32_t id : brokers) load[id] = 0;
  for (const PartitionReplicas& p : partitions) {
    for (std::int32_t id : p.replicas) {
      if (load.contains(id)) load[id] += 1;
    }
  }
  std::vector<PartitionMove> moves;
  for (const PartitionReplicas& p : partitions) {
    auto leaving = std::find(p.replicas.begin(), p.replicas.end(), broker);
    if (leaving == p.replicas.end()) continue;
    std::int32_t chosen = -1;
    for (const auto& [id, count] : load) {  // in id order: the first of the least loaded wins
      if (id == broker || std::find(p.replicas.begin(), p.replicas.end(), id) != p.replicas.end()) {
        continue;
      }
      if (chosen == -1 || count < load[chosen]) chosen = id;
    }
    if (chosen == -1) {
      return io::Error{io::ErrorKind::kInvalid, p.topic + "-" + std::to_string(p.partition) +
                                                    " has " + std::to_string(p.replicas.size()) +
                                                    " replicas and no other broker to move one to"};
    }
    PartitionMove move{p.topic, p.partition, p.replicas, p.replicas};
    move.to[static_cast<std::size_t>(leaving - p.replicas.begin())] = chosen;
    load[chosen] += 1;
    load[broker] -= 1;
    STRAND_ASSERT(std::count(move.to.begin(), move.to.end(), broker) == 0,
                  "the decommissioned broker holds no replica after its move");
    moves.push_back(std::move(move));
  }
  return moves;
}

}  // namespace strand::client
