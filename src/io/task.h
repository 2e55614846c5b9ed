// io::Task<T>: a lazy coroutine. Nothing runs until the task is awaited (or spawned into a
// TaskScope); the awaiting coroutine resumes when the task returns. A Task owns its frame:
// destroying a Task destroys the frame and, through the frame's locals, every task it awaits.
// That is how a crashed node's suspended work disappears without running again.
//
// Rules that keep frames safe (GCC 12): coroutine lambdas take no captures; pass what they need
// as parameters. Bind awaited results to named locals. No references to temporaries across a
// co_await.
#pragma once

#include <coroutine>
#include <cstdlib>
#include <optional>
#include <utility>

#include "io/assert.h"

namespace strand::io {

[[noreturn]] void unhandled_exception_in_task();

namespace detail {

// Resumes whoever awaited the task, or nobody (a root task's continuation is set by its scope).
// A task that finishes while its awaiter is still starting it (no suspension in between) just
// reports that, and the awaiter goes on without suspending: a loop over tasks that finish at once
// then runs in constant stack, even where the compiler does not turn the symmetric transfer
// into a tail call (GCC at -O0, the sanitizer builds).
struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
    if (bool* finished_inline = self.promise().finished_inline) {
      *finished_inline = true;
      return std::noop_coroutine();
    }
    std::coroutine_handle<> next = self.promise().continuation;
    if (next) return next;
    return std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

// Starts `task` for `caller`; returns whether the caller must suspend (false: it finished).
template <typename Promise>
bool start_awaited(std::coroutine_handle<Promise> task, std::coroutine_handle<> caller) noexcept {
  Promise& promise = task.promise();
  promise.continuation = caller;
  bool finished_inline = false;
  promise.finished_inline = &finished_inline;
  task.resume();
  if (finished_inline) return false;
  // It suspended: from now on it resumes `caller` itself when it returns.
  promise.finished_inline = nullptr;
  return true;
}

struct PromiseBase {
  std::coroutine_handle<> continuation;
  bool* finished_inline = nullptr;  // set only while the awaiter's start_awaited() is running
  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  // Strand code does not throw across tasks; an escaped exception is a bug.
  [[noreturn]] void unhandled_exception() const { unhandled_exception_in_task(); }
};

}  // namespace detail

template <typename T = void>
class [[nodiscard]] Task;

template <typename T>
class [[nodiscard]] Task {
 public:
  struct promise_type : detail::PromiseBase {
    std::optional<T> value;
    Task get_return_object() {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    template <typename U>
    void return_value(U&& result) {
      value.emplace(std::forward<U>(result));
    }
  };

  Task() = default;
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const { return static_cast<bool>(handle_); }
  bool done() const { return handle_ && handle_.done(); }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> caller) noexcept {
    STRAND_ASSERT(handle_, "awaiting an empty task");
    return detail::start_awaited(handle_, caller);
  }
  T await_resume() {
    STRAND_ASSERT(handle_.promise().value.has_value(), "task resumed its caller without a value");
    return std::move(*handle_.promise().value);
  }

  // For TaskScope and the test harnesses: hands over the frame.
  std::coroutine_handle<promise_type> release() { return std::exchange(handle_, {}); }
  // The result of a finished task (for run-to-completion harnesses).
  T take_result() {
    STRAND_ASSERT(done(), "result of an unfinished task");
    return std::move(*handle_.promise().value);
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  void reset() {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  std::coroutine_handle<promise_type> handle_;
};

template <>
class [[nodiscard]] Task<void> {
 public:
  struct promise_type : detail::PromiseBase {
    bool finished = false;
    Task get_return_object() {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    void return_void() { finished = true; }
  };

  Task() = default;
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const { return static_cast<bool>(handle_); }
  bool done() const { return handle_ && handle_.done(); }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> caller) noexcept {
    STRAND_ASSERT(handle_, "awaiting an empty task");
    return detail::start_awaited(handle_, caller);
  }
  void await_resume() const {
    STRAND_ASSERT(handle_.promise().finished, "task resumed its caller before returning");
  }

  std::coroutine_handle<promise_type> release() { return std::exchange(handle_, {}); }
  void take_result() const { STRAND_ASSERT(done(), "result of an unfinished task"); }

 private:
  explicit Task(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  void reset() {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  std::coroutine_handle<promise_type> handle_;
};

// A suspension point completed by someone else: an I/O backend, a timer, a primitive. The awaiting
// coroutine parks here; complete() resumes it inline, on the completer's stack. Parked is a
// building block: whoever may call complete() must learn when the frame holding the Parked is
// destroyed (a cancelled scope, a crashed node), so embed it in an object whose destructor
// unregisters it from that completer.
class Parked {
 public:
  Parked() = default;
  Parked(const Parked&) = delete;
  Parked& operator=(const Parked&) = delete;

  bool await_ready() const noexcept { return ready_; }
  void await_suspend(std::coroutine_handle<> caller) noexcept { waiting_ = caller; }
  void await_resume() const noexcept {}

  bool waiting() const { return static_cast<bool>(waiting_); }
  // Marks the wait finished and resumes the parked coroutine, if any, on this stack.
  void complete() {
    ready_ = true;
    std::coroutine_handle<> next = std::exchange(waiting_, {});
    if (next) next.resume();
  }

 private:
  std::coroutine_handle<> waiting_;
  bool ready_ = false;
};

}  // namespace strand::io
