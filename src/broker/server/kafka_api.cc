#include "broker/server/kafka_api.h"

#include <spdlog/spdlog.h>

#include "broker/cluster/controller.h"
#include "broker/protocol/api_versions.h"
#include "broker/protocol/describe_cluster.h"
#include "broker/protocol/describe_configs.h"
#include "broker/protocol/metadata.h"
#include "broker/protocol/topic_name.h"
#include "broker/server/response.h"

namespace strand::server {

using protocol::ApiKey;
using protocol::ErrorCode;

std::size_t begin_response(protocol::Writer& writer, const protocol::RequestHeader& header) {
  const std::size_t size_position = writer.reserve_i32();
  protocol::write_response_header(writer, header);
  return size_position;
}

std::vector<std::byte> finish_response(protocol::Writer& writer, std::size_t size_position) {
  const std::size_t body_bytes = writer.size() - size_position - 4;
  writer.patch_i32(size_position, static_cast<std::int32_t>(body_bytes));
  return writer.take();
}

protocol::ErrorCode error_code_for(const io::Error& error) {
  switch (error.kind) {
    case io::ErrorKind::kCorrupt:
      return ErrorCode::kCorruptMessage;
    case io::ErrorKind::kOutOfRange:
      return ErrorCode::kOffsetOutOfRange;
    case io::ErrorKind::kUnavailable:
      return ErrorCode::kNotLeaderOrFollower;
    case io::ErrorKind::kNotFound:
      return ErrorCode::kUnknownTopicOrPartition;
    case io::ErrorKind::kInvalid:
      return ErrorCode::kInvalidRecord;
    case io::ErrorKind::kTimeout:
      return ErrorCode::kRequestTimedOut;
    case io::ErrorKind::kNoSpace:
    case io::ErrorKind::kIoError:
      return ErrorCode::kKafkaStorageError;
    default:
      return ErrorCode::kUnknownServerError;
  }
}

KafkaApi::KafkaApi(io::Env& env, const BrokerConfig& config, cluster::PartitionManager& partitions,
                   group::Coordinator& groups)
    : env_(env),
      config_(config),
      partitions_(partitions),
      groups_(groups),
      producer_ids_(env, config.data_dir, config.node_id) {}

io::Task<HandlerResult> KafkaApi::handle(const protocol::RequestHeader& header,
                                         std::span<const std::byte> body,
                                         ConnectionContext& context) {
  protocol::Reader reader(body);
  spdlog::debug("request api {} v{} correlation {} from '{}'", header.api_key, header.api_version,
                header.correlation_id, header.client_id.value_or(""));
  switch (static_cast<ApiKey>(header.api_key)) {
    case ApiKey::kApiVersions:
      co_return api_versions(header, reader, context);
    case ApiKey::kMetadata:
      co_return co_await metadata(header, reader);
    case ApiKey::kProduce:
      co_return co_await produce(header, reader, context);
    case ApiKey::kFetch:
      co_return co_await fetch(header, reader, context);
    case ApiKey::kListOffsets:
      co_return co_await list_offsets(header, reader);
    case ApiKey::kCreateTopics:
      co_return co_await create_topics(header, reader);
    case ApiKey::kDeleteTopics:
      co_return co_await delete_topics(header, reader);
    case ApiKey::kCreatePartitions:
      co_return co_await create_partitions(header, reader);
    case ApiKey::kAlterPartitionReassignments:
      co_return co_await alter_partition_reassignments(header, reader);
    case ApiKey::kListPartitionReassignments:
      co_return list_partition_reassignments(header, reader);
    case ApiKey::kDescribeConfigs:
      co_return describe_configs(header, reader);
    case ApiKey::kDescribeCluster:
      co_return describe_cluster(header, reader);
    case ApiKey::kFindCoordinator:
      co_return co_await find_coordinator(header, reader);
    case ApiKey::kJoinGroup:
      co_return co_await join_group(header, reader, context);
    case ApiKey::kSyncGroup:
      co_return co_await sync_group(header, reader);
    case ApiKey::kInitProducerId:
      co_return co_await init_producer_id(header, reader);
    case ApiKey::kHeartbeat:
      co_return heartbeat(header, reader);
    case ApiKey::kLeaveGroup:
      co_return leave_group(header, reader);
    case ApiKey::kOffsetCommit:
      co_return co_await offset_commit(header, reader);
    case ApiKey::kOffsetFetch:
      co_return offset_fetch(header, reader);
    case ApiKey::kOffsetDelete:
      co_return co_await offset_delete(header, reader);
    case ApiKey::kListGroups:
      co_return list_groups(header, reader);
    case ApiKey::kDescribeGroups:
      co_return describe_groups(header, reader);
    case ApiKey::kDeleteGroups:
      co_return co_await delete_groups(header, reader);
    default:
      break;
  }
  // The connection layer only passes on what api.cc advertises, and each of those has a case.
  STRAND_ASSERT(false, "every advertised API has a handler");
  co_return HandlerResult{std::nullopt, true};
}

void KafkaApi::stop_waiting() {
  stopping_ = true;
  partitions_.data_arrived().notify_all();
}

HandlerResult KafkaApi::api_versions(const Header& header, protocol::Reader& body,
                                     ConnectionContext& context) {
  protocol::ApiVersionsResponse response = protocol::make_api_versions_response(header.api_version);
  // A version we don't speak is answered at v0, which every client can read, with the error.
  const bool supported = response.error_code == 0;
  const std::int16_t version = supported ? header.api_version : 0;
  if (supported) {
    protocol::ApiVersionsRequest request = protocol::read_api_versions_request(body, version);
    if (!body.ok()) return HandlerResult{std::nullopt, true};
    context.reads_control_records = version >= 3 && !request.client_software_name.empty();
  }
  protocol::Writer writer;
  const std::size_t at = begin_response(writer, header);
  protocol::write_api_versions_response(writer, response, version);
  return HandlerResult{finish_response(writer, at), false};
}

io::Task<HandlerResult> KafkaApi::metadata(const Header& header, protocol::Reader& body) {
  protocol::MetadataRequest request = protocol::read_metadata_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::MetadataResponse response;
  response.brokers = brokers();
  response.cluster_id = config_.cluster_id;
  response.controller_id = controller_id();
  std::vector<std::string> names;
  if (request.topics) {
    for (const protocol::MetadataRequestTopic& topic : *request.topics) names.push_back(topic.name);
  } else {
    for (const auto& [name, topic] : partitions_.catalog().topics()) names.push_back(name);
  }
  const bool may_create = config_.auto_create_topics && request.allow_auto_topic_creation;
  for (const std::string& name : names) {
    protocol::MetadataResponseTopic out;
    out.name = name;
    out.is_internal = protocol::is_internal_topic(name);
    if (!partitions_.catalog().find(name)) {
      if (!protocol::validate_topic_name(name)) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidTopicException);
      } else if (may_create && request.topics && name == group::kOffsetsTopic) {
        // Created by the group coordinator, with its own partitions and replication.
        const ErrorCode created = co_await groups_.ensure_offsets_topic();
        if (created != ErrorCode::kNone) out.error_code = static_cast<std::int16_t>(created);
      } else if (may_create && request.topics && !out.is_internal) {
        cluster::TopicError created = co_await partitions_.create_topic(name, -1, -1, {}, false);
        if (!created.ok() && created.code != ErrorCode::kTopicAlreadyExists) {
          out.error_code = static_cast<std::int16_t>(created.code);
        }
      } else {
        out.error_code = static_cast<std::int16_t>(ErrorCode::kUnknownTopicOrPartition);
      }
    }
    const cluster::TopicInfo* topic = partitions_.catalog().find(name);
    if (topic && out.error_code == 0) {
      for (std::int32_t index = 0; index < topic->partitions; ++index) {
        out.partitions.push_back(describe_partition(name, index));
      }
    }
    response.topics.push_back(std::move(out));
  }
  co_return encode(header, response, protocol::write_metadata_response);
}

std::vector<protocol::MetadataResponseBroker> KafkaApi::brokers() const {
  std::vector<protocol::MetadataResponseBroker> out;
  if (!partitions_.clustered()) {
    const io::Address advertised = config_.advertised();
    out.push_back({config_.node_id, advertised.host, advertised.port, std::nullopt});
    return out;
  }
  const cluster::MetadataImage& image = partitions_.controller()->image();
  for (const auto& [id, broker] : image.brokers()) {
    if (image.fenced(id)) continue;  // as Kafka: clients never see a fenced broker
    std::optional<std::string> rack;
    if (!broker.rack.empty()) rack = broker.rack;
    out.push_back({id, broker.host, broker.port, rack});
  }
  return out;
}

std::int32_t KafkaApi::controller_id() const {
  if (!partitions_.clustered()) return config_.node_id;
  return partitions_.controller()->leader();
}

protocol::MetadataResponsePartition KafkaApi::describe_partition(const std::string& topic,
                                                                 std::int32_t index) const {
  protocol::MetadataResponsePartition out;
  out.partition_index = index;
  if (!partitions_.clustered()) {
    out.leader_id = config_.node_id;
    out.leader_epoch = 0;
    out.replica_nodes = {config_.node_id};
    out.isr_nodes = {config_.node_id};
    return out;
  }
  const cluster::MetadataImage::TopicState* state = partitions_.controller()->image().topic(topic);
  if (!state || index >= static_cast<std::int32_t>(state->partitions.size())) {
    out.error_code = static_cast<std::int16_t>(ErrorCode::kUnknownTopicOrPartition);
    return out;
  }
  const cluster::MetadataImage::PartitionState& known =
      state->partitions[static_cast<std::size_t>(index)];
  out.leader_id = known.leader;
  out.leader_epoch = known.leader_epoch;
  out.replica_nodes = known.assignment.replicas;
  out.isr_nodes = known.assignment.replicas;
  std::shared_ptr<cluster::Partition> local =
      partitions_.find(storage::TopicPartition{topic, index});
  const raft::Replica* replica = local ? local->replica() : nullptr;
  // A replica here knows the leader first hand, and may know a newer one than the image.
  if (replica && local->leader_epoch() >= out.leader_epoch &&
      local->leader(config_.node_id) != raft::kNoNode) {
    out.leader_id = local->leader(config_.node_id);
    out.leader_epoch = local->leader_epoch();
  }
  // The leader knows which replicas keep up; elsewhere the image only has the replica set.
  if (replica && replica->role() == raft::Role::kLeader) {
    std::vector<raft::NodeId> in_sync = replica->in_sync_replicas();
    if (!in_sync.empty()) out.isr_nodes.assign(in_sync.begin(), in_sync.end());
  }
  // A fenced broker is not listed, so clients could not reach it as the leader; the partition
  // has none until a live replica takes over or the broker is heard from again.
  if (out.leader_id != raft::kNoNode && partitions_.controller()->image().fenced(out.leader_id)) {
    out.leader_id = raft::kNoNode;
  }
  if (out.leader_id == raft::kNoNode) {
    out.error_code = static_cast<std::int16_t>(ErrorCode::kLeaderNotAvailable);
  }
  return out;
}

HandlerResult KafkaApi::describe_cluster(const Header& header, protocol::Reader& body) {
  (void)protocol::read_describe_cluster_request(body, header.api_version);
  if (!body.ok()) return decode_failure(header, body);
  protocol::DescribeClusterResponse response;
  response.cluster_id = config_.cluster_id;
  response.controller_id = controller_id();
  for (const protocol::MetadataResponseBroker& broker : brokers()) {
    response.brokers.push_back({broker.node_id, broker.host, broker.port, broker.rack});
  }
  return encode(header, response, protocol::write_describe_cluster_response);
}

}  // namespace strand::server
