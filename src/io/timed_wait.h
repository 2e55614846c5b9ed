// Waiting for a notification with a deadline: a long-polling fetch waits for new data or for its
// max wait, whichever comes first.
#pragma once

#include "io/clock.h"
#include "io/sync.h"
#include "io/task.h"
#include "io/time.h"

namespace strand::io {

// Completes when `condition` is notified or `timeout` has passed. Returns true if notified.
// Cancelling the awaiting frame cancels both waits.
Task<bool> wait_notified(Condition& condition, Clock& clock, Duration timeout);

}  // namespace strand::io
