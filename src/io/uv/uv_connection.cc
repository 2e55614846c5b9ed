#include "io/uv/uv_connection.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "io/uv/uv_error.h"
#include "io/uv/uv_handle.h"

namespace strand::io::uv {
namespace {

class WriteAwaiter;

// The part of a write the socket did not take at once. It owns a copy of the bytes: the writer's
// frame may be destroyed (a cancelled scope) while libuv still sends them.
struct WriteRequest {
  explicit WriteRequest(std::span<const std::byte> bytes)
      : copy(std::make_unique_for_overwrite<char[]>(bytes.size())) {
    std::copy(bytes.begin(), bytes.end(), reinterpret_cast<std::byte*>(copy.get()));
    buffer = uv_buf_init(copy.get(), static_cast<unsigned>(bytes.size()));
    request.data = this;
  }
  uv_write_t request{};
  std::unique_ptr<char[]> copy;
  uv_buf_t buffer;
  WriteAwaiter* awaiter = nullptr;  // null once the writer's frame is gone
};

class WriteAwaiter {
 public:
  explicit WriteAwaiter(WriteRequest* request) : request_(request) { request_->awaiter = this; }
  WriteAwaiter(const WriteAwaiter&) = delete;
  WriteAwaiter& operator=(const WriteAwaiter&) = delete;
  ~WriteAwaiter() {
    if (request_ != nullptr) request_->awaiter = nullptr;  // the callback frees the request
  }

  bool await_ready() const noexcept { return request_ == nullptr; }
  void await_suspend(std::coroutine_handle<> caller) noexcept { caller_ = caller; }
  int await_resume() const noexcept { return status_; }

  void finish(int status) {
    request_ = nullptr;
    status_ = status;
    if (caller_) std::exchange(caller_, {}).resume();
  }

 private:
  WriteRequest* request_;
  int status_ = 0;
  std::coroutine_handle<> caller_;
};

void write_callback(uv_write_t* uv_request, int status) {
  auto* request = static_cast<WriteRequest*>(uv_request->data);
  WriteAwaiter* awaiter = request->awaiter;
  delete request;
  if (awaiter != nullptr) awaiter->finish(status);
}

Error write_error(int status, const Address& peer) {
  return uv_error(ErrorKind::kClosed, status, "write to", peer.to_string());
}

}  // namespace

TcpHolder* new_tcp_holder(uv_loop_t* loop) {
  auto* holder = new TcpHolder{};
  const int status = uv_tcp_init(loop, &holder->tcp);
  STRAND_ASSERT(status == 0, "uv_tcp_init without a socket cannot fail");
  holder->tcp.data = holder;
  return holder;
}

UvConnection::ReadAwaiter::~ReadAwaiter() {
  if (connection_ != nullptr && connection_->reader_ == this) connection_->reader_ = nullptr;
}

void UvConnection::ReadAwaiter::await_suspend(std::coroutine_handle<> caller) noexcept {
  STRAND_ASSERT(connection_->reader_ == nullptr, "one read_some at a time per connection");
  caller_ = caller;
  connection_->reader_ = this;
}

UvConnection::UvConnection(TcpHolder* holder, Address peer)
    : holder_(holder), peer_(std::move(peer)) {
  STRAND_ASSERT(holder_->connection == nullptr, "a socket has one owner");
  holder_->connection = this;
  uv_tcp_nodelay(&holder_->tcp, 1);
  start_reading();
}

UvConnection::~UvConnection() {
  if (reader_ != nullptr) {
    reader_->connection_ = nullptr;
    reader_ = nullptr;
  }
  if (holder_ == nullptr) return;  // closed, and the close already finished
  holder_->connection = nullptr;
  if (!closed_) start_close();
}

void UvConnection::close() {
  if (closed_) return;
  closed_ = true;
  reading_ = false;
  start_close();
}

// libuv fails queued writes with UV_ECANCELED before the close callback (those writers get
// kClosed), and the parked reader learns about the close from the close callback. Not inline:
// close() is often called by a coroutine about to tear down the reader's scope.
void UvConnection::start_close() {
  uv_close(as_handle(&holder_->tcp), [](uv_handle_t* handle) {
    auto* holder = static_cast<TcpHolder*>(handle->data);
    UvConnection* connection = holder->connection;
    delete holder;
    if (connection == nullptr) return;
    connection->holder_ = nullptr;
    connection->wake_reader();  // last: the reader may destroy the connection
  });
}

Task<Result<std::size_t>> UvConnection::read_some(std::span<std::byte> target) {
  STRAND_ASSERT(!target.empty(), "read_some into an empty span");
  // A wake-up means data arrived, the stream ended or close() ran, so the second pass returns.
  for (int pass = 0; pass < 2; ++pass) {
    if (closed_) co_return closed_error("read from");
    if (!received_.empty()) co_return take(target);
    if (end_.has_value()) co_return *end_;
    ReadAwaiter awaiter(this, target);
    const std::size_t direct = co_await awaiter;
    if (direct > 0) co_return direct;
  }
  STRAND_ASSERT(false, "a woken reader finds data, an end or a closed connection");
  co_return closed_error("read from");
}

std::size_t UvConnection::take(std::span<std::byte> target) {
  const std::size_t count = received_.take(target);
  if (!reading_ && !closed_ && !end_.has_value() && received_.size() <= kReceiveBufferResume) {
    start_reading();
  }
  return count;
}

Task<Result<void>> UvConnection::write(std::span<const std::byte> bytes) {
  STRAND_ASSERT(bytes.size() <= kWriteBytesMax, "one write is under 4 GiB (libuv's buffer limit)");
  if (closed_) co_return closed_error("write to");
  if (bytes.empty()) co_return ok();
  uv_stream_t* stream = as_stream(&holder_->tcp);
  // Fast path: straight into the kernel's send buffer, no copy, no suspension. uv_try_write
  // refuses (UV_EAGAIN) while earlier writes are still queued, which keeps the byte order.
  uv_buf_t whole = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                               static_cast<unsigned>(bytes.size()));
  const int tried = uv_try_write(stream, &whole, 1);
  if (tried < 0 && tried != UV_EAGAIN) co_return write_error(tried, peer_);
  const std::size_t sent = tried > 0 ? static_cast<std::size_t>(tried) : 0;
  if (sent == bytes.size()) co_return ok();

  auto* request = new WriteRequest(bytes.subspan(sent));
  const int started = uv_write(&request->request, stream, &request->buffer, 1, write_callback);
  if (started < 0) {
    delete request;
    co_return write_error(started, peer_);
  }
  const Address peer = peer_;  // the connection may be destroyed while this frame waits
  WriteAwaiter awaiter(request);
  const int status = co_await awaiter;
  if (status < 0) co_return write_error(status, peer);
  co_return ok();
}

void UvConnection::start_reading() {
  STRAND_ASSERT(!closed_, "a closed connection does not read");
  const int status = uv_read_start(as_stream(&holder_->tcp), read_alloc_callback, read_callback);
  if (status < 0) {
    end_receiving(status);
    return;
  }
  reading_ = true;
}

void UvConnection::stop_reading() {
  if (!reading_ || closed_) return;
  uv_read_stop(as_stream(&holder_->tcp));
  reading_ = false;
}

void UvConnection::read_alloc_callback(uv_handle_t* handle, std::size_t, uv_buf_t* buffer) {
  UvConnection* connection = static_cast<TcpHolder*>(handle->data)->connection;
  if (connection == nullptr) {
    *buffer = uv_buf_init(nullptr, 0);  // libuv reports UV_ENOBUFS to read_callback, ignored
    return;
  }
  connection->on_alloc(buffer);
}

void UvConnection::read_callback(uv_stream_t* stream, ssize_t count, const uv_buf_t*) {
  UvConnection* connection = static_cast<TcpHolder*>(stream->data)->connection;
  if (connection != nullptr && !connection->closed_) connection->on_read(count);
}

// libuv calls on_alloc and then on_read back to back, with no coroutine running in between, so
// handing out the parked reader's span is safe: its frame cannot be destroyed in that window.
void UvConnection::on_alloc(uv_buf_t* buffer) {
  if (reader_ != nullptr && received_.empty() && reader_->target_.size() >= kDirectReadMin) {
    direct_ = true;
    const std::size_t size = std::min(reader_->target_.size(), kReceiveBufferMax);
    *buffer = uv_buf_init(reinterpret_cast<char*>(reader_->target_.data()),
                          static_cast<unsigned>(size));
    return;
  }
  direct_ = false;
  const std::span<std::byte> room = received_.prepare(kReadChunkBytes);
  const std::size_t size = std::min(room.size(), kReceiveBufferMax);
  *buffer = uv_buf_init(reinterpret_cast<char*>(room.data()), static_cast<unsigned>(size));
}

void UvConnection::on_read(ssize_t count) {
  const bool direct = std::exchange(direct_, false);
  if (count == 0) return;  // EAGAIN: nothing this time
  if (count < 0) {
    if (count == UV_ENOBUFS) return;
    end_receiving(static_cast<int>(count));
    wake_reader();
    return;
  }
  const auto bytes = static_cast<std::size_t>(count);
  if (direct) {
    STRAND_ASSERT(reader_ != nullptr, "a direct read has its reader");
    reader_->filled_ = bytes;
  } else {
    received_.commit(bytes);
    if (received_.size() >= kReceiveBufferMax) stop_reading();  // backpressure on the peer
  }
  wake_reader();
}

void UvConnection::end_receiving(int status) {
  stop_reading();
  if (end_.has_value()) return;
  end_ = uv_error(ErrorKind::kClosed, status, "read from", peer_.to_string());
}

void UvConnection::wake_reader() {
  ReadAwaiter* reader = std::exchange(reader_, nullptr);
  if (reader == nullptr) return;
  std::exchange(reader->caller_, {}).resume();
}

Error UvConnection::closed_error(std::string_view operation) const {
  std::string message(operation);
  message += ' ';
  message += peer_.to_string();
  message += ": connection closed";
  return Error{ErrorKind::kClosed, std::move(message)};
}

}  // namespace strand::io::uv
