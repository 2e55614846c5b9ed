// Small harnesses for the SimDisk tests: clocks, a run-to-completion helper, and an io::Env whose
// only real part is a SimFileSystem (enough for tests/io/programs.h's file programs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/env.h"
#include "io/task_scope.h"
#include "io/wait_list.h"
#include "run_inline.h"
#include "sim/sim_disk.h"
#include "sim/sim_file_system.h"

namespace strand::sim::testing {

// Sleeps complete at once; virtual time only adds up what was asked for.
class InstantClock final : public io::Clock {
 public:
  io::Instant now() override { return now_; }
  std::int64_t wall_ms() override { return 1'700'000'000'000 + now_.ns() / 1'000'000; }
  io::Task<void> sleep(io::Duration duration) override {
    sleeps_count_ += 1;
    now_ = now_ + duration;
    co_return;
  }
  std::uint64_t sleeps_count() const { return sleeps_count_; }

 private:
  io::Instant now_;
  std::uint64_t sleeps_count_ = 0;
};

// Sleeps park until run_sleepers() resumes them, in FIFO order.
class QueueClock final : public io::Clock {
 public:
  io::Instant now() override { return now_; }
  std::int64_t wall_ms() override { return now_.ns() / 1'000'000; }
  io::Task<void> sleep(io::Duration duration) override {
    slept_ += duration;
    co_await Parking{*this, {}};
  }

  std::size_t parked_count() const { return sleepers_.size(); }
  io::Duration slept() const { return slept_; }
  // Resumes parked sleepers (and those that park meanwhile) until none is left; returns how many.
  std::size_t run_sleepers(std::size_t resumes_max = 10'000) {
    std::size_t resumed = 0;
    while (!sleepers_.empty() && resumed < resumes_max) {
      sleepers_.pop_front().resume();
      resumed += 1;
    }
    return resumed;
  }

 private:
  struct Parking {
    QueueClock& clock;
    io::Waiter waiter;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> caller) {
      clock.sleepers_.push_back(waiter, caller);
    }
    void await_resume() const noexcept {}
  };

  io::Instant now_;
  io::Duration slept_;
  io::WaitList sleepers_;
};

// Runs a task that never really parks (no latency injected, or an InstantClock) to completion.
template <typename T>
T run_now(io::Task<T> task) {
  return strand::testing::run_inline(std::move(task));
}

class StubNetwork final : public io::Network {
 public:
  io::Result<std::unique_ptr<io::Listener>> listen(const io::Address&) override {
    return io::Error{io::ErrorKind::kInvalid, "no network in disk tests"};
  }
  io::Task<io::Result<std::unique_ptr<io::Connection>>> connect(const io::Address&) override {
    co_return io::Error{io::ErrorKind::kRefused, "no network in disk tests"};
  }
};

class StubExecutor final : public io::Executor {
 public:
  void post(std::function<void()> callback) override { posted_.push_back(std::move(callback)); }
  io::TaskScope& root() override { return root_; }
  // Runs posted callbacks, including ones posted meanwhile, up to a bound.
  void run_posted(std::size_t callbacks_max = 10'000) {
    for (std::size_t i = 0; i < callbacks_max && !posted_.empty(); ++i) {
      std::function<void()> next = std::move(posted_.front());
      posted_.pop_front();
      next();
    }
  }

 private:
  std::deque<std::function<void()>> posted_;
  io::TaskScope root_;
};

// An io::Env over one SimDisk: a real SimFileSystem, an instant clock, a seeded Random.
class DiskEnv final : public io::Env {
 public:
  DiskEnv(SimDisk& disk, std::uint64_t seed) : random_(seed), fs_(disk, clock_, random_) {}
  io::Clock& clock() override { return clock_; }
  io::Network& net() override { return network_; }
  io::FileSystem& fs() override { return fs_; }
  io::Random& rng() override { return random_; }
  io::Executor& executor() override { return executor_; }
  SimFileSystem& sim_fs() { return fs_; }
  InstantClock& instant_clock() { return clock_; }

 private:
  InstantClock clock_;
  io::SeededRandom random_;
  StubNetwork network_;
  SimFileSystem fs_;
  StubExecutor executor_;
};

inline std::span<const std::byte> as_bytes(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

inline std::string to_string(const std::vector<std::byte>& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace strand::sim::testing
