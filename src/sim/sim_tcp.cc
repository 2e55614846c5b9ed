// The transport model: TCP's behaviour as the application sees it (in-order intact bytes, delay
// under loss, reset after the user timeout), built from packets that the links may lose,
// duplicate, reorder or block. Handlers that resume coroutines do so last, or look the
// connection up again afterwards: resumed code may close (and so erase) the connection.
#include <algorithm>
#include <string>
#include <utility>

#include "io/assert.h"
#include "sim/sim_network.h"

namespace strand::sim {

using detail::ConnPhase;
using detail::ConnState;
using detail::Packet;
using detail::PacketKind;
using detail::Segment;
using detail::Side;

namespace {
constexpr std::size_t kOutOfOrderMax = 1 << 16;
}  // namespace

ConnState* SimNetwork::find_connection(ConnectionId id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : &it->second;
}

ConnectionId SimNetwork::open_connection(NodeId from, NodeId to, std::uint16_t port) {
  STRAND_ASSERT(connections_.size() < kConnectionsMax, "the number of connections is bounded");
  const ConnectionId id{next_connection_id_++};
  ConnState& conn = connections_[id];
  conn.id = id;
  conn.connect_started = world_.now();
  conn.syn_rto = transport_.syn_rto_initial;
  Side& client = conn.sides[0];
  client.present = true;
  client.node = from;
  client.incarnation = world_.incarnation(from);
  client.port = ephemeral_port(from);
  conn.sides[1].node = to;  // the accepting end becomes present when the SYN arrives
  conn.sides[1].port = port;
  send_syn(conn);
  conn.syn_timer = world_.schedule(world_.now() + conn.syn_rto, from, EventKind::kNetTimer,
                                   [this, id] { on_syn_timer(id); });
  return id;
}

void SimNetwork::send_syn(const ConnState& conn) {
  Packet packet;
  packet.kind = PacketKind::kSyn;
  packet.connection = conn.id;
  packet.to_side = 1;
  packet.to_node = conn.sides[1].node;
  packet.port = conn.sides[1].port;
  transmit(conn.sides[0].node, conn.sides[1].node, std::move(packet));
}

void SimNetwork::send_control(const ConnState& conn, std::uint8_t to_side, PacketKind kind,
                              std::uint64_t seq) {
  Packet packet;
  packet.kind = kind;
  packet.connection = conn.id;
  packet.to_side = to_side;
  packet.to_node = conn.sides[to_side].node;
  packet.seq = seq;
  transmit(conn.sides[1 - to_side].node, conn.sides[to_side].node, std::move(packet));
}

void SimNetwork::receive(Packet packet) {
  ConnState* conn = find_connection(packet.connection);
  if (conn == nullptr) return;  // both ends are gone
  const Side& side = conn->sides[packet.to_side];
  STRAND_ASSERT(side.node == packet.to_node, "a packet arrives at the node it was sent to");
  if (side.present && side.incarnation != world_.incarnation(side.node)) {
    // A rebooted machine's TCP stack knows nothing of the connection and answers with a reset
    // (a machine still down answers nothing: the sender's user timeout ends it).
    if (world_.node_up(side.node)) {
      schedule_reset(*conn, static_cast<std::uint8_t>(1 - packet.to_side), false);
    }
    return;
  }
  switch (packet.kind) {
    case PacketKind::kSyn: on_syn(*conn, packet); break;
    case PacketKind::kSynAck: on_syn_ack(*conn); break;
    case PacketKind::kRefuse: on_refuse(*conn, packet); break;
    case PacketKind::kData: on_data(*conn, std::move(packet)); break;
    case PacketKind::kAck: on_ack(*conn, packet); break;
    case PacketKind::kWindowFull: on_window_full(*conn, packet); break;
  }
}

void SimNetwork::on_syn(ConnState& conn, const Packet& packet) {
  Side& server = conn.sides[1];
  if (conn.sides[0].released || conn.phase == ConnPhase::kFailed) return;
  if (server.present) {  // a retransmitted SYN: our SYN-ACK was lost or is still on its way
    send_control(conn, 0, PacketKind::kSynAck, 0);
    return;
  }
  auto found = listener_by_address_.find({packet.to_node.value, packet.port});
  if (found == listener_by_address_.end()) {
    send_control(conn, 0, PacketKind::kRefuse, 0);
    return;
  }
  detail::ListenerState& listener = listeners_.at(found->second);
  if (listener.backlog.size() >= transport_.accept_backlog_max) {
    send_control(conn, 0, PacketKind::kRefuse, 0);
    return;
  }
  server.present = true;
  server.incarnation = world_.incarnation(packet.to_node);
  listener.backlog.push_back(conn.id);
  send_control(conn, 0, PacketKind::kSynAck, 0);
  listener.acceptors.resume_all();
}

void SimNetwork::on_syn_ack(ConnState& conn) {
  if (conn.phase != ConnPhase::kConnecting) return;
  conn.phase = ConnPhase::kEstablished;
  world_.cancel(conn.syn_timer);
  conn.syn_timer = EventId{};
  conn.connect_waiters.resume_all();
}

void SimNetwork::on_refuse(ConnState& conn, const Packet& packet) {
  if (conn.phase != ConnPhase::kConnecting) return;
  const Side& server = conn.sides[1];
  STRAND_ASSERT(packet.to_side == 0, "refusals go to the connecting end");
  fail_connect(conn, io::Error{io::ErrorKind::kRefused,
                               "connection refused: nothing listens at " +
                                   node_name(server.node) + ":" + std::to_string(server.port)});
}

void SimNetwork::fail_connect(ConnState& conn, io::Error error) {
  STRAND_ASSERT(conn.phase == ConnPhase::kConnecting, "only a connecting connection fails");
  conn.phase = ConnPhase::kFailed;
  conn.failure = std::move(error);
  world_.cancel(conn.syn_timer);
  conn.syn_timer = EventId{};
  conn.connect_waiters.resume_all();
}

void SimNetwork::on_syn_timer(ConnectionId id) {
  ConnState* conn = find_connection(id);
  if (conn == nullptr || conn->phase != ConnPhase::kConnecting) return;
  conn->syn_timer = EventId{};
  const io::Instant deadline = conn->connect_started + transport_.connect_timeout;
  if (world_.now() >= deadline) {
    const Side& server = conn->sides[1];
    fail_connect(*conn, io::Error{io::ErrorKind::kTimeout,
                                  "connect to " + node_name(server.node) + ":" +
                                      std::to_string(server.port) + " timed out after " +
                                      std::to_string(transport_.connect_timeout.count_ms()) +
                                      " ms"});
    return;
  }
  send_syn(*conn);
  conn->syn_rto = conn->syn_rto * 2;
  const io::Instant next = std::min(world_.now() + conn->syn_rto, deadline);
  conn->syn_timer = world_.schedule(next, conn->sides[0].node, EventKind::kNetTimer,
                                    [this, id] { on_syn_timer(id); });
}

void SimNetwork::on_data(ConnState& conn, Packet packet) {
  const std::uint8_t r = packet.to_side;
  const auto t = static_cast<std::uint8_t>(1 - r);
  Side& rx = conn.sides[r];
  if (!rx.present || rx.reset) return;
  if (packet.seq < rx.expected_seq || rx.out_of_order.contains(packet.seq)) {
    link_state(conn.sides[t].node, rx.node).stats.chunks_duplicates_discarded += 1;
    send_control(conn, t, PacketKind::kAck, packet.seq);  // our first ack may have been lost
    return;
  }
  if (rx.released) {  // new data for an end nobody reads: TCP answers with a reset
    schedule_reset(conn, t, false);
    return;
  }
  const std::size_t bytes = packet.payload ? packet.payload->size() : 0;
  if (rx.readable_bytes() + bytes > transport_.receive_buffer_bytes) {
    send_control(conn, t, PacketKind::kWindowFull, packet.seq);
    return;
  }
  STRAND_ASSERT(rx.out_of_order.size() < kOutOfOrderMax, "reassembly is bounded by the window");
  STRAND_ASSERT(!rx.peer_finished, "nothing follows a FIN");
  send_control(conn, t, PacketKind::kAck, packet.seq);
  const std::uint64_t seq = packet.seq;
  rx.out_of_order.emplace(seq, std::move(packet));
  bool progressed = false;
  for (auto it = rx.out_of_order.begin();
       it != rx.out_of_order.end() && it->first == rx.expected_seq;
       it = rx.out_of_order.erase(it)) {
    STRAND_ASSERT(!rx.peer_finished, "the FIN is the last segment");
    if (it->second.fin) {
      rx.peer_finished = true;
    } else if (it->second.payload) {
      rx.readable.append(*it->second.payload);
    }
    rx.expected_seq += 1;
    progressed = true;
  }
  if (progressed) wake(conn.id, r);
}

void SimNetwork::on_ack(ConnState& conn, const Packet& packet) {
  Side& tx = conn.sides[packet.to_side];
  if (!tx.present || tx.reset) return;
  auto it = tx.unacked.find(packet.seq);
  if (it == tx.unacked.end()) return;  // a duplicate ack
  world_.cancel(it->second.timer);
  if (it->second.transmissions == 1) update_rtt(tx, world_.now() - it->second.first_sent);
  const std::size_t bytes = it->second.payload ? it->second.payload->size() : 0;
  STRAND_ASSERT(tx.unacked_bytes >= bytes, "unacked bytes add up");
  tx.unacked_bytes -= bytes;
  tx.unacked.erase(it);
  tx.writers.resume_all();
}

// RFC 6298: a retransmission timeout that follows the measured round trip, so that queueing
// behind a slow link does not cause spurious retransmissions (Karn: retransmitted segments are
// not measured).
void SimNetwork::update_rtt(Side& side, io::Duration sample) {
  if (side.rto <= io::Duration{}) {
    side.srtt = sample;
    side.rttvar = sample / 2;
  } else {
    const io::Duration error = side.srtt > sample ? side.srtt - sample : sample - side.srtt;
    side.rttvar = (side.rttvar * 3 + error) / 4;
    side.srtt = (side.srtt * 7 + sample) / 8;
  }
  const io::Duration rto = side.srtt + std::max(side.rttvar * 4, io::Duration::ms(1));
  side.rto = std::clamp(rto, transport_.rto_min, transport_.rto_max);
}

void SimNetwork::on_window_full(ConnState& conn, const Packet& packet) {
  Side& tx = conn.sides[packet.to_side];
  if (!tx.present || tx.reset) return;
  auto it = tx.unacked.find(packet.seq);
  if (it == tx.unacked.end()) return;
  Segment& segment = it->second;
  segment.last_heard = world_.now();  // the peer is alive, just slow to read: no user timeout
  world_.cancel(segment.timer);
  arm_retransmit(conn, packet.to_side, packet.seq, segment, world_.now() + transport_.window_retry);
}

void SimNetwork::send_segment(ConnState& conn, std::uint8_t side, std::span<const std::byte> bytes,
                              bool fin) {
  Side& tx = conn.sides[side];
  const Side& peer = conn.sides[1 - side];
  STRAND_ASSERT(tx.present && peer.present, "segments flow between two present ends");
  STRAND_ASSERT(!tx.reset && !tx.fin_queued, "nothing is sent after a FIN or a reset");
  const std::uint64_t seq = tx.next_seq++;
  auto [it, inserted] = tx.unacked.try_emplace(seq);
  STRAND_ASSERT(inserted, "sequence numbers are not reused");
  Segment& segment = it->second;
  segment.payload = std::make_shared<const std::string>(
      reinterpret_cast<const char*>(bytes.data()), bytes.size());
  segment.fin = fin;
  segment.first_sent = world_.now();
  segment.last_heard = world_.now();
  segment.rto = tx.rto > io::Duration{} ? tx.rto : transport_.rto_initial;
  tx.unacked_bytes += bytes.size();
  if (fin) tx.fin_queued = true;
  LinkStats& stats = link_state(tx.node, peer.node).stats;
  stats.chunks_sent += 1;
  stats.bytes_sent += bytes.size();
  transmit_segment(conn, side, seq, segment);
  arm_retransmit(conn, side, seq, segment, world_.now() + segment.rto);
}

void SimNetwork::transmit_segment(const ConnState& conn, std::uint8_t side, std::uint64_t seq,
                                  const Segment& segment) {
  Packet packet;
  packet.kind = PacketKind::kData;
  packet.connection = conn.id;
  packet.to_side = static_cast<std::uint8_t>(1 - side);
  packet.to_node = conn.sides[1 - side].node;
  packet.seq = seq;
  packet.fin = segment.fin;
  packet.payload = segment.payload;
  transmit(conn.sides[side].node, packet.to_node, std::move(packet));
}

void SimNetwork::arm_retransmit(const ConnState& conn, std::uint8_t side, std::uint64_t seq,
                                Segment& segment, io::Instant at) {
  const ConnectionId id = conn.id;
  segment.timer = world_.schedule(at, conn.sides[side].node, EventKind::kNetTimer,
                                  [this, id, side, seq] { on_retransmit_timer(id, side, seq); });
}

void SimNetwork::on_retransmit_timer(ConnectionId id, std::uint8_t side, std::uint64_t seq) {
  ConnState* conn = find_connection(id);
  if (conn == nullptr) return;
  Side& tx = conn->sides[side];
  if (tx.reset) return;
  auto it = tx.unacked.find(seq);
  if (it == tx.unacked.end()) return;
  Segment& segment = it->second;
  segment.timer = EventId{};
  if (world_.now() - segment.last_heard >= transport_.user_timeout) {
    // TCP gives up: this end resets now, the peer when news of it arrives (or by its own timers).
    schedule_reset(*conn, static_cast<std::uint8_t>(1 - side), false);
    reset_side_now(*conn, side);
    return;
  }
  link_state(tx.node, conn->sides[1 - side].node).stats.chunks_retransmitted += 1;
  segment.transmissions += 1;
  segment.rto = std::min(segment.rto * 2, transport_.rto_max);
  transmit_segment(*conn, side, seq, segment);
  arm_retransmit(*conn, side, seq, segment, world_.now() + segment.rto);
}

void SimNetwork::reset_side_now(ConnState& conn, std::uint8_t side_index) {
  Side& side = conn.sides[side_index];
  if (!side.present || side.reset) return;
  side.reset = true;
  for (auto& [seq, segment] : side.unacked) world_.cancel(segment.timer);
  side.unacked.clear();
  side.unacked_bytes = 0;
  side.out_of_order.clear();
  const ConnectionId id = conn.id;
  if (side_index == 0 && conn.phase == ConnPhase::kConnecting) {
    fail_connect(conn, io::Error{io::ErrorKind::kRefused, "connection reset while connecting"});
  }
  wake(id, side_index);
}

void SimNetwork::wake(ConnectionId id, std::uint8_t side) {
  if (ConnState* conn = find_connection(id)) conn->sides[side].readers.resume_all();
  if (ConnState* conn = find_connection(id)) conn->sides[side].writers.resume_all();
}

void SimNetwork::drop_side(ConnState& conn, std::uint8_t side_index) {
  Side& side = conn.sides[side_index];
  side.released = true;
  side.reset = true;
  for (auto& [seq, segment] : side.unacked) world_.cancel(segment.timer);
  side.unacked.clear();
  side.unacked_bytes = 0;
  side.out_of_order.clear();
  detail::detach_all(side.readers);
  detail::detach_all(side.writers);
  if (side_index == 0 && conn.phase == ConnPhase::kConnecting) {
    conn.phase = ConnPhase::kFailed;
    conn.failure = io::Error{io::ErrorKind::kClosed, "the connecting node went away"};
    world_.cancel(conn.syn_timer);
    conn.syn_timer = EventId{};
    detail::detach_all(conn.connect_waiters);
  }
}

void SimNetwork::release_side(ConnectionId id, std::uint8_t side_index, Release how) {
  ConnState* conn = find_connection(id);
  if (conn == nullptr) return;
  Side& side = conn->sides[side_index];
  if (side.released) return;
  side.released = true;
  Side& peer = conn->sides[1 - side_index];
  if (side_index == 0 && conn->phase == ConnPhase::kConnecting) {
    // connect() was abandoned (its frame destroyed): an accepted peer end must not wait forever.
    conn->phase = ConnPhase::kFailed;
    conn->failure = io::Error{io::ErrorKind::kCancelled, "connect abandoned"};
    world_.cancel(conn->syn_timer);
    conn->syn_timer = EventId{};
    detail::detach_all(conn->connect_waiters);
    schedule_reset(*conn, 1, false);
  } else if (!side.reset && !side.fin_queued && peer.present && !peer.released) {
    send_segment(*conn, side_index, {}, true);  // FIN: after everything written so far
  }
  if (how == Release::kClose) {
    // Parked operations learn of the close at an event of their own, as on libuv: resuming them
    // inline would run another coroutine inside the caller's close(), which may then destroy the
    // very frame that called it.
    world_.schedule(world_.now(), side.node, EventKind::kPost, [this, id, side_index] {
      wake(id, side_index);
      maybe_erase(id);
    });
  } else {
    detail::detach_all(side.readers);
    detail::detach_all(side.writers);
  }
  maybe_erase(id);
}

void SimNetwork::maybe_erase(ConnectionId id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  ConnState& conn = it->second;
  for (const Side& side : conn.sides) {
    if (side.present && !side.released) return;
    if (!side.readers.empty() || !side.writers.empty()) return;  // a wake-up is on its way
  }
  for (Side& side : conn.sides) {
    for (auto& [seq, segment] : side.unacked) world_.cancel(segment.timer);
    detail::detach_all(side.readers);
    detail::detach_all(side.writers);
  }
  world_.cancel(conn.syn_timer);
  detail::detach_all(conn.connect_waiters);
  connections_.erase(it);
}

}  // namespace strand::sim
