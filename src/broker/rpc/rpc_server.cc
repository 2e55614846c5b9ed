#include "broker/rpc/rpc_server.h"

#include <spdlog/spdlog.h>

#include "io/sync.h"

namespace strand::rpc {

// One accepted connection: the answers' writer lock and the count of calls being answered.
struct RpcServer::Link {
  explicit Link(io::Connection& connection_in) : connection(connection_in) {}
  io::Connection& connection;
  io::Mutex writing;
  std::uint32_t in_flight = 0;
  io::Condition call_finished;
  io::TaskScope calls;  // last: destroyed first
};

RpcServer::RpcServer(io::Env& env, ServerLimits limits) : env_(env), limits_(limits) {
  STRAND_ASSERT(limits_.calls_in_flight_max > 0, "at least one call at a time");
}

RpcServer::~RpcServer() { tasks_.cancel(); }

void RpcServer::add_method(Method method, Handler handler) {
  STRAND_ASSERT((method & kResponseBit) == 0, "the response bit is not part of a method");
  const bool added = handlers_.emplace(method, std::move(handler)).second;
  STRAND_ASSERT(added, "each method has one handler");
}

io::Result<void> RpcServer::listen(const io::Address& address) {
  STRAND_ASSERT(!listener_, "listen once");
  io::Result<std::unique_ptr<io::Listener>> listener = env_.net().listen(address);
  if (!listener) return std::move(listener).error();
  listener_ = std::move(*listener);
  return io::ok();
}

io::Address RpcServer::address() const {
  STRAND_ASSERT(listener_ != nullptr, "listening");
  return listener_->address();
}

io::Task<void> RpcServer::run() {
  STRAND_ASSERT(listener_ != nullptr, "listen before run");
  while (!stopping_) {
    io::Result<std::unique_ptr<io::Connection>> accepted = co_await listener_->accept();
    if (!accepted) {
      if (stopping_ || accepted.error().kind == io::ErrorKind::kClosed) break;
      spdlog::error("rpc accept failed, retrying in 100 ms: {}", accepted.error().to_string());
      co_await env_.clock().sleep(io::Duration::ms(100));
      continue;
    }
    const std::uint64_t id = next_id_++;
    tasks_.spawn(serve(std::move(*accepted), id));
  }
  co_await tasks_.join();
}

void RpcServer::stop() {
  if (stopping_) return;
  stopping_ = true;
  if (listener_) listener_->close();
  for (auto& [id, connection] : connections_) connection->close();
}

io::Task<void> RpcServer::serve(std::unique_ptr<io::Connection> connection, std::uint64_t id) {
  connections_[id] = connection.get();
  if (stopping_) connection->close();
  // Declared after the connection, so destroyed first: cancelling this frame cancels the calls
  // (link.calls) before the connection they write to goes.
  Link link(*connection);
  for (std::uint64_t frames = 0;; ++frames) {
    for (std::uint64_t rounds = 0; link.in_flight >= limits_.calls_in_flight_max; ++rounds) {
      STRAND_ASSERT(rounds < (1ull << 40), "finished calls free room");
      co_await link.call_finished.wait();
    }
    io::Result<Frame> frame = co_await read_frame(*connection);
    if (!frame) {
      if (frame.error().kind != io::ErrorKind::kClosed) {
        spdlog::warn("rpc: closing connection from {}: {}", connection->peer().to_string(),
                     frame.error().to_string());
      }
      break;
    }
    if ((frame->method & kResponseBit) != 0) {
      spdlog::warn("rpc: closing connection from {}: a response frame where calls come",
                   connection->peer().to_string());
      break;
    }
    link.in_flight += 1;
    link.calls.spawn(answer(&link, std::move(*frame)));
  }
  connection->close();
  // Calls still running write to a closed connection and fail quietly; wait for them, since they
  // use this frame's link and connection.
  co_await link.calls.join();
  connections_.erase(id);
}

io::Task<void> RpcServer::answer(Link* link, Frame call) {
  auto handler = handlers_.find(call.method);
  std::vector<std::byte> reply;
  if (handler == handlers_.end()) {
    const io::Error unknown{io::ErrorKind::kInvalid,
                            "no rpc method " + std::to_string(call.method)};
    reply = encode_frame(kErrorResponse, call.correlation_id, encode_error(unknown));
  } else {
    std::span<const std::byte> payload = call.payload;
    io::Result<std::vector<std::byte>> answered = co_await handler->second(payload);
    if (answered) {
      const auto method = static_cast<Method>(call.method | kResponseBit);
      reply = encode_frame(method, call.correlation_id, *answered);
    } else {
      reply = encode_frame(kErrorResponse, call.correlation_id, encode_error(answered.error()));
    }
  }
  {
    io::Mutex::Guard guard = co_await link->writing.lock();
    io::Result<void> written = co_await link->connection.write(reply);
    if (!written) link->connection.close();  // the reader ends too
  }
  link->in_flight -= 1;
  link->call_finished.notify_all();
}

}  // namespace strand::rpc
