#include "io/uv/uv_network.h"

#include <spdlog/spdlog.h>

#include <coroutine>
#include <cstring>
#include <string>
#include <utility>

#include "io/uv/uv_connection.h"
#include "io/uv/uv_error.h"
#include "io/uv/uv_handle.h"

namespace strand::io::uv {
namespace {

Address from_sockaddr(const sockaddr_storage& storage) {
  char host[INET6_ADDRSTRLEN] = {};
  Address address;
  if (storage.ss_family == AF_INET6) {
    const auto* ipv6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    uv_ip6_name(ipv6, host, sizeof(host));
    address.port = ntohs(ipv6->sin6_port);
  } else {
    const auto* ipv4 = reinterpret_cast<const sockaddr_in*>(&storage);
    uv_ip4_name(ipv4, host, sizeof(host));
    address.port = ntohs(ipv4->sin_port);
  }
  address.host = host;
  return address;
}

ErrorKind listen_error_kind(int status) {
  switch (status) {
    case UV_EADDRINUSE: return ErrorKind::kExists;
    case UV_EADDRNOTAVAIL:
    case UV_EAFNOSUPPORT:
    case UV_EACCES:
    case UV_EINVAL: return ErrorKind::kInvalid;
    default: return ErrorKind::kIoError;
  }
}

ErrorKind connect_error_kind(int status) {
  switch (status) {
    case UV_ETIMEDOUT: return ErrorKind::kTimeout;
    case UV_EAFNOSUPPORT:
    case UV_EINVAL: return ErrorKind::kInvalid;
    default: return ErrorKind::kRefused;  // refused, unreachable, reset during the handshake
  }
}

Error connect_error(int status, const Address& target) {
  return uv_error(connect_error_kind(status), status, "connect", target.to_string());
}

class ConnectAwaiter;

struct ConnectRequest {
  uv_connect_t request{};
  ConnectAwaiter* awaiter = nullptr;  // null once the connecting frame is gone
};

// Owns the connecting socket until it is handed to a UvConnection. If the frame is destroyed
// first, the destructor closes the socket; libuv then cancels the connect and the callback frees
// the request without resuming anything.
class ConnectAwaiter {
 public:
  explicit ConnectAwaiter(TcpHolder* holder) : holder_(holder) {}
  ConnectAwaiter(const ConnectAwaiter&) = delete;
  ConnectAwaiter& operator=(const ConnectAwaiter&) = delete;
  ~ConnectAwaiter() {
    if (request_ != nullptr) request_->awaiter = nullptr;
    if (holder_ != nullptr) close_and_delete(holder_, &holder_->tcp);
  }

  // Starts the connect; returns libuv's immediate status (< 0: it never started).
  int start(const sockaddr* target) {
    auto* request = new ConnectRequest{};
    request->request.data = request;
    const int status = uv_tcp_connect(&request->request, &holder_->tcp, target, connect_callback);
    if (status < 0) {
      delete request;
      return status;
    }
    request_ = request;
    request_->awaiter = this;
    return 0;
  }

  bool await_ready() const noexcept { return request_ == nullptr; }
  void await_suspend(std::coroutine_handle<> caller) noexcept { caller_ = caller; }
  int await_resume() const noexcept { return status_; }

  TcpHolder* release_holder() { return std::exchange(holder_, nullptr); }

 private:
  static void connect_callback(uv_connect_t* uv_request, int status) {
    auto* request = static_cast<ConnectRequest*>(uv_request->data);
    ConnectAwaiter* awaiter = request->awaiter;
    delete request;
    if (awaiter == nullptr) return;
    awaiter->request_ = nullptr;
    awaiter->status_ = status;
    std::exchange(awaiter->caller_, {}).resume();
  }

  TcpHolder* holder_;
  ConnectRequest* request_ = nullptr;
  int status_ = 0;
  std::coroutine_handle<> caller_;
};

}  // namespace

Result<void> to_sockaddr(const Address& address, sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  int status = 0;
  if (address.host.find(':') != std::string::npos) {
    status = uv_ip6_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(out));
  } else {
    status = uv_ip4_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(out));
  }
  if (status < 0) {
    return Error{ErrorKind::kInvalid,
                 "address " + address.to_string() + ": not a numeric IPv4 or IPv6 address"};
  }
  return ok();
}

struct UvListener::Holder {
  uv_tcp_t tcp;
  UvListener* listener = nullptr;  // null once the owner let go
};

Result<std::unique_ptr<Listener>> UvNetwork::listen(const Address& address) {
  return UvListener::open(loop_, address);
}

Task<Result<std::unique_ptr<Connection>>> UvNetwork::connect(const Address& address) {
  const Address target = address;  // the caller's object need not outlive the first suspension
  sockaddr_storage storage;
  Result<void> parsed = to_sockaddr(target, &storage);
  if (!parsed) co_return std::move(parsed).error();
  ConnectAwaiter awaiter(new_tcp_holder(loop_));
  const int started = awaiter.start(reinterpret_cast<const sockaddr*>(&storage));
  if (started < 0) co_return connect_error(started, target);
  const int status = co_await awaiter;
  if (status < 0) co_return connect_error(status, target);
  co_return std::unique_ptr<Connection>(new UvConnection(awaiter.release_holder(), target));
}

Result<std::unique_ptr<Listener>> UvListener::open(uv_loop_t* loop, const Address& address) {
  sockaddr_storage storage;
  Result<void> parsed = to_sockaddr(address, &storage);
  if (!parsed) return std::move(parsed).error();
  auto* holder = new Holder{};
  const int initialised = uv_tcp_init(loop, &holder->tcp);
  STRAND_ASSERT(initialised == 0, "uv_tcp_init without a socket cannot fail");
  holder->tcp.data = holder;
  // libuv reports EADDRINUSE from uv_listen rather than from uv_tcp_bind on Linux.
  int status = uv_tcp_bind(&holder->tcp, reinterpret_cast<const sockaddr*>(&storage), 0);
  if (status == 0) status = uv_listen(as_stream(&holder->tcp), kBacklog, listen_callback);
  sockaddr_storage bound;
  int bound_size = sizeof(bound);
  if (status == 0) {
    status = uv_tcp_getsockname(&holder->tcp, reinterpret_cast<sockaddr*>(&bound), &bound_size);
  }
  if (status < 0) {
    close_and_delete(holder, &holder->tcp);
    return uv_error(listen_error_kind(status), status, "listen on", address.to_string());
  }
  // No callback can run before the listener exists: callbacks come from the loop, not from here.
  return std::unique_ptr<Listener>(new UvListener(loop, holder, from_sockaddr(bound)));
}

UvListener::UvListener(uv_loop_t* loop, Holder* holder, Address address)
    : loop_(loop), holder_(holder), address_(std::move(address)) {
  holder_->listener = this;
}

UvListener::~UvListener() {
  if (holder_ == nullptr) return;  // closed, and the close already finished
  holder_->listener = nullptr;
  if (!closed_) start_close();
}

void UvListener::close() {
  if (closed_) return;
  closed_ = true;
  start_close();
}

// Parked acceptors learn about the close from the close callback, in a later loop iteration, and
// not inline: close() is often called by a coroutine that is about to tear down the acceptor's
// scope, and resuming the acceptor in the middle of that would tear it down under its own feet.
void UvListener::start_close() {
  uv_close(as_handle(&holder_->tcp), [](uv_handle_t* handle) {
    auto* holder = static_cast<Holder*>(handle->data);
    UvListener* listener = holder->listener;
    delete holder;
    if (listener == nullptr) return;
    listener->holder_ = nullptr;
    listener->acceptors_.resume_all();  // last: a resumed acceptor may destroy the listener
  });
}

void UvListener::listen_callback(uv_stream_t* server, int status) {
  UvListener* listener = static_cast<Holder*>(server->data)->listener;
  if (listener == nullptr || listener->closed_) return;
  if (status < 0) {
    spdlog::warn("accept on {}: {}", listener->address_.to_string(), describe(status));
    return;
  }
  listener->pending_ += 1;
  std::coroutine_handle<> acceptor = listener->acceptors_.pop_front();
  if (acceptor) acceptor.resume();
}

Task<Result<std::unique_ptr<Connection>>> UvListener::accept() {
  while (!closed_ && pending_ == 0) {
    co_await Park{acceptors_, {}};
  }
  if (closed_) {
    co_return Error{ErrorKind::kClosed, "accept on " + address_.to_string() + ": listener closed"};
  }
  co_return accept_pending();
}

Result<std::unique_ptr<Connection>> UvListener::accept_pending() {
  STRAND_ASSERT(pending_ > 0, "accept only what libuv announced");
  pending_ -= 1;
  TcpHolder* accepted = new_tcp_holder(loop_);
  int status = uv_accept(as_stream(&holder_->tcp), as_stream(&accepted->tcp));
  sockaddr_storage peer;
  int peer_size = sizeof(peer);
  if (status == 0) {
    status = uv_tcp_getpeername(&accepted->tcp, reinterpret_cast<sockaddr*>(&peer), &peer_size);
  }
  if (status < 0) {
    close_and_delete(accepted, &accepted->tcp);
    return uv_error(ErrorKind::kIoError, status, "accept on", address_.to_string());
  }
  return std::unique_ptr<Connection>(new UvConnection(accepted, from_sockaddr(peer)));
}

}  // namespace strand::io::uv
