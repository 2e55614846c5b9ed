// The simulated transport's state (internal to SimNetwork): connections as two ends exchanging
// packets over faulty links, modelled on TCP. Everything is keyed by ids, never by addresses, and
// events refer to connections by id, so a stale event finds nothing and does nothing.
#pragma once

#include <compare>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "io/result.h"
#include "io/time.h"
#include "io/wait_list.h"
#include "sim/sim_world.h"

namespace strand::sim {

struct ConnectionId {
  std::uint64_t value = 0;
  friend constexpr auto operator<=>(ConnectionId, ConnectionId) = default;
};

namespace detail {

enum class PacketKind : std::uint8_t {
  kSyn,         // connect request, to the accepting end
  kSynAck,      // the connection is accepted, to the connecting end
  kRefuse,      // nobody listens there (a TCP RST answering a SYN)
  kData,        // one segment (or the FIN)
  kAck,         // the segment `seq` arrived
  kWindowFull,  // the segment `seq` did not fit the receive buffer: try again later
};

// Wide fields first: a packet and its network fit in one event's inline callback storage.
struct Packet {
  ConnectionId connection;
  std::uint64_t seq = 0;
  std::shared_ptr<const std::string> payload;  // kData only
  NodeId to_node = kNoNode;
  std::uint16_t port = 0;  // kSyn: the port asked for
  PacketKind kind = PacketKind::kData;
  std::uint8_t to_side = 0;  // 0: the connecting end, 1: the accepting end
  bool fin = false;

  std::size_t size_bytes() const { return 40 + (payload ? payload->size() : 0); }
};

// A segment the sender keeps until the receiver acknowledges it.
struct Segment {
  std::shared_ptr<const std::string> payload;
  bool fin = false;
  io::Instant first_sent;
  io::Instant last_heard;  // when it was first sent, or when the peer last answered "window full"
  io::Duration rto;        // the current retransmission timeout (doubles per retry)
  std::uint32_t transmissions = 1;
  EventId timer;
};

// One end of a connection.
struct Side {
  bool present = false;  // the accepting end exists once the SYN arrived
  NodeId node = kNoNode;
  std::uint64_t incarnation = 0;
  std::uint16_t port = 0;
  bool released = false;       // its owner closed or dropped it, or its node crashed
  bool reset = false;          // a reset arrived or retransmission gave up: all operations kClosed
  bool peer_finished = false;  // the peer's FIN arrived in order: reads drain, then kClosed
  bool fin_queued = false;

  // Sending: segments in flight until acknowledged; their bytes count against the send buffer.
  std::uint64_t next_seq = 0;
  std::map<std::uint64_t, Segment> unacked;
  std::size_t unacked_bytes = 0;
  // Round-trip estimate (RFC 6298) from segments acknowledged on their first transmission.
  io::Duration srtt;
  io::Duration rttvar;
  io::Duration rto;  // zero until the first measurement: the transport's initial RTO applies

  // Receiving: segments past a gap wait in out_of_order; in-order bytes wait in readable.
  std::uint64_t expected_seq = 0;
  std::map<std::uint64_t, Packet> out_of_order;
  std::string readable;
  std::size_t read_offset = 0;

  io::WaitList readers;
  io::WaitList writers;
  std::uint32_t inline_completions = 0;  // reads and writes completed without suspending

  std::size_t readable_bytes() const { return readable.size() - read_offset; }
};

enum class ConnPhase : std::uint8_t { kConnecting, kEstablished, kFailed };

struct ConnState {
  ConnectionId id;
  ConnPhase phase = ConnPhase::kConnecting;
  std::optional<io::Error> failure;  // kFailed: why connect() failed
  Side sides[2];
  // Connecting: the SYN is retried with backoff until the connect timeout.
  io::Instant connect_started;
  io::Duration syn_rto;
  EventId syn_timer;
  io::WaitList connect_waiters;
};

struct ListenerState {
  NodeId node = kNoNode;
  std::uint16_t port = 0;
  bool closed = false;
  std::deque<ConnectionId> backlog;  // accepted by the transport, not yet by accept()
  io::WaitList acceptors;
};

// Parks the awaiting coroutine on `list` until someone resumes the list. If the frame is
// destroyed first, the Waiter unlinks itself.
struct Park {
  io::WaitList& list;
  io::Waiter waiter;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> caller) { list.push_back(waiter, caller); }
  void await_resume() const noexcept {}
};

// Resumes the awaiting coroutine at an event of `node` at the current time. Operations that could
// complete on the caller's stack over and over (a loop of writes with room in the send buffer)
// pass through here now and then: without optimisation (sanitizer builds) coroutine symmetric
// transfer is not a tail call, and a long run of inline completions would grow the stack.
struct Yield {
  SimWorld& world;
  NodeId node;
  EventId event;

  Yield(SimWorld& w, NodeId n) : world(w), node(n) {}
  Yield(const Yield&) = delete;
  Yield& operator=(const Yield&) = delete;
  ~Yield() { world.cancel(event); }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> caller) {
    event = world.schedule(world.now(), node, EventKind::kPost, [this, caller] {
      event = EventId{};
      caller.resume();
    });
  }
  void await_resume() const noexcept {}
};

// Unlinks every parked coroutine without resuming it: for ends whose frames are about to be
// destroyed (a crash) or whose owner is gone (a destructor).
inline void detach_all(io::WaitList& list) {
  while (!list.empty()) list.pop_front();
}

}  // namespace detail
}  // namespace strand::sim
