#include "io/timed_wait.h"

#include "io/task_scope.h"

namespace strand::io {

namespace {

Task<void> set_when_notified(Condition& condition, Event& woken, bool& notified) {
  co_await condition.wait();
  if (!woken.is_set()) notified = true;
  woken.set();
}

Task<void> set_after(Clock& clock, Duration timeout, Event& woken) {
  co_await clock.sleep(timeout);
  woken.set();
}

}  // namespace

Task<bool> wait_notified(Condition& condition, Clock& clock, Duration timeout) {
  Event woken;
  bool notified = false;
  TaskScope waits;
  waits.spawn(set_when_notified(condition, woken, notified));
  waits.spawn(set_after(clock, timeout, woken));
  co_await woken.wait();
  // The child that woke us is still on the stack below; let it return before cancelling the
  // other, since a scope must not destroy a frame that is running.
  co_await clock.sleep(Duration::ns(0));
  waits.cancel();
  co_return notified;
}

}  // namespace strand::io
