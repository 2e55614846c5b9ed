// A node's clock in the simulator. Monotonic time is the node's view of the world's virtual time:
// shifted by an offset and running fast or slow by a drift (parts per million), and never going
// back. Wall time follows the node's monotonic time from a fixed epoch (2026-01-01) plus a skew
// that scenarios can jump forwards or backwards.
#pragma once

#include <cstdint>

#include "io/clock.h"
#include "sim/sim_world.h"

namespace strand::sim {

// The node's clock hardware: what survives a restart (the monotonic epoch does not matter to
// code, so it is kept continuous for readability of traces).
struct ClockState {
  io::Instant anchor_virtual;        // world time at which anchor_local was read
  io::Instant anchor_local;          // the node's monotonic time then
  std::int64_t drift_ppm = 0;        // > 0: the node's clock runs fast
  std::int64_t wall_minus_local_ns = 0;
};

class SimClock final : public io::Clock {
 public:
  static constexpr std::int64_t kDriftPpmMax = 100'000;  // 10%: wilder clocks are broken hardware
  static constexpr std::int64_t kWallEpochMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

  // A fresh clock at world time now(): monotonic time starts at `monotonic_offset`, wall time at
  // the epoch plus world time plus `wall_skew`.
  static ClockState initial_state(const SimWorld& world, io::Duration monotonic_offset,
                                  std::int64_t drift_ppm, io::Duration wall_skew);

  SimClock(SimWorld& world, NodeId node, ClockState state);

  io::Instant now() override;
  std::int64_t wall_ms() override;
  // What wall_ms() would answer now, without counting as a read (for observers outside the node).
  std::int64_t wall_ms_peek() const;
  // Schedules a world event for the virtual time at which this clock will have advanced by
  // `duration` (accounting for drift). Destroying the awaiting frame cancels the event.
  io::Task<void> sleep(io::Duration duration) override;

  // Changes the rate from now on; monotonic time stays continuous.
  void set_drift_ppm(std::int64_t drift_ppm);
  std::int64_t drift_ppm() const { return state_.drift_ppm; }
  // Moves wall time (not monotonic time) by `delta`, which may be negative.
  void jump_wall(io::Duration delta);

  // The state re-anchored at the world's current time, to build the next incarnation's clock.
  ClockState state() const;

  // Pure conversions (exposed for tests).
  io::Instant local_at(io::Instant virtual_time) const;
  io::Instant virtual_when_local(io::Instant local) const;

 private:
  struct TimerAwaiter;

  SimWorld& world_;
  NodeId node_;
  ClockState state_;
  io::Instant last_now_;
};

}  // namespace strand::sim
