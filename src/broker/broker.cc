#include "broker/broker.h"

#include <spdlog/spdlog.h>

namespace strand {

namespace {

server::ConnectionLimits limits_from(const BrokerConfig& config) {
  server::ConnectionLimits limits;
  limits.request_bytes_max = config.socket_request_max_bytes;
  limits.inflight_requests_max = config.connection_inflight_requests_max;
  limits.inflight_bytes_max = config.connection_inflight_bytes_max;
  return limits;
}

}  // namespace

Broker::Broker(io::Env& env, BrokerConfig config)
    : env_(env),
      config_(std::move(config)),
      partitions_(env, config_),
      groups_(env, config_, partitions_),
      api_(env, config_, partitions_, groups_),
      server_(env, api_, limits_from(config_)) {}

Broker::~Broker() = default;

io::Task<io::Result<void>> Broker::start() {
  STRAND_ASSERT(!started_, "start once");
  io::Result<void> opened = co_await partitions_.open();
  if (!opened) co_return with_context(std::move(opened).error(), config_.data_dir);
  io::Result<void> loaded = co_await groups_.start();
  if (!loaded) {
    groups_.stop_waiting();
    co_await groups_.close();
    io::Result<void> closed = co_await partitions_.close();
    (void)closed;
    co_return with_context(std::move(loaded).error(), "loading consumer groups");
  }
  io::Result<void> listening = server_.listen(config_.listen);
  if (!listening) {
    groups_.stop_waiting();
    co_await groups_.close();
    io::Result<void> closed = co_await partitions_.close();
    (void)closed;
    co_return with_context(std::move(listening).error(), "listen on " + config_.listen.to_string());
  }
  // Listening on port 0 binds some free port: clients must be told that one.
  config_.listen.port = server_.address().port;
  started_ = true;
  background_.spawn(serve());
  partitions_.start_retention();
  spdlog::info("node {} serving Kafka on {} (data in {})", config_.node_id,
               server_.address().to_string(), config_.data_dir);
  co_return io::ok();
}

io::Task<void> Broker::serve() { co_await server_.run(); }

io::Task<io::Result<void>> Broker::shutdown() {
  if (!started_) co_return io::ok();
  spdlog::info("shutting down: closing connections and logs");
  server_.stop();
  api_.stop_waiting();
  groups_.stop_waiting();  // parked JoinGroup/SyncGroup answers go out now
  // Answer what was asked (long polls end at once), within a bound, before hanging up.
  const io::Instant deadline = env_.clock().now() + io::Duration::s(5);
  while (!server_.idle() && env_.clock().now() < deadline) {
    co_await env_.clock().sleep(io::Duration::ms(5));
  }
  server_.close_connections();
  // Join rather than wait for an event the serve task sets: the joiner resumes only once that
  // frame has finished, so the Broker may be destroyed as soon as shutdown() returns.
  co_await background_.join();
  co_await groups_.close();
  io::Result<void> closed = co_await partitions_.close();
  started_ = false;
  co_return std::move(closed);
}

}  // namespace strand
