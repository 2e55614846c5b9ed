#include "io/uv/uv_clock.h"

#include <uv.h>

#include <chrono>
#include <coroutine>
#include <memory>
#include <utility>

#include "io/uv/uv_handle.h"

namespace strand::io::uv {
namespace {

Instant hrtime_now() { return Instant::from_ns(static_cast<std::int64_t>(uv_hrtime())); }

// Whole milliseconds for uv_timer_start, rounded up so the timer never fires early on purpose.
std::uint64_t timeout_ms_until(Instant deadline) {
  const std::int64_t remaining_ns = (deadline - hrtime_now()).count_ns();
  if (remaining_ns <= 0) return 0;
  return static_cast<std::uint64_t>((remaining_ns + 999'999) / 1'000'000);
}

class SleepAwaiter;

struct TimerHolder {
  uv_timer_t timer;
  SleepAwaiter* awaiter;
  Instant deadline;
};

// Owns one timer while the frame waits. The frame may be destroyed at any suspension (a cancelled
// scope); the destructor then stops the timer and closes it, so the callback never runs.
class SleepAwaiter {
 public:
  SleepAwaiter(uv_loop_t* loop, Instant deadline) : loop_(loop), deadline_(deadline) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  ~SleepAwaiter() {
    if (holder_ == nullptr) return;
    holder_->awaiter = nullptr;
    uv_timer_stop(&holder_->timer);
    close_and_delete(holder_, &holder_->timer);
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> caller) {
    caller_ = caller;
    holder_ = new TimerHolder{{}, this, deadline_};
    const int initialised = uv_timer_init(loop_, &holder_->timer);
    STRAND_ASSERT(initialised == 0, "uv_timer_init cannot fail on a live loop");
    holder_->timer.data = holder_;
    start(holder_);
  }
  void await_resume() const noexcept {}

 private:
  static void start(TimerHolder* holder) {
    const int started = uv_timer_start(&holder->timer, sleep_callback,
                                       timeout_ms_until(holder->deadline), 0);
    STRAND_ASSERT(started == 0, "uv_timer_start cannot fail on an open timer");
  }

  // libuv times timers on its cached, coarse loop clock, which may lag uv_hrtime; re-arm until the
  // promised duration has really passed.
  static void sleep_callback(uv_timer_t* timer) {
    auto* holder = static_cast<TimerHolder*>(timer->data);
    SleepAwaiter* awaiter = holder->awaiter;
    STRAND_ASSERT(awaiter != nullptr, "a timer whose awaiter is gone was stopped");
    if (hrtime_now() < holder->deadline) {
      start(holder);
      return;
    }
    awaiter->holder_ = nullptr;
    holder->awaiter = nullptr;
    close_and_delete(holder, &holder->timer);
    std::exchange(awaiter->caller_, {}).resume();
  }

  uv_loop_t* loop_;
  Instant deadline_;
  TimerHolder* holder_ = nullptr;
  std::coroutine_handle<> caller_;
};

// A sleep of nothing: resumes from the post queue, behind the work posted before it. The post
// shares a slot with this awaiter, which empties it if its frame is destroyed first.
class YieldAwaiter {
 public:
  explicit YieldAwaiter(Executor& executor) : executor_(executor) {}
  YieldAwaiter(const YieldAwaiter&) = delete;
  YieldAwaiter& operator=(const YieldAwaiter&) = delete;
  ~YieldAwaiter() {
    if (slot_) *slot_ = {};
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> caller) {
    slot_ = std::make_shared<std::coroutine_handle<>>(caller);
    executor_.post([slot = slot_] {
      std::coroutine_handle<> waiting = std::exchange(*slot, {});
      if (waiting) waiting.resume();
    });
  }
  void await_resume() const noexcept {}

 private:
  Executor& executor_;
  std::shared_ptr<std::coroutine_handle<>> slot_;
};

}  // namespace

Instant UvClock::now() { return hrtime_now(); }

std::int64_t UvClock::wall_ms() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
}

Task<void> UvClock::sleep(Duration duration) {
  if (duration <= Duration()) {
    YieldAwaiter yield(executor_);
    co_await yield;
    co_return;
  }
  const Instant deadline = now() + duration;
  SleepAwaiter awaiter(loop_, deadline);
  co_await awaiter;
}

}  // namespace strand::io::uv
