#include "io/task_scope.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include "io/sync.h"

namespace strand::io {

void unhandled_exception_in_task() {
  std::fputs("fatal: an exception escaped a task; Strand code reports errors as values\n", stderr);
  std::fflush(stderr);
  std::abort();
}

// The frame that wraps a spawned task. When it finishes it tells its scope, which destroys it.
struct TaskScope::RootPromise {
  TaskScope* scope = nullptr;
  std::uint64_t id = 0;

  struct Root {
    using promise_type = RootPromise;
    std::coroutine_handle<RootPromise> handle;
  };

  struct DoneAwaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<RootPromise> self) noexcept {
      RootPromise& promise = self.promise();
      promise.scope->on_child_done(promise.id, self);
    }
    void await_resume() const noexcept {}
  };

  Root get_return_object() { return Root{std::coroutine_handle<RootPromise>::from_promise(*this)}; }
  std::suspend_always initial_suspend() const noexcept { return {}; }
  DoneAwaiter final_suspend() const noexcept { return {}; }
  void return_void() const {}
  [[noreturn]] void unhandled_exception() const { unhandled_exception_in_task(); }
};

namespace {

TaskScope::RootPromise::Root run_root(Task<void> task) { co_await task; }

}  // namespace

TaskScope::~TaskScope() { cancel(); }

void TaskScope::spawn(Task<void> task) {
  if (cancelled_) return;  // `task` is destroyed unrun with this frame's argument
  RootPromise::Root root = run_root(std::move(task));
  const std::uint64_t id = next_id_++;
  root.handle.promise().scope = this;
  root.handle.promise().id = id;
  children_.emplace(id, root.handle);
  root.handle.resume();
}

void TaskScope::cancel() {
  cancelled_ = true;
  {
    // No task runs while frames are being destroyed: locks their guards release pass on after.
    DeferHandoffs deferring;
    // One at a time: destroying a frame may finish or destroy other children of this scope.
    while (!children_.empty()) {
      auto first = children_.begin();
      std::coroutine_handle<> handle = first->second;
      children_.erase(first);
      handle.destroy();
    }
  }
  joiners_.resume_all();
}

namespace {

// One node's thread runs one event loop; each thread keeps its own deferral.
thread_local int t_defer_depth = 0;
thread_local std::vector<Mutex*> t_deferred;

}  // namespace

DeferHandoffs::DeferHandoffs() { t_defer_depth += 1; }

DeferHandoffs::~DeferHandoffs() {
  t_defer_depth -= 1;
  if (t_defer_depth > 0) return;
  // FIFO; a hand-off may run tasks that cancel scopes and defer more, so take one at a time.
  while (!t_deferred.empty() && t_defer_depth == 0) {
    Mutex* mutex = t_deferred.front();
    t_deferred.erase(t_deferred.begin());
    mutex->handoff_pending_ = false;
    mutex->hand_off();
  }
}

bool DeferHandoffs::active() { return t_defer_depth > 0; }

void DeferHandoffs::add(Mutex* mutex) { t_deferred.push_back(mutex); }

void DeferHandoffs::remove(Mutex* mutex) {
  t_deferred.erase(std::remove(t_deferred.begin(), t_deferred.end(), mutex), t_deferred.end());
}

void TaskScope::on_child_done(std::uint64_t id, std::coroutine_handle<> handle) {
  const std::size_t erased = children_.erase(id);
  STRAND_ASSERT(erased == 1, "a finishing child belongs to its scope");
  handle.destroy();
  if (children_.empty()) joiners_.resume_all();
}

Task<void> TaskScope::join() {
  while (!children_.empty()) {
    co_await Park{joiners_, {}};
  }
}

}  // namespace strand::io
