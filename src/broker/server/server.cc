#include "broker/server/server.h"

#include <spdlog/spdlog.h>

namespace strand::server {

Server::Server(io::Env& env, RequestHandler& handler, ConnectionLimits limits)
    : env_(env), handler_(handler), limits_(limits) {}

io::Result<void> Server::listen(const io::Address& address) {
  STRAND_ASSERT(!listener_, "listen once");
  io::Result<std::unique_ptr<io::Listener>> listener = env_.net().listen(address);
  if (!listener) return std::move(listener).error();
  listener_ = std::move(*listener);
  return io::ok();
}

io::Address Server::address() const {
  STRAND_ASSERT(listener_ != nullptr, "listening");
  return listener_->address();
}

io::Task<void> Server::run() {
  STRAND_ASSERT(listener_ != nullptr, "listen before run");
  while (!stopping_) {
    io::Result<std::unique_ptr<io::Connection>> accepted = co_await listener_->accept();
    if (!accepted) {
      if (stopping_ || accepted.error().kind == io::ErrorKind::kClosed) break;
      // Out of file descriptors, say: keep serving who is connected and try again shortly.
      spdlog::error("accept failed, retrying in 100 ms: {}", accepted.error().to_string());
      co_await env_.clock().sleep(io::Duration::ms(100));
      continue;
    }
    const std::uint64_t id = next_id_++;
    connection_tasks_.spawn(serve(std::move(*accepted), id));
  }
  co_await connection_tasks_.join();
}

io::Task<void> Server::serve(std::unique_ptr<io::Connection> connection, std::uint64_t id) {
  Served& served = connections_[id];
  served.connection = connection.get();
  if (stopping_) connection->close();
  co_await serve_connection(*connection, handler_, limits_, &served.status);
  connections_.erase(id);
}

void Server::stop() {
  if (stopping_) return;
  stopping_ = true;
  if (listener_) listener_->close();
}

bool Server::idle() const {
  for (const auto& [id, served] : connections_) {
    if (served.status.requests_in_flight > 0) return false;
  }
  return true;
}

void Server::close_connections() {
  for (auto& [id, served] : connections_) served.connection->close();
}

}  // namespace strand::server
