#include "io/uv/uv_env.h"

#include <spdlog/spdlog.h>
#include <uv.h>

#include <csignal>
#include <random>

#include "io/uv/uv_clock.h"
#include "io/uv/uv_executor.h"
#include "io/uv/uv_file_system.h"
#include "io/uv/uv_handle.h"
#include "io/uv/uv_network.h"

namespace strand::io {
namespace uv {

struct StopHolder {
  uv_async_t async;
};

}  // namespace uv

namespace {

// Production randomness comes from the OS once; everything after derives from the logged seed.
std::uint64_t seed_from_os() {
  std::random_device device;
  const std::uint64_t high = device();
  const std::uint64_t low = device();
  return (high << 32) ^ low;
}

// The async handle only wakes the loop; run_until_stopped() reads the flag.
void stop_callback(uv_async_t*) {}

void require_closing(uv_handle_t* handle, void*) {
  STRAND_ASSERT(uv_is_closing(handle) != 0,
                "a Connection, Listener or timer outlived its UvEnv: destroy them before the Env");
}

}  // namespace

UvEnv::UvEnv(std::optional<std::uint64_t> seed)
    : loop_(std::make_unique<uv_loop_t>()),
      stop_(new uv::StopHolder{}),
      seed_(seed.has_value() ? *seed : seed_from_os()),
      random_(seed_) {
  const int initialised = uv_loop_init(loop_.get());
  STRAND_ASSERT(initialised == 0, "uv_loop_init succeeds (file descriptors available)");
  const int async_initialised = uv_async_init(loop_.get(), &stop_->async, stop_callback);
  STRAND_ASSERT(async_initialised == 0, "uv_async_init succeeds on a fresh loop");
  stop_->async.data = stop_;
  uv_unref(reinterpret_cast<uv_handle_t*>(&stop_->async));  // only run_until_stopped waits on it
  executor_ = std::make_unique<uv::UvExecutor>(loop_.get());
  clock_ = std::make_unique<uv::UvClock>(loop_.get(), *executor_);
  net_ = std::make_unique<uv::UvNetwork>(loop_.get());
  fs_ = std::make_unique<uv::UvFileSystem>(loop_.get());
  // A peer that vanished must be an error value on write, not a signal that ends the broker.
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::info("libuv env: random seed {}", seed_);
}

UvEnv::~UvEnv() {
  STRAND_ASSERT(!running_, "a UvEnv is not destroyed from inside its own loop");
  // Frames first: their awaiters and the connections they own start closing their handles.
  executor_->shutdown();
  close_and_delete(stop_, &stop_->async);
  stop_ = nullptr;
  uv_walk(loop_.get(), require_closing, nullptr);
  // Runs close callbacks and waits for file requests already in the thread pool (they cannot
  // be taken back); their callbacks only free memory, as every awaiter has detached.
  while (uv_run(loop_.get(), UV_RUN_DEFAULT) != 0) {
  }
  const int closed = uv_loop_close(loop_.get());
  STRAND_ASSERT(closed == 0, "every handle and request is gone when the loop closes");
}

Clock& UvEnv::clock() { return *clock_; }
Network& UvEnv::net() { return *net_; }
FileSystem& UvEnv::fs() { return *fs_; }
Executor& UvEnv::executor() { return *executor_; }

void UvEnv::run(Task<void> task) {
  bool done = false;
  executor().root().spawn(uv::store_done(std::move(task), &done));
  run_until(done);
}

void UvEnv::run_until(const bool& done) {
  STRAND_ASSERT(!running_, "UvEnv::run is not called from inside the loop");
  running_ = true;
  while (!done) {
    const int alive = uv_run(loop_.get(), UV_RUN_ONCE);
    STRAND_ASSERT(done || alive != 0,
                  "UvEnv::run: the task waits, but no timer, socket, file request or post is left "
                  "that could wake it");
  }
  running_ = false;
}

void UvEnv::run_until_stopped() {
  STRAND_ASSERT(!running_, "UvEnv::run_until_stopped is not called from inside the loop");
  running_ = true;
  auto* async = reinterpret_cast<uv_handle_t*>(&stop_->async);
  uv_ref(async);  // keeps UV_RUN_ONCE blocking for stop() even with nothing else to wait on
  while (!stop_requested_.exchange(false)) {
    uv_run(loop_.get(), UV_RUN_ONCE);
  }
  uv_unref(async);
  running_ = false;
}

void UvEnv::stop() {
  stop_requested_.store(true);
  uv_async_send(&stop_->async);
}

}  // namespace strand::io
