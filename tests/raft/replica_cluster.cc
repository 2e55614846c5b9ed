#include "replica_cluster.h"

#include <cstring>
#include <sstream>
#include <utility>

#include "broker/protocol/batch_builder.h"
#include "broker/protocol/byte_order.h"
#include "broker/protocol/record_batch.h"
#include "broker/raft/rpc_transport.h"
#include "io/task_scope.h"

namespace strand::raft::testing {

namespace {

constexpr std::uint16_t kPort = 9300;
constexpr char kDirectory[] = "data/topic-0";

// What a running broker exposes to the test; cleared when it crashes.
struct Slot {
  Replica* replica = nullptr;
  io::TaskScope* scope = nullptr;
};
std::map<NodeId, Slot> g_slots;
ClusterOptions g_options;

std::string host_of(NodeId id) { return "broker" + std::to_string(id); }

// One broker: the RPC server and transport, and one replica, until crashed.
io::Task<void> run_broker(io::Env& env, NodeId id) {
  std::map<NodeId, io::Address> peers;
  for (NodeId peer = 1; peer <= kBrokers; ++peer) {
    if (peer != id) peers.emplace(peer, io::Address{host_of(peer), kPort});
  }
  RpcTransport transport(env, std::move(peers));
  GroupRegistry registry;
  rpc::RpcServer server(env);
  registry.serve_on(server);
  const io::Address address{host_of(id), kPort};
  io::Result<void> listening = server.listen(address);
  STRAND_ASSERT(listening.ok(), "the raft port is free");
  ReplicaOptions options;
  options.raft.self = id;
  options.log = g_options.log;
  Configuration bootstrap{{1, 2, 3}, {}};
  io::Result<std::unique_ptr<Replica>> opened =
      co_await Replica::open(env, kDirectory, kTestGroup, bootstrap, options, transport);
  STRAND_ASSERT(opened.ok(), "the replica opens");
  std::unique_ptr<Replica> replica = std::move(*opened);
  registry.add(*replica);
  io::TaskScope scope;  // last: destroyed first, before the replica its tasks use
  scope.spawn(server.run());
  scope.spawn(transport.run());
  scope.spawn(replica->run());
  g_slots[id] = Slot{replica.get(), &scope};
  co_await scope.join();
}

io::Task<void> boot1(io::Env& env) { co_await run_broker(env, 1); }
io::Task<void> boot2(io::Env& env) { co_await run_broker(env, 2); }
io::Task<void> boot3(io::Env& env) { co_await run_broker(env, 3); }

// Counts a producer as finished however its frame ends (a crash destroys it mid-wait).
struct RunningGuard {
  Stream* stream;
  ~RunningGuard() { stream->running -= 1; }
};

io::Task<void> produce(Replica* replica, sim::SimWorld* world, Stream* stream, int count,
                       io::Duration timeout) {
  RunningGuard guard{stream};
  for (int i = 0; i < count; ++i) {
    const std::uint64_t tag = stream->next_tag++;
    std::vector<std::byte> batch = make_batch(tag);
    std::vector<std::byte> copy = batch;
    ProposeOutcome outcome = co_await replica->propose(std::move(copy), stream->acks, timeout);
    if (outcome.ok()) {
      stream->acked.push_back(Acked{outcome.base_offset, outcome.term, std::move(batch)});
      if (!stream->first_ack_at) stream->first_ack_at = world->now();
    } else {
      stream->errors[outcome.error] += 1;
      stream->leader_hint = outcome.leader;
      if (outcome.error == ReplicaError::kNotLeader) break;
    }
  }
}

io::Task<void> run_retention(Replica* replica, bool* ok, bool* done) {
  io::Result<storage::RetentionResult> removed = co_await replica->apply_retention();
  *ok = removed.ok();
  *done = true;
}

io::Task<void> run_advance_log_start(Replica* replica, Offset offset, std::optional<Offset>* out,
                                     bool* done) {
  io::Result<Offset> start = co_await replica->advance_log_start(offset);
  if (start) *out = *start;
  *done = true;
}

io::Task<void> run_change(Replica* replica, ConfigChange change, ProposeOutcome* out, bool* done) {
  ProposeOutcome outcome = co_await replica->change_configuration(change, io::Duration::s(10));
  *out = outcome;
  *done = true;
}

io::Task<void> read_whole_log(Replica* replica, std::vector<std::byte>* out, bool* done) {
  storage::PartitionLog& log = replica->log();
  Offset next = log.log_start_offset();
  for (int reads = 0; reads < 100000 && next < log.next_offset(); ++reads) {
    io::Result<std::vector<std::byte>> bytes = co_await log.read(next, 1 << 20);
    STRAND_ASSERT(bytes.ok() && !bytes->empty(), "the log reads back");
    std::span<const std::byte> rest(*bytes);
    for (int batches = 0; !rest.empty() && batches < 100000; ++batches) {
      const std::uint32_t size = protocol::RecordBatchView::peek_size(rest).value();
      const auto base = protocol::load_be<std::int64_t>(rest.data());
      const auto delta =
          protocol::load_be<std::int32_t>(rest.data() + protocol::batch_field::kLastOffsetDelta);
      next = base + delta + 1;
      rest = rest.subspan(size);
    }
    out->insert(out->end(), bytes->begin(), bytes->end());
  }
  *done = true;
}

}  // namespace

std::vector<std::byte> make_batch(std::uint64_t tag) {
  protocol::Record record;
  record.key = "key-" + std::to_string(tag % 7);
  record.value = "value-" + std::to_string(tag);
  record.timestamp_ms = 1'700'000'000'000 + static_cast<std::int64_t>(tag);
  const protocol::Record records[] = {record};
  return protocol::build_batch(records);
}

ReplicaCluster::ReplicaCluster(std::uint64_t seed, ClusterOptions options) : world_(seed) {
  g_slots.clear();
  g_options = options;
  const sim::BootFunction boots[] = {boot1, boot2, boot3};
  for (NodeId id = 1; id <= kBrokers; ++id) {
    nodes_.emplace(id, std::make_unique<sim::SimNode>(world_, sim::NodeId{std::uint32_t(id)},
                                                      host_of(id), boots[id - 1]));
  }
}

ReplicaCluster::~ReplicaCluster() {
  nodes_.clear();
  g_slots.clear();
}

Replica* ReplicaCluster::replica(NodeId id) const {
  auto it = g_slots.find(id);
  return it == g_slots.end() ? nullptr : it->second.replica;
}

std::optional<NodeId> ReplicaCluster::leader() {
  std::optional<NodeId> best;
  Term best_term = -1;
  for (NodeId id = 1; id <= kBrokers; ++id) {
    Replica* r = replica(id);
    if (r == nullptr || r->role() != Role::kLeader) continue;
    auto [it, added] = leader_of_term_.emplace(r->term(), id);
    if (!added && it->second != id && !violation_) {
      violation_ = "two leaders in term " + std::to_string(r->term()) + ": " +
                   std::to_string(it->second) + " and " + std::to_string(id);
    }
    if (r->term() > best_term) {
      best = id;
      best_term = r->term();
    }
  }
  return best;
}

bool ReplicaCluster::wait_for_leader(io::Duration limit, std::optional<NodeId> other_than) {
  return world_.run_until(
      [&] {
        std::optional<NodeId> found = leader();
        return found && found != other_than;
      },
      limit);
}

void ReplicaCluster::start_stream(NodeId id, Stream& stream, int producers, int count,
                                  io::Duration timeout) {
  Replica* r = replica(id);
  STRAND_ASSERT(r != nullptr, "streams run on a running broker");
  for (int i = 0; i < producers; ++i) {
    stream.running += 1;
    g_slots[id].scope->spawn(produce(r, &world_, &stream, count, timeout));
  }
}

bool ReplicaCluster::wait_stream(Stream& stream, io::Duration limit) {
  return world_.run_until([&] { return stream.running == 0; }, limit);
}

void ReplicaCluster::crash(NodeId id) {
  g_slots.erase(id);
  node(id).crash();
}

void ReplicaCluster::restart(NodeId id) { node(id).restart(); }

void ReplicaCluster::isolate(NodeId id) {
  world_.network().isolate(sim::NodeId{static_cast<std::uint32_t>(id)});
}

void ReplicaCluster::heal() { world_.network().heal(); }

bool ReplicaCluster::apply_retention(NodeId id) {
  bool ok = false;
  bool done = false;
  g_slots.at(id).scope->spawn(run_retention(replica(id), &ok, &done));
  const bool finished = world_.run_until([&] { return done; }, io::Duration::s(60));
  return finished && ok;
}

std::optional<Offset> ReplicaCluster::advance_log_start(NodeId id, Offset offset) {
  std::optional<Offset> start;
  bool done = false;
  g_slots.at(id).scope->spawn(run_advance_log_start(replica(id), offset, &start, &done));
  const bool finished = world_.run_until([&] { return done; }, io::Duration::s(60));
  return finished ? start : std::nullopt;
}

ProposeOutcome ReplicaCluster::change_configuration(NodeId id, ConfigChange change) {
  ProposeOutcome outcome;
  bool done = false;
  g_slots.at(id).scope->spawn(run_change(replica(id), change, &outcome, &done));
  const bool finished = world_.run_until([&] { return done; }, io::Duration::s(30));
  STRAND_ASSERT(finished, "a configuration change answers within its timeout");
  return outcome;
}

bool ReplicaCluster::wait_converged(io::Duration limit) {
  return world_.run_until(
      [&] {
        std::optional<NodeId> lead = leader();
        if (!lead) return false;
        const Offset end = replica(*lead)->log().next_offset();
        if (replica(*lead)->high_watermark() != end) return false;
        for (NodeId id = 1; id <= kBrokers; ++id) {
          Replica* r = replica(id);
          if (r == nullptr || r->high_watermark() != end || r->log().next_offset() != end) {
            return false;
          }
        }
        return true;
      },
      limit);
}

std::map<NodeId, std::vector<std::byte>> ReplicaCluster::read_logs() {
  std::map<NodeId, std::vector<std::byte>> logs;
  std::map<NodeId, bool> done;
  for (NodeId id = 1; id <= kBrokers; ++id) {
    done[id] = false;
    g_slots.at(id).scope->spawn(read_whole_log(replica(id), &logs[id], &done[id]));
  }
  const bool finished =
      world_.run_until([&] { return done[1] && done[2] && done[3]; }, io::Duration::s(60));
  STRAND_ASSERT(finished, "logs read back in time");
  return logs;
}

std::string ReplicaCluster::describe() const {
  std::ostringstream out;
  for (NodeId id = 1; id <= kBrokers; ++id) {
    Replica* r = replica(id);
    out << " n" << id << "=";
    if (r == nullptr) {
      out << "down";
      continue;
    }
    out << role_name(r->role()) << "/t" << r->term() << "/L" << r->leader() << "/hw"
        << r->high_watermark() << "/end" << r->log().next_offset();
  }
  return out.str();
}

std::optional<std::string> check_logs(const std::map<NodeId, std::vector<std::byte>>& logs,
                                      const std::vector<Acked>& acked) {
  const std::vector<std::byte>& first = logs.begin()->second;
  for (const auto& [id, log] : logs) {
    if (log != first) return "log of broker " + std::to_string(id) + " differs from the first";
  }
  // Index the batches by base offset.
  std::map<Offset, std::span<const std::byte>> batches;
  std::span<const std::byte> rest(first);
  while (!rest.empty()) {
    const std::uint32_t size = protocol::RecordBatchView::peek_size(rest).value();
    batches.emplace(protocol::load_be<std::int64_t>(rest.data()), rest.first(size));
    rest = rest.subspan(size);
  }
  for (const Acked& ack : acked) {
    std::vector<std::byte> expected = ack.batch;
    protocol::set_base_offset(expected, ack.base_offset);
    protocol::set_partition_leader_epoch(expected, ack.term);
    auto it = batches.find(ack.base_offset);
    if (it == batches.end() ||
        !std::equal(it->second.begin(), it->second.end(), expected.begin(), expected.end())) {
      return "acknowledged batch at offset " + std::to_string(ack.base_offset) + " of term " +
             std::to_string(ack.term) + " is missing or different";
    }
  }
  return std::nullopt;
}

}  // namespace strand::raft::testing
