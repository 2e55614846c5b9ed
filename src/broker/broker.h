// A broker composed from an io::Env and a BrokerConfig: storage, the group coordinator, the Kafka
// API and its listener; in a cluster also the inter-broker RPC listener, the Raft transport and
// the controller.
// The same object runs on libuv (strand-broker) and inside the simulator.
#pragma once

#include <memory>

#include "broker/cluster/controller.h"
#include "broker/cluster/partition_manager.h"
#include "broker/config.h"
#include "broker/group/coordinator.h"
#include "broker/raft/rpc_transport.h"
#include "broker/rpc/rpc_server.h"
#include "broker/server/kafka_api.h"
#include "broker/server/server.h"
#include "io/env.h"
#include "io/sync.h"
#include "io/task_scope.h"

namespace strand {

class Broker {
 public:
  Broker(io::Env& env, BrokerConfig config);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Opens (and recovers) the data directory and binds the listener; then serves in the
  // background until shutdown(). Errors: storage errors, kExists (address in use).
  io::Task<io::Result<void>> start();

  // Stops accepting, ends connections, waits for requests in flight, and closes every log
  // cleanly (so the next start skips recovery scans).
  io::Task<io::Result<void>> shutdown();

  io::Address address() const { return server_.address(); }
  const BrokerConfig& config() const { return config_; }
  cluster::PartitionManager& partitions() { return partitions_; }
  // In a cluster; null on a single node.
  cluster::Controller* controller() { return controller_.get(); }
  group::Coordinator& groups() { return groups_; }

 private:
  io::Task<void> serve();
  io::Task<io::Result<void>> start_cluster();
  io::Task<void> stop_cluster();

  io::Env& env_;
  BrokerConfig config_;
  // A cluster's inter-broker parts (null on a single node); before the partitions that use them.
  std::unique_ptr<rpc::RpcServer> rpc_server_;
  std::unique_ptr<raft::RpcTransport> transport_;
  raft::GroupRegistry registry_;
  std::unique_ptr<cluster::Controller> controller_;
  cluster::PartitionManager partitions_;
  group::Coordinator groups_;
  server::KafkaApi api_;
  server::Server server_;
  bool started_ = false;
  io::TaskScope cluster_tasks_;
  io::TaskScope background_;  // last: destroyed first
};

}  // namespace strand
