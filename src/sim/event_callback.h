// The callable a simulated event runs: a move-only void() function that keeps callables of up to
// kInlineBytes in place. Nearly every event is a small lambda (a coroutine handle and a pointer, a
// connection id and a sequence number, a packet), and std::function would allocate every one past
// two pointers; the simulator schedules millions of them per simulated minute.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace strand::sim {

class EventCallback {
 public:
  static constexpr std::size_t kInlineBytes = 64;

  EventCallback() = default;
  EventCallback(std::nullptr_t) {}  // NOLINT: as std::function, null converts implicitly

  template <typename F>
  requires(!std::same_as<std::remove_cvref_t<F>, EventCallback> &&
           std::invocable<std::remove_cvref_t<F>&>)
      EventCallback(F&& callable) {  // NOLINT: implicit, as std::function's
    using Callable = std::remove_cvref_t<F>;
    if constexpr (std::is_same_v<Callable, std::function<void()>>) {
      if (!callable) return;  // an empty std::function stays empty here too
    }
    if constexpr (fits_inline<Callable>()) {
      ::new (static_cast<void*>(storage_)) Callable(std::forward<F>(callable));
      ops_ = &kInlineOps<Callable>;
    } else {
      ::new (static_cast<void*>(storage_)) Callable*(new Callable(std::forward<F>(callable)));
      ops_ = &kHeapOps<Callable>;
    }
  }

  EventCallback(EventCallback&& other) noexcept { take(other); }
  EventCallback& operator=(EventCallback&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  EventCallback& operator=(std::nullptr_t) {
    reset();
    return *this;
  }
  EventCallback(const EventCallback&) = delete;
  EventCallback& operator=(const EventCallback&) = delete;
  ~EventCallback() { reset(); }

  explicit operator bool() const { return ops_ != nullptr; }
  friend bool operator==(const EventCallback& callback, std::nullptr_t) {
    return callback.ops_ == nullptr;
  }

  // REQUIRES: not empty.
  void operator()() { ops_->invoke(storage_); }

 private:
  struct Ops {
    void (*invoke)(void* storage);
    // Move-constructs the callable at `to` from the one at `from`, and destroys the latter.
    void (*relocate)(void* from, void* to);
    void (*destroy)(void* storage);
  };

  template <typename Callable>
  static constexpr bool fits_inline() {
    return sizeof(Callable) <= kInlineBytes && alignof(Callable) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<Callable>;
  }

  template <typename Callable>
  static constexpr Ops kInlineOps{
      [](void* storage) { (*std::launder(static_cast<Callable*>(storage)))(); },
      [](void* from, void* to) {
        Callable* source = std::launder(static_cast<Callable*>(from));
        ::new (to) Callable(std::move(*source));
        source->~Callable();
      },
      [](void* storage) { std::launder(static_cast<Callable*>(storage))->~Callable(); },
  };

  template <typename Callable>
  static constexpr Ops kHeapOps{
      [](void* storage) { (**std::launder(static_cast<Callable**>(storage)))(); },
      [](void* from, void* to) {
        ::new (to) Callable*(*std::launder(static_cast<Callable**>(from)));
      },
      [](void* storage) { delete *std::launder(static_cast<Callable**>(storage)); },
  };

  void take(EventCallback& other) noexcept {
    if (other.ops_ == nullptr) return;
    other.ops_->relocate(other.storage_, storage_);
    ops_ = other.ops_;
    other.ops_ = nullptr;
  }
  void reset() {
    if (ops_ == nullptr) return;
    const Ops* ops = ops_;
    ops_ = nullptr;
    ops->destroy(storage_);
  }

  alignas(std::max_align_t) std::byte storage_[kInlineBytes];
  const Ops* ops_ = nullptr;
};

}  // namespace strand::sim
