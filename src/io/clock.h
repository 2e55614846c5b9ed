// A node's view of time. Monotonic time (now, sleep) orders events and drives timeouts; wall time
// (wall_ms) is only for record timestamps and retention, because it may jump or be skewed.
#pragma once

#include <cstdint>

#include "io/task.h"
#include "io/time.h"

namespace strand::io {

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic: never goes back on one node. Comparable only with Instants from the same node.
  virtual Instant now() = 0;

  // Milliseconds since the Unix epoch by this node's wall clock. May jump backwards or forwards.
  virtual std::int64_t wall_ms() = 0;

  // Completes once at least `duration` of monotonic time has passed (at once for <= 0, after
  // letting other ready work run). Destroying the awaiting frame cancels the timer.
  virtual Task<void> sleep(Duration duration) = 0;
};

}  // namespace strand::io
