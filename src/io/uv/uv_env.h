// The production io::Env: one libuv loop, run on the thread that calls run() or
// run_until_stopped(). TCP via uv_tcp_t (TCP_NODELAY), files via uv_fs_* on libuv's thread pool
// (the loop thread never blocks on disk), sleeps via uv_timer_t, randomness from one seed that is
// logged at info so that an incident's seed is known.
//
// Threading: everything, except stop(), must be called on the loop's thread. Objects obtained from
// an Env (connections, listeners, files) must be destroyed before it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "io/env.h"
#include "io/random.h"
#include "io/task.h"
#include "io/task_scope.h"

struct uv_loop_s;

namespace strand::io {

namespace uv {
class UvClock;
class UvExecutor;
class UvFileSystem;
class UvNetwork;
struct StopHolder;

// The frames UvEnv::run spawns around the caller's task: they hand its result back to run().
template <typename T>
Task<void> store_result(Task<T> task, std::optional<T>* result, bool* done) {
  T value = co_await task;
  result->emplace(std::move(value));
  *done = true;
}

inline Task<void> store_done(Task<void> task, bool* done) {
  co_await task;
  *done = true;
}
}  // namespace uv

class UvEnv final : public Env {
 public:
  // Seeds rng() with `seed`, or with a value from the OS when none is given. Also makes writes to
  // a closed socket fail with EPIPE instead of killing the process (SIGPIPE is ignored).
  explicit UvEnv(std::optional<std::uint64_t> seed = std::nullopt);
  UvEnv(const UvEnv&) = delete;
  UvEnv& operator=(const UvEnv&) = delete;
  // Destroys every task in the root scope, closes every handle and runs the loop until libuv has
  // released them all and every file request in the thread pool has finished.
  ~UvEnv() override;

  Clock& clock() override;
  Network& net() override;
  FileSystem& fs() override;
  Random& rng() override { return random_; }  // buggify() is always false
  Executor& executor() override;

  std::uint64_t seed() const { return seed_; }

  // Spawns `task` into the root scope and runs the loop on this thread until it returns; then
  // returns its result. Other root tasks (a server, say) run while the loop runs and stay parked
  // in between. REQUIRES: not called from inside the loop. Aborts if the task waits for something
  // that can never happen (nothing left for the loop to wait on).
  template <typename T>
  T run(Task<T> task) {
    std::optional<T> result;
    bool done = false;
    executor().root().spawn(uv::store_result(std::move(task), &result, &done));
    run_until(done);
    return std::move(*result);
  }
  void run(Task<void> task);

  // Runs the loop until stop() is called. A stop() that came before this call makes it return at
  // once. REQUIRES: not called from inside the loop.
  void run_until_stopped();
  // Makes run_until_stopped() return soon. The only member that is safe to call from any thread.
  void stop();

 private:
  // Runs loop iterations until `done` turns true.
  void run_until(const bool& done);

  std::unique_ptr<uv_loop_s> loop_;
  uv::StopHolder* stop_;  // the uv_async_t that wakes the loop for stop(); freed by its close
  std::atomic<bool> stop_requested_{false};
  std::unique_ptr<uv::UvExecutor> executor_;
  std::unique_ptr<uv::UvClock> clock_;
  std::unique_ptr<uv::UvNetwork> net_;
  std::unique_ptr<uv::UvFileSystem> fs_;
  std::uint64_t seed_;
  SeededRandom random_;
  bool running_ = false;
};

}  // namespace strand::io
