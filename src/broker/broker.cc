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

// The RPC server is declared first, so it outlives the controller and the replicas: a call in
// flight could still hold one of their locks when they go. Its calls are destroyed first.
Broker::~Broker() {
  if (rpc_server_) rpc_server_->cancel();
}

io::Task<io::Result<void>> Broker::start_cluster() {
  io::Result<void> valid = config_.validate();
  if (!valid) co_return std::move(valid).error();
  if (!config_.clustered()) co_return io::ok();
  std::map<raft::NodeId, io::Address> peers;
  for (const auto& [node, address] : config_.controller_voters) {
    if (node != config_.node_id) peers.emplace(node, address);
  }
  rpc_server_ = std::make_unique<rpc::RpcServer>(env_);
  transport_ = std::make_unique<raft::RpcTransport>(env_, std::move(peers));
  controller_ = std::make_unique<cluster::Controller>(env_, config_, *transport_);
  const io::Address rpc_address = config_.rpc_address();
  io::Result<void> listening = rpc_server_->listen(rpc_address);
  if (!listening) {
    co_return with_context(std::move(listening).error(),
                           "listen for brokers on " + rpc_address.to_string());
  }
  io::Result<void> opened = co_await controller_->open();
  if (!opened) co_return std::move(opened).error();
  registry_.serve_on(*rpc_server_);
  controller_->serve_on(*rpc_server_, registry_);
  partitions_.use_cluster(*controller_, *transport_, registry_);
  cluster_tasks_.spawn(rpc_server_->run());
  cluster_tasks_.spawn(transport_->run());
  cluster_tasks_.spawn(controller_->run());
  spdlog::info("node {}: inter-broker RPC on {}, controller quorum of {}{}", config_.node_id,
               rpc_address.to_string(), config_.controller_voters.size(),
               config_.controller_voter() ? "" : " (this broker follows it as a learner)");
  co_return io::ok();
}

io::Task<void> Broker::stop_cluster() {
  if (!controller_) co_return;
  controller_->stop();
  transport_->stop();
  rpc_server_->stop();
  co_await env_.clock().sleep(io::Duration::ns(0));
  cluster_tasks_.cancel();
  co_await cluster_tasks_.join();
  io::Result<void> closed = co_await controller_->close();
  (void)closed;
}

io::Task<io::Result<void>> Broker::start() {
  STRAND_ASSERT(!started_, "start once");
  // Listening on port 0 binds some free port: clients must be told that one (and a cluster's
  // registration carries it), so bind first.
  io::Result<void> listening = server_.listen(config_.listen);
  if (!listening) {
    co_return with_context(std::move(listening).error(), "listen on " + config_.listen.to_string());
  }
  config_.listen.port = server_.address().port;
  io::Result<void> clustered = co_await start_cluster();
  if (!clustered) {
    co_await stop_cluster();
    co_return std::move(clustered).error();
  }
  io::Result<void> opened = co_await partitions_.open();
  if (!opened) {
    co_await stop_cluster();
    co_return with_context(std::move(opened).error(), config_.data_dir);
  }
  io::Result<void> loaded = co_await groups_.start();
  if (!loaded) {
    groups_.stop_waiting();
    co_await groups_.close();
    io::Result<void> closed = co_await partitions_.close();
    (void)closed;
    co_await stop_cluster();
    co_return with_context(std::move(loaded).error(), "loading consumer groups");
  }
  started_ = true;
  background_.spawn(serve());
  if (partitions_.clustered()) partitions_.start_cluster();
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
  co_await stop_cluster();
  started_ = false;
  co_return std::move(closed);
}

}  // namespace strand
