#include "client/group_admin.h"

#include <utility>

#include "broker/protocol/delete_groups.h"
#include "broker/protocol/describe_groups.h"
#include "broker/protocol/error_code.h"
#include "broker/protocol/find_coordinator.h"
#include "broker/protocol/list_groups.h"
#include "broker/protocol/offset_commit.h"
#include "broker/protocol/offset_fetch.h"
#include "io/assert.h"

namespace strand::client {

namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

// The newest versions Strand's broker implements (none of them flexible).
constexpr std::int16_t kFindCoordinatorVersion = 2;
constexpr std::int16_t kListGroupsVersion = 2;
constexpr std::int16_t kDescribeGroupsVersion = 4;
constexpr std::int16_t kOffsetFetchVersion = 5;  // v2+: topics null fetches every partition
constexpr std::int16_t kOffsetCommitVersion = 7;
constexpr std::int16_t kDeleteGroupsVersion = 1;

constexpr std::int16_t code_of(ErrorCode code) { return static_cast<std::int16_t>(code); }

std::string group_context(const std::string& group) { return "group '" + group + "'"; }

std::int16_t describe_error(const protocol::DescribeGroupsResponse& response) {
  return response.groups.empty() ? 0 : response.groups[0].error_code;
}

std::int16_t fetch_error(const protocol::OffsetFetchResponse& response) {
  if (response.error_code != 0) return response.error_code;
  for (const protocol::OffsetFetchResponseTopic& topic : response.topics) {
    for (const protocol::OffsetFetchResponsePartition& partition : topic.partitions) {
      if (coordinator_may_have_moved(partition.error_code)) return partition.error_code;
    }
  }
  return 0;
}

// The coordinator answers every partition with the group's error, so the first one tells.
std::int16_t commit_error(const protocol::OffsetCommitResponse& response) {
  for (const protocol::OffsetCommitResponseTopic& topic : response.topics) {
    for (const protocol::OffsetCommitResponsePartition& partition : topic.partitions) {
      if (partition.error_code != 0) return partition.error_code;
    }
  }
  return 0;
}

std::int16_t delete_error(const protocol::DeleteGroupsResponse& response) {
  return response.results.empty() ? 0 : response.results[0].error_code;
}

bool connection_lost(const io::Error& error) {
  return error.kind == io::ErrorKind::kClosed || error.kind == io::ErrorKind::kRefused ||
         error.kind == io::ErrorKind::kTimeout;
}

}  // namespace

bool coordinator_may_have_moved(std::int16_t code) {
  return code == code_of(ErrorCode::kCoordinatorNotAvailable) ||
         code == code_of(ErrorCode::kCoordinatorLoadInProgress) ||
         code == code_of(ErrorCode::kNotCoordinator);
}

template <typename Request, typename Response>
io::Task<io::Result<Response>> GroupAdmin::call_at(
    std::shared_ptr<KafkaConnection> connection, ApiKey key, std::int16_t version,
    const Request& request, void (*write)(protocol::Writer&, const Request&, std::int16_t),
    Response (*read)(protocol::Reader&, std::int16_t)) {
  protocol::Writer writer;
  write(writer, request, version);
  std::vector<std::byte> request_body = writer.take();
  io::Result<std::vector<std::byte>> body = co_await client_.call(
      connection, key, version, std::move(request_body), client_.options().request_timeout);
  if (!body) co_return std::move(body).error();
  protocol::Reader reader(*body);
  Response response = read(reader, version);
  if (!reader.ok()) co_return reader.status().error();
  co_return std::move(response);
}

io::Task<io::Result<std::shared_ptr<KafkaConnection>>> GroupAdmin::connection_to(
    std::int32_t node_id) {
  // Without metadata the client would send everything to the bootstrap broker.
  if (!metadata_known_) {
    std::vector<std::string> no_topics;
    io::Result<ClusterMetadata> metadata = co_await client_.metadata(std::move(no_topics));
    if (!metadata) co_return std::move(metadata).error();
    metadata_known_ = true;
  }
  io::Result<std::shared_ptr<KafkaConnection>> connection = co_await client_.connection_to(node_id);
  if (connection || connection.error().kind != io::ErrorKind::kNotFound) {
    co_return std::move(connection);
  }
  // A broker the last metadata did not name (it joined since): ask again, once.
  std::vector<std::string> no_topics;
  io::Result<ClusterMetadata> metadata = co_await client_.metadata(std::move(no_topics));
  if (!metadata) co_return std::move(metadata).error();
  io::Result<std::shared_ptr<KafkaConnection>> again = co_await client_.connection_to(node_id);
  co_return std::move(again);
}

io::Task<io::Result<std::int32_t>> GroupAdmin::find_coordinator(std::string group) {
  auto cached = coordinators_.find(group);
  if (cached != coordinators_.end()) co_return cached->second;
  protocol::FindCoordinatorRequest request;
  request.key = group;
  request.key_type = protocol::kCoordinatorKeyGroup;
  std::optional<io::Error> last_error;
  for (int attempt = 0; attempt < kCoordinatorAttemptsMax; ++attempt) {
    if (attempt > 0) co_await client_.env().clock().sleep(kCoordinatorBackoff);
    io::Result<std::shared_ptr<KafkaConnection>> connection = co_await client_.any_connection();
    if (!connection) co_return std::move(connection).error();
    io::Result<protocol::FindCoordinatorResponse> response = co_await call_at(
        *connection, ApiKey::kFindCoordinator, kFindCoordinatorVersion, request,
        protocol::write_find_coordinator_request, protocol::read_find_coordinator_response);
    if (!response) {
      if (!connection_lost(response.error())) co_return std::move(response).error();
      last_error.emplace(std::move(response).error());
      continue;
    }
    if (response->error_code == 0) {
      coordinators_[group] = response->node_id;
      co_return response->node_id;
    }
    std::string context = "coordinator of " + group_context(group);
    if (response->error_message && !response->error_message->empty()) {
      context += " (" + *response->error_message + ")";
    }
    io::Error error = kafka_error(response->error_code, context);
    if (!coordinator_may_have_moved(response->error_code)) co_return std::move(error);
    last_error.emplace(std::move(error));
  }
  co_return std::move(*last_error);
}

template <typename Request, typename Response>
io::Task<io::Result<Response>> GroupAdmin::call_coordinator(
    std::string group, ApiKey key, std::int16_t version, const Request& request,
    void (*write)(protocol::Writer&, const Request&, std::int16_t),
    Response (*read)(protocol::Reader&, std::int16_t),
    std::int16_t (*group_error)(const Response&)) {
  std::optional<io::Error> last_error;
  for (int attempt = 0; attempt < kCoordinatorAttemptsMax; ++attempt) {
    if (attempt > 0) co_await client_.env().clock().sleep(kCoordinatorBackoff);
    io::Result<std::int32_t> coordinator = co_await find_coordinator(group);
    if (!coordinator) co_return std::move(coordinator).error();
    io::Result<std::shared_ptr<KafkaConnection>> connection = co_await connection_to(*coordinator);
    if (!connection) {
      coordinators_.erase(group);  // the coordinator may be down: another takes over
      if (!connection_lost(connection.error())) co_return std::move(connection).error();
      last_error.emplace(std::move(connection).error());
      continue;
    }
    io::Result<Response> response =
        co_await call_at(*connection, key, version, request, write, read);
    if (!response) {
      coordinators_.erase(group);
      if (!connection_lost(response.error())) co_return std::move(response).error();
      last_error.emplace(std::move(response).error());
      continue;
    }
    const std::int16_t code = group_error(*response);
    if (!coordinator_may_have_moved(code)) co_return std::move(response);
    coordinators_.erase(group);
    last_error.emplace(kafka_error(code, group_context(group)));
  }
  co_return std::move(*last_error);
}

io::Task<io::Result<std::vector<GroupListing>>> GroupAdmin::list_groups() {
  std::vector<std::string> no_topics;
  io::Result<ClusterMetadata> metadata = co_await client_.metadata(std::move(no_topics));
  if (!metadata) co_return std::move(metadata).error();
  metadata_known_ = true;
  std::map<std::string, GroupListing> merged;
  const protocol::ListGroupsRequest request{};
  for (const BrokerInfo& broker : metadata->brokers) {
    const std::string context = "ListGroups at broker " + std::to_string(broker.node_id);
    std::optional<protocol::ListGroupsResponse> answer;
    for (int attempt = 0; attempt < kCoordinatorAttemptsMax && !answer; ++attempt) {
      if (attempt > 0) co_await client_.env().clock().sleep(kCoordinatorBackoff);
      io::Result<std::shared_ptr<KafkaConnection>> connection =
          co_await client_.connection_to(broker.node_id);
      if (!connection) co_return io::with_context(std::move(connection).error(), context);
      io::Result<protocol::ListGroupsResponse> response = co_await call_at(
          *connection, ApiKey::kListGroups, kListGroupsVersion, request,
          protocol::write_list_groups_request, protocol::read_list_groups_response);
      if (!response) co_return io::with_context(std::move(response).error(), context);
      if (response->error_code != 0 && coordinator_may_have_moved(response->error_code) &&
          attempt + 1 < kCoordinatorAttemptsMax) {
        continue;
      }
      if (response->error_code != 0) co_return kafka_error(response->error_code, context);
      answer.emplace(std::move(*response));
    }
    STRAND_ASSERT(answer.has_value(), "the last attempt answers or returns its error");
    for (protocol::ListedGroup& group : answer->groups) {
      merged[group.group_id] = GroupListing{group.group_id, std::move(group.protocol_type)};
    }
  }
  std::vector<GroupListing> out;
  for (auto& [id, listing] : merged) out.push_back(std::move(listing));
  co_return std::move(out);
}

io::Task<io::Result<GroupDescription>> GroupAdmin::describe_group(std::string group) {
  protocol::DescribeGroupsRequest request;
  request.groups.push_back(group);
  io::Result<protocol::DescribeGroupsResponse> response =
      co_await call_coordinator(group, ApiKey::kDescribeGroups, kDescribeGroupsVersion, request,
                                protocol::write_describe_groups_request,
                                protocol::read_describe_groups_response, describe_error);
  if (!response) co_return std::move(response).error();
  if (response->groups.size() != 1 || response->groups[0].group_id != group) {
    co_return io::Error{io::ErrorKind::kCorrupt, "DescribeGroups answered for other groups"};
  }
  protocol::DescribedGroup& described = response->groups[0];
  if (described.error_code != 0) {
    co_return kafka_error(described.error_code, group_context(group));
  }
  GroupDescription out;
  out.group_id = group;
  out.coordinator_id = coordinators_.contains(group) ? coordinators_[group] : -1;
  out.state = std::move(described.group_state);
  out.protocol_type = std::move(described.protocol_type);
  out.protocol = std::move(described.protocol_data);
  for (protocol::DescribedGroupMember& member : described.members) {
    GroupMemberDescription& into = out.members.emplace_back();
    into.member_id = std::move(member.member_id);
    into.group_instance_id = std::move(member.group_instance_id);
    into.client_id = std::move(member.client_id);
    into.client_host = std::move(member.client_host);
    if (out.protocol_type != "consumer") continue;
    // An assignment some client encoded its own way is shown as none, not as a failed call.
    io::Result<std::vector<TopicPartition>> assignment =
        decode_consumer_assignment(member.member_assignment);
    if (assignment) into.assignment = std::move(*assignment);
  }
  co_return std::move(out);
}

io::Task<io::Result<GroupOffsets>> GroupAdmin::committed_offsets(std::string group) {
  protocol::OffsetFetchRequest request;
  request.group_id = group;
  request.topics = std::nullopt;
  io::Result<protocol::OffsetFetchResponse> response = co_await call_coordinator(
      group, ApiKey::kOffsetFetch, kOffsetFetchVersion, request,
      protocol::write_offset_fetch_request, protocol::read_offset_fetch_response, fetch_error);
  if (!response) co_return std::move(response).error();
  if (response->error_code != 0) {
    co_return kafka_error(response->error_code, group_context(group));
  }
  GroupOffsets out;
  for (const protocol::OffsetFetchResponseTopic& topic : response->topics) {
    for (const protocol::OffsetFetchResponsePartition& partition : topic.partitions) {
      const TopicPartition tp{topic.name, partition.partition_index};
      if (partition.error_code != 0) {
        co_return kafka_error(partition.error_code, group_context(group) + " " + tp.to_string());
      }
      if (partition.committed_offset >= 0) out[tp] = partition.committed_offset;
    }
  }
  co_return std::move(out);
}

io::Task<io::Result<void>> GroupAdmin::commit_offsets(std::string group, GroupOffsets offsets) {
  const protocol::OffsetCommitRequest request = offset_commit_request(group, -1, "", offsets);
  io::Result<protocol::OffsetCommitResponse> response = co_await call_coordinator(
      group, ApiKey::kOffsetCommit, kOffsetCommitVersion, request,
      protocol::write_offset_commit_request, protocol::read_offset_commit_response, commit_error);
  if (!response) co_return std::move(response).error();
  std::size_t answered = 0;
  for (const protocol::OffsetCommitResponseTopic& topic : response->topics) {
    for (const protocol::OffsetCommitResponsePartition& partition : topic.partitions) {
      answered += 1;
      if (partition.error_code == 0) continue;
      const TopicPartition tp{topic.name, partition.partition_index};
      co_return kafka_error(partition.error_code,
                            "commit of " + tp.to_string() + " in " + group_context(group));
    }
  }
  if (answered != offsets.size()) {
    co_return io::Error{io::ErrorKind::kCorrupt, "OffsetCommit answered " +
                                                     std::to_string(answered) + " partitions of " +
                                                     std::to_string(offsets.size())};
  }
  co_return io::ok();
}

io::Task<io::Result<void>> GroupAdmin::delete_group(std::string group) {
  protocol::DeleteGroupsRequest request;
  request.groups_names.push_back(group);
  io::Result<protocol::DeleteGroupsResponse> response = co_await call_coordinator(
      group, ApiKey::kDeleteGroups, kDeleteGroupsVersion, request,
      protocol::write_delete_groups_request, protocol::read_delete_groups_response, delete_error);
  if (!response) co_return std::move(response).error();
  if (response->results.size() != 1 || response->results[0].group_id != group) {
    co_return io::Error{io::ErrorKind::kCorrupt, "DeleteGroups answered for other groups"};
  }
  const std::int16_t code = response->results[0].error_code;
  if (code != 0) co_return kafka_error(code, group_context(group));
  co_return io::ok();
}

}  // namespace strand::client
