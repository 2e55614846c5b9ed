// Synchronisation primitives for coroutines on one node's thread. There are no threads here, so
// these only order coroutines: a waiter parks until someone else on the same thread releases it.
// Released waiters resume inline, in FIFO order, on the stack of the call that released them.
// A waiter whose frame is destroyed while parked (a cancelled scope) is silently dropped.
#pragma once

#include <coroutine>
#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

#include "io/assert.h"
#include "io/task.h"
#include "io/wait_list.h"

namespace strand::io {

// A flag that coroutines wait for. set() releases every waiter; waits on a set event don't park.
class Event {
 public:
  bool is_set() const { return set_; }
  void set() {
    set_ = true;
    waiters_.resume_all();
  }
  void reset() { set_ = false; }
  std::size_t waiting_count() const { return waiters_.size(); }

  struct Awaiter {
    Event& event;
    Waiter waiter;
    bool await_ready() const noexcept { return event.set_; }
    void await_suspend(std::coroutine_handle<> caller) { event.waiters_.push_back(waiter, caller); }
    void await_resume() const noexcept {}
  };
  Awaiter wait() { return Awaiter{*this, {}}; }

 private:
  WaitList waiters_;
  bool set_ = false;
};

// A condition to re-check: wait() always parks; notify_all() resumes whoever is parked now. Unlike
// Event it keeps no state, so a waiter that loops on its own predicate can't spin.
class Condition {
 public:
  Park wait() { return Park{waiters_, {}}; }
  void notify_all() { waiters_.resume_all(); }
  std::size_t waiting_count() const { return waiters_.size(); }

 private:
  WaitList waiters_;
};

// Counts down to zero once; waiters resume when it gets there.
class Latch {
 public:
  explicit Latch(std::size_t count) : count_(count) {
    if (count_ == 0) zero_.set();
  }
  void count_down() {
    STRAND_ASSERT(count_ > 0, "a latch counts down at most its initial count");
    count_ -= 1;
    if (count_ == 0) zero_.set();
  }
  std::size_t count() const { return count_; }
  Event::Awaiter wait() { return zero_.wait(); }

 private:
  std::size_t count_;
  Event zero_;
};

class Mutex;

// Alive while TaskScope::cancel destroys frames. A Mutex that a destroyed frame's Guard releases
// then must not run its next waiter on the spot: that waiter may belong to the same dying node or
// object graph (a crashed simulated node, a broker shutting down), which would run on half torn
// down. The lock passes on when the outermost deferral ends; a waiter destroyed meanwhile is
// skipped, and a Mutex destroyed meanwhile is forgotten.
class DeferHandoffs {
 public:
  DeferHandoffs();
  ~DeferHandoffs();
  DeferHandoffs(const DeferHandoffs&) = delete;
  DeferHandoffs& operator=(const DeferHandoffs&) = delete;

  static bool active();

 private:
  friend class Mutex;
  static void add(Mutex* mutex);
  static void remove(Mutex* mutex);
};

// Mutual exclusion across suspension points, FIFO fair: unlock hands the lock straight to the
// longest waiter, so a released lock can't be stolen by a newcomer.
class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  ~Mutex() {
    if (handoff_pending_) DeferHandoffs::remove(this);
  }

  class Guard {
   public:
    explicit Guard(Mutex* mutex) : mutex_(mutex) {}
    Guard(Guard&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
    Guard& operator=(Guard&&) = delete;
    ~Guard() {
      if (mutex_) mutex_->unlock();
    }

   private:
    Mutex* mutex_;
  };

  struct Awaiter {
    Mutex& mutex;
    Waiter waiter;
    bool await_ready() noexcept {
      if (mutex.locked_) return false;
      mutex.locked_ = true;
      return true;
    }
    void await_suspend(std::coroutine_handle<> caller) { mutex.waiters_.push_back(waiter, caller); }
    Guard await_resume() noexcept {
      STRAND_ASSERT(mutex.locked_, "a resumed waiter holds the lock");
      return Guard(&mutex);
    }
  };

  // co_await mutex.lock() returns a Guard that unlocks when it goes out of scope.
  Awaiter lock() { return Awaiter{*this, {}}; }
  bool locked() const { return locked_; }

 private:
  friend class DeferHandoffs;
  void unlock() {
    STRAND_ASSERT(locked_, "unlock of an unlocked mutex");
    STRAND_ASSERT(!handoff_pending_, "only the owner unlocks");
    if (waiters_.empty()) {
      locked_ = false;
    } else if (DeferHandoffs::active()) {
      handoff_pending_ = true;  // locked_ stays true: newcomers queue behind the waiters
      DeferHandoffs::add(this);
    } else {
      hand_off();
    }
  }
  void hand_off() {
    std::coroutine_handle<> next = waiters_.pop_front();
    if (next) {
      next.resume();  // ownership passes on; locked_ stays true
    } else {
      locked_ = false;
    }
  }
  WaitList waiters_;
  bool locked_ = false;
  bool handoff_pending_ = false;
};

// A bounded FIFO between coroutines. send() parks while the channel is full: that is the
// backpressure. receive() parks while it is empty and returns nullopt once it is closed and
// drained.
template <typename T>
class Channel {
 public:
  explicit Channel(std::size_t capacity) : capacity_(capacity) {
    STRAND_ASSERT(capacity_ > 0, "a channel holds at least one item");
  }

  std::size_t size() const { return items_.size(); }
  std::size_t capacity() const { return capacity_; }
  bool closed() const { return closed_; }

  // Returns false if the channel is full or closed; the item is not taken then.
  [[nodiscard]] bool try_send(T& item) {
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(item));
    receivers_.resume_all();
    return true;
  }

  // Waits for room, then enqueues. Returns false (dropping the item) if the channel is closed.
  Task<bool> send(T item) {
    while (!closed_ && items_.size() >= capacity_) {
      co_await Park{senders_, {}};
    }
    if (closed_) co_return false;
    items_.push_back(std::move(item));
    receivers_.resume_all();
    co_return true;
  }

  std::optional<T> try_receive() {
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    senders_.resume_all();
    return item;
  }

  Task<std::optional<T>> receive() {
    while (items_.empty() && !closed_) {
      co_await Park{receivers_, {}};
    }
    co_return try_receive();
  }

  // Wakes everyone: senders fail, receivers drain what is left and then get nullopt.
  void close() {
    closed_ = true;
    senders_.resume_all();
    receivers_.resume_all();
  }

 private:
  std::deque<T> items_;
  std::size_t capacity_;
  WaitList senders_;
  WaitList receivers_;
  bool closed_ = false;
};

}  // namespace strand::io
