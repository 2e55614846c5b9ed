// Consumer groups on a broker on simulated nodes, through Strand's client connection: a member
// joins, syncs, heartbeats and commits; the committed offsets survive a power failure while the
// members do not (the group comes back Empty); sessions and offset retention run on virtual time.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "broker/broker.h"
#include "broker/protocol/error_code.h"
#include "broker_sim_support.h"
#include "client/requests.h"
#include "sim/sim_node.h"
#include "sim/sim_world.h"

namespace strand {
namespace {

using io::Duration;
using protocol::ErrorCode;

constexpr std::uint16_t kPort = 9092;

BrokerConfig group_config() {
  BrokerConfig config;
  config.listen = io::Address{"broker", kPort};
  config.data_dir = "data";
  config.offsets_retention_minutes = 1;
  config.offsets_retention_check_interval_ms = 1000;
  return config;
}

io::Task<void> run_broker(io::Env& env) {
  BrokerConfig config = group_config();
  return testing::serve_until_crashed(env, std::move(config));
}

io::Task<io::Result<std::unique_ptr<client::KafkaConnection>>> connect(io::Env& env) {
  // Named arguments: GCC 12 miscompiles braced temporaries passed by value to a coroutine.
  io::Address address{"broker", kPort};
  std::string client_id = "sim-consumer";
  return testing::connect_when_listening(env, std::move(address), std::move(client_id));
}

io::Error failed(const std::string& what) { return io::Error{io::ErrorKind::kInvalid, what}; }

struct Member {
  std::string id;
  std::int32_t generation = -1;
};

// The v4+ handshake (MEMBER_ID_REQUIRED, then join with the id) and a SyncGroup as leader.
io::Task<io::Result<Member>> join_and_sync(client::KafkaConnection& connection, std::string group) {
  protocol::JoinGroupRequest join;
  join.group_id = group;
  join.session_timeout_ms = 10'000;
  join.rebalance_timeout_ms = 30'000;
  join.protocol_type = "consumer";
  join.protocols.push_back({"range", {}});
  io::Result<protocol::JoinGroupResponse> first = co_await client::join_group(connection, join);
  if (!first) co_return std::move(first).error();
  if (first->error_code != static_cast<std::int16_t>(ErrorCode::kMemberIdRequired)) {
    co_return failed("first join: error " + std::to_string(first->error_code));
  }
  join.member_id = first->member_id;
  io::Result<protocol::JoinGroupResponse> joined = co_await client::join_group(connection, join);
  if (!joined) co_return std::move(joined).error();
  if (joined->error_code != 0 || joined->leader != join.member_id) {
    co_return failed("join: error " + std::to_string(joined->error_code));
  }
  protocol::SyncGroupRequest sync;
  sync.group_id = group;
  sync.generation_id = joined->generation_id;
  sync.member_id = join.member_id;
  const std::vector<std::byte> assignment{std::byte{1}, std::byte{2}};
  sync.assignments.push_back({join.member_id, assignment});
  io::Result<protocol::SyncGroupResponse> synced = co_await client::sync_group(connection, sync);
  if (!synced) co_return std::move(synced).error();
  if (synced->error_code != 0 || synced->assignment != assignment) {
    co_return failed("sync: error " + std::to_string(synced->error_code));
  }
  co_return Member{join.member_id, joined->generation_id};
}

io::Task<io::Result<std::int16_t>> heartbeat(client::KafkaConnection& connection, std::string group,
                                             Member member) {
  protocol::HeartbeatRequest request{group, member.generation, member.id, std::nullopt};
  io::Result<protocol::HeartbeatResponse> response =
      co_await client::heartbeat(connection, request);
  if (!response) co_return std::move(response).error();
  co_return response->error_code;
}

io::Task<io::Result<std::int16_t>> commit(client::KafkaConnection& connection, std::string group,
                                          Member member, std::int64_t offset) {
  protocol::OffsetCommitRequest request;
  request.group_id = group;
  request.generation_id = member.generation;
  request.member_id = member.id;
  request.topics.push_back({"events", {{0, offset, -1, -1, std::string("meta")}}});
  io::Result<protocol::OffsetCommitResponse> response =
      co_await client::offset_commit(connection, request);
  if (!response) co_return std::move(response).error();
  co_return response->topics.at(0).partitions.at(0).error_code;
}

io::Task<io::Result<std::int64_t>> committed(client::KafkaConnection& connection,
                                             std::string group) {
  protocol::OffsetFetchRequest request{group, std::nullopt};
  io::Result<protocol::OffsetFetchResponse> response =
      co_await client::offset_fetch(connection, request);
  if (!response) co_return std::move(response).error();
  for (const protocol::OffsetFetchResponseTopic& topic : response->topics) {
    for (const protocol::OffsetFetchResponsePartition& partition : topic.partitions) {
      if (topic.name == "events" && partition.partition_index == 0) {
        co_return partition.committed_offset;
      }
    }
  }
  co_return std::int64_t{-1};
}

io::Task<io::Result<std::string>> group_state(client::KafkaConnection& connection,
                                              std::string group) {
  protocol::DescribeGroupsRequest request{{group}, false};
  io::Result<protocol::DescribeGroupsResponse> response =
      co_await client::describe_groups(connection, request);
  if (!response) co_return std::move(response).error();
  co_return response->groups.at(0).group_state;
}

struct BeforeCrash {
  Member member;
  std::int16_t coordinator_error = -1;
  std::int16_t heartbeat_error = -1;
  std::int16_t commit_error = -1;
  std::int16_t unknown_topic_error = -1;
  std::int64_t committed = -1;
  std::string state;
};

io::Task<io::Result<BeforeCrash>> join_and_commit(io::Env* env) {
  io::Result<std::unique_ptr<client::KafkaConnection>> connection = co_await connect(*env);
  if (!connection) co_return std::move(connection).error();
  client::KafkaConnection& kafka = **connection;
  BeforeCrash out;
  protocol::FindCoordinatorRequest find{"readers", protocol::kCoordinatorKeyGroup};
  io::Result<protocol::FindCoordinatorResponse> found =
      co_await client::find_coordinator(kafka, find);
  if (!found) co_return std::move(found).error();
  out.coordinator_error = found->error_code;
  protocol::CreateTopicsRequest create;
  create.topics.push_back({"events", 2, 1, {}, {}});
  io::Result<protocol::CreateTopicsResponse> created =
      co_await client::create_topics(kafka, create);
  if (!created) co_return std::move(created).error();
  io::Result<Member> member = co_await join_and_sync(kafka, "readers");
  if (!member) co_return std::move(member).error();
  out.member = *member;
  io::Result<std::int16_t> beat = co_await heartbeat(kafka, "readers", out.member);
  if (!beat) co_return std::move(beat).error();
  out.heartbeat_error = *beat;
  io::Result<std::int16_t> committed_error = co_await commit(kafka, "readers", out.member, 42);
  if (!committed_error) co_return std::move(committed_error).error();
  out.commit_error = *committed_error;
  protocol::OffsetCommitRequest bad;
  bad.group_id = "readers";
  bad.generation_id = out.member.generation;
  bad.member_id = out.member.id;
  bad.topics.push_back({"missing", {{0, 1, -1, -1, std::nullopt}}});
  io::Result<protocol::OffsetCommitResponse> refused = co_await client::offset_commit(kafka, bad);
  if (!refused) co_return std::move(refused).error();
  out.unknown_topic_error = refused->topics.at(0).partitions.at(0).error_code;
  io::Result<std::int64_t> offset = co_await committed(kafka, "readers");
  if (!offset) co_return std::move(offset).error();
  out.committed = *offset;
  io::Result<std::string> state = co_await group_state(kafka, "readers");
  if (!state) co_return std::move(state).error();
  out.state = *state;
  co_return std::move(out);
}

struct AfterCrash {
  std::int64_t committed = -1;
  std::int16_t heartbeat = -1;
  std::string state;
};

io::Task<io::Result<AfterCrash>> look_after_crash(io::Env* env, Member member) {
  io::Result<std::unique_ptr<client::KafkaConnection>> connection = co_await connect(*env);
  if (!connection) co_return std::move(connection).error();
  AfterCrash out;
  io::Result<std::int64_t> offset = co_await committed(**connection, "readers");
  if (!offset) co_return std::move(offset).error();
  out.committed = *offset;
  io::Result<std::int16_t> beat = co_await heartbeat(**connection, "readers", member);
  if (!beat) co_return std::move(beat).error();
  out.heartbeat = *beat;
  io::Result<std::string> state = co_await group_state(**connection, "readers");
  if (!state) co_return std::move(state).error();
  out.state = *state;
  co_return std::move(out);
}

// The group's offsets and its settled generation are records in __consumer_offsets: a power
// failure keeps the acknowledged commit, and the member of the restored generation goes on
// heartbeating without rejoining, as with Kafka.
TEST(GroupSim, CommittedOffsetsAndMembersSurviveAPowerFailure) {
  sim::SimWorld world(21);
  sim::SimNode broker(world, sim::NodeId{0}, "broker", run_broker);
  sim::SimNode consumer(world, sim::NodeId{1}, "consumer");
  io::Result<io::Result<BeforeCrash>> before =
      world.run_task(consumer, join_and_commit(&consumer.env()), Duration::s(60));
  ASSERT_TRUE(before.ok()) << before.error().to_string();
  ASSERT_TRUE(before->ok()) << before->error().to_string();
  const BeforeCrash& b = **before;
  EXPECT_EQ(b.coordinator_error, 0);
  EXPECT_EQ(b.member.generation, 1);
  EXPECT_EQ(b.heartbeat_error, 0);
  EXPECT_EQ(b.commit_error, 0);
  EXPECT_EQ(b.unknown_topic_error, static_cast<std::int16_t>(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(b.committed, 42);
  EXPECT_EQ(b.state, "Stable");
  broker.crash();
  world.run_for(Duration::ms(100));
  broker.restart();
  io::Result<io::Result<AfterCrash>> after =
      world.run_task(consumer, look_after_crash(&consumer.env(), b.member), Duration::s(60));
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  ASSERT_TRUE(after->ok()) << after->error().to_string();
  EXPECT_EQ((*after)->committed, 42);
  EXPECT_EQ((*after)->heartbeat, 0);
  EXPECT_EQ((*after)->state, "Stable");
}

struct Timeline {
  std::int16_t heartbeat_after_silence = -1;
  std::string state_after_silence;
  std::int64_t committed_before_retention = -1;
  std::int64_t committed_after_retention = -1;
  std::size_t groups_after_retention = 99;
};

io::Task<io::Result<Timeline>> go_silent(io::Env* env) {
  io::Result<std::unique_ptr<client::KafkaConnection>> connection = co_await connect(*env);
  if (!connection) co_return std::move(connection).error();
  client::KafkaConnection& kafka = **connection;
  Timeline out;
  protocol::CreateTopicsRequest create;
  create.topics.push_back({"events", 1, 1, {}, {}});
  io::Result<protocol::CreateTopicsResponse> created =
      co_await client::create_topics(kafka, create);
  if (!created) co_return std::move(created).error();
  io::Result<Member> member = co_await join_and_sync(kafka, "quiet");
  if (!member) co_return std::move(member).error();
  io::Result<std::int16_t> committed_error = co_await commit(kafka, "quiet", *member, 7);
  if (!committed_error || *committed_error != 0) co_return failed("commit");
  // No heartbeats for longer than the 10 s session: the member is dropped.
  co_await env->clock().sleep(Duration::s(11));
  io::Result<std::int16_t> beat = co_await heartbeat(kafka, "quiet", *member);
  if (!beat) co_return std::move(beat).error();
  out.heartbeat_after_silence = *beat;
  io::Result<std::string> state = co_await group_state(kafka, "quiet");
  if (!state) co_return std::move(state).error();
  out.state_after_silence = *state;
  io::Result<std::int64_t> kept = co_await committed(kafka, "quiet");
  if (!kept) co_return std::move(kept).error();
  out.committed_before_retention = *kept;
  // offsets.retention.minutes = 1: an Empty group's offsets go a minute after it emptied.
  co_await env->clock().sleep(Duration::s(62));
  io::Result<std::int64_t> expired = co_await committed(kafka, "quiet");
  if (!expired) co_return std::move(expired).error();
  out.committed_after_retention = *expired;
  protocol::ListGroupsRequest list;
  io::Result<protocol::ListGroupsResponse> groups = co_await client::list_groups(kafka, list);
  if (!groups) co_return std::move(groups).error();
  out.groups_after_retention = groups->groups.size();
  co_return std::move(out);
}

TEST(GroupSim, SilentMemberExpiresThenItsOffsetsDoAfterRetention) {
  sim::SimWorld world(22);
  sim::SimNode broker(world, sim::NodeId{0}, "broker", run_broker);
  sim::SimNode consumer(world, sim::NodeId{1}, "consumer");
  io::Result<io::Result<Timeline>> result =
      world.run_task(consumer, go_silent(&consumer.env()), Duration::s(300));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  ASSERT_TRUE(result->ok()) << result->error().to_string();
  const Timeline& t = **result;
  EXPECT_EQ(t.heartbeat_after_silence, static_cast<std::int16_t>(ErrorCode::kUnknownMemberId));
  EXPECT_EQ(t.state_after_silence, "Empty");
  EXPECT_EQ(t.committed_before_retention, 7);
  EXPECT_EQ(t.committed_after_retention, -1);
  EXPECT_EQ(t.groups_after_retention, 0u) << "an Empty group without offsets is removed";
}

// One __consumer_offsets partition with 2 KiB segments: the coordinator compacts it many times.
io::Task<void> run_compacting_broker(io::Env& env) {
  BrokerConfig config = group_config();
  config.offsets_topic_num_partitions = 1;
  config.offsets_topic_segment_bytes = 2048;
  return testing::serve_until_crashed(env, std::move(config));
}

io::Task<io::Result<std::pair<std::int64_t, std::int64_t>>> offsets_log_bounds(
    client::KafkaConnection& connection) {
  std::pair<std::int64_t, std::int64_t> bounds{-1, -1};
  for (const std::int64_t timestamp : {protocol::kEarliestTimestamp, protocol::kLatestTimestamp}) {
    protocol::ListOffsetsRequest request;
    request.topics.push_back({"__consumer_offsets", {{0, -1, timestamp}}});
    io::Result<protocol::ListOffsetsResponse> response =
        co_await client::list_offsets(connection, request);
    if (!response) co_return std::move(response).error();
    const protocol::ListOffsetsPartitionResponse& answer = response->topics.at(0).partitions.at(0);
    if (answer.error_code != 0)
      co_return failed("list offsets: " + std::to_string(answer.error_code));
    (timestamp == protocol::kEarliestTimestamp ? bounds.first : bounds.second) = answer.offset;
  }
  co_return bounds;
}

struct Compacted {
  Member member;
  std::int64_t log_start = -1;
  std::int64_t log_end = -1;
  std::int16_t delete_error = -1;
};

constexpr int kCommits = 400;

// A member commits kCommits times, a standalone group as often, and a third group commits once
// and is deleted early on: its tombstones must keep it deleted once its records are compacted away.
io::Task<io::Result<Compacted>> commit_many(io::Env* env) {
  io::Result<std::unique_ptr<client::KafkaConnection>> connection = co_await connect(*env);
  if (!connection) co_return std::move(connection).error();
  client::KafkaConnection& kafka = **connection;
  Compacted out;
  protocol::CreateTopicsRequest create;
  create.topics.push_back({"events", 1, 1, {}, {}});
  io::Result<protocol::CreateTopicsResponse> created =
      co_await client::create_topics(kafka, create);
  if (!created) co_return std::move(created).error();
  const Member standalone{"", -1};
  io::Result<std::int16_t> once = co_await commit(kafka, "deleted", standalone, 5);
  if (!once || *once != 0) co_return failed("commit of the group to delete");
  protocol::DeleteGroupsRequest remove{{"deleted"}};
  io::Result<protocol::DeleteGroupsResponse> removed =
      co_await client::delete_groups(kafka, remove);
  if (!removed) co_return std::move(removed).error();
  out.delete_error = removed->results.at(0).error_code;
  io::Result<Member> member = co_await join_and_sync(kafka, "readers");
  if (!member) co_return std::move(member).error();
  out.member = *member;
  for (int i = 1; i <= kCommits; ++i) {
    io::Result<std::int16_t> committed_error = co_await commit(kafka, "readers", out.member, i);
    if (!committed_error || *committed_error != 0) co_return failed("commit " + std::to_string(i));
    io::Result<std::int16_t> other = co_await commit(kafka, "standalone", standalone, 1000 + i);
    if (!other || *other != 0) co_return failed("standalone commit " + std::to_string(i));
    if (i % 50 == 0) {
      io::Result<std::int16_t> beat = co_await heartbeat(kafka, "readers", out.member);
      if (!beat || *beat != 0) co_return failed("heartbeat");
    }
  }
  io::Result<std::pair<std::int64_t, std::int64_t>> bounds = co_await offsets_log_bounds(kafka);
  if (!bounds) co_return std::move(bounds).error();
  out.log_start = bounds->first;
  out.log_end = bounds->second;
  co_return std::move(out);
}

struct Reloaded {
  std::int64_t readers = -1;
  std::int64_t standalone = -1;
  std::int64_t deleted = -1;
  std::int16_t heartbeat = -1;
  std::size_t groups = 0;
};

io::Task<io::Result<Reloaded>> read_back(io::Env* env, Member member) {
  io::Result<std::unique_ptr<client::KafkaConnection>> connection = co_await connect(*env);
  if (!connection) co_return std::move(connection).error();
  client::KafkaConnection& kafka = **connection;
  Reloaded out;
  for (auto [group, slot] :
       {std::pair{"readers", &out.readers}, std::pair{"standalone", &out.standalone},
        std::pair{"deleted", &out.deleted}}) {
    io::Result<std::int64_t> offset = co_await committed(kafka, group);
    if (!offset) co_return std::move(offset).error();
    *slot = *offset;
  }
  io::Result<std::int16_t> beat = co_await heartbeat(kafka, "readers", member);
  if (!beat) co_return std::move(beat).error();
  out.heartbeat = *beat;
  protocol::ListGroupsRequest list;
  io::Result<protocol::ListGroupsResponse> groups = co_await client::list_groups(kafka, list);
  if (!groups) co_return std::move(groups).error();
  out.groups = groups->groups.size();
  co_return std::move(out);
}

// __consumer_offsets does not grow without bound: 801 commits of two groups leave a log of about
// a segment and the live records, and a restart replays the compacted log to the same state.
TEST(GroupSim, CompactionBoundsTheOffsetsLogAndKeepsTheState) {
  sim::SimWorld world(23);
  sim::SimNode broker(world, sim::NodeId{0}, "broker", run_compacting_broker);
  sim::SimNode consumer(world, sim::NodeId{1}, "consumer");
  io::Result<io::Result<Compacted>> result =
      world.run_task(consumer, commit_many(&consumer.env()), Duration::s(120));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  ASSERT_TRUE(result->ok()) << result->error().to_string();
  const Compacted& c = **result;
  EXPECT_EQ(c.delete_error, 0);
  EXPECT_GE(c.log_end, 2 * kCommits) << "every commit is a record";
  EXPECT_GT(c.log_start, c.log_end / 2) << "compaction moved the log start";
  // A 2 KiB segment holds about 20 commit records: the rest are the live records and a segment.
  EXPECT_LT(c.log_end - c.log_start, 60);
  broker.crash();
  world.run_for(Duration::ms(100));
  broker.restart();
  io::Result<io::Result<Reloaded>> after =
      world.run_task(consumer, read_back(&consumer.env(), c.member), Duration::s(60));
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  ASSERT_TRUE(after->ok()) << after->error().to_string();
  const Reloaded& r = **after;
  EXPECT_EQ(r.readers, kCommits);
  EXPECT_EQ(r.standalone, 1000 + kCommits);
  EXPECT_EQ(r.deleted, -1) << "a deleted group stays deleted";
  EXPECT_EQ(r.heartbeat, 0) << "the member of the settled generation is restored";
  EXPECT_EQ(r.groups, 2u);
}

}  // namespace
}  // namespace strand
