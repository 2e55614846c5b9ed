// Where a node's work runs: one thread per node (the libuv loop, or the simulator's queue for
// that node). All tasks of a node live in its root TaskScope; a simulated crash destroys it.
#pragma once

#include <functional>

namespace strand::io {

class TaskScope;

class Executor {
 public:
  virtual ~Executor() = default;

  // Runs `callback` later on this node's thread, after the current callback returns. Posts run
  // in FIFO order. A crashed simulated node's posts never run. The callback must not assume that
  // any coroutine frame it refers to still exists; prefer TaskScope::spawn for coroutines.
  virtual void post(std::function<void()> callback) = 0;

  // The node's root scope. Work spawned here lives until the node stops (or crashes).
  virtual TaskScope& root() = 0;
};

}  // namespace strand::io
