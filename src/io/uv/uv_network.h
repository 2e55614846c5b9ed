// TCP on a UvEnv's loop: listeners and outbound connections (see uv_connection.h for the streams).
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>

#include "io/network.h"
#include "io/wait_list.h"

namespace strand::io::uv {

// Numeric IPv4 or IPv6 literal plus port. Errors: kInvalid (not a literal).
Result<void> to_sockaddr(const Address& address, sockaddr_storage* out);

class UvListener final : public Listener {
 public:
  // The kernel queues inbound connections beyond the one libuv holds for us (backpressure).
  static constexpr int kBacklog = 511;

  // Binds and listens before returning. Errors: kExists (address in use), kInvalid (not a
  // numeric address, or not one of this host's), kIoError (anything else).
  static Result<std::unique_ptr<Listener>> open(uv_loop_t* loop, const Address& address);

  struct Holder;
  UvListener(uv_loop_t* loop, Holder* holder, Address address);
  UvListener(const UvListener&) = delete;
  UvListener& operator=(const UvListener&) = delete;
  // Closes. An accept() parked on this listener in another frame never resumes.
  ~UvListener() override;

  // Accepted connections have TCP_NODELAY on. Errors: kClosed once close() ran (an accept parked
  // at that moment completes in a later loop iteration); kIoError if the kernel failed the accept.
  Task<Result<std::unique_ptr<Connection>>> accept() override;
  // Stops listening now; a parked accept() resumes with kClosed once libuv closed the socket.
  void close() override;
  Address address() const override { return address_; }

 private:
  static void listen_callback(uv_stream_t* server, int status);
  void start_close();
  Result<std::unique_ptr<Connection>> accept_pending();

  uv_loop_t* loop_;
  Holder* holder_;  // null once the close callback ran
  Address address_;
  // Connections libuv announced and nobody accepted yet. libuv stops polling the socket while one
  // is pending, so this stays tiny and the kernel's backlog holds the rest.
  std::uint32_t pending_ = 0;
  WaitList acceptors_;
  bool closed_ = false;
};

class UvNetwork final : public Network {
 public:
  explicit UvNetwork(uv_loop_t* loop) : loop_(loop) {}

  // See UvListener::open.
  Result<std::unique_ptr<Listener>> listen(const Address& address) override;
  // Errors: kRefused (nobody listening, unreachable), kTimeout, kInvalid.
  Task<Result<std::unique_ptr<Connection>>> connect(const Address& address) override;

 private:
  uv_loop_t* loop_;
};

}  // namespace strand::io::uv
