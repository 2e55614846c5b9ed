// An intrusive FIFO of parked coroutines, the core of every synchronisation primitive. A Waiter
// lives in the awaiting coroutine's frame; if that frame is destroyed while parked, the Waiter's
// destructor unlinks it, so a destroyed frame is never resumed.
#pragma once

#include <coroutine>
#include <cstddef>
#include <utility>

#include "io/assert.h"

namespace strand::io {

class WaitList;

class Waiter {
 public:
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  ~Waiter() { unlink(); }

  bool linked() const { return list_ != nullptr; }
  void unlink();

 private:
  friend class WaitList;
  WaitList* list_ = nullptr;
  Waiter* prev_ = nullptr;
  Waiter* next_ = nullptr;
  std::coroutine_handle<> handle_;
};

class WaitList {
 public:
  WaitList() = default;
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList() {
    // Leaving parked coroutines behind would make them unresumable forever; their frames still
    // own the Waiters, so just detach them.
    while (head_) head_->unlink();
  }

  bool empty() const { return head_ == nullptr; }
  std::size_t size() const { return size_; }

  void push_back(Waiter& waiter, std::coroutine_handle<> handle) {
    STRAND_ASSERT(!waiter.linked(), "a waiter waits on one list at a time");
    waiter.list_ = this;
    waiter.handle_ = handle;
    waiter.prev_ = tail_;
    waiter.next_ = nullptr;
    if (tail_)
      tail_->next_ = &waiter;
    else
      head_ = &waiter;
    tail_ = &waiter;
    size_ += 1;
  }

  // Unlinks the first waiter and returns its coroutine (empty handle if none).
  std::coroutine_handle<> pop_front() {
    if (!head_) return {};
    Waiter* first = head_;
    std::coroutine_handle<> handle = first->handle_;
    first->unlink();
    return handle;
  }

  // Resumes every waiter parked now, in FIFO order, on this stack. Waiters that park again while
  // this runs wait for the next call. A waiter destroyed meanwhile is skipped.
  void resume_all() {
    WaitList batch;
    while (head_) {
      Waiter* first = head_;
      std::coroutine_handle<> handle = first->handle_;
      first->unlink();
      batch.push_back(*first, handle);
    }
    while (!batch.empty()) batch.pop_front().resume();
  }

 private:
  friend class Waiter;
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  std::size_t size_ = 0;
};

inline void Waiter::unlink() {
  if (!list_) return;
  if (prev_)
    prev_->next_ = next_;
  else
    list_->head_ = next_;
  if (next_)
    next_->prev_ = prev_;
  else
    list_->tail_ = prev_;
  list_->size_ -= 1;
  list_ = nullptr;
  prev_ = next_ = nullptr;
}

// Parks the awaiting coroutine on `list` until someone resumes it. Always suspends; a caller that
// waits for a condition re-checks it in a loop.
struct Park {
  WaitList& list;
  Waiter waiter;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> caller) { list.push_back(waiter, caller); }
  void await_resume() const noexcept {}
};

}  // namespace strand::io
