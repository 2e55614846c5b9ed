// Calls to one peer broker's RpcServer. Connects on the first call and again after the connection
// breaks; many calls may be in flight on the one connection, each with its own timeout. A call
// that times out while the peer sent nothing at all drops the connection (a crashed machine
// sends no FIN, so only silence tells). A failed
// connect is not retried for `reconnect_backoff`: calls in that window fail at once with the
// connect's error, so a dead peer costs no connect attempt per call.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "broker/rpc/frame.h"
#include "io/env.h"
#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::rpc {

struct ClientOptions {
  io::Duration reconnect_backoff = io::Duration::ms(100);
};

class RpcClient {
 public:
  RpcClient(io::Env& env, io::Address peer, ClientOptions options = {});
  // Calls in flight fail with kClosed.
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Calls `method` on the peer and returns its answer's payload. Errors: kTimeout (no answer in
  // `timeout`; the call may still run on the peer), kRefused / kClosed (no connection, or it
  // broke before the answer), kCorrupt (the peer sent something unreadable), or the error the
  // peer's handler returned (its kind, the message prefixed "peer: ").
  io::Task<io::Result<std::vector<std::byte>>> call(Method method,
                                                    std::span<const std::byte> payload,
                                                    io::Duration timeout);

  // Drops the connection (calls in flight fail with kClosed); the next call reconnects.
  void disconnect();

  const io::Address& peer() const { return peer_; }
  bool connected() const { return link_ != nullptr; }

 private:
  struct Call {
    std::optional<io::Result<std::vector<std::byte>>> result;
    io::Condition done;
  };
  struct Link;

  io::Task<io::Result<std::shared_ptr<Link>>> connected_link();
  io::Task<void> read_answers(std::shared_ptr<Link> link);
  void complete(const std::shared_ptr<Call>& call, io::Result<std::vector<std::byte>> result);
  void break_link(const std::shared_ptr<Link>& link, const io::Error& error);

  io::Env& env_;
  io::Address peer_;
  ClientOptions options_;
  std::shared_ptr<Link> link_;
  io::Mutex connecting_;  // one connect at a time
  std::optional<io::Error> connect_error_;
  io::Instant connect_failed_at_;
  std::uint64_t next_correlation_id_ = 1;
  io::TaskScope readers_;  // last: destroyed first
};

}  // namespace strand::rpc
