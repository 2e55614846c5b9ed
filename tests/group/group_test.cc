// The group state machine under Kafka's classic protocol: rebalances with one to three members,
// members leaving and timing out, stale generations, unknown members, static membership, commit
// checks and the initial rebalance delay.
#include "broker/group/group.h"

#include <gtest/gtest.h>

#include "group_harness.h"

namespace strand::group {
namespace {

using io::Duration;
using testing::blob;
using testing::Harness;

struct Joined {
  std::string member_id;
  RequestId join;
};

// Joins `count` new members (v4 handshake) and returns them; the joins may still be waiting.
std::vector<Joined> join_members(Harness& h, int count) {
  std::vector<Joined> out;
  for (int i = 0; i < count; ++i) {
    const std::string id = h.member_id_for(Harness::request());
    EXPECT_FALSE(id.empty());
    out.push_back({id, h.join(Harness::request(id))});
  }
  return out;
}

// Every member syncs; the leader assigns "a-<member>" to each. Returns the sync request ids.
std::vector<RequestId> sync_all(Harness& h, const std::vector<Joined>& members) {
  std::vector<RequestId> ids;
  const std::int32_t generation = h.group().generation();
  for (const Joined& member : members) {
    SyncRequest request;
    request.member_id = member.member_id;
    request.generation_id = generation;
    if (member.member_id == h.group().leader()) {
      for (const Joined& other : members) {
        request.assignments.push_back({other.member_id, blob("a-" + other.member_id)});
      }
    }
    ids.push_back(h.sync(request));
  }
  return ids;
}

TEST(Group, NewMemberWithoutIdGetsMemberIdRequiredFirst) {
  Harness h;
  JoinRequest request = Harness::request();
  request.require_known_member_id = true;
  const RequestId id = h.join(request);
  ASSERT_NE(h.join_answer(id), nullptr);
  EXPECT_EQ(h.join_answer(id)->error, ErrorCode::kMemberIdRequired);
  EXPECT_TRUE(h.join_answer(id)->member_id.starts_with("client-"));
  EXPECT_EQ(h.group().state(), GroupState::kEmpty);
  EXPECT_EQ(h.group().member_count(), 0u);
}

TEST(Group, OneMemberRebalancesAndBecomesStable) {
  Harness h;
  std::vector<Joined> members = join_members(h, 1);
  const JoinResult* joined = h.join_answer(members[0].join);
  ASSERT_NE(joined, nullptr) << "with no initial delay the only member is answered at once";
  EXPECT_EQ(joined->error, ErrorCode::kNone);
  EXPECT_EQ(joined->generation_id, 1);
  EXPECT_EQ(joined->protocol_name, "range");
  EXPECT_EQ(joined->leader, members[0].member_id);
  ASSERT_EQ(joined->members.size(), 1u);
  EXPECT_EQ(h.group().state(), GroupState::kCompletingRebalance);
  std::vector<RequestId> syncs = sync_all(h, members);
  ASSERT_NE(h.sync_answer(syncs[0]), nullptr);
  EXPECT_EQ(h.sync_answer(syncs[0])->error, ErrorCode::kNone);
  EXPECT_EQ(h.sync_answer(syncs[0])->assignment, blob("a-" + members[0].member_id));
  EXPECT_EQ(h.group().state(), GroupState::kStable);
  ASSERT_EQ(h.persisted.size(), 1u) << "the generation's metadata is persisted";
  EXPECT_EQ(h.persisted[0].value.generation, 1);
  EXPECT_EQ(h.persisted[0].value.members[0].assignment, blob("a-" + members[0].member_id));
}

TEST(Group, SecondMemberTriggersARebalanceThatWaitsForTheFirst) {
  Harness h;
  std::vector<Joined> members = join_members(h, 1);
  sync_all(h, members);
  ASSERT_EQ(h.group().state(), GroupState::kStable);
  const std::string second = h.member_id_for(Harness::request());
  const RequestId second_join = h.join(Harness::request(second));
  EXPECT_EQ(h.group().state(), GroupState::kPreparingRebalance);
  EXPECT_EQ(h.join_answer(second_join), nullptr) << "waits for the first member to rejoin";
  EXPECT_EQ(h.heartbeat(members[0].member_id, 1), ErrorCode::kRebalanceInProgress);
  const RequestId rejoin = h.join(Harness::request(members[0].member_id));
  ASSERT_NE(h.join_answer(rejoin), nullptr);
  ASSERT_NE(h.join_answer(second_join), nullptr);
  EXPECT_EQ(h.join_answer(rejoin)->generation_id, 2);
  EXPECT_EQ(h.join_answer(rejoin)->leader, members[0].member_id) << "the first joiner leads";
  EXPECT_EQ(h.join_answer(rejoin)->members.size(), 2u);
  EXPECT_TRUE(h.join_answer(second_join)->members.empty()) << "only the leader gets members";
  members.push_back({second, second_join});
  std::vector<RequestId> syncs = sync_all(h, members);
  for (std::size_t i = 0; i < members.size(); ++i) {
    ASSERT_NE(h.sync_answer(syncs[i]), nullptr);
    EXPECT_EQ(h.sync_answer(syncs[i])->assignment, blob("a-" + members[i].member_id));
  }
  EXPECT_EQ(h.group().state(), GroupState::kStable);
}

TEST(Group, ThreeMembersFollowerSyncWaitsForTheLeader) {
  GroupLimits limits;
  limits.initial_rebalance_delay = Duration::ms(3'000);
  Harness h(limits);
  h.hold_persists = true;
  std::vector<Joined> members = join_members(h, 3);
  h.advance(Duration::ms(10'000));  // the initial delay, extended once for the late joiners
  for (const Joined& member : members) ASSERT_NE(h.join_answer(member.join), nullptr);
  ASSERT_EQ(h.group().state(), GroupState::kCompletingRebalance);
  ASSERT_EQ(h.group().member_count(), 3u);
  const std::string leader = h.group().leader();
  // Followers first: they wait.
  std::vector<RequestId> follower_syncs;
  for (const Joined& member : members) {
    if (member.member_id == leader) continue;
    follower_syncs.push_back(h.sync({member.member_id, std::nullopt, h.group().generation(), {}}));
  }
  for (RequestId id : follower_syncs) EXPECT_EQ(h.sync_answer(id), nullptr);
  SyncRequest lead{leader, std::nullopt, h.group().generation(), {}};
  for (const Joined& member : members) {
    lead.assignments.push_back({member.member_id, blob(member.member_id)});
  }
  const RequestId lead_sync = h.sync(lead);
  EXPECT_EQ(h.sync_answer(lead_sync), nullptr) << "answers wait for the durable assignment";
  EXPECT_EQ(h.group().state(), GroupState::kCompletingRebalance);
  h.release_persists(true);
  ASSERT_NE(h.sync_answer(lead_sync), nullptr);
  for (RequestId id : follower_syncs) {
    ASSERT_NE(h.sync_answer(id), nullptr);
    EXPECT_EQ(h.sync_answer(id)->error, ErrorCode::kNone);
  }
  EXPECT_EQ(h.group().state(), GroupState::kStable);
}

TEST(Group, FailedPersistAnswersSyncsWithAnErrorAndRebalances) {
  Harness h;
  h.hold_persists = true;
  std::vector<Joined> members = join_members(h, 1);
  std::vector<RequestId> syncs = sync_all(h, members);
  h.release_persists(false);
  ASSERT_NE(h.sync_answer(syncs[0]), nullptr);
  EXPECT_EQ(h.sync_answer(syncs[0])->error, ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(h.group().state(), GroupState::kPreparingRebalance);
}

TEST(Group, LeavingMemberRebalancesTheRest) {
  Harness h;
  std::vector<Joined> members = join_members(h, 1);
  sync_all(h, members);
  const std::string second = h.member_id_for(Harness::request());
  const RequestId second_join = h.join(Harness::request(second));
  const RequestId rejoin = h.join(Harness::request(members[0].member_id));
  ASSERT_NE(h.join_answer(second_join), nullptr);
  members = {{members[0].member_id, rejoin}, {second, second_join}};
  sync_all(h, members);
  ASSERT_EQ(h.group().state(), GroupState::kStable);
  EXPECT_EQ(h.leave(members[0].member_id), ErrorCode::kNone);
  EXPECT_EQ(h.group().state(), GroupState::kPreparingRebalance);
  EXPECT_EQ(h.group().leader(), second) << "leadership passes to the next joiner";
  const RequestId again = h.join(Harness::request(second));
  ASSERT_NE(h.join_answer(again), nullptr);
  EXPECT_EQ(h.join_answer(again)->generation_id, 3);
  EXPECT_EQ(h.leave(members[0].member_id), ErrorCode::kUnknownMemberId);
}

TEST(Group, LastMemberLeavingEmptiesTheGroupAndPersistsIt) {
  Harness h;
  std::vector<Joined> members = join_members(h, 1);
  sync_all(h, members);
  EXPECT_EQ(h.leave(members[0].member_id), ErrorCode::kNone);
  EXPECT_EQ(h.group().state(), GroupState::kEmpty);
  EXPECT_EQ(h.group().generation(), 2);
  ASSERT_FALSE(h.persisted.empty());
  EXPECT_TRUE(h.persisted.back().value.members.empty());
  EXPECT_EQ(h.persisted.back().value.generation, 2);
}

TEST(Group, SessionExpiryRemovesASilentMember) {
  Harness h;
  std::vector<Joined> members = join_members(h, 1);
  sync_all(h, members);
  h.advance(Duration::ms(9'000));
  EXPECT_EQ(h.heartbeat(members[0].member_id, 1), ErrorCode::kNone);
  h.advance(Duration::ms(9'000));
  EXPECT_EQ(h.group().state(), GroupState::kStable) << "the heartbeat kept it alive";
  h.advance(Duration::ms(1'001));
  EXPECT_EQ(h.group().state(), GroupState::kEmpty);
  EXPECT_EQ(h.heartbeat(members[0].member_id, 1), ErrorCode::kUnknownMemberId);
}

TEST(Group, RebalanceTimeoutDropsMembersThatDoNotRejoin) {
  Harness h;
  std::vector<Joined> members = join_members(h, 1);
  sync_all(h, members);
  const std::string second = h.member_id_for(Harness::request());
  const RequestId second_join = h.join(Harness::request(second));
  // The first member keeps heartbeating but never rejoins.
  for (int i = 0; i < 5; ++i) {
    h.advance(Duration::ms(5'000));
    (void)h.heartbeat(members[0].member_id, 1);
  }
  ASSERT_EQ(h.join_answer(second_join), nullptr);
  h.advance(Duration::ms(5'001));
  ASSERT_NE(h.join_answer(second_join), nullptr);
  EXPECT_EQ(h.join_answer(second_join)->leader, second);
  EXPECT_EQ(h.group().member_count(), 1u);
}

TEST(Group, MemberThatNeverSyncsIsRemovedAfterTheRebalanceTimeout) {
  Harness h;
  std::vector<Joined> members = join_members(h, 1);
  ASSERT_EQ(h.group().state(), GroupState::kCompletingRebalance);
  h.advance(Duration::ms(30'001));
  EXPECT_EQ(h.group().state(), GroupState::kEmpty);
}

TEST(Group, StaleGenerationAndUnknownMemberAreRefused) {
  Harness h;
  std::vector<Joined> members = join_members(h, 1);
  sync_all(h, members);
  EXPECT_EQ(h.heartbeat(members[0].member_id, 0), ErrorCode::kIllegalGeneration);
  EXPECT_EQ(h.heartbeat("nobody", 1), ErrorCode::kUnknownMemberId);
  const RequestId stale = h.sync({members[0].member_id, std::nullopt, 7, {}});
  EXPECT_EQ(h.sync_answer(stale)->error, ErrorCode::kIllegalGeneration);
  const RequestId unknown = h.sync({"nobody", std::nullopt, 1, {}});
  EXPECT_EQ(h.sync_answer(unknown)->error, ErrorCode::kUnknownMemberId);
  const RequestId join_unknown = h.join(Harness::request("nobody"));
  EXPECT_EQ(h.join_answer(join_unknown)->error, ErrorCode::kUnknownMemberId);
}

TEST(Group, JoinChecksSessionTimeoutAndProtocols) {
  Harness h;
  JoinRequest short_session = Harness::request();
  short_session.session_timeout_ms = 5'999;
  EXPECT_EQ(h.join_answer(h.join(short_session))->error, ErrorCode::kInvalidSessionTimeout);
  JoinRequest no_protocols = Harness::request();
  no_protocols.protocols.clear();
  EXPECT_EQ(h.join_answer(h.join(no_protocols))->error, ErrorCode::kInconsistentGroupProtocol);
  std::vector<Joined> members = join_members(h, 1);
  JoinRequest other = Harness::request({}, "roundrobin");
  EXPECT_EQ(h.join_answer(h.join(other))->error, ErrorCode::kInconsistentGroupProtocol);
  JoinRequest other_type = Harness::request();
  other_type.protocol_type = "connect";
  EXPECT_EQ(h.join_answer(h.join(other_type))->error, ErrorCode::kInconsistentGroupProtocol);
}

TEST(Group, ProtocolIsTheMostPreferredCommonOne) {
  Harness h;
  JoinRequest first = Harness::request();
  first.protocols = {{"cooperative-sticky", {}}, {"range", {}}};
  JoinRequest second = Harness::request();
  second.protocols = {{"range", {}}, {"cooperative-sticky", {}}, {"roundrobin", {}}};
  const std::string a = h.member_id_for(first);
  first.member_id = a;
  h.join(first);
  h.advance(Duration::ms(1));
  const std::string b = h.member_id_for(second);
  second.member_id = b;
  const RequestId b_join = h.join(second);
  const RequestId a_join = h.join(first);
  ASSERT_NE(h.join_answer(a_join), nullptr);
  ASSERT_NE(h.join_answer(b_join), nullptr);
  // One vote each: the tie goes to the leader's (a's) preference.
  EXPECT_EQ(h.join_answer(a_join)->protocol_name, "cooperative-sticky");
}

TEST(Group, InitialDelayWaitsForMoreMembersAndExtends) {
  GroupLimits limits;
  limits.initial_rebalance_delay = Duration::ms(3'000);
  Harness h(limits);
  const std::string a = h.member_id_for(Harness::request());
  const RequestId a_join = h.join(Harness::request(a));
  h.advance(Duration::ms(2'000));
  const std::string b = h.member_id_for(Harness::request());
  const RequestId b_join = h.join(Harness::request(b));
  h.advance(Duration::ms(1'500));
  EXPECT_EQ(h.join_answer(a_join), nullptr) << "a new member extended the delay";
  h.advance(Duration::ms(3'000));
  ASSERT_NE(h.join_answer(a_join), nullptr);
  ASSERT_NE(h.join_answer(b_join), nullptr);
  EXPECT_EQ(h.join_answer(a_join)->generation_id, 1);
  EXPECT_EQ(h.join_answer(a_join)->members.size(), 2u);
}

TEST(Group, PendingMemberThatNeverComesBackExpires) {
  Harness h;
  const std::string ghost = h.member_id_for(Harness::request());
  ASSERT_FALSE(ghost.empty());
  h.advance(Duration::ms(10'001));
  EXPECT_EQ(h.join_answer(h.join(Harness::request(ghost)))->error, ErrorCode::kUnknownMemberId);
}

TEST(Group, StaticMemberRejoinKeepsGenerationAndFencesTheOldId) {
  Harness h;
  JoinRequest request = Harness::request();
  request.group_instance_id = "instance-1";
  const RequestId first = h.join(request);
  ASSERT_NE(h.join_answer(first), nullptr);
  const std::string old_id = h.join_answer(first)->member_id;
  EXPECT_TRUE(old_id.starts_with("instance-1-"));
  sync_all(h, {{old_id, first}});
  ASSERT_EQ(h.group().state(), GroupState::kStable);
  const RequestId again = h.join(request);  // restarted: no member id, same instance id
  ASSERT_NE(h.join_answer(again), nullptr);
  const JoinResult& answer = *h.join_answer(again);
  EXPECT_EQ(answer.error, ErrorCode::kNone);
  EXPECT_EQ(answer.generation_id, 1) << "no rebalance for an unchanged static member";
  EXPECT_NE(answer.member_id, old_id);
  EXPECT_EQ(h.group().state(), GroupState::kStable);
  EXPECT_EQ(h.heartbeat(old_id, 1, "instance-1"), ErrorCode::kFencedInstanceId);
  EXPECT_EQ(h.heartbeat(answer.member_id, 1, "instance-1"), ErrorCode::kNone);
  const RequestId sync = h.sync({answer.member_id, "instance-1", 1, {}});
  EXPECT_EQ(h.sync_answer(sync)->assignment, blob("a-" + old_id)) << "keeps its assignment";
  EXPECT_EQ(h.leave("", "instance-1"), ErrorCode::kNone);
  EXPECT_EQ(h.group().state(), GroupState::kEmpty);
}

TEST(Group, CommitChecksGenerationAndMember) {
  Harness h;
  const Now now = h.now();
  EXPECT_EQ(h.group().validate_commit("", std::nullopt, -1, now), ErrorCode::kNone)
      << "a standalone commit to an empty group";
  std::vector<Joined> members = join_members(h, 1);
  EXPECT_EQ(h.group().validate_commit(members[0].member_id, std::nullopt, 1, now),
            ErrorCode::kRebalanceInProgress);
  sync_all(h, members);
  EXPECT_EQ(h.group().validate_commit(members[0].member_id, std::nullopt, 1, now),
            ErrorCode::kNone);
  EXPECT_EQ(h.group().validate_commit(members[0].member_id, std::nullopt, 0, now),
            ErrorCode::kIllegalGeneration);
  EXPECT_EQ(h.group().validate_commit("nobody", std::nullopt, 1, now), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(h.group().validate_commit("", std::nullopt, -1, now), ErrorCode::kUnknownMemberId)
      << "no standalone commits while the group has members";
}

TEST(Group, OffsetsOfAnEmptyConsumerGroupExpireTogether) {
  Harness h;
  std::vector<Joined> members = join_members(h, 1);
  sync_all(h, members);
  h.group().offsets().put({"t", 0}, OffsetValue{5, -1, "", h.now().wall_ms});
  h.group().offsets().put({"t", 1}, OffsetValue{9, -1, "", h.now().wall_ms});
  h.advance(Duration::ms(5'000));
  EXPECT_TRUE(h.group().expired_offsets(h.now(), 1'000).empty()) << "members: nothing expires";
  EXPECT_EQ(h.leave(members[0].member_id), ErrorCode::kNone);
  h.advance(Duration::ms(999));
  EXPECT_TRUE(h.group().expired_offsets(h.now(), 1'000).empty());
  h.advance(Duration::ms(1));
  EXPECT_EQ(h.group().expired_offsets(h.now(), 1'000).size(), 2u);
  EXPECT_TRUE(h.group().expired_offsets(h.now(), -1).empty());
}

TEST(Group, SubscriptionDecidesWhetherOffsetsMayBeDeleted) {
  Harness h;
  join_members(h, 1);
  EXPECT_TRUE(h.group().subscribed_to("t"));
  EXPECT_FALSE(h.group().subscribed_to("other"));
}

TEST(Group, AbandonAnswersEveryWaitingRequest) {
  Harness h;
  std::vector<Joined> members = join_members(h, 1);
  sync_all(h, members);
  const std::string second = h.member_id_for(Harness::request());
  const RequestId waiting = h.join(Harness::request(second));
  ASSERT_EQ(h.join_answer(waiting), nullptr);
  h.group().abandon(ErrorCode::kNotCoordinator);
  Effects effects = h.group().take_effects();
  ASSERT_EQ(effects.joins.size(), 1u);
  EXPECT_EQ(effects.joins[0].first, waiting);
  EXPECT_EQ(effects.joins[0].second.error, ErrorCode::kNotCoordinator);
}

}  // namespace
}  // namespace strand::group
