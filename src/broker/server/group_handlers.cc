// Consumer groups: FindCoordinator and the group APIs, decoded here and answered by the group
// coordinator. JoinGroup and SyncGroup may park for the length of a rebalance; the connection
// keeps reading meanwhile and answers in request order, as Kafka does.
#include "broker/protocol/delete_groups.h"
#include "broker/protocol/describe_groups.h"
#include "broker/protocol/find_coordinator.h"
#include "broker/protocol/heartbeat.h"
#include "broker/protocol/join_group.h"
#include "broker/protocol/leave_group.h"
#include "broker/protocol/list_groups.h"
#include "broker/protocol/offset_commit.h"
#include "broker/protocol/offset_delete.h"
#include "broker/protocol/offset_fetch.h"
#include "broker/protocol/sync_group.h"
#include "broker/server/kafka_api.h"
#include "broker/server/response.h"

namespace strand::server {

using protocol::ErrorCode;

// The coordinator of a group is the leader of its __consumer_offsets partition: this broker on a
// single node; in a cluster, as the metadata image and the replica here know it.
void KafkaApi::locate_coordinator(const std::string& group_id,
                                  protocol::FindCoordinatorResponse& response) const {
  if (!partitions_.clustered()) {
    const io::Address advertised = config_.advertised();
    response.node_id = config_.node_id;
    response.host = advertised.host;
    response.port = advertised.port;
    return;
  }
  const protocol::MetadataResponsePartition partition =
      describe_partition(group::kOffsetsTopic, groups_.offsets_partition(group_id));
  for (const protocol::MetadataResponseBroker& broker : brokers()) {
    if (partition.error_code == 0 && broker.node_id == partition.leader_id) {
      response.node_id = broker.node_id;
      response.host = broker.host;
      response.port = broker.port;
      return;
    }
  }
  response.error_code = static_cast<std::int16_t>(ErrorCode::kCoordinatorNotAvailable);
  response.error_message = "the group's coordinator is being elected";
}

io::Task<HandlerResult> KafkaApi::find_coordinator(const Header& header, protocol::Reader& body) {
  protocol::FindCoordinatorRequest request =
      protocol::read_find_coordinator_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::FindCoordinatorResponse response;
  if (request.key_type == protocol::kCoordinatorKeyTransaction) {
    response.error_code = static_cast<std::int16_t>(ErrorCode::kCoordinatorNotAvailable);
    response.error_message = "transactions are not supported";
  } else if (request.key_type != protocol::kCoordinatorKeyGroup) {
    response.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidRequest);
    response.error_message = "unknown coordinator key type";
  } else {
    const ErrorCode ready = co_await groups_.ensure_offsets_topic();
    response.error_code = static_cast<std::int16_t>(ready);
    if (ready == ErrorCode::kNone) locate_coordinator(request.key, response);
  }
  co_return encode(header, response, protocol::write_find_coordinator_response);
}

io::Task<HandlerResult> KafkaApi::join_group(const Header& header, protocol::Reader& body,
                                             ConnectionContext& context) {
  protocol::JoinGroupRequest request = protocol::read_join_group_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  group::ClientInfo client{header.client_id.value_or(""), context.client_host};
  protocol::JoinGroupResponse response =
      co_await groups_.join(std::move(request), header.api_version, std::move(client));
  co_return encode(header, response, protocol::write_join_group_response);
}

io::Task<HandlerResult> KafkaApi::sync_group(const Header& header, protocol::Reader& body) {
  protocol::SyncGroupRequest request = protocol::read_sync_group_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::SyncGroupResponse response = co_await groups_.sync(std::move(request));
  co_return encode(header, response, protocol::write_sync_group_response);
}

HandlerResult KafkaApi::heartbeat(const Header& header, protocol::Reader& body) {
  protocol::HeartbeatRequest request = protocol::read_heartbeat_request(body, header.api_version);
  if (!body.ok()) return decode_failure(header, body);
  return encode(header, groups_.heartbeat(request), protocol::write_heartbeat_response);
}

HandlerResult KafkaApi::leave_group(const Header& header, protocol::Reader& body) {
  protocol::LeaveGroupRequest request =
      protocol::read_leave_group_request(body, header.api_version);
  if (!body.ok()) return decode_failure(header, body);
  return encode(header, groups_.leave(request, header.api_version),
                protocol::write_leave_group_response);
}

io::Task<HandlerResult> KafkaApi::offset_commit(const Header& header, protocol::Reader& body) {
  protocol::OffsetCommitRequest request =
      protocol::read_offset_commit_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::OffsetCommitResponse response = co_await groups_.commit(std::move(request));
  co_return encode(header, response, protocol::write_offset_commit_response);
}

HandlerResult KafkaApi::offset_fetch(const Header& header, protocol::Reader& body) {
  protocol::OffsetFetchRequest request =
      protocol::read_offset_fetch_request(body, header.api_version);
  if (!body.ok()) return decode_failure(header, body);
  return encode(header, groups_.fetch_offsets(request, header.api_version),
                protocol::write_offset_fetch_response);
}

io::Task<HandlerResult> KafkaApi::offset_delete(const Header& header, protocol::Reader& body) {
  protocol::OffsetDeleteRequest request =
      protocol::read_offset_delete_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::OffsetDeleteResponse response = co_await groups_.delete_offsets(std::move(request));
  co_return encode(header, response, protocol::write_offset_delete_response);
}

HandlerResult KafkaApi::list_groups(const Header& header, protocol::Reader& body) {
  (void)protocol::read_list_groups_request(body, header.api_version);
  if (!body.ok()) return decode_failure(header, body);
  return encode(header, groups_.list_groups(), protocol::write_list_groups_response);
}

HandlerResult KafkaApi::describe_groups(const Header& header, protocol::Reader& body) {
  protocol::DescribeGroupsRequest request =
      protocol::read_describe_groups_request(body, header.api_version);
  if (!body.ok()) return decode_failure(header, body);
  return encode(header, groups_.describe_groups(request), protocol::write_describe_groups_response);
}

io::Task<HandlerResult> KafkaApi::delete_groups(const Header& header, protocol::Reader& body) {
  protocol::DeleteGroupsRequest request =
      protocol::read_delete_groups_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::DeleteGroupsResponse response = co_await groups_.delete_groups(std::move(request));
  co_return encode(header, response, protocol::write_delete_groups_response);
}

}  // namespace strand::server
