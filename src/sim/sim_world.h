// The simulated world: virtual time, one event queue and one seeded PRNG for many nodes on one
// thread. Time jumps to the next event, so a minute of cluster life takes milliseconds. Events run
// in (time, sequence) order, never in address order, and every executed event is folded into a
// running trace hash: the same seed gives the same hash, or the simulator has a determinism bug.
//
// Events that belong to a node carry the node's incarnation. A crash (or a restart) bumps the
// incarnation, and the node's older events are then dropped unrun: a crashed node's work never
// runs again. A paused node (a stop-the-world GC, SIGSTOP) keeps its events: they are held, in
// order, until it resumes, while virtual time and every other node go on.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/random.h"
#include "io/result.h"
#include "io/task.h"
#include "io/time.h"
#include "sim/event_callback.h"

namespace strand::sim {

struct NodeId {
  std::uint32_t value = 0;
  friend constexpr auto operator<=>(NodeId, NodeId) = default;
};
// Events of the world itself (fault injection, scenario steps): they belong to no node.
inline constexpr NodeId kNoNode{0xffff'ffffu};

// A tag folded into the trace hash, so that two runs that differ only in what ran at a step
// still hash differently.
enum class EventKind : std::uint8_t {
  kOther = 0,
  kPost = 1,      // Executor::post
  kTimer = 2,     // Clock::sleep
  kPacket = 3,    // a packet arriving over a link
  kNetTimer = 4,  // a transport timer (retransmission, connect)
  kControl = 5,   // scenario and fault injection steps
  kDisk = 6,      // simulated disk completions
};

// Names one scheduled event. Cancelling an event that already ran (or was dropped) is a no-op.
struct EventId {
  std::uint64_t sequence = 0;  // 0: no event
  std::uint32_t slot = 0;
  bool valid() const { return sequence != 0; }
};

class SimNetwork;
class SimNode;

class SimWorld {
 public:
  using Callback = EventCallback;

  // Bounds: the pending queue, and the events one run call may execute (unless told otherwise).
  static constexpr std::size_t kEventsPendingMax = std::size_t{1} << 24;
  static constexpr std::uint64_t kRunEventsMaxDefault = 200'000'000;

  explicit SimWorld(std::uint64_t seed);
  // The world this thread simulates (the latest constructed and not yet destroyed), for log
  // formatters that stamp lines with virtual time and node; null when there is none.
  static const SimWorld* current();
  SimWorld(const SimWorld&) = delete;
  SimWorld& operator=(const SimWorld&) = delete;
  ~SimWorld();

  std::uint64_t seed() const { return seed_; }
  io::Instant now() const { return now_; }

  // The world's PRNG: every random choice of the simulator (network delays, faults, crash
  // effects) derives from it, in event order.
  io::Random& random() { return random_; }

  // The network between this world's nodes (owned by the world).
  SimNetwork& network() { return *network_; }
  const SimNetwork& network() const { return *network_; }

  // A seed for a named stream (a node's Random, a workload's generator), independent of how many
  // numbers random() has handed out so far.
  std::uint64_t derive_seed(std::uint64_t stream, std::uint64_t index) const;

  // Runs `callback` at virtual time `at` (>= now()). If `node` is a node, the event belongs to its
  // current incarnation and is dropped unrun after a crash; scheduling for a node that is down
  // schedules nothing and returns an invalid id.
  EventId schedule(io::Instant at, NodeId node, EventKind kind, Callback callback);
  EventId schedule(io::Instant at, NodeId node, Callback callback) {
    return schedule(at, node, EventKind::kOther, std::move(callback));
  }
  EventId schedule_after(io::Duration delay, NodeId node, EventKind kind, Callback callback) {
    return schedule(now_ + delay, node, kind, std::move(callback));
  }
  // Removes a pending event; no-op for an event that ran, was dropped or was cancelled.
  void cancel(EventId id);

  // Runs the earliest pending event (skipping cancelled and dropped ones). False when none is left.
  bool step();

  // Runs every event due at or before `limit`, then sets now() to `limit`. False if the event
  // budget ran out first (now() is then the last event's time).
  bool run_until(io::Instant limit, std::uint64_t events_max = kRunEventsMaxDefault);
  bool run_for(io::Duration span, std::uint64_t events_max = kRunEventsMaxDefault) {
    return run_until(now_ + span, events_max);
  }

  // Runs events until `predicate()` holds (checked before each event). False if `limit` of
  // virtual time passed, the queue ran dry, or the event budget ran out first.
  bool run_until(const std::function<bool()>& predicate, io::Duration limit,
                 std::uint64_t events_max = kRunEventsMaxDefault);

  // Spawns `task` into `node`'s root scope and runs the world until it finishes. Errors (kTimeout)
  // when it did not finish within `limit` of virtual time or the event budget, or if the node
  // crashed meanwhile (kCancelled). Defined in sim_node.h.
  template <typename T>
  io::Result<T> run_task(SimNode& node, io::Task<T> task,
                         io::Duration limit = io::Duration::s(3600));

  std::uint64_t trace_hash() const { return trace_hash_; }
  std::uint64_t events_run() const { return events_run_; }
  std::uint64_t events_dropped() const { return events_dropped_; }
  std::size_t events_pending() const { return pending_count_; }
  // The node whose event is running now (kNoNode between events and for world events).
  NodeId current_node() const { return current_node_; }
  // Sticky: set once any run call stopped because its event budget ran out.
  bool budget_exhausted() const { return budget_exhausted_; }

  // Nodes. A node is registered once; crash/restart bump its incarnation.
  void add_node(NodeId node);
  void remove_node(NodeId node);
  bool has_node(NodeId node) const;
  bool node_up(NodeId node) const;
  std::uint64_t incarnation(NodeId node) const;
  void set_node_down(NodeId node);  // crash: drops the node's pending events
  void set_node_up(NodeId node);    // restart: a fresh incarnation

  // Pauses the node's current incarnation for `length`: none of its events run (timers, posts,
  // packets arriving at it, its transport's timers, disk completions) until the resume, which runs
  // the held ones first, in their original order, at the resume time. Going down ends a pause
  // (its held events are dropped with the incarnation). REQUIRES: node_up, not paused, not from
  // the node's own event.
  void pause_node(NodeId node, io::Duration length);
  // Ends a pause early; a no-op for a node that is not paused.
  void resume_node(NodeId node);
  bool node_paused(NodeId node) const { return has_node(node) && node_state(node).paused; }

  // BUGGIFY: off by default (unit tests), on for swarm runs. Each call site is enabled or not
  // once per seed (site_enabled_percent), then fires per call with fire_percent.
  void set_buggify(bool enabled) { buggify_ = enabled; }
  bool buggify_enabled() const { return buggify_; }
  bool buggify_site_enabled(std::uint64_t site_hash) const;
  static constexpr std::uint64_t kBuggifySiteEnabledPercent = 25;
  static constexpr double kBuggifyFireProbability = 0.25;

 private:
  struct QueueEntry {
    std::int64_t at_ns;
    std::uint64_t sequence;
    std::uint32_t slot;
  };
  struct Slot {
    std::uint64_t sequence = 0;  // 0: free
    std::uint64_t incarnation = 0;
    NodeId node = kNoNode;
    EventKind kind = EventKind::kOther;
    Callback callback;
  };
  struct NodeState {
    bool registered = false;
    bool up = false;
    bool paused = false;
    std::uint64_t incarnation = 0;
    std::uint64_t pauses_count = 0;    // tells a pause's own resume from a later pause's
    std::vector<QueueEntry> deferred;  // held while paused, in queue order
  };

  // The heap's order (a max-heap on "later" puts the earliest event on top). A function object,
  // not a function pointer, so that the heap algorithms inline it.
  struct Later {
    bool operator()(const QueueEntry& a, const QueueEntry& b) const {
      if (a.at_ns != b.at_ns) return a.at_ns > b.at_ns;
      return a.sequence > b.sequence;
    }
  };
  // Below this many entries stale ones are left in the heap until they surface.
  static constexpr std::size_t kHeapCompactMin = 1024;

  std::uint32_t allocate_slot();
  void free_slot(std::uint32_t slot);
  // Removes the entries of cancelled events from the heap once they are a good part of it.
  void drop_stale_entries();
  // Pops stale entries; returns the live earliest one, if any, without removing it.
  const QueueEntry* peek_live();
  void run_front();
  const NodeState& node_state(NodeId node) const;
  NodeState& node_state(NodeId node);
  void drop_deferred(NodeState& state);

  std::uint64_t seed_;
  io::SeededRandom random_;
  io::Instant now_;
  std::vector<QueueEntry> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t pending_count_ = 0;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t trace_hash_ = 0;
  std::uint64_t events_run_ = 0;
  std::uint64_t events_dropped_ = 0;
  bool budget_exhausted_ = false;
  bool running_event_ = false;
  NodeId current_node_ = kNoNode;
  bool buggify_ = false;
  std::vector<NodeState> nodes_;
  std::unique_ptr<SimNetwork> network_;  // last: destroyed first, while the queue still exists
};

}  // namespace strand::sim
