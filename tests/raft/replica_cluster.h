// A simulated cluster of brokers, each running one Replica of the same partition over the RPC
// transport (RpcTransport + GroupRegistry) on SimNetwork, with SimDisk underneath: crash,
// restart, power failure and partitions are the simulator's. Proposals and reads run inside the
// broker's own TaskScope, so a crash destroys them before the replica they use.
//
// Tests keep what was acknowledged (base offset, term, the producer's bytes) outside the nodes and
// check it against every replica's log once the cluster converged.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/raft/replica.h"
#include "sim/sim_node.h"
#include "sim/sim_world.h"

namespace strand::raft::testing {

inline constexpr GroupId kTestGroup = 7;
inline constexpr int kBrokers = 3;  // node ids 1..kBrokers

struct Acked {
  Offset base_offset = -1;
  Term term = 0;
  std::vector<std::byte> batch;  // as the producer sent it
};

// Proposals of one or more concurrent producers, shared with their tasks.
struct Stream {
  Acks acks = Acks::kAll;
  std::uint64_t next_tag = 0;
  std::vector<Acked> acked;
  std::map<ReplicaError, int> errors;
  int running = 0;
  std::optional<io::Instant> first_ack_at;  // world time
  NodeId leader_hint = kNoNode;             // from the last error
};

// What every broker's replica is opened with.
struct ClusterOptions {
  storage::LogConfig log;
};

class ReplicaCluster {
 public:
  explicit ReplicaCluster(std::uint64_t seed, ClusterOptions options = {});
  ~ReplicaCluster();

  sim::SimWorld& world() { return world_; }
  sim::SimNode& node(NodeId id) { return *nodes_.at(id); }
  // The running replica on `id` (null while down or still opening).
  Replica* replica(NodeId id) const;

  // The running leader with the highest term, if any. Also checks that no term has two leaders
  // (records the violation).
  std::optional<NodeId> leader();
  // Runs until a leader exists (and, if given, is not `other_than`); false after `limit`.
  bool wait_for_leader(io::Duration limit, std::optional<NodeId> other_than = {});

  // Spawns `producers` tasks on `id` that each propose `count` batches with stream.acks.
  void start_stream(NodeId id, Stream& stream, int producers, int count, io::Duration timeout);
  // Runs until the stream's producers finished; false after `limit`.
  bool wait_stream(Stream& stream, io::Duration limit);

  void crash(NodeId id);
  void restart(NodeId id);
  void isolate(NodeId id);
  void heal();

  // Runs Replica::change_configuration on `id` to completion (10 s timeout).
  ProposeOutcome change_configuration(NodeId id, ConfigChange change);
  // Runs the replica's retention on `id` to completion; false if it failed.
  bool apply_retention(NodeId id);
  // Runs Replica::advance_log_start(offset) on `id` to completion: the new log start, if it ran.
  std::optional<Offset> advance_log_start(NodeId id, Offset offset);

  // Runs until every replica is up and all agree on the leader's log end as high watermark.
  bool wait_converged(io::Duration limit);
  // Every replica's log, read whole. REQUIRES: all up.
  std::map<NodeId, std::vector<std::byte>> read_logs();

  const std::optional<std::string>& violation() const { return violation_; }
  std::string describe() const;

 private:
  sim::SimWorld world_;
  std::map<NodeId, std::unique_ptr<sim::SimNode>> nodes_;
  std::map<Term, NodeId> leader_of_term_;
  std::optional<std::string> violation_;
};

// A one-record producer batch with a unique value.
std::vector<std::byte> make_batch(std::uint64_t tag);

// Checks that every log holds the same bytes and that each acknowledged batch is in it at its
// offset with its term. Returns the first problem, if any.
std::optional<std::string> check_logs(const std::map<NodeId, std::vector<std::byte>>& logs,
                                      const std::vector<Acked>& acked);

}  // namespace strand::raft::testing
