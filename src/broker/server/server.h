// The Kafka listener: accepts connections and serves each until it ends. A graceful stop is
// stop() (no new connections), then, once idle() or a deadline passes, close_connections(); run()
// returns when every connection's task has finished.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "broker/server/connection.h"
#include "io/env.h"
#include "io/task_scope.h"

namespace strand::server {

class Server {
 public:
  Server(io::Env& env, RequestHandler& handler, ConnectionLimits limits);

  // Binds now, so a client that connects after this returns finds the listener.
  // Errors: kExists (address in use), kInvalid.
  io::Result<void> listen(const io::Address& address);
  io::Address address() const;

  // Accepts until stop(); then waits for the connections' tasks to finish.
  io::Task<void> run();
  // Stops accepting; connections keep being served.
  void stop();
  // True when no connection has a request it has not answered.
  bool idle() const;
  void close_connections();

  std::size_t connections_count() const { return connections_.size(); }

 private:
  io::Task<void> serve(std::unique_ptr<io::Connection> connection, std::uint64_t id);

  io::Env& env_;
  RequestHandler& handler_;
  ConnectionLimits limits_;
  std::unique_ptr<io::Listener> listener_;
  struct Served {
    io::Connection* connection;
    ConnectionStatus status;
  };
  std::map<std::uint64_t, Served> connections_;
  std::uint64_t next_id_ = 0;
  bool stopping_ = false;
  io::TaskScope connection_tasks_;  // last: destroyed first
};

}  // namespace strand::server
