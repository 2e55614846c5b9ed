// What the simulated-broker tests share: a broker node's program, and a client connection that
// waits for the broker to listen (it boots at the node's first event).
#pragma once

#include <memory>
#include <string>

#include "broker/broker.h"
#include "client/kafka_connection.h"
#include "io/env.h"
#include "io/sync.h"

namespace strand::testing {

// Starts a broker with `config` and serves until the node crashes (which destroys this frame).
inline io::Task<void> serve_until_crashed(io::Env& env, BrokerConfig config) {
  Broker broker(env, std::move(config));
  io::Result<void> started = co_await broker.start();
  STRAND_ASSERT(started.ok(), "the simulated broker starts");
  io::Event forever;
  co_await forever.wait();
}

// Connects to `address`, retrying every 100 ms for 5 s. Errors: kRefused if nobody listened.
inline io::Task<io::Result<std::unique_ptr<client::KafkaConnection>>> connect_when_listening(
    io::Env& env, io::Address address, std::string client_id) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    io::Result<std::unique_ptr<client::KafkaConnection>> connection =
        co_await client::KafkaConnection::connect(env, address, client_id);
    if (connection) co_return std::move(connection);
    co_await env.clock().sleep(io::Duration::ms(100));
  }
  co_return io::Error{io::ErrorKind::kRefused, "broker never listened"};
}

}  // namespace strand::testing
