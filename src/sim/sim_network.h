// The simulated network: stream connections between nodes, modelled as TCP over a faulty packet
// network. Nodes are addressed by name (io::Address{host = node name, port}). Each write becomes
// segments that cross a link (one per ordered pair of nodes) with its own latency, loss,
// duplication, reordering and bandwidth. Like TCP, the transport retransmits lost segments with
// exponential backoff, discards duplicates and reassembles in sequence order, so the application
// sees intact, in-order bytes; faults show up as delay, or as kClosed once retransmission has
// failed for the user timeout (both ends are reset). Partitions block links in one or both
// directions. Every random choice comes from the world's PRNG, in event order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/network.h"
#include "sim/sim_tcp_state.h"
#include "sim/sim_world.h"

namespace strand::sim {

// How one direction between two nodes behaves. Changeable at run time; applies to packets sent
// from then on.
struct LinkConfig {
  io::Duration latency_base = io::Duration::us(100);
  io::Duration latency_jitter_mean = io::Duration::us(50);  // uniform in [0, 2 * mean]
  double loss = 0.0;       // per packet
  double duplicate = 0.0;  // per packet that is not lost
  double reorder = 0.0;    // per packet that is not lost: held back so later ones overtake it
  io::Duration reorder_delay_max = io::Duration::ms(2);
  std::uint64_t bandwidth_bytes_per_s = 0;  // 0: unlimited
};

// Counters per link, for tests to check the configured rates.
struct LinkStats {
  std::uint64_t packets_sent = 0;        // every packet offered to the link
  std::uint64_t packets_blocked = 0;     // dropped by a partition
  std::uint64_t packets_lost = 0;        // dropped by the loss probability
  std::uint64_t packets_duplicated = 0;  // delivered twice
  std::uint64_t packets_reordered = 0;   // held back so that later packets overtake them
  std::uint64_t chunks_sent = 0;         // data segments, first transmissions only
  std::uint64_t chunks_retransmitted = 0;
  std::uint64_t chunks_duplicates_discarded = 0;  // by the receiver
  std::uint64_t bytes_sent = 0;          // payload bytes of first transmissions

  LinkStats& operator+=(const LinkStats& other);
};

// The transport's constants (TCP's, scaled to what tests can wait for).
struct TransportConfig {
  std::size_t segment_bytes_max = 16 * 1024;
  std::size_t send_buffer_bytes = 256 * 1024;     // unacknowledged bytes before write() parks
  std::size_t receive_buffer_bytes = 256 * 1024;  // unread bytes before segments are refused
  std::size_t accept_backlog_max = 128;
  io::Duration rto_initial = io::Duration::ms(200);
  io::Duration rto_min = io::Duration::ms(200);
  io::Duration rto_max = io::Duration::s(4);
  io::Duration user_timeout = io::Duration::s(10);  // unanswered retransmission: reset
  io::Duration syn_rto_initial = io::Duration::s(1);
  io::Duration connect_timeout = io::Duration::s(5);
  io::Duration window_retry = io::Duration::ms(20);
};

class SimNetwork {
 public:
  static constexpr std::size_t kNodesMax = 1024;
  static constexpr std::size_t kConnectionsMax = 1 << 20;
  static constexpr std::size_t kListenersMax = 1 << 16;

  explicit SimNetwork(SimWorld& world);
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;
  ~SimNetwork();

  // Nodes (called by SimNode). Names are unique; they are the hosts of addresses.
  void add_node(NodeId node, const std::string& name);
  void remove_node(NodeId node);
  std::optional<NodeId> find_node(std::string_view name) const;
  const std::string& node_name(NodeId node) const;
  // The io::Network of one incarnation of a node.
  std::unique_ptr<io::Network> make_endpoint(NodeId node);
  // The node died: its listeners and connection ends vanish without resuming anything (its frames
  // are about to be destroyed); each peer learns through a reset that crosses the link.
  void crash_node(NodeId node);

  // Links.
  void set_transport(const TransportConfig& config) { transport_ = config; }
  const TransportConfig& transport() const { return transport_; }
  void set_link(NodeId from, NodeId to, const LinkConfig& config);
  void set_all_links(const LinkConfig& config);  // the default, and drops per-link settings
  const LinkConfig& link(NodeId from, NodeId to) const;
  // Packets sent from -> to during the next `span` leave only when it is over.
  void clog(NodeId from, NodeId to, io::Duration span);
  LinkStats link_stats(NodeId from, NodeId to) const;
  LinkStats total_stats() const;

  // Partitions. A blocked link drops every packet; connect() across it times out, established
  // connections stall and are reset after the user timeout unless it heals first.
  void block(NodeId from, NodeId to);  // one-way: to -> from still flows
  void unblock(NodeId from, NodeId to);
  void isolate(NodeId node);           // both directions, from every other node
  void split(std::span<const NodeId> side_a, std::span<const NodeId> side_b);
  void heal();                         // removes every block
  bool blocked(NodeId from, NodeId to) const;

  // Resets: both ends see kClosed (each end once its own reset event runs, at the current time).
  void reset_connections(NodeId node);
  void reset_connection(ConnectionId id);
  std::vector<ConnectionId> connections_of(NodeId node) const;
  std::size_t connections_count() const { return connections_.size(); }

 private:
  friend class SimConnection;
  friend class SimListener;
  friend class SimNodeNetwork;

  struct LinkState {
    LinkStats stats;
    io::Instant fifo_last;      // packets not reordered arrive no earlier than this
    io::Instant busy_until;     // bandwidth: the link is sending until then
    io::Instant clogged_until;
  };
  struct NodeEntry {
    std::string name;
    std::uint16_t next_ephemeral_port = 40000;
  };
  enum class Release : std::uint8_t { kClose, kDrop };
  using LinkKey = std::pair<std::uint32_t, std::uint32_t>;

  // Links (sim_network.cc).
  LinkState& link_state(NodeId from, NodeId to);
  io::Duration sample_latency(const LinkConfig& config);
  void transmit(NodeId from, NodeId to, detail::Packet packet);
  void schedule_delivery(NodeId to, io::Instant at, detail::Packet packet);
  std::uint16_t ephemeral_port(NodeId node);

  // Endpoints (sim_endpoint.cc, through the io adapters).
  io::Result<std::unique_ptr<io::Listener>> listen(NodeId node, const io::Address& address);
  io::Task<io::Result<std::unique_ptr<io::Connection>>> connect(NodeId from, io::Address address);
  io::Task<io::Result<std::unique_ptr<io::Connection>>> accept(std::uint64_t listener_id);
  void close_listener(std::uint64_t listener_id, Release how);
  io::Task<io::Result<std::size_t>> read_some(ConnectionId id, std::uint8_t side,
                                              std::span<std::byte> target);
  io::Task<io::Result<void>> write(ConnectionId id, std::uint8_t side,
                                   std::span<const std::byte> bytes);
  void release_side(ConnectionId id, std::uint8_t side, Release how);

  // The transport (sim_tcp.cc).
  detail::ConnState* find_connection(ConnectionId id);
  ConnectionId open_connection(NodeId from, NodeId to, std::uint16_t port);
  void receive(detail::Packet packet);
  void on_syn(detail::ConnState& conn, const detail::Packet& packet);
  void on_syn_ack(detail::ConnState& conn);
  void on_refuse(detail::ConnState& conn, const detail::Packet& packet);
  void on_data(detail::ConnState& conn, detail::Packet packet);
  void on_ack(detail::ConnState& conn, const detail::Packet& packet);
  void on_window_full(detail::ConnState& conn, const detail::Packet& packet);
  void update_rtt(detail::Side& side, io::Duration sample);
  void on_syn_timer(ConnectionId id);
  void on_retransmit_timer(ConnectionId id, std::uint8_t side, std::uint64_t seq);
  void send_control(const detail::ConnState& conn, std::uint8_t to_side, detail::PacketKind kind,
                    std::uint64_t seq);
  void send_segment(detail::ConnState& conn, std::uint8_t side, std::span<const std::byte> bytes,
                    bool fin);
  void transmit_segment(const detail::ConnState& conn, std::uint8_t side, std::uint64_t seq,
                        const detail::Segment& segment);
  void arm_retransmit(const detail::ConnState& conn, std::uint8_t side, std::uint64_t seq,
                      detail::Segment& segment, io::Instant at);
  void send_syn(const detail::ConnState& conn);
  // Resumes the end's parked readers, then writers (looking the connection up again in between,
  // since resumed code may close it).
  void wake(ConnectionId id, std::uint8_t side);
  void fail_connect(detail::ConnState& conn, io::Error error);
  // Resets one end now: pending and later operations complete with kClosed.
  void reset_side_now(detail::ConnState& conn, std::uint8_t side);
  // Resets one end when news of it could arrive: after the link latency, or after the user
  // timeout if the link is blocked (keepalive finds out). delay_zero: the local end, now.
  void schedule_reset(const detail::ConnState& conn, std::uint8_t side, bool delay_zero);
  void drop_side(detail::ConnState& conn, std::uint8_t side);
  void maybe_erase(ConnectionId id);

  SimWorld& world_;
  TransportConfig transport_;
  LinkConfig default_link_;
  std::map<LinkKey, LinkConfig> link_configs_;
  std::map<LinkKey, LinkState> links_;
  std::set<LinkKey> blocked_;
  std::map<std::uint32_t, NodeEntry> nodes_;
  std::map<std::string, NodeId, std::less<>> names_;
  std::map<ConnectionId, detail::ConnState> connections_;
  std::map<std::uint64_t, detail::ListenerState> listeners_;
  std::map<std::pair<std::uint32_t, std::uint16_t>, std::uint64_t> listener_by_address_;
  std::uint64_t next_connection_id_ = 1;
  std::uint64_t next_listener_id_ = 1;
};

}  // namespace strand::sim
