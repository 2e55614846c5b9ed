// The executor of a UvEnv: posts run on the loop thread from a uv_idle_t, which also keeps the
// loop from blocking in poll while posts are waiting.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>

#include "io/executor.h"
#include "io/task_scope.h"

struct uv_loop_s;
struct uv_idle_s;

namespace strand::io::uv {

class UvExecutor final : public Executor {
 public:
  // More posts than this waiting at once means a post loop without backpressure: a bug.
  static constexpr std::size_t kPostsMax = std::size_t{1} << 20;

  explicit UvExecutor(uv_loop_s* loop);
  UvExecutor(const UvExecutor&) = delete;
  UvExecutor& operator=(const UvExecutor&) = delete;
  // REQUIRES: shutdown() ran (it needs the loop, which may be gone by now).
  ~UvExecutor() override;

  // Runs `callback` on the loop thread in a later loop iteration, FIFO with other posts.
  // Posts after shutdown() are dropped. Not thread-safe: call it from the loop thread.
  void post(std::function<void()> callback) override;
  TaskScope& root() override { return root_; }

  std::size_t posts_count() const { return posts_.size(); }

  // Destroys every unfinished task of the root scope, drops posts that have not run, and starts
  // closing the idle handle. Afterwards spawns into root() and posts are dropped.
  void shutdown();

 private:
  struct IdleHolder;
  static void post_callback(uv_idle_s* idle);
  void run_posts();

  IdleHolder* idle_;  // freed by its close callback after shutdown()
  std::deque<std::function<void()>> posts_;
  TaskScope root_;
  bool shut_down_ = false;
};

}  // namespace strand::io::uv
