#include "client/group_consumer.h"

#include <utility>

#include "broker/protocol/error_code.h"
#include "broker/protocol/heartbeat.h"
#include "broker/protocol/join_group.h"
#include "broker/protocol/leave_group.h"
#include "broker/protocol/list_offsets.h"
#include "broker/protocol/offset_commit.h"
#include "broker/protocol/offset_fetch.h"
#include "broker/protocol/sync_group.h"
#include "client/consumer_protocol.h"
#include "io/assert.h"

namespace strand::client {

namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

// The newest versions Strand's broker implements (none of them flexible).
constexpr std::int16_t kJoinGroupVersion = 5;  // v4+: MEMBER_ID_REQUIRED
constexpr std::int16_t kSyncGroupVersion = 3;
constexpr std::int16_t kHeartbeatVersion = 3;
constexpr std::int16_t kLeaveGroupVersion = 3;
constexpr std::int16_t kOffsetCommitVersion = 7;
constexpr std::int16_t kOffsetFetchVersion = 5;
// JoinGroup rounds in one join(): MEMBER_ID_REQUIRED and a rebalance that restarts during the
// SyncGroup each cost one.
constexpr int kJoinRoundsMax = 4;

constexpr std::int16_t code_of(ErrorCode code) { return static_cast<std::int16_t>(code); }

}  // namespace

GroupConsumer::GroupConsumer(Client& client, GroupConsumerOptions options)
    : client_(client), admin_(client), options_(std::move(options)) {
  STRAND_ASSERT(!options_.group_id.empty(), "a group member names its group");
  STRAND_ASSERT(!options_.topics.empty(), "a group member subscribes to some topic");
}

template <typename Request, typename Response>
io::Task<io::Result<Response>> GroupConsumer::call_coordinator(
    ApiKey key, std::int16_t version, const Request& request,
    void (*write)(protocol::Writer&, const Request&, std::int16_t),
    Response (*read)(protocol::Reader&, std::int16_t), io::Duration timeout) {
  io::Result<std::int32_t> coordinator = co_await admin_.find_coordinator(options_.group_id);
  if (!coordinator) co_return std::move(coordinator).error();
  io::Result<std::shared_ptr<KafkaConnection>> connection =
      co_await admin_.connection_to(*coordinator);
  if (!connection) {
    admin_.forget_coordinator(options_.group_id);
    co_return std::move(connection).error();
  }
  protocol::Writer writer;
  write(writer, request, version);
  std::vector<std::byte> request_body = writer.take();
  io::Result<std::vector<std::byte>> body =
      co_await client_.call(*connection, key, version, std::move(request_body), timeout);
  if (!body) {
    admin_.forget_coordinator(options_.group_id);  // the coordinator may be down or moved
    co_return std::move(body).error();
  }
  protocol::Reader reader(*body);
  Response response = read(reader, version);
  if (!reader.ok()) co_return reader.status().error();
  co_return std::move(response);
}

void GroupConsumer::forget_coordinator_if_moved(std::int16_t code) {
  if (coordinator_may_have_moved(code)) admin_.forget_coordinator(options_.group_id);
}

bool GroupConsumer::fenced(std::int16_t code) {
  if (code == code_of(ErrorCode::kUnknownMemberId)) member_id_.clear();
  if (code == code_of(ErrorCode::kUnknownMemberId) ||
      code == code_of(ErrorCode::kIllegalGeneration) ||
      code == code_of(ErrorCode::kRebalanceInProgress)) {
    active_ = false;
    return true;
  }
  return false;
}

io::Task<io::Result<std::vector<protocol::SyncGroupRequestAssignment>>> GroupConsumer::assign(
    const protocol::JoinGroupResponse& joined) {
  std::map<std::string, std::vector<std::string>> subscriptions;
  std::map<std::string, std::int32_t> partitions_count;
  for (const protocol::JoinGroupResponseMember& member : joined.members) {
    io::Result<std::vector<std::string>> topics = decode_consumer_subscription(member.metadata);
    if (!topics)
      co_return io::with_context(std::move(topics).error(), "member " + member.member_id);
    for (const std::string& topic : *topics) {
      if (partitions_count.contains(topic)) continue;
      std::string name = topic;
      io::Result<std::int32_t> count = co_await client_.partitions_count(std::move(name), false);
      if (!count) co_return std::move(count).error();
      partitions_count[topic] = *count;
    }
    subscriptions[member.member_id] = std::move(*topics);
  }
  std::vector<protocol::SyncGroupRequestAssignment> out;
  for (const auto& [member, partitions] : range_assign(subscriptions, partitions_count)) {
    out.push_back(
        protocol::SyncGroupRequestAssignment{member, encode_consumer_assignment(partitions)});
  }
  co_return std::move(out);
}

// SyncGroup for the generation `joined` opened: the assignment bytes, or the error.
io::Task<io::Result<std::vector<std::byte>>> GroupConsumer::sync(
    const protocol::JoinGroupResponse& joined) {
  protocol::SyncGroupRequest request;
  request.group_id = options_.group_id;
  request.generation_id = joined.generation_id;
  request.member_id = joined.member_id;
  if (joined.leader == joined.member_id) {
    io::Result<std::vector<protocol::SyncGroupRequestAssignment>> assignments =
        co_await assign(joined);
    if (!assignments) co_return std::move(assignments).error();
    request.assignments = std::move(*assignments);
  }
  // The coordinator answers the others once the leader's assignment is stored.
  const io::Duration timeout = options_.rebalance_timeout + client_.options().request_timeout;
  io::Result<protocol::SyncGroupResponse> response = co_await call_coordinator(
      ApiKey::kSyncGroup, kSyncGroupVersion, request, protocol::write_sync_group_request,
      protocol::read_sync_group_response, timeout);
  if (!response) co_return std::move(response).error();
  if (response->error_code != 0) {
    forget_coordinator_if_moved(response->error_code);
    co_return kafka_error(response->error_code, "SyncGroup of group '" + options_.group_id + "'");
  }
  co_return std::move(response->assignment);
}

io::Task<io::Result<void>> GroupConsumer::join() {
  active_ = false;
  positions_known_ = false;
  assignment_.clear();
  positions_.clear();
  const std::string context = "JoinGroup of group '" + options_.group_id + "'";
  std::optional<io::Error> last_error;
  for (int round = 0; round < kJoinRoundsMax; ++round) {
    protocol::JoinGroupRequest request;
    request.group_id = options_.group_id;
    request.session_timeout_ms = static_cast<std::int32_t>(options_.session_timeout.count_ms());
    request.rebalance_timeout_ms = static_cast<std::int32_t>(options_.rebalance_timeout.count_ms());
    request.member_id = member_id_;
    request.protocol_type = kConsumerProtocolType;
    request.protocols.push_back(protocol::JoinGroupRequestProtocol{
        kRangeAssignorName, encode_consumer_subscription(options_.topics)});
    // The coordinator parks a JoinGroup until the rebalance completes.
    const io::Duration timeout = options_.rebalance_timeout + client_.options().request_timeout;
    io::Result<protocol::JoinGroupResponse> joined = co_await call_coordinator(
        ApiKey::kJoinGroup, kJoinGroupVersion, request, protocol::write_join_group_request,
        protocol::read_join_group_response, timeout);
    if (!joined) co_return std::move(joined).error();
    const std::int16_t code = joined->error_code;
    if (code == code_of(ErrorCode::kMemberIdRequired)) {
      member_id_ = joined->member_id;  // join again under the id the coordinator chose
      last_error.emplace(kafka_error(code, context));
      continue;
    }
    if (code == code_of(ErrorCode::kUnknownMemberId) && !member_id_.empty()) {
      member_id_.clear();  // a coordinator that forgot this member: join as a new one
      last_error.emplace(kafka_error(code, context));
      continue;
    }
    if (code != 0) {
      forget_coordinator_if_moved(code);
      (void)fenced(code);
      co_return kafka_error(code, context);
    }
    member_id_ = joined->member_id;
    io::Result<std::vector<std::byte>> assignment = co_await sync(*joined);
    if (!assignment) {
      // A rebalance that started again during the sync: join the next generation.
      if (has_kafka_code(assignment.error(), code_of(ErrorCode::kRebalanceInProgress))) {
        last_error.emplace(std::move(assignment).error());
        continue;
      }
      if (has_kafka_code(assignment.error(), code_of(ErrorCode::kUnknownMemberId))) {
        member_id_.clear();
      }
      co_return std::move(assignment).error();
    }
    io::Result<std::vector<TopicPartition>> partitions = decode_consumer_assignment(*assignment);
    if (!partitions) co_return std::move(partitions).error();
    generation_ = joined->generation_id;
    assignment_ = std::move(*partitions);
    active_ = true;
    next_heartbeat_ = client_.env().clock().now() + options_.heartbeat_interval;
    co_return io::ok();
  }
  STRAND_ASSERT(last_error.has_value(), "every round that continues leaves its error");
  co_return std::move(*last_error);
}

io::Task<io::Result<std::map<TopicPartition, std::int64_t>>> GroupConsumer::fetch_positions() {
  STRAND_ASSERT(active_, "positions are fetched for a settled generation");
  protocol::OffsetFetchRequest request;
  request.group_id = options_.group_id;
  std::vector<protocol::OffsetFetchRequestTopic> topics;
  for (const TopicPartition& tp : assignment_) {
    if (topics.empty() || topics.back().name != tp.topic) topics.push_back({tp.topic, {}});
    topics.back().partition_indexes.push_back(tp.partition);
  }
  request.topics = std::move(topics);
  io::Result<protocol::OffsetFetchResponse> response = co_await call_coordinator(
      ApiKey::kOffsetFetch, kOffsetFetchVersion, request, protocol::write_offset_fetch_request,
      protocol::read_offset_fetch_response, client_.options().request_timeout);
  if (!response) co_return std::move(response).error();
  const std::string context = "OffsetFetch of group '" + options_.group_id + "'";
  if (response->error_code != 0) {
    forget_coordinator_if_moved(response->error_code);
    co_return kafka_error(response->error_code, context);
  }
  std::map<TopicPartition, std::int64_t> committed;
  for (const TopicPartition& tp : assignment_) committed[tp] = -1;
  for (const protocol::OffsetFetchResponseTopic& topic : response->topics) {
    for (const protocol::OffsetFetchResponsePartition& partition : topic.partitions) {
      const TopicPartition tp{topic.name, partition.partition_index};
      if (partition.error_code != 0) {
        forget_coordinator_if_moved(partition.error_code);
        co_return kafka_error(partition.error_code, context + " " + tp.to_string());
      }
      if (committed.contains(tp)) committed[tp] = partition.committed_offset;
    }
  }
  std::map<TopicPartition, std::int64_t> starts;
  std::map<std::string, std::vector<std::int32_t>> uncommitted;
  for (const auto& [tp, offset] : committed) {
    if (offset >= 0) {
      starts[tp] = offset;
    } else {
      uncommitted[tp.topic].push_back(tp.partition);
    }
  }
  for (auto& [topic, partitions] : uncommitted) {
    std::string name = topic;
    io::Result<std::map<std::int32_t, std::int64_t>> earliest =
        co_await client_.list_offsets(std::move(name), partitions, protocol::kEarliestTimestamp);
    if (!earliest) co_return std::move(earliest).error();
    for (const std::int32_t partition : partitions) {
      auto found = earliest->find(partition);
      starts[TopicPartition{topic, partition}] = found == earliest->end() ? 0 : found->second;
    }
  }
  positions_ = std::move(starts);
  positions_known_ = true;
  co_return std::move(committed);
}

io::Task<io::Result<void>> GroupConsumer::heartbeat() {
  protocol::HeartbeatRequest request;
  request.group_id = options_.group_id;
  request.generation_id = generation_;
  request.member_id = member_id_;
  io::Result<protocol::HeartbeatResponse> response = co_await call_coordinator(
      ApiKey::kHeartbeat, kHeartbeatVersion, request, protocol::write_heartbeat_request,
      protocol::read_heartbeat_response, client_.options().request_timeout);
  if (!response) co_return std::move(response).error();
  const std::int16_t code = response->error_code;
  if (code == 0 || fenced(code)) {
    next_heartbeat_ = client_.env().clock().now() + options_.heartbeat_interval;
    co_return io::ok();
  }
  forget_coordinator_if_moved(code);
  co_return kafka_error(code, "Heartbeat of group '" + options_.group_id + "'");
}

io::Task<io::Result<std::vector<FetchedRecords>>> GroupConsumer::poll() {
  STRAND_ASSERT(positions_known_, "poll() after fetch_positions()");
  if (client_.env().clock().now() >= next_heartbeat_) {
    io::Result<void> beat = co_await heartbeat();
    if (!beat) co_return std::move(beat).error();
  }
  std::vector<FetchedRecords> out;
  if (!active_) co_return std::move(out);
  if (positions_.empty()) {
    // Nothing assigned (more members than partitions): only heartbeats are due, so wait for the
    // next one rather than answer at once (a caller polling in a loop would spin).
    const io::Instant now = client_.env().clock().now();
    if (next_heartbeat_ > now) co_await client_.env().clock().sleep(next_heartbeat_ - now);
    co_return std::move(out);
  }
  std::map<std::string, std::vector<FetchPosition>> by_topic;
  for (const auto& [tp, offset] : positions_) {
    by_topic[tp.topic].push_back(FetchPosition{tp.partition, offset});
  }
  for (auto& [topic, positions] : by_topic) {
    std::string name = topic;
    io::Result<std::vector<FetchedRecords>> fetched =
        co_await client_.fetch_many(std::move(name), positions, options_.fetch_limits);
    if (!fetched) {
      if (has_kafka_code(fetched.error(), code_of(ErrorCode::kOffsetOutOfRange))) {
        io::Result<void> clamped = co_await clamp_positions(topic);
        (void)clamped;  // a failure leaves the positions for the next poll to try again
        co_return std::move(fetched).error();
      }
      // One partition's error (a corrupt batch, a lost leader) must not hold up the others.
      for (const FetchPosition& position : positions) {
        std::string one = topic;
        const io::Duration no_wait;
        io::Result<FetchedRecords> single =
            co_await client_.fetch(std::move(one), position.partition, position.offset,
                                   options_.fetch_limits.partition_max_bytes, no_wait);
        if (!single) continue;
        const TopicPartition tp{topic, single->partition};
        positions_[tp] = std::max(positions_[tp], single->next_offset);
        high_watermarks_[tp] = single->high_watermark;
        out.push_back(std::move(*single));
      }
      if (out.empty()) co_return std::move(fetched).error();
      continue;
    }
    for (FetchedRecords& records : *fetched) {
      const TopicPartition tp{topic, records.partition};
      std::int64_t& position = positions_[tp];
      position = std::max(position, records.next_offset);
      high_watermarks_[tp] = records.high_watermark;
      out.push_back(std::move(records));
    }
  }
  co_return std::move(out);
}

io::Task<io::Result<void>> GroupConsumer::clamp_positions(std::string topic) {
  std::vector<std::int32_t> partitions;
  for (const auto& [tp, offset] : positions_) {
    if (tp.topic == topic) partitions.push_back(tp.partition);
  }
  io::Result<std::map<std::int32_t, std::int64_t>> earliest =
      co_await client_.list_offsets(topic, partitions, protocol::kEarliestTimestamp);
  if (!earliest) co_return std::move(earliest).error();
  io::Result<std::map<std::int32_t, std::int64_t>> latest =
      co_await client_.list_offsets(topic, partitions, protocol::kLatestTimestamp);
  if (!latest) co_return std::move(latest).error();
  for (const std::int32_t partition : partitions) {
    std::int64_t& position = positions_[TopicPartition{topic, partition}];
    auto low = earliest->find(partition);
    auto high = latest->find(partition);
    if (low != earliest->end() && position < low->second) position = low->second;
    if (high != latest->end() && position > high->second) position = high->second;
  }
  co_return io::ok();
}

io::Task<io::Result<std::vector<CommitOutcome>>> GroupConsumer::commit() {
  STRAND_ASSERT(positions_known_, "commit() after fetch_positions()");
  const protocol::OffsetCommitRequest request =
      offset_commit_request(options_.group_id, generation_, member_id_, positions_);
  io::Result<protocol::OffsetCommitResponse> response = co_await call_coordinator(
      ApiKey::kOffsetCommit, kOffsetCommitVersion, request, protocol::write_offset_commit_request,
      protocol::read_offset_commit_response, client_.options().request_timeout);
  if (!response) co_return std::move(response).error();
  std::vector<CommitOutcome> out;
  for (const protocol::OffsetCommitResponseTopic& topic : response->topics) {
    for (const protocol::OffsetCommitResponsePartition& partition : topic.partitions) {
      const TopicPartition tp{topic.name, partition.partition_index};
      auto sent = positions_.find(tp);
      if (sent == positions_.end()) {
        co_return io::Error{io::ErrorKind::kCorrupt,
                            "OffsetCommit answered for " + tp.to_string() + ", not committed"};
      }
      forget_coordinator_if_moved(partition.error_code);
      (void)fenced(partition.error_code);
      out.push_back(CommitOutcome{tp, sent->second, partition.error_code});
    }
  }
  co_return std::move(out);
}

io::Task<void> GroupConsumer::leave() {
  if (!member_id_.empty()) {
    protocol::LeaveGroupRequest request;
    request.group_id = options_.group_id;
    request.member_id = member_id_;
    request.members.push_back(protocol::MemberIdentity{member_id_, std::nullopt});
    io::Result<protocol::LeaveGroupResponse> response = co_await call_coordinator(
        ApiKey::kLeaveGroup, kLeaveGroupVersion, request, protocol::write_leave_group_request,
        protocol::read_leave_group_response, client_.options().request_timeout);
    (void)response;  // best effort: the session timeout removes a member whose leave was lost
  }
  member_id_.clear();
  generation_ = -1;
  active_ = false;
  positions_known_ = false;
  assignment_.clear();
  positions_.clear();
}

}  // namespace strand::client
