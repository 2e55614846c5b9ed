#include "sim/sim_network.h"

#include <algorithm>
#include <utility>

#include "io/assert.h"

namespace strand::sim {

using detail::ConnState;
using detail::Packet;
using detail::PacketKind;
using detail::Side;

LinkStats& LinkStats::operator+=(const LinkStats& other) {
  packets_sent += other.packets_sent;
  packets_blocked += other.packets_blocked;
  packets_lost += other.packets_lost;
  packets_duplicated += other.packets_duplicated;
  packets_reordered += other.packets_reordered;
  chunks_sent += other.chunks_sent;
  chunks_retransmitted += other.chunks_retransmitted;
  chunks_duplicates_discarded += other.chunks_duplicates_discarded;
  bytes_sent += other.bytes_sent;
  return *this;
}

SimNetwork::SimNetwork(SimWorld& world) : world_(world) {}

SimNetwork::~SimNetwork() {
  // Closed listeners and released connections may remain when the world stops between a close
  // and its wake-up event; nothing may wait on them any more.
  for (auto& [id, listener] : listeners_) detail::detach_all(listener.acceptors);
  for (auto& [id, conn] : connections_) {
    for (Side& side : conn.sides) {
      detail::detach_all(side.readers);
      detail::detach_all(side.writers);
    }
    detail::detach_all(conn.connect_waiters);
  }
}

void SimNetwork::add_node(NodeId node, const std::string& name) {
  STRAND_ASSERT(nodes_.size() < kNodesMax, "the number of nodes is bounded");
  STRAND_ASSERT(!name.empty(), "a node has a name");
  STRAND_ASSERT(!names_.contains(name), "node names are unique");
  STRAND_ASSERT(!nodes_.contains(node.value), "a node joins the network once");
  nodes_.emplace(node.value, NodeEntry{name, 40000});
  names_.emplace(name, node);
}

void SimNetwork::remove_node(NodeId node) {
  auto it = nodes_.find(node.value);
  STRAND_ASSERT(it != nodes_.end(), "removing a known node");
  crash_node(node);
  names_.erase(it->second.name);
  nodes_.erase(it);
}

std::optional<NodeId> SimNetwork::find_node(std::string_view name) const {
  auto it = names_.find(name);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

const std::string& SimNetwork::node_name(NodeId node) const {
  auto it = nodes_.find(node.value);
  STRAND_ASSERT(it != nodes_.end(), "the node has joined the network");
  return it->second.name;
}

void SimNetwork::crash_node(NodeId node) {
  std::vector<std::uint64_t> listener_ids;
  for (const auto& [id, listener] : listeners_) {
    if (listener.node == node) listener_ids.push_back(id);
  }
  for (std::uint64_t id : listener_ids) {
    close_listener(id, Release::kDrop);
    auto closed = listeners_.find(id);  // closed earlier, its wake-up event now dropped
    if (closed == listeners_.end()) continue;
    detail::detach_all(closed->second.acceptors);
    listeners_.erase(closed);
  }
  std::vector<ConnectionId> ids;
  for (const auto& [id, conn] : connections_) {
    for (const Side& side : conn.sides) {
      if (side.present && side.node == node) {
        ids.push_back(id);
        break;
      }
    }
  }
  for (ConnectionId id : ids) {
    ConnState* conn = find_connection(id);
    if (conn == nullptr) continue;
    for (std::uint8_t s = 0; s < 2; ++s) {
      Side& side = conn->sides[s];
      if (!side.present || side.node != node) continue;
      if (side.released) {  // closed, its wake-up event now dropped with the node's events
        detail::detach_all(side.readers);
        detail::detach_all(side.writers);
        continue;
      }
      drop_side(*conn, s);
      schedule_reset(*conn, static_cast<std::uint8_t>(1 - s), false);
    }
    maybe_erase(id);
  }
}

// ---------------------------------------------------------------------------------------------
// Links and faults.

void SimNetwork::set_link(NodeId from, NodeId to, const LinkConfig& config) {
  STRAND_ASSERT(config.loss >= 0 && config.loss < 1, "loss is a probability below 1");
  STRAND_ASSERT(config.duplicate >= 0 && config.duplicate <= 1, "duplicate is a probability");
  STRAND_ASSERT(config.reorder >= 0 && config.reorder <= 1, "reorder is a probability");
  link_configs_[LinkKey{from.value, to.value}] = config;
}

void SimNetwork::set_all_links(const LinkConfig& config) {
  STRAND_ASSERT(config.loss >= 0 && config.loss < 1, "loss is a probability below 1");
  default_link_ = config;
  link_configs_.clear();
}

const LinkConfig& SimNetwork::link(NodeId from, NodeId to) const {
  auto it = link_configs_.find(LinkKey{from.value, to.value});
  return it == link_configs_.end() ? default_link_ : it->second;
}

SimNetwork::LinkState& SimNetwork::link_state(NodeId from, NodeId to) {
  return links_[LinkKey{from.value, to.value}];
}

void SimNetwork::clog(NodeId from, NodeId to, io::Duration span) {
  LinkState& state = link_state(from, to);
  state.clogged_until = std::max(state.clogged_until, world_.now() + span);
}

LinkStats SimNetwork::link_stats(NodeId from, NodeId to) const {
  auto it = links_.find(LinkKey{from.value, to.value});
  return it == links_.end() ? LinkStats{} : it->second.stats;
}

LinkStats SimNetwork::total_stats() const {
  LinkStats total;
  for (const auto& [key, state] : links_) total += state.stats;
  return total;
}

void SimNetwork::block(NodeId from, NodeId to) { blocked_.insert(LinkKey{from.value, to.value}); }

void SimNetwork::unblock(NodeId from, NodeId to) { blocked_.erase(LinkKey{from.value, to.value}); }

void SimNetwork::isolate(NodeId node) {
  for (const auto& [other, entry] : nodes_) {
    if (other == node.value) continue;
    block(node, NodeId{other});
    block(NodeId{other}, node);
  }
}

void SimNetwork::split(std::span<const NodeId> side_a, std::span<const NodeId> side_b) {
  for (NodeId a : side_a) {
    for (NodeId b : side_b) {
      if (a == b) continue;
      block(a, b);
      block(b, a);
    }
  }
}

void SimNetwork::heal() { blocked_.clear(); }

bool SimNetwork::blocked(NodeId from, NodeId to) const {
  return blocked_.contains(LinkKey{from.value, to.value});
}

io::Duration SimNetwork::sample_latency(const LinkConfig& config) {
  const std::int64_t jitter_max = 2 * config.latency_jitter_mean.count_ns();
  const std::int64_t jitter = jitter_max > 0 ? world_.random().between(0, jitter_max) : 0;
  return config.latency_base + io::Duration::ns(jitter);
}

// The packet network: one packet, one link, each fault drawn from the world's PRNG in a fixed
// order (so a seed replays exactly).
void SimNetwork::transmit(NodeId from, NodeId to, Packet packet) {
  const LinkConfig& config = link(from, to);
  LinkState& state = link_state(from, to);
  io::Random& random = world_.random();
  state.stats.packets_sent += 1;
  if (blocked(from, to)) {
    state.stats.packets_blocked += 1;
    return;
  }
  if (config.loss > 0 && random.chance(config.loss)) {
    state.stats.packets_lost += 1;
    return;
  }
  io::Instant departure = std::max(world_.now(), state.clogged_until);
  if (config.bandwidth_bytes_per_s > 0) {
    departure = std::max(departure, state.busy_until);
    const __int128_t bytes_times_ns = static_cast<__int128_t>(packet.size_bytes()) * 1'000'000'000;
    const auto serialize_ns =
        static_cast<std::int64_t>(bytes_times_ns / config.bandwidth_bytes_per_s);
    state.busy_until = departure + io::Duration::ns(serialize_ns);
  }
  io::Instant arrival = departure + sample_latency(config);
  if (config.reorder > 0 && random.chance(config.reorder)) {
    state.stats.packets_reordered += 1;
    const std::int64_t extra_max = std::max<std::int64_t>(1, config.reorder_delay_max.count_ns());
    arrival = arrival + io::Duration::ns(random.between(1, extra_max));
  } else {
    arrival = std::max(arrival, state.fifo_last);  // a link is FIFO unless a packet is held back
    state.fifo_last = arrival;
  }
  if (config.duplicate > 0 && random.chance(config.duplicate)) {
    state.stats.packets_duplicated += 1;
    schedule_delivery(to, arrival + sample_latency(config), packet);
  }
  schedule_delivery(to, arrival, std::move(packet));
}

void SimNetwork::schedule_delivery(NodeId to, io::Instant at, Packet packet) {
  // Tagged with the receiver: a packet for a node that crashes meanwhile is dropped unrun.
  auto deliver = [this, moved = std::move(packet)]() mutable { receive(std::move(moved)); };
  static_assert(sizeof(deliver) <= EventCallback::kInlineBytes, "a packet event does not allocate");
  world_.schedule(at, to, EventKind::kPacket, std::move(deliver));
}

std::uint16_t SimNetwork::ephemeral_port(NodeId node) {
  NodeEntry& entry = nodes_.at(node.value);
  for (int tries = 0; tries < 30000; ++tries) {
    const std::uint16_t port = entry.next_ephemeral_port;
    entry.next_ephemeral_port = port >= 65000 ? 40000 : static_cast<std::uint16_t>(port + 1);
    if (!listener_by_address_.contains({node.value, port})) return port;
  }
  STRAND_ASSERT(false, "a node has a free ephemeral port");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Resets.

std::vector<ConnectionId> SimNetwork::connections_of(NodeId node) const {
  std::vector<ConnectionId> ids;
  for (const auto& [id, conn] : connections_) {
    for (const Side& side : conn.sides) {
      if (side.present && side.node == node && !side.released) {
        ids.push_back(id);
        break;
      }
    }
  }
  return ids;
}

void SimNetwork::reset_connections(NodeId node) {
  for (ConnectionId id : connections_of(node)) reset_connection(id);
}

void SimNetwork::reset_connection(ConnectionId id) {
  const ConnState* conn = find_connection(id);
  if (conn == nullptr) return;
  schedule_reset(*conn, 0, true);
  schedule_reset(*conn, 1, true);
}

void SimNetwork::schedule_reset(const ConnState& conn, std::uint8_t side_index, bool delay_zero) {
  const Side& side = conn.sides[side_index];
  if (!side.present || side.released || side.reset) return;
  const Side& other = conn.sides[1 - side_index];
  io::Duration delay;
  if (!delay_zero && other.present) {
    delay = blocked(other.node, side.node) ? transport_.user_timeout
                                           : sample_latency(link(other.node, side.node));
  }
  const ConnectionId id = conn.id;
  const std::uint64_t incarnation = side.incarnation;
  world_.schedule(world_.now() + delay, side.node, EventKind::kPacket,
                  [this, id, side_index, incarnation] {
                    ConnState* target = find_connection(id);
                    if (target == nullptr) return;
                    if (target->sides[side_index].incarnation != incarnation) return;
                    reset_side_now(*target, side_index);
                  });
}

}  // namespace strand::sim
