// Client: moving partitions between brokers (KIP-455's AlterPartitionReassignments and
// ListPartitionReassignments).
#include "broker/protocol/alter_partition_reassignments.h"
#include "broker/protocol/list_partition_reassignments.h"
#include "client/client.h"
#include "client/client_call.h"
#include "client/kafka_error.h"

namespace strand::client {

namespace {

constexpr std::int16_t kAlterPartitionReassignmentsVersion = 0;
constexpr std::int16_t kListPartitionReassignmentsVersion = 0;

}  // namespace

io::Task<io::Result<void>> Client::reassign_partition(
    std::string topic, std::int32_t partition, std::optional<std::vector<std::int32_t>> replicas) {
  protocol::AlterPartitionReassignmentsRequest request;
  request.timeout_ms = static_cast<std::int32_t>(options_.request_timeout.count_ms());
  protocol::AlterPartitionReassignmentsTopic& wanted = request.topics.emplace_back();
  wanted.name = topic;
  wanted.partitions.push_back({partition, std::move(replicas)});
  io::Result<protocol::AlterPartitionReassignmentsResponse> answer = co_await call_any(
      protocol::ApiKey::kAlterPartitionReassignments, kAlterPartitionReassignmentsVersion, request,
      protocol::write_alter_partition_reassignments_request,
      protocol::read_alter_partition_reassignments_response);
  if (!answer) co_return std::move(answer).error();
  const protocol::AlterPartitionReassignmentsResponse& response = *answer;
  const std::string where = topic + "-" + std::to_string(partition);
  if (response.error_code != 0) co_return kafka_error(response.error_code, where);
  if (response.responses.size() != 1 || response.responses[0].name != topic ||
      response.responses[0].partitions.size() != 1 ||
      response.responses[0].partitions[0].partition_index != partition) {
    co_return io::Error{io::ErrorKind::kCorrupt,
                        "AlterPartitionReassignments answered for other partitions"};
  }
  const protocol::AlterPartitionReassignmentsPartitionResult& result =
      response.responses[0].partitions[0];
  if (result.error_code != 0) {
    std::string context = where;
    if (result.error_message) context += " (" + *result.error_message + ")";
    co_return kafka_error(result.error_code, context);
  }
  co_return io::ok();
}

io::Task<io::Result<std::vector<Reassignment>>> Client::list_reassignments() {
  protocol::ListPartitionReassignmentsRequest request;
  request.timeout_ms = static_cast<std::int32_t>(options_.request_timeout.count_ms());
  io::Result<protocol::ListPartitionReassignmentsResponse> answer = co_await call_any(
      protocol::ApiKey::kListPartitionReassignments, kListPartitionReassignmentsVersion, request,
      protocol::write_list_partition_reassignments_request,
      protocol::read_list_partition_reassignments_response);
  if (!answer) co_return std::move(answer).error();
  protocol::ListPartitionReassignmentsResponse& response = *answer;
  if (response.error_code != 0) co_return kafka_error(response.error_code, "reassignments");
  std::vector<Reassignment> out;
  for (protocol::OngoingTopicReassignment& topic : response.topics) {
    for (protocol::OngoingPartitionReassignment& partition : topic.partitions) {
      out.push_back(Reassignment{
          topic.name, partition.partition_index, std::move(partition.replicas),
          std::move(partition.adding_replicas), std::move(partition.removing_replicas)});
    }
  }
  co_return out;
}

}  // namespace strand::client
