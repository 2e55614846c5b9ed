// The clock of a UvEnv: monotonic time from uv_hrtime, wall time from the system clock, and
// sleeps on uv_timer_t.
#pragma once

#include <cstdint>

#include "io/clock.h"
#include "io/executor.h"

struct uv_loop_s;

namespace strand::io::uv {

class UvClock final : public Clock {
 public:
  UvClock(uv_loop_s* loop, Executor& executor) : loop_(loop), executor_(executor) {}

  Instant now() override;
  std::int64_t wall_ms() override;
  // Completes on the loop thread once now() has advanced by at least `duration`; for durations
  // <= 0, after the posts made before it (it goes through the post queue). Destroying the
  // awaiting frame stops and closes the timer (or drops the post).
  Task<void> sleep(Duration duration) override;

 private:
  uv_loop_s* loop_;
  Executor& executor_;
};

}  // namespace strand::io::uv
