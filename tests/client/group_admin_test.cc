// Consumer-group administration (client/group_admin.h) against the whole broker on simulated
// nodes: an administrator's commits create an Empty group whose offsets read back; a group with a
// member is described with its decoded assignment and refuses admin commits and deletion; once
// the member leaves, the group is deleted and disappears from the list. Also the consumer
// protocol's assignment decoding, and the describe rows and tables (client/group_report.h).
#include "client/group_admin.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/protocol/codec.h"
#include "broker/protocol/error_code.h"
#include "client/group_report.h"
#include "client/requests.h"
#include "sim/sim_node.h"
#include "sim/sim_world.h"
#include "sim_broker.h"

namespace strand {
namespace {

using client::Client;
using client::GroupAdmin;
using client::TopicPartition;
using io::Duration;
using protocol::ErrorCode;

using client_test::connect;
using client_test::kPort;
using client_test::run_broker;

std::vector<std::byte> assignment_bytes(
    std::int16_t version, const std::map<std::string, std::vector<std::int32_t>>& topics) {
  protocol::Writer writer;
  writer.write_i16(version);
  writer.write_i32(static_cast<std::int32_t>(topics.size()));
  for (const auto& [topic, partitions] : topics) {
    writer.write_string(topic);
    writer.write_i32(static_cast<std::int32_t>(partitions.size()));
    for (std::int32_t partition : partitions) writer.write_i32(partition);
  }
  writer.write_i32(-1);  // null user data
  return writer.take();
}

// One member joins `group` (consumer protocol, "range") and gets `assignment` from itself as the
// leader; returns its member id.
io::Task<io::Result<std::string>> join_as_only_member(Client& client, std::string group,
                                                      std::vector<std::byte> assignment) {
  GroupAdmin admin(client);
  io::Result<std::int32_t> coordinator = co_await admin.find_coordinator(group);
  if (!coordinator) co_return std::move(coordinator).error();
  io::Result<std::shared_ptr<client::KafkaConnection>> connection =
      co_await client.connection_to(*coordinator);
  if (!connection) co_return std::move(connection).error();
  protocol::JoinGroupRequest join;
  join.group_id = group;
  join.session_timeout_ms = 30'000;
  join.rebalance_timeout_ms = 30'000;
  join.protocol_type = "consumer";
  join.protocols.push_back({"range", {}});
  io::Result<protocol::JoinGroupResponse> joined = co_await client::join_group(**connection, join);
  if (!joined) co_return std::move(joined).error();
  if (joined->error_code == static_cast<std::int16_t>(ErrorCode::kMemberIdRequired)) {
    join.member_id = joined->member_id;
    joined = co_await client::join_group(**connection, join);
    if (!joined) co_return std::move(joined).error();
  }
  if (joined->error_code != 0) co_return client::kafka_error(joined->error_code, "JoinGroup");
  EXPECT_EQ(joined->leader, joined->member_id) << "the only member leads";
  protocol::SyncGroupRequest sync;
  sync.group_id = group;
  sync.generation_id = joined->generation_id;
  sync.member_id = joined->member_id;
  sync.assignments.push_back({joined->member_id, std::move(assignment)});
  io::Result<protocol::SyncGroupResponse> synced = co_await client::sync_group(**connection, sync);
  if (!synced) co_return std::move(synced).error();
  if (synced->error_code != 0) co_return client::kafka_error(synced->error_code, "SyncGroup");
  std::string member_id = joined->member_id;
  co_return std::move(member_id);
}

io::Task<io::Result<void>> leave(Client& client, std::string group, std::string member_id) {
  io::Result<std::shared_ptr<client::KafkaConnection>> connection =
      co_await client.any_connection();
  if (!connection) co_return std::move(connection).error();
  protocol::LeaveGroupRequest request;
  request.group_id = group;
  request.members.push_back({member_id, std::nullopt});
  io::Result<protocol::LeaveGroupResponse> left =
      co_await client::leave_group(**connection, request);
  if (!left) co_return std::move(left).error();
  if (left->error_code != 0) co_return client::kafka_error(left->error_code, "LeaveGroup");
  co_return io::ok();
}

bool listed(const std::vector<client::GroupListing>& groups, const std::string& id) {
  for (const client::GroupListing& group : groups) {
    if (group.group_id == id) return true;
  }
  return false;
}

io::Task<io::Result<void>> group_lifecycle(Client& client) {
  std::map<std::string, std::string> configs;
  io::Result<void> created = co_await client.create_topic("events", 3, std::move(configs));
  if (!created) co_return created;
  GroupAdmin admin(client);
  const std::string group = "audit";

  // An administrator's commit creates the group, Empty, with exactly those offsets.
  client::GroupOffsets offsets{{{"events", 0}, 5}, {{"events", 2}, 0}};
  io::Result<void> committed = co_await admin.commit_offsets(group, offsets);
  if (!committed) co_return committed;
  io::Result<client::GroupOffsets> read_back = co_await admin.committed_offsets(group);
  if (!read_back) co_return std::move(read_back).error();
  EXPECT_EQ(*read_back, offsets);
  io::Result<std::vector<client::GroupListing>> groups = co_await admin.list_groups();
  if (!groups) co_return std::move(groups).error();
  EXPECT_TRUE(listed(*groups, group));
  io::Result<client::GroupDescription> empty = co_await admin.describe_group(group);
  if (!empty) co_return std::move(empty).error();
  EXPECT_EQ(empty->state, "Empty");
  EXPECT_TRUE(empty->members.empty());
  EXPECT_EQ(empty->coordinator_id, 1) << "the only broker, node 1 by default";

  // A member: described with its assignment; commits and deletion are refused.
  std::vector<std::byte> assignment = assignment_bytes(1, {{"events", {0, 2}}});
  io::Result<std::string> member =
      co_await join_as_only_member(client, group, std::move(assignment));
  if (!member) co_return std::move(member).error();
  io::Result<client::GroupDescription> stable = co_await admin.describe_group(group);
  if (!stable) co_return std::move(stable).error();
  EXPECT_EQ(stable->state, "Stable");
  EXPECT_EQ(stable->protocol_type, "consumer");
  EXPECT_EQ(stable->protocol, "range");
  EXPECT_EQ(stable->members.size(), 1u);
  if (!stable->members.empty()) {
    EXPECT_EQ(stable->members[0].member_id, *member);
    EXPECT_EQ(stable->members[0].assignment,
              (std::vector<TopicPartition>{{"events", 0}, {"events", 2}}));
  }
  client::GroupOffsets more{{{"events", 1}, 1}};
  io::Result<void> refused = co_await admin.commit_offsets(group, more);
  EXPECT_FALSE(refused.ok()) << "an admin commit to a group with members";
  if (!refused.ok()) {
    EXPECT_TRUE(client::has_kafka_code(refused.error(),
                                       static_cast<std::int16_t>(ErrorCode::kUnknownMemberId)))
        << refused.error().to_string();
    EXPECT_NE(refused.error().message.find("events-1"), std::string::npos);
  }
  io::Result<void> not_deleted = co_await admin.delete_group(group);
  EXPECT_FALSE(not_deleted.ok());
  if (!not_deleted.ok()) {
    EXPECT_TRUE(client::has_kafka_code(not_deleted.error(),
                                       static_cast<std::int16_t>(ErrorCode::kNonEmptyGroup)))
        << not_deleted.error().to_string();
  }

  // Once it leaves, the group goes: deleted, unlisted, described as Dead, offsets gone.
  io::Result<void> left = co_await leave(client, group, *member);
  if (!left) co_return left;
  io::Result<void> deleted = co_await admin.delete_group(group);
  if (!deleted) co_return deleted;
  io::Result<std::vector<client::GroupListing>> after = co_await admin.list_groups();
  if (!after) co_return std::move(after).error();
  EXPECT_FALSE(listed(*after, group));
  io::Result<client::GroupDescription> dead = co_await admin.describe_group(group);
  if (!dead) co_return std::move(dead).error();
  EXPECT_EQ(dead->state, "Dead");
  io::Result<client::GroupOffsets> gone = co_await admin.committed_offsets(group);
  if (!gone) co_return std::move(gone).error();
  EXPECT_TRUE(gone->empty());
  io::Result<void> twice = co_await admin.delete_group(group);
  EXPECT_FALSE(twice.ok());
  if (!twice.ok()) {
    EXPECT_EQ(twice.error().kind, io::ErrorKind::kNotFound) << twice.error().to_string();
  }
  co_return io::ok();
}

io::Task<io::Result<void>> with_client(io::Env* env) {
  io::Result<std::unique_ptr<Client>> connected = co_await connect(*env);
  if (!connected) co_return std::move(connected).error();
  io::Result<void> result = co_await group_lifecycle(**connected);
  co_return result;
}

TEST(GroupAdmin, CommitsDescribesRefusesWhileActiveAndDeletesOnceEmpty) {
  constexpr std::uint64_t kSeed = 41;
  sim::SimWorld world(kSeed);
  sim::SimNode broker(world, sim::NodeId{0}, "broker", run_broker);
  sim::SimNode client(world, sim::NodeId{1}, "client");
  io::Result<io::Result<void>> result =
      world.run_task(client, with_client(&client.env()), Duration::s(600));
  ASSERT_TRUE(result.ok()) << "seed " << kSeed << ": " << result.error().to_string();
  ASSERT_TRUE(result->ok()) << "seed " << kSeed << ": " << result->error().to_string();
}

// ---- Pure parts ---------------------------------------------------------------------------------

TEST(DecodeConsumerAssignment, ReadsEveryVersionsTopicsAndPartitionsInOrder) {
  for (std::int16_t version : {0, 1, 3}) {
    std::vector<std::byte> bytes =
        assignment_bytes(version, {{"a", {2, 0}}, {"b", {}}, {"c", {7}}});
    io::Result<std::vector<TopicPartition>> decoded = client::decode_consumer_assignment(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
    EXPECT_EQ(*decoded, (std::vector<TopicPartition>{{"a", 2}, {"a", 0}, {"c", 7}}));
  }
  io::Result<std::vector<TopicPartition>> none = client::decode_consumer_assignment({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << "a member without an assignment yet";
}

TEST(DecodeConsumerAssignment, TruncatedOrLyingBytesAreCorruptNotACrash) {
  const std::vector<std::byte> whole = assignment_bytes(0, {{"topic", {1, 2, 3}}});
  for (std::size_t size = 1; size < whole.size(); ++size) {
    io::Result<std::vector<TopicPartition>> decoded =
        client::decode_consumer_assignment(std::span(whole).first(size));
    EXPECT_FALSE(decoded.ok()) << "cut at " << size;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.error().kind, io::ErrorKind::kCorrupt);
    }
  }
  protocol::Writer lying;
  lying.write_i16(0);
  lying.write_i32(1'000'000'000);  // topics that can't fit in what follows
  io::Result<std::vector<TopicPartition>> decoded =
      client::decode_consumer_assignment(lying.take());
  EXPECT_FALSE(decoded.ok());
}

client::GroupDescription two_members() {
  client::GroupDescription group;
  group.group_id = "g";
  group.state = "Stable";
  group.members.push_back({"m-1", std::nullopt, "app", "/10.0.0.1", {{"t", 1}, {"t", 0}}});
  group.members.push_back({"m-2", std::nullopt, "app", "/10.0.0.2", {}});
  return group;
}

TEST(LagRows, JoinAssignmentsCommitsAndLogEndsSortedWithIdleMembersLast) {
  const client::GroupOffsets committed{{{"t", 0}, 4}, {{"t", 2}, 9}, {{"s", 0}, 1}};
  const std::map<TopicPartition, std::int64_t> ends{
      {{"t", 0}, 10}, {{"t", 1}, 3}, {{"t", 2}, 9}};  // "s" could not be read
  const std::vector<client::LagRow> rows = client::lag_rows(two_members(), committed, ends);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], (client::LagRow{TopicPartition{"s", 0}, 1, std::nullopt, "", "", ""}));
  EXPECT_EQ(rows[1], (client::LagRow{TopicPartition{"t", 0}, 4, 10, "m-1", "/10.0.0.1", "app"}));
  EXPECT_EQ(rows[2],
            (client::LagRow{TopicPartition{"t", 1}, std::nullopt, 3, "m-1", "/10.0.0.1", "app"}));
  EXPECT_EQ(rows[3], (client::LagRow{TopicPartition{"t", 2}, 9, 9, "", "", ""}));
  EXPECT_EQ(rows[4],
            (client::LagRow{std::nullopt, std::nullopt, std::nullopt, "m-2", "/10.0.0.2", "app"}));
  EXPECT_EQ(rows[0].lag(), std::nullopt) << "no log end: no lag";
  EXPECT_EQ(rows[1].lag(), 6);
  EXPECT_EQ(rows[2].lag(), std::nullopt) << "nothing committed: no lag";
  EXPECT_EQ(rows[3].lag(), 0);
  EXPECT_EQ((client::LagRow{TopicPartition{"t", 0}, 12, 10, "", "", ""}.lag()), 0)
      << "a commit past the end (a truncated log) is no negative lag";
}

TEST(LagRows, CellsUseDashesForWhatIsUnknown) {
  const client::LagRow known{TopicPartition{"t", 3}, 4, 10, "m-1", "/h", "c"};
  EXPECT_EQ(client::lag_cells("g", known),
            (std::vector<std::string>{"g", "t", "3", "4", "10", "6", "m-1", "/h", "c"}));
  const client::LagRow idle{std::nullopt, std::nullopt, std::nullopt, "m-2", "", "c"};
  EXPECT_EQ(client::lag_cells("g", idle),
            (std::vector<std::string>{"g", "-", "-", "-", "-", "-", "m-2", "-", "c"}));
  EXPECT_EQ(client::lag_header().size(), client::lag_cells("g", known).size());
}

TEST(FormatTable, PadsColumnsToTheWidestCellWithoutTrailingBlanks) {
  const std::string table =
      client::format_table({"A", "LONG-HEADER", "C"}, {{"wide-cell", "x", ""}, {"", "yy", "z"}});
  EXPECT_EQ(table,
            "A          LONG-HEADER  C\n"
            "wide-cell  x\n"
            "           yy           z\n");
  EXPECT_EQ(client::format_table({"ONLY"}, {}), "ONLY\n");
}

}  // namespace
}  // namespace strand
