// An io::Env for storage tests: a SimFileSystem over a SimDisk that outlives "crashes", a clock
// whose wall time the test sets, and a run-to-completion helper. SimDisk ops without injected
// latency complete without parking, so tasks run to the end on the caller's stack.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "io/env.h"
#include "io/task_scope.h"
#include "run_inline.h"
#include "sim/sim_disk.h"
#include "sim/sim_file_system.h"

namespace strand::storage::testing {

class ManualClock final : public io::Clock {
 public:
  io::Instant now() override { return now_; }
  std::int64_t wall_ms() override { return wall_ms_; }
  io::Task<void> sleep(io::Duration duration) override {
    now_ = now_ + duration;
    wall_ms_ += duration.count_ms();
    co_return;
  }
  void advance_ms(std::int64_t ms) {
    now_ = now_ + io::Duration::ms(ms);
    wall_ms_ += ms;
  }

 private:
  io::Instant now_;
  std::int64_t wall_ms_ = 1'700'000'000'000;
};

class NoNetwork final : public io::Network {
 public:
  io::Result<std::unique_ptr<io::Listener>> listen(const io::Address&) override {
    return io::Error{io::ErrorKind::kInvalid, "no network in storage tests"};
  }
  io::Task<io::Result<std::unique_ptr<io::Connection>>> connect(const io::Address&) override {
    co_return io::Error{io::ErrorKind::kRefused, "no network in storage tests"};
  }
};

class InlineExecutor final : public io::Executor {
 public:
  void post(std::function<void()> callback) override { callback(); }
  io::TaskScope& root() override { return root_; }

 private:
  io::TaskScope root_;
};

// One node incarnation over a disk; make a new one after disk.crash().
class StorageEnv final : public io::Env {
 public:
  StorageEnv(sim::SimDisk& disk, io::Clock& clock, std::uint64_t seed)
      : clock_(clock), random_(seed), fs_(disk, clock_, random_) {}
  io::Clock& clock() override { return clock_; }
  io::Network& net() override { return network_; }
  io::FileSystem& fs() override { return fs_; }
  io::Random& rng() override { return random_; }
  io::Executor& executor() override { return executor_; }

 private:
  io::Clock& clock_;
  io::SeededRandom random_;
  NoNetwork network_;
  sim::SimFileSystem fs_;
  InlineExecutor executor_;
};

template <typename T>
T run(io::Task<T> task) {
  return strand::testing::run_inline(std::move(task));
}

}  // namespace strand::storage::testing
