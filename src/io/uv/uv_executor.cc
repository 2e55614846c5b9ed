#include "io/uv/uv_executor.h"

#include <uv.h>

#include <utility>

#include "io/uv/uv_handle.h"

namespace strand::io::uv {

struct UvExecutor::IdleHolder {
  uv_idle_t idle;
  UvExecutor* executor;
};

UvExecutor::UvExecutor(uv_loop_t* loop) : idle_(new IdleHolder{{}, this}) {
  const int status = uv_idle_init(loop, &idle_->idle);
  STRAND_ASSERT(status == 0, "uv_idle_init cannot fail on a live loop");
  idle_->idle.data = idle_;
}

UvExecutor::~UvExecutor() {
  STRAND_ASSERT(shut_down_, "a UvExecutor is shut down before it is destroyed");
}

void UvExecutor::post(std::function<void()> callback) {
  if (shut_down_) return;
  STRAND_ASSERT(posts_.size() < kPostsMax, "too many posts waiting: a loop posts without a bound");
  posts_.push_back(std::move(callback));
  if (posts_.size() == 1) {
    const int status = uv_idle_start(&idle_->idle, post_callback);
    STRAND_ASSERT(status == 0, "uv_idle_start cannot fail on an open handle");
  }
}

void UvExecutor::post_callback(uv_idle_t* idle) {
  static_cast<IdleHolder*>(idle->data)->executor->run_posts();
}

void UvExecutor::run_posts() {
  // Only the posts that were waiting when this iteration began: a callback that posts again runs
  // in the next iteration, so I/O and timers get their turn in between.
  std::size_t batch = posts_.size();
  while (batch > 0 && !posts_.empty()) {
    std::function<void()> callback = std::move(posts_.front());
    posts_.pop_front();
    batch -= 1;
    callback();
  }
  if (posts_.empty() && !shut_down_) uv_idle_stop(&idle_->idle);
}

void UvExecutor::shutdown() {
  if (shut_down_) return;
  root_.cancel();
  shut_down_ = true;
  // Dropping a post may destroy what it captured (a Connection, say); that only starts closes.
  std::deque<std::function<void()>> dropped = std::move(posts_);
  posts_.clear();
  dropped.clear();
  idle_->executor = nullptr;
  uv_idle_stop(&idle_->idle);
  close_and_delete(idle_, &idle_->idle);
  idle_ = nullptr;
}

}  // namespace strand::io::uv
