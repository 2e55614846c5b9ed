// The inter-broker RPC listener: accepts connections from peers, reads call frames, runs the
// handler registered for each call's method (many at once per connection, up to a bound), and
// writes each answer as soon as it is ready, in whatever order they finish. A call to an unknown
// method, or whose handler fails, is answered with an error response; a frame that cannot be read
// ends that connection only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "broker/rpc/frame.h"
#include "io/env.h"
#include "io/task_scope.h"

namespace strand::rpc {

// Answers one call with the response payload, or an error the caller receives. The payload stays
// valid until the returned task finishes.
using Handler =
    std::function<io::Task<io::Result<std::vector<std::byte>>>(std::span<const std::byte>)>;

struct ServerLimits {
  std::uint32_t calls_in_flight_max = 256;  // per connection; reading pauses beyond it
};

class RpcServer {
 public:
  RpcServer(io::Env& env, ServerLimits limits = {});
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // REQUIRES: before run(); each method once, without the response bit.
  void add_method(Method method, Handler handler);

  // Binds now. Errors: kExists (address in use), kInvalid.
  io::Result<void> listen(const io::Address& address);
  io::Address address() const;

  // Accepts and serves until stop(); returns when every connection's task has ended.
  io::Task<void> run();
  // Stops accepting and closes every connection; calls in flight are abandoned (their callers
  // see the connection end).
  void stop();
  // Destroys every connection's task and the calls in flight at once, without running anything:
  // an owner whose handlers the calls may be running (the controller, the replicas) calls it
  // before it destroys them.
  void cancel() { tasks_.cancel(); }

  std::size_t connections_count() const { return connections_.size(); }

 private:
  struct Link;
  io::Task<void> serve(std::unique_ptr<io::Connection> connection, std::uint64_t id);
  io::Task<void> answer(Link* link, Frame call);

  io::Env& env_;
  ServerLimits limits_;
  std::map<Method, Handler> handlers_;
  std::unique_ptr<io::Listener> listener_;
  std::map<std::uint64_t, io::Connection*> connections_;
  std::uint64_t next_id_ = 0;
  bool stopping_ = false;
  io::TaskScope tasks_;  // last: destroyed first
};

}  // namespace strand::rpc
