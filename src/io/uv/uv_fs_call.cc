#include "io/uv/uv_fs_call.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "io/assert.h"

namespace strand::io::uv {
namespace {

void delete_request(FsRequest* request) {
  uv_fs_req_cleanup(&request->request);
  delete request;
}

void collect_names(uv_fs_t* request, std::vector<std::string>* names) {
  uv_dirent_t entry;
  // Bounded by the directory's size as libuv read it; UV_EOF ends it.
  while (uv_fs_scandir_next(request, &entry) == 0) {
    const std::string name = entry.name;
    if (name != "." && name != "..") names->push_back(name);
  }
}

// A descriptor whose open finished after its frame was destroyed: nobody will ever close it.
void close_orphaned_open(uv_fs_t* request) {
  if (request->fs_type != UV_FS_OPEN || request->result < 0) return;
  auto* closing = new FsRequest{};
  closing->request.data = closing;
  const int status = uv_fs_close(request->loop, &closing->request,
                                 static_cast<uv_file>(request->result), fs_callback);
  if (status < 0) delete_request(closing);
}

// After an operation on `file` finished: close it if its owner is gone, or let waiters go on.
void after_file_operation(FileCore& file) {
  if (file.in_flight > 0) return;
  if (file.abandoned) {
    if (file.fd >= 0) close_abandoned(file);
    return;
  }
  file.idle_waiters.resume_all();
}

}  // namespace

void close_abandoned(FileCore& core) {
  STRAND_ASSERT(core.in_flight == 0, "close a descriptor only when no request uses it");
  STRAND_ASSERT(core.fd >= 0, "close a descriptor once");
  auto* closing = new FsRequest{};
  closing->request.data = closing;
  const uv_file fd = std::exchange(core.fd, -1);
  const int status = uv_fs_close(core.loop, &closing->request, fd, fs_callback);
  if (status < 0) {
    spdlog::warn("close {}: {}", core.path, uv_strerror(status));
    delete_request(closing);
  }
}

FsCall::FsCall(std::shared_ptr<FileCore> file) : request_(new FsRequest{}) {
  request_->request.data = request_;
  request_->file = std::move(file);
}

FsCall::~FsCall() {
  if (request_ == nullptr) return;
  if (in_libuv_) {
    request_->call = nullptr;  // the callback frees it once the pool thread is done
  } else {
    delete_request(request_);
  }
}

uv_buf_t FsCall::request_buffer() {
  std::vector<std::byte>& bytes = request_->bytes;
  return uv_buf_init(reinterpret_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
}

void FsCall::submitted(int status) {
  STRAND_ASSERT(!in_libuv_ && !finished_, "a call is submitted once");
  if (status < 0) {
    result_ = status;
    finished_ = true;
    return;
  }
  in_libuv_ = true;
  request_->call = this;
  if (request_->file) request_->file->in_flight += 1;
  if (request_->file && request_->write) request_->file->writes_in_flight += 1;
}

void FsCall::finish(uv_fs_t* request) {
  result_ = request->result;
  stat_ = request->statbuf;
  bytes_ = std::move(request_->bytes);
  if (request->fs_type == UV_FS_SCANDIR && request->result >= 0) collect_names(request, &names_);
  request_ = nullptr;
  finished_ = true;
}

void fs_callback(uv_fs_t* uv_request) {
  auto* request = static_cast<FsRequest*>(uv_request->data);
  FsCall* call = std::exchange(request->call, nullptr);
  std::shared_ptr<FileCore> file = std::move(request->file);
  const bool write = request->write;
  if (call != nullptr) {
    call->finish(uv_request);
  } else {
    close_orphaned_open(uv_request);
  }
  delete_request(request);
  if (file) file->in_flight -= 1;
  if (file && write) file->writes_in_flight -= 1;
  // The owner goes first: it usually starts its next request at once, before any waiter.
  if (call != nullptr && call->caller_) std::exchange(call->caller_, {}).resume();
  if (file && write && file->writes_in_flight == 0) file->write_waiters.resume_all();
  if (file) after_file_operation(*file);
}

}  // namespace strand::io::uv
