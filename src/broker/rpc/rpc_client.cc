#include "broker/rpc/rpc_client.h"

#include <spdlog/spdlog.h>

#include "io/timed_wait.h"

namespace strand::rpc {

// One connection to the peer and the calls waiting for answers on it. Shared by the client and
// the connection's reader, so that a broken link can be replaced while its reader winds down.
struct RpcClient::Link {
  std::unique_ptr<io::Connection> connection;
  std::map<std::uint64_t, std::shared_ptr<Call>> calls;  // waiting for their answers
  io::Mutex writing;                                     // one frame at a time on the wire
  io::Instant last_frame_at;                             // when the peer last sent anything
  bool broken = false;
};

RpcClient::RpcClient(io::Env& env, io::Address peer, ClientOptions options)
    : env_(env), peer_(std::move(peer)), options_(options) {}

RpcClient::~RpcClient() {
  readers_.cancel();
  if (link_) break_link(link_, io::Error{io::ErrorKind::kClosed, "rpc client destroyed"});
}

void RpcClient::disconnect() {
  if (link_) break_link(link_, io::Error{io::ErrorKind::kClosed, "disconnected"});
}

void RpcClient::complete(const std::shared_ptr<Call>& call,
                         io::Result<std::vector<std::byte>> result) {
  if (call->result) return;  // answered twice (a duplicate frame): the first answer stands
  call->result.emplace(std::move(result));
  // Callers resume from the executor, not inline: a caller may destroy this client, and the
  // reader that completes the call must not be on the stack when that happens.
  env_.executor().post([call] { call->done.notify_all(); });
}

void RpcClient::break_link(const std::shared_ptr<Link>& link, const io::Error& error) {
  if (link->broken) return;
  link->broken = true;
  link->connection->close();
  std::map<std::uint64_t, std::shared_ptr<Call>> calls = std::move(link->calls);
  link->calls.clear();
  for (auto& [id, call] : calls) complete(call, error);
  if (link_ == link) link_.reset();
}

io::Task<io::Result<std::shared_ptr<RpcClient::Link>>> RpcClient::connected_link() {
  io::Mutex::Guard guard = co_await connecting_.lock();
  if (link_) co_return link_;
  const io::Instant now = env_.clock().now();
  if (connect_error_ && now - connect_failed_at_ < options_.reconnect_backoff) {
    co_return *connect_error_;
  }
  io::Result<std::unique_ptr<io::Connection>> connected = co_await env_.net().connect(peer_);
  if (!connected) {
    connect_error_ = connected.error();
    connect_failed_at_ = env_.clock().now();
    co_return std::move(connected).error();
  }
  connect_error_.reset();
  auto link = std::make_shared<Link>();
  link->connection = std::move(*connected);
  link->last_frame_at = env_.clock().now();
  link_ = link;
  readers_.spawn(read_answers(link));
  co_return link;
}

io::Task<io::Result<std::vector<std::byte>>> RpcClient::call(Method method,
                                                             std::span<const std::byte> payload,
                                                             io::Duration timeout) {
  STRAND_ASSERT((method & kResponseBit) == 0, "the response bit is not part of a method");
  io::Result<std::shared_ptr<Link>> linked = co_await connected_link();
  if (!linked) co_return std::move(linked).error();
  std::shared_ptr<Link> link = std::move(*linked);
  const std::uint64_t correlation_id = next_correlation_id_++;
  const io::Instant started = env_.clock().now();
  auto call = std::make_shared<Call>();
  // Registered before the write: the answer can arrive before write() returns.
  link->calls[correlation_id] = call;
  const std::vector<std::byte> frame = encode_frame(method, correlation_id, payload);
  {
    io::Mutex::Guard guard = co_await link->writing.lock();
    if (!link->broken) {
      io::Result<void> written = co_await link->connection->write(frame);
      if (!written) break_link(link, written.error());
    }
  }
  if (!call->result) {
    const bool answered = co_await io::wait_notified(call->done, env_.clock(), timeout);
    if (!answered && !call->result) {
      link->calls.erase(correlation_id);
      // A peer that sent nothing at all for the whole wait is gone (a crashed machine sends no
      // FIN): drop the connection, so the next call connects afresh instead of waiting on it.
      if (link->last_frame_at < started) {
        break_link(link,
                   io::Error{io::ErrorKind::kTimeout, "rpc peer " + peer_.to_string() + " silent"});
      }
      co_return io::Error{io::ErrorKind::kTimeout, "rpc method " + std::to_string(method) + " to " +
                                                       peer_.to_string() + ": no answer in " +
                                                       std::to_string(timeout.count_ms()) + " ms"};
    }
  }
  if (!call->result) {
    co_return io::Error{io::ErrorKind::kClosed, "rpc call ended without an answer"};
  }
  co_return std::move(*call->result);
}

io::Task<void> RpcClient::read_answers(std::shared_ptr<Link> link) {
  for (std::uint64_t frames = 0; !link->broken; ++frames) {
    io::Result<Frame> frame = co_await read_frame(*link->connection);
    if (!frame) {
      break_link(link, frame.error());
      break;
    }
    link->last_frame_at = env_.clock().now();
    auto waiting = link->calls.find(frame->correlation_id);
    if (waiting == link->calls.end()) continue;  // timed out already, or a duplicate
    std::shared_ptr<Call> call = waiting->second;
    link->calls.erase(waiting);
    if (frame->method == kErrorResponse) {
      complete(call, decode_error(frame->payload));
    } else if ((frame->method & kResponseBit) == 0) {
      const io::Error wrong{io::ErrorKind::kCorrupt,
                            "rpc peer " + peer_.to_string() + " sent a call where answers come"};
      complete(call, wrong);
      break_link(link, wrong);
      break;
    } else {
      complete(call, std::move(frame->payload));
    }
  }
}

}  // namespace strand::rpc
