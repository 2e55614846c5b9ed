// The client tests' broker: one Strand broker on a simulated node named "broker" (two partitions
// per topic, groups rebalance without the initial delay), and a client that waits for it to listen.
#pragma once

#include <cstdint>
#include <memory>

#include "broker/broker.h"
#include "client/client.h"
#include "io/assert.h"
#include "io/env.h"
#include "io/sync.h"

namespace strand::client_test {

inline constexpr std::uint16_t kPort = 9092;

// The SimNode program: starts the broker and serves until the node stops.
inline io::Task<void> run_broker(io::Env& env) {
  BrokerConfig config;
  config.listen = io::Address{"broker", kPort};
  config.data_dir = "data";
  config.num_partitions = 2;
  config.group_initial_rebalance_delay_ms = 0;
  Broker broker(env, config);
  io::Result<void> started = co_await broker.start();
  STRAND_ASSERT(started.ok(), "the simulated broker starts");
  io::Event forever;
  co_await forever.wait();
}

inline io::Task<io::Result<std::unique_ptr<client::Client>>> connect(io::Env& env) {
  // Named arguments: GCC 12 miscompiles non-trivial temporaries passed to a coroutine.
  const io::Address address{"broker", kPort};
  const client::ClientOptions options;
  for (int attempt = 0; attempt < 50; ++attempt) {  // the broker boots at the first event
    io::Result<std::unique_ptr<client::Client>> connected =
        co_await client::Client::connect(env, address, options);
    if (connected) co_return std::move(connected);
    co_await env.clock().sleep(io::Duration::ms(100));
  }
  co_return io::Error{io::ErrorKind::kRefused, "broker never listened"};
}

}  // namespace strand::client_test
