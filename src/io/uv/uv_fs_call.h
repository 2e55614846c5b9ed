// One libuv file-system request at a time, awaited by a coroutine. Requests run on libuv's thread
// pool, so the loop thread never blocks on disk. The request lives on the heap and owns every
// buffer the pool thread touches: if the awaiting frame is destroyed mid-request (a cancelled
// scope), the awaiter only detaches, and the callback frees the request when the pool is done.
#pragma once

#include <uv.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/wait_list.h"

namespace strand::io::uv {

// The descriptor of an open file, shared by its UvFile and the file's in-flight requests.
// Writes and truncations on one file run one at a time, in order: one abandoned by a cancelled
// frame must not race with the owner's next one (a stale write landing after a truncate, say).
// Close waits for every request.
struct FileCore {
  FileCore(uv_loop_t* loop_in, uv_file fd_in, std::string path_in)
      : loop(loop_in), fd(fd_in), path(std::move(path_in)) {}
  FileCore(const FileCore&) = delete;
  FileCore& operator=(const FileCore&) = delete;

  uv_loop_t* loop;
  uv_file fd;              // -1 once a close was started
  std::string path;
  std::uint32_t in_flight = 0;
  // Writes and truncations in flight. They run one at a time, so a write left behind by a
  // cancelled frame can't race the owner's next one; reads and syncs run alongside them, so a
  // sync in flight does not hold up the next append (group commit needs both to overlap).
  std::uint32_t writes_in_flight = 0;
  bool abandoned = false;  // the UvFile is gone: close the descriptor once idle
  WaitList idle_waiters;   // frames waiting for in_flight to reach 0
  WaitList write_waiters;  // frames waiting for writes_in_flight to reach 0
};

// Waits until no write or truncation is in flight on `core`. Use in a loop.
struct WritesIdle {
  FileCore& core;
  Waiter waiter;
  bool await_ready() const noexcept { return core.writes_in_flight == 0; }
  void await_suspend(std::coroutine_handle<> caller) {
    core.write_waiters.push_back(waiter, caller);
  }
  void await_resume() const noexcept {}
};

// Waits until no request is in flight on `core`. Use in a loop: others may start first.
struct FileIdle {
  FileCore& core;
  Waiter waiter;
  bool await_ready() const noexcept { return core.in_flight == 0; }
  void await_suspend(std::coroutine_handle<> caller) {
    core.idle_waiters.push_back(waiter, caller);
  }
  void await_resume() const noexcept {}
};

// Starts a close of `core`'s descriptor that nobody awaits. REQUIRES: nothing in flight on it.
void close_abandoned(FileCore& core);

class FsCall;

struct FsRequest {
  uv_fs_t request{};
  FsCall* call = nullptr;          // null once the awaiting frame is gone
  std::vector<std::byte> bytes;    // the data of a read or a write
  std::shared_ptr<FileCore> file;  // set for requests on an open file
  bool write = false;              // counts in FileCore::writes_in_flight
};

// Usage: FsCall call(core); uv_fs_xxx(loop, call.request(), ..., fs_callback);
//        call.submitted(status); co_await call; then result(), stat(), bytes(), names().
class FsCall {
 public:
  explicit FsCall(std::shared_ptr<FileCore> file = nullptr);
  FsCall(const FsCall&) = delete;
  FsCall& operator=(const FsCall&) = delete;
  ~FsCall();

  uv_fs_t* request() { return &request_->request; }
  // The buffer the pool thread reads into or writes from; fill it before submitting.
  std::vector<std::byte>& request_bytes() { return request_->bytes; }
  uv_buf_t request_buffer();

  // Marks this call as a write or truncation (before submitted()).
  void mark_write() { request_->write = true; }

  // Hands over the status uv_fs_xxx returned. < 0: it never started, and result() is the error.
  void submitted(int status);

  bool await_ready() const noexcept { return finished_; }
  void await_suspend(std::coroutine_handle<> caller) noexcept { caller_ = caller; }
  void await_resume() const noexcept {}

  // The request's result (>= 0: success, a count or a descriptor; < 0: a libuv error).
  ssize_t result() const { return result_; }
  const uv_stat_t& stat() const { return stat_; }
  std::vector<std::byte>& bytes() { return bytes_; }
  std::vector<std::string>& names() { return names_; }

 private:
  friend void fs_callback(uv_fs_t* request);
  void finish(uv_fs_t* request);

  FsRequest* request_;  // owned here until submitted, then by libuv until the callback
  bool in_libuv_ = false;
  bool finished_ = false;
  ssize_t result_ = 0;
  uv_stat_t stat_{};
  std::vector<std::byte> bytes_;
  std::vector<std::string> names_;
  std::coroutine_handle<> caller_;
};

// The callback for every request started through an FsCall.
void fs_callback(uv_fs_t* request);

}  // namespace strand::io::uv
