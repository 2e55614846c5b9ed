// One TCP connection on a UvEnv's loop. The socket is read eagerly into a bounded receive buffer;
// read_some() copies out of it (or, when a large read is already parked, libuv reads straight into
// the reader's span). Writes go to the socket at once when it has room; otherwise the rest is
// copied into a heap request that owns it, so a cancelled writer leaves nothing dangling.
#pragma once

#include <uv.h>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "io/network.h"
#include "io/uv/receive_buffer.h"

namespace strand::io::uv {

class UvConnection;

// A TCP handle and the connection that owns it (null while connecting, and once the owner let go).
struct TcpHolder {
  uv_tcp_t tcp;
  UvConnection* connection = nullptr;
};

// A holder with an initialised uv_tcp_t on `loop`; release it with close_and_delete().
TcpHolder* new_tcp_holder(uv_loop_t* loop);

class UvConnection final : public Connection {
 public:
  // Reading stops (TCP backpressure on the peer) while this much is buffered and unread.
  static constexpr std::size_t kReceiveBufferMax = std::size_t{1} << 20;
  // Reading resumes once the unread bytes drop to this.
  static constexpr std::size_t kReceiveBufferResume = kReceiveBufferMax / 2;
  // Room offered to each socket read.
  static constexpr std::size_t kReadChunkBytes = std::size_t{64} << 10;
  // A parked read_some() at least this big receives straight into its own span.
  static constexpr std::size_t kDirectReadMin = std::size_t{16} << 10;
  // uv_buf_t lengths are 32-bit.
  static constexpr std::size_t kWriteBytesMax = 0xffff'ffff;

  // Takes over the connected socket in `holder` (TCP_NODELAY on) and starts reading.
  UvConnection(TcpHolder* holder, Address peer);
  UvConnection(const UvConnection&) = delete;
  UvConnection& operator=(const UvConnection&) = delete;
  // Closes the socket. A read_some() parked on this connection in another frame never resumes.
  ~UvConnection() override;

  Task<Result<std::size_t>> read_some(std::span<std::byte> target) override;
  Task<Result<void>> write(std::span<const std::byte> bytes) override;
  // Closes the socket now. Later reads and writes fail with kClosed at once; a parked read and
  // queued writes complete with kClosed in a later loop iteration.
  void close() override;
  const Address& peer() const override { return peer_; }

  // The parked read_some(); it unregisters itself if its frame is destroyed.
  class ReadAwaiter {
   public:
    ReadAwaiter(UvConnection* connection, std::span<std::byte> target)
        : connection_(connection), target_(target) {}
    ReadAwaiter(const ReadAwaiter&) = delete;
    ReadAwaiter& operator=(const ReadAwaiter&) = delete;
    ~ReadAwaiter();

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> caller) noexcept;
    // Bytes received straight into the target (0 if the wake-up was for buffered data or an end).
    std::size_t await_resume() const noexcept { return filled_; }

   private:
    friend class UvConnection;
    UvConnection* connection_;
    std::span<std::byte> target_;
    std::size_t filled_ = 0;
    std::coroutine_handle<> caller_;
  };

 private:
  static void read_alloc_callback(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buffer);
  static void read_callback(uv_stream_t* stream, ssize_t count, const uv_buf_t* buffer);
  void on_alloc(uv_buf_t* buffer);
  void on_read(ssize_t count);
  void start_reading();
  void stop_reading();
  void end_receiving(int status);
  void start_close();
  std::size_t take(std::span<std::byte> target);
  // Resumes the parked reader, if any. The connection may be gone when this returns.
  void wake_reader();
  Error closed_error(std::string_view operation) const;

  TcpHolder* holder_;  // null once the close callback ran
  Address peer_;
  ReceiveBuffer received_;
  std::optional<Error> end_;      // why the receive side ended (peer closed or reset), once it did
  ReadAwaiter* reader_ = nullptr; // the parked read_some(), if any
  bool direct_ = false;           // the last allocation was reader_'s own target
  bool reading_ = false;          // uv_read_start is in effect
  bool closed_ = false;
};

}  // namespace strand::io::uv
