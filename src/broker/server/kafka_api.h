// The Kafka API layer of a single-node broker: decodes each request, does what it asks through
// the PartitionManager, and encodes the answer at the request's version. Every failure a client
// can cause becomes a Kafka error code in the response; nothing a client sends can assert.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/cluster/partition_manager.h"
#include "broker/config.h"
#include "broker/group/coordinator.h"
#include "broker/protocol/find_coordinator.h"
#include "broker/protocol/metadata.h"
#include "broker/server/producer_ids.h"
#include "broker/server/request_handler.h"
#include "io/env.h"

namespace strand::server {

class KafkaApi final : public RequestHandler {
 public:
  KafkaApi(io::Env& env, const BrokerConfig& config, cluster::PartitionManager& partitions,
           group::Coordinator& groups);

  io::Task<HandlerResult> handle(const protocol::RequestHeader& header,
                                 std::span<const std::byte> body,
                                 ConnectionContext& context) override;

  // Long-polling fetches answer now with what they have; used when the broker shuts down.
  void stop_waiting();

 private:
  using Response = HandlerResult;
  using Header = protocol::RequestHeader;

  Response api_versions(const Header& header, protocol::Reader& body, ConnectionContext& context);
  io::Task<Response> metadata(const Header& header, protocol::Reader& body);
  io::Task<Response> produce(const Header& header, protocol::Reader& body,
                             ConnectionContext& context);
  io::Task<Response> fetch(const Header& header, protocol::Reader& body,
                           const ConnectionContext& context);
  io::Task<Response> list_offsets(const Header& header, protocol::Reader& body);
  io::Task<Response> init_producer_id(const Header& header, protocol::Reader& body);
  io::Task<Response> create_topics(const Header& header, protocol::Reader& body);
  io::Task<Response> delete_topics(const Header& header, protocol::Reader& body);
  io::Task<Response> create_partitions(const Header& header, protocol::Reader& body);
  Response describe_configs(const Header& header, protocol::Reader& body);
  // reassignment_handlers.cc
  io::Task<Response> alter_partition_reassignments(const Header& header, protocol::Reader& body);
  Response list_partition_reassignments(const Header& header, protocol::Reader& body);
  Response describe_cluster(const Header& header, protocol::Reader& body);
  // What Metadata and DescribeCluster say of the cluster: a single node, or the metadata image.
  std::vector<protocol::MetadataResponseBroker> brokers() const;
  std::int32_t controller_id() const;
  protocol::MetadataResponsePartition describe_partition(const std::string& topic,
                                                         std::int32_t index) const;
  // Consumer groups (group_handlers.cc).
  io::Task<Response> find_coordinator(const Header& header, protocol::Reader& body);
  void locate_coordinator(const std::string& group_id,
                          protocol::FindCoordinatorResponse& response) const;
  io::Task<Response> join_group(const Header& header, protocol::Reader& body,
                                ConnectionContext& context);
  io::Task<Response> sync_group(const Header& header, protocol::Reader& body);
  Response heartbeat(const Header& header, protocol::Reader& body);
  Response leave_group(const Header& header, protocol::Reader& body);
  io::Task<Response> offset_commit(const Header& header, protocol::Reader& body);
  Response offset_fetch(const Header& header, protocol::Reader& body);
  io::Task<Response> offset_delete(const Header& header, protocol::Reader& body);
  Response list_groups(const Header& header, protocol::Reader& body);
  Response describe_groups(const Header& header, protocol::Reader& body);
  io::Task<Response> delete_groups(const Header& header, protocol::Reader& body);

  io::Env& env_;
  const BrokerConfig& config_;
  cluster::PartitionManager& partitions_;
  group::Coordinator& groups_;
  ProducerIds producer_ids_;
  bool stopping_ = false;
};

// The Kafka error code for a storage or request failure.
protocol::ErrorCode error_code_for(const io::Error& error);

}  // namespace strand::server
