#include "sim/sim_world.h"

#include <algorithm>
#include <utility>

#include "io/assert.h"
#include "sim/sim_network.h"

namespace strand::sim {
namespace {

constexpr std::uint32_t kNodesMax = 1u << 16;

// Folds one event into the running hash. Everything folded is a pure function of the seed and the
// event order, never of addresses or real time.
std::uint64_t fold_event(std::uint64_t hash, std::int64_t at_ns, std::uint64_t sequence,
                         EventKind kind, NodeId node) {
  const std::uint64_t tag = (static_cast<std::uint64_t>(kind) << 32) | node.value;
  const std::uint64_t x = (static_cast<std::uint64_t>(at_ns) * 0x9e3779b97f4a7c15ull) ^
                          (sequence * 0xc2b2ae3d27d4eb4full) ^ (tag * 0x165667b19e3779f9ull);
  return io::mix64(hash ^ x);
}

}  // namespace

namespace {

thread_local const SimWorld* t_current_world = nullptr;

}  // namespace

SimWorld::SimWorld(std::uint64_t seed) : seed_(seed), random_(io::mix64(seed ^ 0x5157'0001ull)) {
  network_ = std::make_unique<SimNetwork>(*this);
  t_current_world = this;
}

const SimWorld* SimWorld::current() { return t_current_world; }

SimWorld::~SimWorld() {
  if (t_current_world == this) t_current_world = nullptr;
  network_.reset();
  for (const NodeState& state : nodes_) {
    STRAND_ASSERT(!state.registered, "nodes are destroyed before their world");
  }
}

std::uint64_t SimWorld::derive_seed(std::uint64_t stream, std::uint64_t index) const {
  return io::mix64(seed_ ^ io::mix64(stream * 0x9e3779b97f4a7c15ull + io::mix64(index)));
}

std::uint32_t SimWorld::allocate_slot() {
  if (!free_slots_.empty()) {
    const std::uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  STRAND_ASSERT(slots_.size() < kEventsPendingMax, "event slots are bounded");
  slots_.emplace_back();
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void SimWorld::free_slot(std::uint32_t slot) {
  Slot& entry = slots_[slot];
  STRAND_ASSERT(entry.sequence != 0, "freeing a free slot");
  entry.sequence = 0;
  entry.callback = nullptr;
  free_slots_.push_back(slot);
  pending_count_ -= 1;
}

EventId SimWorld::schedule(io::Instant at, NodeId node, EventKind kind, Callback callback) {
  STRAND_ASSERT(at >= now_, "events are scheduled at or after now");
  STRAND_ASSERT(callback != nullptr, "an event has a callback");
  std::uint64_t incarnation = 0;
  if (node != kNoNode) {
    const NodeState& state = node_state(node);
    if (!state.up) return EventId{};  // a down node's work never runs
    incarnation = state.incarnation;
  }
  STRAND_ASSERT(pending_count_ < kEventsPendingMax, "the event queue is bounded");
  const std::uint32_t slot = allocate_slot();
  const std::uint64_t sequence = next_sequence_++;
  Slot& entry = slots_[slot];
  entry.sequence = sequence;
  entry.incarnation = incarnation;
  entry.node = node;
  entry.kind = kind;
  entry.callback = std::move(callback);
  pending_count_ += 1;
  heap_.push_back(QueueEntry{at.ns(), sequence, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  return EventId{sequence, slot};
}

void SimWorld::cancel(EventId id) {
  if (!id.valid()) return;
  STRAND_ASSERT(id.slot < slots_.size(), "an event id names a slot");
  if (slots_[id.slot].sequence != id.sequence) return;  // ran, dropped or cancelled already
  free_slot(id.slot);  // the heap entry goes stale and is skipped when it surfaces
  drop_stale_entries();
}

void SimWorld::drop_stale_entries() {
  // Most retransmission timers are cancelled long before they are due, and their stale entries
  // would stay in the heap (making every push and pop slower) until then. Once they are at least
  // half of it, they all go at once: a linear cost paid at most once per that many cancels. The
  // order of what remains does not change: (time, sequence) orders entries totally.
  if (heap_.size() < kHeapCompactMin || heap_.size() < 2 * pending_count_) return;
  std::erase_if(heap_, [this](const QueueEntry& entry) {
    return slots_[entry.slot].sequence != entry.sequence;
  });
  std::make_heap(heap_.begin(), heap_.end(), Later{});
}

const SimWorld::QueueEntry* SimWorld::peek_live() {
  // Each pass pops one stale entry, so the loop is bounded by the heap's size.
  while (!heap_.empty()) {
    const QueueEntry& top = heap_.front();
    const Slot& entry = slots_[top.slot];
    bool stale = entry.sequence != top.sequence;
    if (!stale && entry.node != kNoNode) {
      NodeState& state = nodes_[entry.node.value];  // removed nodes stay in nodes_
      if (!state.registered || !state.up || state.incarnation != entry.incarnation) {
        events_dropped_ += 1;
        free_slot(top.slot);
        stale = true;
      } else if (state.paused) {
        // Off the heap but still pending (its slot stays), so cancel() keeps working on it.
        STRAND_ASSERT(state.deferred.size() < kEventsPendingMax, "held events are bounded");
        state.deferred.push_back(top);
        stale = true;
      }
    }
    if (!stale) return &top;
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
  return nullptr;
}

void SimWorld::run_front() {
  STRAND_ASSERT(!running_event_, "events do not nest");
  const QueueEntry top = heap_.front();
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  heap_.pop_back();
  Slot& entry = slots_[top.slot];
  STRAND_ASSERT(entry.sequence == top.sequence, "the front event is live");
  STRAND_ASSERT(top.at_ns >= now_.ns(), "virtual time never goes back");
  Callback callback = std::move(entry.callback);
  const NodeId node = entry.node;
  const EventKind kind = entry.kind;
  free_slot(top.slot);
  now_ = io::Instant::from_ns(top.at_ns);
  trace_hash_ = fold_event(trace_hash_, top.at_ns, top.sequence, kind, node);
  events_run_ += 1;
  running_event_ = true;
  current_node_ = node;
  callback();
  current_node_ = kNoNode;
  running_event_ = false;
}

bool SimWorld::step() {
  if (peek_live() == nullptr) return false;
  run_front();
  return true;
}

bool SimWorld::run_until(io::Instant limit, std::uint64_t events_max) {
  STRAND_ASSERT(limit >= now_, "run_until does not go back in time");
  for (std::uint64_t run = 0;; ++run) {
    const QueueEntry* front = peek_live();
    if (front == nullptr || front->at_ns > limit.ns()) break;
    if (run >= events_max) {
      budget_exhausted_ = true;
      return false;
    }
    run_front();
  }
  now_ = limit;
  return true;
}

bool SimWorld::run_until(const std::function<bool()>& predicate, io::Duration limit,
                         std::uint64_t events_max) {
  const io::Instant deadline = now_ + limit;
  for (std::uint64_t run = 0;; ++run) {
    if (predicate()) return true;
    const QueueEntry* front = peek_live();
    if (front == nullptr) return false;  // nothing can change any more
    if (front->at_ns > deadline.ns()) {
      now_ = deadline;
      return false;
    }
    if (run >= events_max) {
      budget_exhausted_ = true;
      return false;
    }
    run_front();
  }
}

void SimWorld::add_node(NodeId node) {
  STRAND_ASSERT(node != kNoNode && node.value < kNodesMax, "node ids are small");
  if (nodes_.size() <= node.value) nodes_.resize(node.value + 1);
  NodeState& state = nodes_[node.value];
  STRAND_ASSERT(!state.registered, "a node id is registered once");
  state.registered = true;
  state.up = true;
  state.incarnation += 1;
}

void SimWorld::remove_node(NodeId node) {
  NodeState& state = node_state(node);
  drop_deferred(state);
  state.registered = false;
  state.up = false;
  state.incarnation += 1;
}

bool SimWorld::has_node(NodeId node) const {
  return node.value < nodes_.size() && nodes_[node.value].registered;
}

const SimWorld::NodeState& SimWorld::node_state(NodeId node) const {
  STRAND_ASSERT(has_node(node), "the node is registered with this world");
  return nodes_[node.value];
}

SimWorld::NodeState& SimWorld::node_state(NodeId node) {
  STRAND_ASSERT(node.value < nodes_.size(), "the node is known to this world");
  return nodes_[node.value];
}

bool SimWorld::node_up(NodeId node) const { return has_node(node) && node_state(node).up; }

std::uint64_t SimWorld::incarnation(NodeId node) const { return node_state(node).incarnation; }

void SimWorld::set_node_down(NodeId node) {
  NodeState& state = node_state(node);
  STRAND_ASSERT(state.up, "only an up node goes down");
  drop_deferred(state);
  state.up = false;
  state.incarnation += 1;
}

void SimWorld::drop_deferred(NodeState& state) {
  for (const QueueEntry& held : state.deferred) {
    if (slots_[held.slot].sequence != held.sequence) continue;  // cancelled while held
    events_dropped_ += 1;
    free_slot(held.slot);
  }
  state.deferred.clear();
  state.paused = false;
}

void SimWorld::pause_node(NodeId node, io::Duration length) {
  NodeState& state = node_state(node);
  STRAND_ASSERT(state.registered && state.up, "only a running node pauses");
  STRAND_ASSERT(!state.paused, "a paused node is not paused again");
  STRAND_ASSERT(current_node_ != node, "a node is paused from outside its own events");
  STRAND_ASSERT(length >= io::Duration{}, "a pause lasts zero or more");
  state.paused = true;
  state.pauses_count += 1;
  const std::uint64_t pause = state.pauses_count;
  const std::uint64_t incarnation = state.incarnation;
  schedule_after(length, kNoNode, EventKind::kControl, [this, node, pause, incarnation] {
    if (!has_node(node)) return;
    const NodeState& now = node_state(node);
    if (now.paused && now.incarnation == incarnation && now.pauses_count == pause) {
      resume_node(node);
    }
  });
}

void SimWorld::resume_node(NodeId node) {
  NodeState& state = node_state(node);
  if (!state.paused) return;
  state.paused = false;
  // Due ones run now, with their old sequence numbers: before anything scheduled since, in the
  // order they would have run. A held event may not be due yet (the queue's front is looked at
  // before the time limit of a run), so it keeps its time.
  for (const QueueEntry& held : state.deferred) {
    if (slots_[held.slot].sequence != held.sequence) continue;  // cancelled while held
    heap_.push_back(QueueEntry{std::max(held.at_ns, now_.ns()), held.sequence, held.slot});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }
  state.deferred.clear();
}

void SimWorld::set_node_up(NodeId node) {
  NodeState& state = node_state(node);
  STRAND_ASSERT(!state.up, "only a down node comes up");
  state.up = true;
  state.incarnation += 1;
}

bool SimWorld::buggify_site_enabled(std::uint64_t site_hash) const {
  return io::mix64(seed_ ^ io::mix64(site_hash ^ 0xb066'1f7ull)) % 100 < kBuggifySiteEnabledPercent;
}

}  // namespace strand::sim
