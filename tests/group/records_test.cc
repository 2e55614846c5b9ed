// __consumer_offsets records in Kafka's schemas, the group-to-partition hash, and rebuilding
// state by replaying records.
#include "broker/group/records.h"

#include <gtest/gtest.h>

#include "broker/group/replay.h"
#include "group_harness.h"

namespace strand::group {
namespace {

std::string raw(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(Records, JavaStringHashMatchesJava) {
  // Values of "...".hashCode() in Java.
  EXPECT_EQ(java_string_hash(""), 0);
  EXPECT_EQ(java_string_hash("a"), 97);
  EXPECT_EQ(java_string_hash("hello"), 99162322);
  EXPECT_EQ(java_string_hash("my-group"), -1906497762);
  EXPECT_EQ(java_string_hash("\xc3\xa9"), 233);              // "é": one UTF-16 unit
  EXPECT_EQ(java_string_hash("\xf0\x9f\x98\x80"), 1772899);  // U+1F600: a surrogate pair
}

TEST(Records, PartitionIsAbsHashModuloPartitions) {
  EXPECT_EQ(offsets_partition_for("my-group", 50), (-1906497762 & 0x7fffffff) % 50);
  EXPECT_EQ(offsets_partition_for("", 16), 0);
  for (const char* id : {"a", "group-1", "consumers", "\xff\xfe"}) {
    const std::int32_t p = offsets_partition_for(id, 16);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 16);
  }
}

TEST(Records, OffsetKeyAndValueMatchKafkasSchemas) {
  EXPECT_EQ(encode_key(OffsetKey{"g", "t", 2}), raw({0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 2}));
  EXPECT_EQ(encode_key(GroupKey{"g"}), raw({0, 2, 0, 1, 'g'}));
  EXPECT_EQ(encode_offset_value(OffsetValue{42, 3, "m", 1000}),
            raw({0, 3, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 3, 0, 1, 'm', 0, 0, 0, 0, 0, 0, 3, 0xe8}));
}

TEST(Records, ReadsOlderOffsetValueVersions) {
  // v1: offset, metadata, commit timestamp, expire timestamp.
  io::Result<OffsetValue> v1 = decode_offset_value(
      raw({0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1}));
  ASSERT_TRUE(v1.ok()) << v1.error().to_string();
  EXPECT_EQ(v1->offset, 7);
  EXPECT_EQ(v1->leader_epoch, -1);
  EXPECT_EQ(v1->commit_timestamp_ms, 9);
  EXPECT_FALSE(decode_offset_value(raw({0, 9, 0})).ok());
  EXPECT_FALSE(decode_key(raw({0, 5, 0, 1, 'g'})).ok());
  EXPECT_FALSE(decode_key(raw({0, 2, 0, 1, 'g', 0})).ok()) << "trailing bytes";
}

TEST(Records, GroupValueRoundTrips) {
  GroupValue value;
  value.protocol_type = "consumer";
  value.generation = 4;
  value.protocol = "range";
  value.leader = "m1";
  value.current_state_timestamp_ms = 123;
  value.members.push_back(
      {"m1", "i1", "c", "/h", 300000, 10000, testing::blob("s"), testing::blob("a")});
  io::Result<GroupValue> back = decode_group_value(encode_group_value(value));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, value);
}

protocol::Record record(RecordKey key, std::optional<std::string> value) {
  protocol::Record out;
  out.key = encode_key(key);
  out.value = std::move(value);
  return out;
}

TEST(Replay, LatestValueWinsAndTombstonesRemove) {
  std::vector<protocol::Record> log;
  log.push_back(record(OffsetKey{"g", "t", 0}, encode_offset_value({5, -1, "", 1})));
  log.push_back(record(OffsetKey{"g", "t", 1}, encode_offset_value({6, -1, "", 1})));
  log.push_back(record(OffsetKey{"g", "t", 0}, encode_offset_value({9, 2, "x", 2})));
  log.push_back(record(OffsetKey{"g", "t", 1}, std::nullopt));
  GroupValue metadata;
  metadata.protocol_type = "consumer";
  metadata.generation = 3;
  log.push_back(record(GroupKey{"g"}, encode_group_value(metadata)));
  log.push_back(record(OffsetKey{"gone", "t", 0}, encode_offset_value({1, -1, "", 1})));
  log.push_back(record(OffsetKey{"gone", "t", 0}, std::nullopt));
  log.push_back(record(GroupKey{"h"}, encode_group_value(metadata)));
  log.push_back(record(GroupKey{"h"}, std::nullopt));
  protocol::Record junk;
  junk.key = raw({0, 7});
  junk.value = "x";
  log.push_back(junk);
  ReplayResult state = replay(log);
  EXPECT_EQ(state.records, log.size());
  EXPECT_EQ(state.skipped, 1u);
  ASSERT_EQ(state.groups.size(), 1u) << "groups left with nothing are dropped";
  const LoadedGroup& g = state.groups.at("g");
  ASSERT_TRUE(g.metadata.has_value());
  EXPECT_EQ(g.metadata->generation, 3);
  ASSERT_EQ(g.offsets.all().size(), 1u);
  EXPECT_EQ(g.offsets.find({"t", 0})->offset, 9);
  EXPECT_EQ(g.offsets.find({"t", 0})->metadata, "x");
}

TEST(Replay, RestoredGroupKeepsItsMembersUntilTheirSessionsEnd) {
  GroupValue metadata;
  metadata.protocol_type = "consumer";
  metadata.generation = 7;
  metadata.protocol = "range";
  metadata.leader = "m";
  const std::vector<std::byte> assignment{std::byte{1}, std::byte{2}};
  metadata.members.push_back({"m", std::nullopt, "c", "/h", 30000, 1000, {}, assignment});
  metadata.members.push_back({"n", "static-n", "c", "/h", 30000, 3000, {}, {}});
  GroupLimits limits;
  io::SeededRandom rng(1);
  const Now start{io::Instant::from_ns(1), 1};
  Group group = Group::restored("g", limits, rng, metadata, start);
  EXPECT_EQ(group.state(), GroupState::kStable);
  EXPECT_EQ(group.generation(), 7);
  EXPECT_EQ(group.member_count(), 2u);
  EXPECT_EQ(group.leader(), "m");
  EXPECT_EQ(group.protocol_name(), "range");
  EXPECT_EQ(group.assignments().at("m"), assignment);
  EXPECT_EQ(group.validate_commit("m", std::nullopt, 7, start), ErrorCode::kNone)
      << "a member of the restored generation commits without rejoining";
  EXPECT_EQ(group.validate_commit("m", std::nullopt, 6, start), ErrorCode::kIllegalGeneration);
  EXPECT_EQ(group.heartbeat("n", std::string("static-n"), 7, start), ErrorCode::kNone);

  // "m" heartbeats within its 1 s session, "n" (3 s) does not: at 3.5 s "n" is gone and the
  // group rebalances without it.
  const Now later{io::Instant::from_ns(1) + io::Duration::ms(900), 901};
  EXPECT_EQ(group.heartbeat("m", std::nullopt, 7, later), ErrorCode::kNone);
  for (std::int64_t ms = 1800; ms <= 3500; ms += 850) {
    const Now at{io::Instant::from_ns(1) + io::Duration::ms(ms), ms + 1};
    (void)group.heartbeat("m", std::nullopt, 7, at);
    group.tick(at);
  }
  EXPECT_FALSE(group.has_member("n"));
  EXPECT_EQ(group.state(), GroupState::kPreparingRebalance);
}

TEST(Replay, RestoredGroupWithoutMembersIsEmpty) {
  GroupValue metadata;
  metadata.protocol_type = "consumer";
  metadata.generation = 4;
  GroupLimits limits;
  io::SeededRandom rng(1);
  const Now now{io::Instant::from_ns(1), 1};
  Group group = Group::restored("g", limits, rng, metadata, now);
  EXPECT_EQ(group.state(), GroupState::kEmpty);
  EXPECT_EQ(group.generation(), 4);
  EXPECT_EQ(group.validate_commit("m", std::nullopt, 4, now), ErrorCode::kUnknownMemberId);
}

}  // namespace
}  // namespace strand::group
