// The io::Network, io::Listener and io::Connection of a simulated node: thin handles (an id and a
// side) onto SimNetwork's state, so a handle that outlives its connection finds nothing and
// reports kClosed instead of touching freed memory.
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "io/assert.h"
#include "sim/sim_network.h"

namespace strand::sim {

using detail::ConnPhase;
using detail::ConnState;
using detail::Side;

namespace {
// A read or write completes on the caller's stack at most this many times in a row (see Yield).
constexpr std::uint32_t kInlineCompletionsMax = 32;
}  // namespace

class SimConnection final : public io::Connection {
 public:
  SimConnection(SimNetwork& network, ConnectionId id, std::uint8_t side, io::Address peer)
      : network_(network), id_(id), side_(side), peer_(std::move(peer)) {}
  ~SimConnection() override { network_.release_side(id_, side_, SimNetwork::Release::kDrop); }

  io::Task<io::Result<std::size_t>> read_some(std::span<std::byte> target) override {
    return network_.read_some(id_, side_, target);
  }
  io::Task<io::Result<void>> write(std::span<const std::byte> bytes) override {
    return network_.write(id_, side_, bytes);
  }
  void close() override { network_.release_side(id_, side_, SimNetwork::Release::kClose); }
  const io::Address& peer() const override { return peer_; }

 private:
  SimNetwork& network_;
  ConnectionId id_;
  std::uint8_t side_;
  io::Address peer_;
};

class SimListener final : public io::Listener {
 public:
  SimListener(SimNetwork& network, std::uint64_t id, io::Address address)
      : network_(network), id_(id), address_(std::move(address)) {}
  ~SimListener() override { network_.close_listener(id_, SimNetwork::Release::kDrop); }

  io::Task<io::Result<std::unique_ptr<io::Connection>>> accept() override {
    return network_.accept(id_);
  }
  void close() override { network_.close_listener(id_, SimNetwork::Release::kClose); }
  io::Address address() const override { return address_; }

 private:
  SimNetwork& network_;
  std::uint64_t id_;
  io::Address address_;
};

class SimNodeNetwork final : public io::Network {
 public:
  SimNodeNetwork(SimNetwork& network, NodeId node) : network_(network), node_(node) {}

  io::Result<std::unique_ptr<io::Listener>> listen(const io::Address& address) override {
    return network_.listen(node_, address);
  }
  io::Task<io::Result<std::unique_ptr<io::Connection>>> connect(
      const io::Address& address) override {
    return network_.connect(node_, address);  // copies the address into the coroutine frame
  }

 private:
  SimNetwork& network_;
  NodeId node_;
};

std::unique_ptr<io::Network> SimNetwork::make_endpoint(NodeId node) {
  STRAND_ASSERT(nodes_.contains(node.value), "the node has joined the network");
  return std::make_unique<SimNodeNetwork>(*this, node);
}

io::Result<std::unique_ptr<io::Listener>> SimNetwork::listen(NodeId node,
                                                             const io::Address& address) {
  const std::string& name = node_name(node);
  const bool any = address.host.empty() || address.host == "0.0.0.0" || address.host == "::";
  if (!any && address.host != name) {
    return io::Error{io::ErrorKind::kInvalid,
                     "cannot listen on " + address.to_string() + ": this node is '" + name + "'"};
  }
  if (address.port != 0 && listener_by_address_.contains({node.value, address.port})) {
    return io::Error{io::ErrorKind::kExists,
                     "address " + name + ":" + std::to_string(address.port) + " is in use"};
  }
  STRAND_ASSERT(listeners_.size() < kListenersMax, "the number of listeners is bounded");
  const std::uint16_t port = address.port != 0 ? address.port : ephemeral_port(node);
  const std::uint64_t id = next_listener_id_++;
  detail::ListenerState& listener = listeners_[id];
  listener.node = node;
  listener.port = port;
  listener_by_address_[{node.value, port}] = id;
  return std::unique_ptr<io::Listener>(
      std::make_unique<SimListener>(*this, id, io::Address{name, port}));
}

void SimNetwork::close_listener(std::uint64_t listener_id, Release how) {
  auto it = listeners_.find(listener_id);
  if (it == listeners_.end() || it->second.closed) return;
  detail::ListenerState& listener = it->second;
  listener.closed = true;
  listener_by_address_.erase({listener.node.value, listener.port});
  // Connections the transport accepted but accept() never took: their clients get a reset.
  for (ConnectionId id : listener.backlog) {
    ConnState* conn = find_connection(id);
    if (conn == nullptr) continue;
    schedule_reset(*conn, 0, false);
    drop_side(*conn, 1);
    maybe_erase(id);
  }
  listener.backlog.clear();
  if (how == Release::kDrop) {
    detail::detach_all(listener.acceptors);
    listeners_.erase(listener_id);
    return;
  }
  // A parked accept() completes at an event of its own (see release_side).
  world_.schedule(world_.now(), listener.node, EventKind::kPost, [this, listener_id] {
    auto found = listeners_.find(listener_id);
    if (found == listeners_.end()) return;
    found->second.acceptors.resume_all();  // they find the listener closed
    listeners_.erase(listener_id);
  });
}

io::Task<io::Result<std::unique_ptr<io::Connection>>> SimNetwork::accept(
    std::uint64_t listener_id) {
  for (std::uint64_t rounds = 0;; ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 32), "accept makes progress");
    auto it = listeners_.find(listener_id);
    if (it == listeners_.end() || it->second.closed) {
      co_return io::Error{io::ErrorKind::kClosed, "the listener is closed"};
    }
    detail::ListenerState& listener = it->second;
    if (listener.backlog.empty()) {
      co_await detail::Park{listener.acceptors, {}};
      continue;
    }
    const ConnectionId id = listener.backlog.front();
    listener.backlog.pop_front();
    ConnState* conn = find_connection(id);
    if (conn == nullptr) continue;
    const Side& client = conn->sides[0];
    auto named = nodes_.find(client.node.value);
    io::Address peer{named == nodes_.end() ? std::string("?") : named->second.name, client.port};
    co_return std::unique_ptr<io::Connection>(
        std::make_unique<SimConnection>(*this, id, std::uint8_t{1}, std::move(peer)));
  }
}

io::Task<io::Result<std::unique_ptr<io::Connection>>> SimNetwork::connect(NodeId from,
                                                                         io::Address address) {
  if (address.port == 0) {
    co_return io::Error{io::ErrorKind::kInvalid, "cannot connect to port 0 (" +
                                                     address.to_string() + ")"};
  }
  const std::optional<NodeId> to = find_node(address.host);
  if (!to) {
    co_return io::Error{io::ErrorKind::kRefused,
                        "cannot connect to " + address.to_string() + ": no node is named '" +
                            address.host + "'"};
  }
  const ConnectionId id = open_connection(from, *to, address.port);
  // Until the connection is handed over, this guard releases the end if the frame is destroyed
  // (or the connect fails).
  struct Guard {
    SimNetwork& network;
    ConnectionId id;
    bool armed = true;
    ~Guard() {
      if (armed) network.release_side(id, 0, Release::kDrop);
    }
  } guard{*this, id};
  for (std::uint64_t rounds = 0;; ++rounds) {
    STRAND_ASSERT(rounds < 1'000'000, "connect makes progress");
    ConnState* conn = find_connection(id);
    STRAND_ASSERT(conn != nullptr, "a connecting end keeps its connection alive");
    if (conn->phase == ConnPhase::kEstablished) break;
    if (conn->phase == ConnPhase::kFailed) {
      io::Error failure = *conn->failure;
      co_return failure;
    }
    co_await detail::Park{conn->connect_waiters, {}};
  }
  guard.armed = false;  // the returned connection owns the end now
  co_return std::unique_ptr<io::Connection>(
      std::make_unique<SimConnection>(*this, id, std::uint8_t{0}, std::move(address)));
}

io::Task<io::Result<std::size_t>> SimNetwork::read_some(ConnectionId id, std::uint8_t side_index,
                                                        std::span<std::byte> target) {
  if (target.empty()) co_return io::Error{io::ErrorKind::kInvalid, "read_some into an empty span"};
  for (std::uint64_t rounds = 0;; ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 32), "read_some makes progress");
    ConnState* conn = find_connection(id);
    if (conn == nullptr) co_return io::Error{io::ErrorKind::kClosed, "the connection is closed"};
    Side& side = conn->sides[side_index];
    if (side.released) co_return io::Error{io::ErrorKind::kClosed, "the connection was closed"};
    const std::size_t available = side.readable_bytes();
    if (available > 0 && ++side.inline_completions >= kInlineCompletionsMax) {
      side.inline_completions = 0;
      co_await detail::Yield(world_, side.node);
      continue;
    }
    if (available > 0) {
      const std::size_t count = std::min(available, target.size());
      std::memcpy(target.data(), side.readable.data() + side.read_offset, count);
      side.read_offset += count;
      if (side.read_offset == side.readable.size()) {
        side.readable.clear();
        side.read_offset = 0;
      } else if (side.read_offset > 64 * 1024 && side.read_offset * 2 > side.readable.size()) {
        side.readable.erase(0, side.read_offset);
        side.read_offset = 0;
      }
      co_return count;
    }
    if (side.reset) co_return io::Error{io::ErrorKind::kClosed, "connection reset"};
    if (side.peer_finished) co_return io::Error{io::ErrorKind::kClosed, "the peer closed"};
    side.inline_completions = 0;
    co_await detail::Park{side.readers, {}};
  }
}

io::Task<io::Result<void>> SimNetwork::write(ConnectionId id, std::uint8_t side_index,
                                             std::span<const std::byte> bytes) {
  std::size_t done = 0;
  for (std::uint64_t rounds = 0; done < bytes.size(); ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 32), "write makes progress");
    ConnState* conn = find_connection(id);
    if (conn == nullptr) co_return io::Error{io::ErrorKind::kClosed, "the connection is closed"};
    Side& side = conn->sides[side_index];
    if (side.released || side.fin_queued) {
      co_return io::Error{io::ErrorKind::kClosed, "the connection was closed"};
    }
    if (side.reset) co_return io::Error{io::ErrorKind::kClosed, "connection reset"};
    const std::size_t buffer = transport_.send_buffer_bytes;
    const std::size_t room = side.unacked_bytes >= buffer ? 0 : buffer - side.unacked_bytes;
    if (room == 0) {
      side.inline_completions = 0;
      co_await detail::Park{side.writers, {}};  // backpressure: wait for acknowledgements
      continue;
    }
    if (done == 0 && ++side.inline_completions >= kInlineCompletionsMax) {
      side.inline_completions = 0;
      co_await detail::Yield(world_, side.node);
      continue;
    }
    const std::size_t count = std::min({room, bytes.size() - done, transport_.segment_bytes_max});
    send_segment(*conn, side_index, bytes.subspan(done, count), false);
    done += count;
  }
  co_return io::ok();
}

}  // namespace strand::sim
