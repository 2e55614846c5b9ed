// Structured concurrency. A TaskScope owns the frames of the tasks spawned into it: none outlives
// the scope. cancel() (or the destructor) destroys every unfinished child at once; their pending
// awaits are unregistered by the awaiters' destructors and never resume. join() waits for all.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <map>

#include "io/task.h"
#include "io/wait_list.h"

namespace strand::io {

class TaskScope {
 public:
  TaskScope() = default;
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
  ~TaskScope();

  // Starts `task` now, on this stack, until its first suspension; the scope then owns it until it
  // returns. Spawning into a cancelled scope destroys the task unrun.
  void spawn(Task<void> task);

  // Destroys every unfinished child, in spawn order. The scope can't be used to spawn afterwards.
  // REQUIRES: not called from inside one of this scope's own children.
  void cancel();

  // Resumes when the scope has no unfinished child.
  Task<void> join();

  std::size_t active_count() const { return children_.size(); }
  bool cancelled() const { return cancelled_; }

  struct RootPromise;  // the frame wrapping a spawned task (defined in task_scope.cc)

 private:
  friend struct RootPromise;
  void on_child_done(std::uint64_t id, std::coroutine_handle<> handle);

  // Ordered by spawn sequence so that cancel() destroys frames in a deterministic order.
  std::map<std::uint64_t, std::coroutine_handle<>> children_;
  std::uint64_t next_id_ = 0;
  WaitList joiners_;
  bool cancelled_ = false;
};

}  // namespace strand::io
