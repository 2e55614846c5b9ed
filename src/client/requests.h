// Typed requests over a KafkaConnection: encode the request at a version, decode the response.
// The versions are the newest this client and Strand's broker share.
#pragma once

#include "broker/protocol/create_topics.h"
#include "broker/protocol/delete_groups.h"
#include "broker/protocol/delete_topics.h"
#include "broker/protocol/describe_groups.h"
#include "broker/protocol/fetch.h"
#include "broker/protocol/find_coordinator.h"
#include "broker/protocol/heartbeat.h"
#include "broker/protocol/join_group.h"
#include "broker/protocol/leave_group.h"
#include "broker/protocol/list_groups.h"
#include "broker/protocol/list_offsets.h"
#include "broker/protocol/metadata.h"
#include "broker/protocol/offset_commit.h"
#include "broker/protocol/offset_fetch.h"
#include "broker/protocol/produce.h"
#include "broker/protocol/sync_group.h"
#include "client/kafka_connection.h"

namespace strand::client {

template <typename Request, typename Response>
io::Task<io::Result<Response>> call_typed(KafkaConnection& connection, protocol::ApiKey key,
                                          std::int16_t version, const Request& request,
                                          void (*write)(protocol::Writer&, const Request&,
                                                        std::int16_t),
                                          Response (*read)(protocol::Reader&, std::int16_t)) {
  protocol::Writer writer;
  write(writer, request, version);
  io::Result<std::vector<std::byte>> body = co_await connection.call(key, version, writer.take());
  if (!body) co_return std::move(body).error();
  protocol::Reader reader(*body);
  Response response = read(reader, version);
  if (!reader.ok()) co_return reader.status().error();
  co_return std::move(response);
}

inline io::Task<io::Result<protocol::MetadataResponse>> metadata(
    KafkaConnection& connection, const protocol::MetadataRequest& request) {
  return call_typed(connection, protocol::ApiKey::kMetadata, 8, request,
                    protocol::write_metadata_request, protocol::read_metadata_response);
}

inline io::Task<io::Result<protocol::CreateTopicsResponse>> create_topics(
    KafkaConnection& connection, const protocol::CreateTopicsRequest& request) {
  return call_typed(connection, protocol::ApiKey::kCreateTopics, 4, request,
                    protocol::write_create_topics_request, protocol::read_create_topics_response);
}

inline io::Task<io::Result<protocol::DeleteTopicsResponse>> delete_topics(
    KafkaConnection& connection, const protocol::DeleteTopicsRequest& request) {
  return call_typed(connection, protocol::ApiKey::kDeleteTopics, 3, request,
                    protocol::write_delete_topics_request, protocol::read_delete_topics_response);
}

// REQUIRES: request.acks != 0 (use KafkaConnection::send for acks=0).
inline io::Task<io::Result<protocol::ProduceResponse>> produce(
    KafkaConnection& connection, const protocol::ProduceRequest& request) {
  return call_typed(connection, protocol::ApiKey::kProduce, 8, request,
                    protocol::write_produce_request, protocol::read_produce_response);
}

inline io::Task<io::Result<protocol::FetchResponse>> fetch(KafkaConnection& connection,
                                                           const protocol::FetchRequest& request) {
  return call_typed(connection, protocol::ApiKey::kFetch, 11, request,
                    protocol::write_fetch_request, protocol::read_fetch_response);
}

inline io::Task<io::Result<protocol::ListOffsetsResponse>> list_offsets(
    KafkaConnection& connection, const protocol::ListOffsetsRequest& request) {
  return call_typed(connection, protocol::ApiKey::kListOffsets, 5, request,
                    protocol::write_list_offsets_request, protocol::read_list_offsets_response);
}

// ---- Consumer groups (the newest non-flexible versions) ----------------------------------------

inline io::Task<io::Result<protocol::FindCoordinatorResponse>> find_coordinator(
    KafkaConnection& connection, const protocol::FindCoordinatorRequest& request) {
  return call_typed(connection, protocol::ApiKey::kFindCoordinator, 2, request,
                    protocol::write_find_coordinator_request,
                    protocol::read_find_coordinator_response);
}

// Parks for a whole rebalance (up to the rebalance timeout).
inline io::Task<io::Result<protocol::JoinGroupResponse>> join_group(
    KafkaConnection& connection, const protocol::JoinGroupRequest& request) {
  return call_typed(connection, protocol::ApiKey::kJoinGroup, 5, request,
                    protocol::write_join_group_request, protocol::read_join_group_response);
}

inline io::Task<io::Result<protocol::SyncGroupResponse>> sync_group(
    KafkaConnection& connection, const protocol::SyncGroupRequest& request) {
  return call_typed(connection, protocol::ApiKey::kSyncGroup, 3, request,
                    protocol::write_sync_group_request, protocol::read_sync_group_response);
}

inline io::Task<io::Result<protocol::HeartbeatResponse>> heartbeat(
    KafkaConnection& connection, const protocol::HeartbeatRequest& request) {
  return call_typed(connection, protocol::ApiKey::kHeartbeat, 3, request,
                    protocol::write_heartbeat_request, protocol::read_heartbeat_response);
}

inline io::Task<io::Result<protocol::LeaveGroupResponse>> leave_group(
    KafkaConnection& connection, const protocol::LeaveGroupRequest& request) {
  return call_typed(connection, protocol::ApiKey::kLeaveGroup, 3, request,
                    protocol::write_leave_group_request, protocol::read_leave_group_response);
}

inline io::Task<io::Result<protocol::OffsetCommitResponse>> offset_commit(
    KafkaConnection& connection, const protocol::OffsetCommitRequest& request) {
  return call_typed(connection, protocol::ApiKey::kOffsetCommit, 7, request,
                    protocol::write_offset_commit_request, protocol::read_offset_commit_response);
}

inline io::Task<io::Result<protocol::OffsetFetchResponse>> offset_fetch(
    KafkaConnection& connection, const protocol::OffsetFetchRequest& request) {
  return call_typed(connection, protocol::ApiKey::kOffsetFetch, 5, request,
                    protocol::write_offset_fetch_request, protocol::read_offset_fetch_response);
}

inline io::Task<io::Result<protocol::ListGroupsResponse>> list_groups(
    KafkaConnection& connection, const protocol::ListGroupsRequest& request) {
  return call_typed(connection, protocol::ApiKey::kListGroups, 2, request,
                    protocol::write_list_groups_request, protocol::read_list_groups_response);
}

inline io::Task<io::Result<protocol::DescribeGroupsResponse>> describe_groups(
    KafkaConnection& connection, const protocol::DescribeGroupsRequest& request) {
  return call_typed(connection, protocol::ApiKey::kDescribeGroups, 4, request,
                    protocol::write_describe_groups_request,
                    protocol::read_describe_groups_response);
}

inline io::Task<io::Result<protocol::DeleteGroupsResponse>> delete_groups(
    KafkaConnection& connection, const protocol::DeleteGroupsRequest& request) {
  return call_typed(connection, protocol::ApiKey::kDeleteGroups, 1, request,
                    protocol::write_delete_groups_request, protocol::read_delete_groups_response);
}

}  // namespace strand::client
