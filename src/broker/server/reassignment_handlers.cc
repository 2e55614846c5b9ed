// Moving replicas: AlterPartitionReassignments and ListPartitionReassignments (KIP-455). Any
// broker takes them; the controller quorum's leader checks and records each partition's move,
// and the partition's Raft leader carries it out (partition_manager_cluster.cc).
#include <algorithm>

#include "broker/cluster/controller.h"
#include "broker/protocol/alter_partition_reassignments.h"
#include "broker/protocol/list_partition_reassignments.h"
#include "broker/server/kafka_api.h"
#include "broker/server/response.h"

namespace strand::server {

namespace {

using protocol::ErrorCode;

constexpr io::Duration kReassignTimeoutDefault = io::Duration::s(30);
constexpr std::int32_t kReassignTimeoutMaxMs = 300'000;

// A single broker holds every replica: the only "move" is to itself.
cluster::ControllerAnswer single_node_answer(
    const cluster::TopicInfo* topic, std::int32_t partition,
    const std::optional<std::vector<std::int32_t>>& replicas, std::int32_t node_id) {
  if (topic == nullptr || partition < 0 || partition >= topic->partitions) {
    return {ErrorCode::kUnknownTopicOrPartition, "no such partition", -1};
  }
  if (!replicas) return {ErrorCode::kNoReassignmentInProgress, "no reassignment in progress", -1};
  if (replicas->size() != 1 || replicas->front() != node_id) {
    return {ErrorCode::kInvalidReplicaAssignment,
            "a single broker holds every replica: only broker " + std::to_string(node_id), -1};
  }
  return {};
}

}  // namespace

io::Task<HandlerResult> KafkaApi::alter_partition_reassignments(const Header& header,
                                                                protocol::Reader& body) {
  protocol::AlterPartitionReassignmentsRequest request =
      protocol::read_alter_partition_reassignments_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  const io::Duration timeout =
      request.timeout_ms > 0 ? io::Duration::ms(std::min(request.timeout_ms, kReassignTimeoutMaxMs))
                             : kReassignTimeoutDefault;
  protocol::AlterPartitionReassignmentsResponse response;
  for (const protocol::AlterPartitionReassignmentsTopic& topic : request.topics) {
    protocol::AlterPartitionReassignmentsTopicResult& out = response.responses.emplace_back();
    out.name = topic.name;
    for (const protocol::AlterPartitionReassignmentsPartition& partition : topic.partitions) {
      cluster::ControllerAnswer answer;
      if (cluster::Controller* controller = partitions_.controller()) {
        cluster::ReassignRequest move{topic.name, partition.partition_index, partition.replicas};
        answer = co_await controller->submit(std::move(move), timeout);
      } else {
        answer = single_node_answer(partitions_.catalog().find(topic.name),
                                    partition.partition_index, partition.replicas, config_.node_id);
      }
      protocol::AlterPartitionReassignmentsPartitionResult& result = out.partitions.emplace_back();
      result.partition_index = partition.partition_index;
      result.error_code = static_cast<std::int16_t>(answer.code);
      if (!answer.ok()) result.error_message = answer.message;
    }
  }
  co_return encode(header, response, protocol::write_alter_partition_reassignments_response);
}

HandlerResult KafkaApi::list_partition_reassignments(const Header& header, protocol::Reader& body) {
  protocol::ListPartitionReassignmentsRequest request =
      protocol::read_list_partition_reassignments_request(body, header.api_version);
  if (!body.ok()) return decode_failure(header, body);
  protocol::ListPartitionReassignmentsResponse response;
  const cluster::Controller* controller = partitions_.controller();
  if (controller == nullptr) {
    return encode(header, response, protocol::write_list_partition_reassignments_response);
  }
  auto wanted = [&request](const std::string& name, std::int32_t index) {
    if (!request.topics) return true;
    return std::any_of(request.topics->begin(), request.topics->end(),
                       [&](const protocol::ListPartitionReassignmentsTopic& topic) {
                         return topic.name == name &&
                                std::find(topic.partition_indexes.begin(),
                                          topic.partition_indexes.end(),
                                          index) != topic.partition_indexes.end();
                       });
  };
  for (const auto& [name, topic] : controller->image().topics()) {
    protocol::OngoingTopicReassignment ongoing;
    ongoing.name = name;
    for (std::size_t index = 0; index < topic.partitions.size(); ++index) {
      const cluster::MetadataImage::PartitionState& partition = topic.partitions[index];
      const auto partition_index = static_cast<std::int32_t>(index);
      if (!partition.reassigning() || !wanted(name, partition_index)) continue;
      protocol::OngoingPartitionReassignment& out = ongoing.partitions.emplace_back();
      out.partition_index = partition_index;
      out.replicas = partition.assignment.replicas;
      out.adding_replicas = partition.adding();
      out.removing_replicas = partition.removing();
    }
    if (!ongoing.partitions.empty()) response.topics.push_back(std::move(ongoing));
  }
  return encode(header, response, protocol::write_list_partition_reassignments_response);
}

}  // namespace strand::server
