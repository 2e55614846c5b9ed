#include "sim/sim_clock.h"

#include <algorithm>
#include <coroutine>

#include "io/assert.h"

namespace strand::sim {
namespace {

constexpr std::int64_t kMillion = 1'000'000;

}  // namespace

// Parks the sleeping coroutine on one world event. The destructor cancels the event, so a
// destroyed frame (a cancelled scope, a crashed node) is never resumed.
struct SimClock::TimerAwaiter {
  SimWorld& world;
  NodeId node;
  io::Instant at;
  EventId event;

  TimerAwaiter(SimWorld& w, NodeId n, io::Instant a) : world(w), node(n), at(a) {}
  TimerAwaiter(const TimerAwaiter&) = delete;
  TimerAwaiter& operator=(const TimerAwaiter&) = delete;
  ~TimerAwaiter() { world.cancel(event); }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> caller) {
    event = world.schedule(at, node, EventKind::kTimer, [this, caller] {
      event = EventId{};
      caller.resume();
    });
    STRAND_ASSERT(event.valid(), "a running node's timer is scheduled");
  }
  void await_resume() const noexcept {}
};

ClockState SimClock::initial_state(const SimWorld& world, io::Duration monotonic_offset,
                                   std::int64_t drift_ppm, io::Duration wall_skew) {
  STRAND_ASSERT(monotonic_offset >= io::Duration{}, "monotonic time starts at or after zero");
  ClockState state;
  state.anchor_virtual = world.now();
  state.anchor_local = io::Instant{} + monotonic_offset;
  state.drift_ppm = drift_ppm;
  // Wall time = epoch + world time + skew at the anchor.
  state.wall_minus_local_ns = kWallEpochMs * kMillion + world.now().ns() + wall_skew.count_ns() -
                              state.anchor_local.ns();
  return state;
}

SimClock::SimClock(SimWorld& world, NodeId node, ClockState state)
    : world_(world), node_(node), state_(state) {
  STRAND_ASSERT(state_.drift_ppm > -kDriftPpmMax && state_.drift_ppm < kDriftPpmMax,
                "drift is bounded");
  STRAND_ASSERT(state_.anchor_virtual <= world_.now(), "a clock is anchored in the past");
  last_now_ = local_at(world_.now());
}

io::Instant SimClock::local_at(io::Instant virtual_time) const {
  STRAND_ASSERT(virtual_time >= state_.anchor_virtual, "local time after the anchor only");
  const __int128_t elapsed = (virtual_time - state_.anchor_virtual).count_ns();
  const __int128_t scaled = elapsed * (kMillion + state_.drift_ppm) / kMillion;
  return state_.anchor_local + io::Duration::ns(static_cast<std::int64_t>(scaled));
}

io::Instant SimClock::virtual_when_local(io::Instant local) const {
  const std::int64_t wanted = (local - state_.anchor_local).count_ns();
  if (wanted <= 0) return state_.anchor_virtual;
  const __int128_t rate = kMillion + state_.drift_ppm;
  const __int128_t elapsed = (static_cast<__int128_t>(wanted) * kMillion + rate - 1) / rate;
  io::Instant at = state_.anchor_virtual + io::Duration::ns(static_cast<std::int64_t>(elapsed));
  // Integer rounding may leave us a nanosecond short; a couple of steps fix it.
  for (int steps = 0; local_at(at) < local; ++steps) {
    STRAND_ASSERT(steps < 4, "the inverse of local_at is off by at most a few ns");
    at = at + io::Duration::ns(1);
  }
  return at;
}

io::Instant SimClock::now() {
  const io::Instant local = local_at(world_.now());
  STRAND_ASSERT(local >= last_now_, "monotonic time never goes back");
  last_now_ = local;
  return local;
}

std::int64_t SimClock::wall_ms() {
  const std::int64_t wall_ns = now().ns() + state_.wall_minus_local_ns;
  return wall_ns / kMillion;
}

std::int64_t SimClock::wall_ms_peek() const {
  return (local_at(world_.now()).ns() + state_.wall_minus_local_ns) / kMillion;
}

io::Task<void> SimClock::sleep(io::Duration duration) {
  const io::Instant target = now() + std::max(duration, io::Duration{});
  // A drift change while asleep can make the event early; then sleep again for the rest.
  for (int rounds = 0;; ++rounds) {
    STRAND_ASSERT(rounds < 1000, "a sleep converges");
    const io::Instant at = duration <= io::Duration{}
                               ? world_.now()
                               : std::max(world_.now(), virtual_when_local(target));
    co_await TimerAwaiter(world_, node_, at);
    if (now() >= target) co_return;
  }
}

void SimClock::set_drift_ppm(std::int64_t drift_ppm) {
  STRAND_ASSERT(drift_ppm > -kDriftPpmMax && drift_ppm < kDriftPpmMax, "drift is bounded");
  state_ = state();
  state_.drift_ppm = drift_ppm;
}

void SimClock::jump_wall(io::Duration delta) { state_.wall_minus_local_ns += delta.count_ns(); }

ClockState SimClock::state() const {
  ClockState state = state_;
  state.anchor_local = local_at(world_.now());
  state.anchor_virtual = world_.now();
  state.wall_minus_local_ns = state_.wall_minus_local_ns;
  return state;
}

}  // namespace strand::sim
