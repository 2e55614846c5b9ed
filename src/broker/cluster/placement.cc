// Replica placement (place_replicas in metadata.h): a greedy choice per partition over load counts
// that start from what the image already places, so new topics fill the emptier brokers first.
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "broker/cluster/metadata.h"
#include "io/assert.h"

namespace strand::cluster {

namespace {

io::Error invalid(std::string message) {
  return io::Error{io::ErrorKind::kInvalid, "replica placement: " + std::move(message)};
}

struct BrokerLoad {
  raft::NodeId id = raft::kNoNode;
  std::string rack;              // "" = none: never counts as a rack already used
  std::int64_t replicas = 0;     // replicas placed on the broker
  std::int64_t leaderships = 0;  // partitions it is the preferred leader of
};

// The unfenced brokers in id order, with what the image already places on each. Replicas on
// brokers that are not registered (any more) or fenced count for nobody.
std::vector<BrokerLoad> current_loads(const MetadataImage& image) {
  std::vector<BrokerLoad> loads;
  std::map<raft::NodeId, std::size_t> position;
  for (const auto& [id, broker] : image.brokers()) {
    if (image.fenced(id)) continue;
    position[id] = loads.size();
    loads.push_back(BrokerLoad{id, broker.rack, 0, 0});
  }
  for (const auto& [name, topic] : image.topics()) {
    for (const MetadataImage::PartitionState& partition : topic.partitions) {
      const std::vector<raft::NodeId>& replicas = partition.assignment.replicas;
      for (std::size_t i = 0; i < replicas.size(); ++i) {
        auto it = position.find(replicas[i]);
        if (it == position.end()) continue;
        loads[it->second].replicas += 1;
        if (i == 0) loads[it->second].leaderships += 1;
      }
    }
  }
  return loads;
}

// The preferred leader of partition `index`: fewest leaderships, then fewest replicas, then the
// first in id order rotated by the index, so that equal brokers take turns.
std::size_t choose_leader(const std::vector<BrokerLoad>& loads, std::int64_t index) {
  const auto n = static_cast<std::int64_t>(loads.size());
  std::size_t best = 0;
  auto key = [&](std::size_t i) {
    const std::int64_t rotated = ((static_cast<std::int64_t>(i) - index) % n + n) % n;
    return std::make_tuple(loads[i].leaderships, loads[i].replicas, rotated);
  };
  for (std::size_t i = 1; i < loads.size(); ++i) {
    if (key(i) < key(best)) best = i;
  }
  return best;
}

// Another replica for a partition already on `chosen`: a broker not chosen yet, preferring a rack
// the partition is not on yet, then fewest replicas, then most leaderships, then the lowest id.
// Most leaderships because the brokers with fewer will soon gain a replica by leading; without
// this tie-break a fresh image's replica counts drift two apart.
std::size_t choose_follower(const std::vector<BrokerLoad>& loads,
                            const std::vector<std::size_t>& chosen) {
  std::set<std::string> racks_used;
  std::set<std::size_t> taken(chosen.begin(), chosen.end());
  for (std::size_t i : chosen) {
    if (!loads[i].rack.empty()) racks_used.insert(loads[i].rack);
  }
  std::size_t best = loads.size();
  std::tuple<bool, std::int64_t, std::int64_t, std::size_t> best_key{};
  for (std::size_t i = 0; i < loads.size(); ++i) {
    if (taken.contains(i)) continue;
    const bool rack_used = racks_used.contains(loads[i].rack);
    const std::tuple<bool, std::int64_t, std::int64_t, std::size_t> key{
        rack_used, loads[i].replicas, -loads[i].leaderships, i};
    if (best == loads.size() || key < best_key) {
      best = i;
      best_key = key;
    }
  }
  STRAND_ASSERT(best < loads.size(), "the caller checked there are enough brokers");
  return best;
}

}  // namespace

io::Result<std::vector<std::vector<raft::NodeId>>> place_replicas(const MetadataImage& image,
                                                                  std::int32_t first_index,
                                                                  std::int32_t count,
                                                                  std::int16_t replication) {
  if (replication < 1) {
    return invalid("replication factor " + std::to_string(replication) + " is below 1");
  }
  if (first_index < 0 || count < 0 ||
      std::int64_t{first_index} + count > std::numeric_limits<std::int32_t>::max()) {
    return invalid("partitions " + std::to_string(first_index) + " + " + std::to_string(count) +
                   " are out of range");
  }
  std::vector<BrokerLoad> loads = current_loads(image);
  if (static_cast<std::size_t>(replication) > loads.size()) {
    const std::size_t fenced = image.brokers().size() - loads.size();
    return invalid("replication factor " + std::to_string(replication) + " is larger than the " +
                   std::to_string(loads.size()) + " registered brokers" +
                   (fenced > 0 ? " not fenced (" + std::to_string(fenced) + " fenced)" : ""));
  }
  std::vector<std::vector<raft::NodeId>> out;
  out.reserve(static_cast<std::size_t>(count));
  for (std::int32_t k = 0; k < count; ++k) {
    std::vector<std::size_t> chosen;
    chosen.push_back(choose_leader(loads, std::int64_t{first_index} + k));
    loads[chosen.back()].leaderships += 1;
    loads[chosen.back()].replicas += 1;
    while (chosen.size() < static_cast<std::size_t>(replication)) {
      chosen.push_back(choose_follower(loads, chosen));
      loads[chosen.back()].replicas += 1;
    }
    std::vector<raft::NodeId> replicas;
    for (std::size_t i : chosen) replicas.push_back(loads[i].id);
    out.push_back(std::move(replicas));
  }
  return out;
}

}  // namespace strand::cluster
