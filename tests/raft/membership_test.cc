// Membership (learner add, catch up, promote, remove; one change at a time; configurations
// take effect when appended and revert on truncation) and leadership transfer.
#include <gtest/gtest.h>

#include "cluster.h"
#include "test_util.h"

namespace strand::raft {
namespace {

using testing::Cluster;
using testing::make_leader;
using testing::restored_with_log;
using testing::unit_config;

constexpr ConfigChange add_learner(NodeId node) { return {ConfigChangeKind::kAddLearner, node}; }
constexpr ConfigChange promote(NodeId node) { return {ConfigChangeKind::kPromoteLearner, node}; }
constexpr ConfigChange remove_node(NodeId node) { return {ConfigChangeKind::kRemoveNode, node}; }

void idle(Cluster& cluster, int ticks) {
  cluster.run_until([] { return false; }, ticks);
}

TEST(RaftMembership, LearnerIsAddedCatchesUpAndIsPromoted) {
  Cluster cluster({1, 2, 3}, {4}, unit_config(), 21);
  cluster.elect(1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(cluster.propose(1).ok());
  cluster.run_until_quiet();
  const ProposeResult added = cluster.core(1).propose_configuration_change(add_learner(4));
  ASSERT_TRUE(added.ok()) << propose_error_name(added.error);
  EXPECT_TRUE(cluster.core(1).configuration().is_learner(4)) << "in effect once appended";
  ASSERT_TRUE(cluster.run_until(
      [&] { return cluster.core(4).last_offset() == cluster.core(1).last_offset(); }, 20));
  EXPECT_TRUE(cluster.core(4).configuration().is_learner(4));
  idle(cluster, 5);
  ASSERT_TRUE(cluster.core(1).propose_configuration_change(promote(4)).ok());
  idle(cluster, 5);
  for (NodeId id : cluster.ids()) {
    EXPECT_EQ(cluster.core(id).configuration().voters, (std::vector<NodeId>{1, 2, 3, 4}));
  }
  // Four voters: a quorum is three, so two nodes down stops commits.
  cluster.crash(2);
  cluster.crash(3);
  const ProposeResult stuck = cluster.propose(1);
  ASSERT_TRUE(stuck.ok());
  cluster.run_until_quiet();
  EXPECT_LT(cluster.core(1).commit_index(), stuck.range.last_offset);
  EXPECT_FALSE(cluster.violation());
}

TEST(RaftMembership, LearnerNeverCampaigns) {
  Cluster cluster({1, 2, 3}, {4}, unit_config(), 22);
  cluster.elect(1);
  ASSERT_TRUE(cluster.core(1).propose_configuration_change(add_learner(4)).ok());
  idle(cluster, 5);
  const Term term = cluster.core(4).term();
  cluster.isolate(4);
  idle(cluster, 100);
  EXPECT_EQ(cluster.core(4).role(), Role::kFollower);
  EXPECT_EQ(cluster.core(4).term(), term);
}

TEST(RaftMembership, PromotionWaitsForTheLearnerToCatchUp) {
  Cluster cluster({1, 2, 3}, {4}, unit_config(), 23);
  cluster.elect(1);
  cluster.isolate(4);
  ASSERT_TRUE(cluster.core(1).propose_configuration_change(add_learner(4)).ok());
  idle(cluster, 3);
  EXPECT_EQ(cluster.core(1).propose_configuration_change(promote(4)).error,
            ProposeError::kLearnerNotCaughtUp);
  cluster.heal();
  idle(cluster, 5);
  EXPECT_TRUE(cluster.core(1).propose_configuration_change(promote(4)).ok());
}

TEST(RaftMembership, OneChangeAtATime) {
  Cluster cluster({1, 2, 3}, {4, 5}, unit_config(), 24);
  cluster.elect(1);
  ASSERT_TRUE(cluster.core(1).propose_configuration_change(add_learner(4)).ok());
  EXPECT_EQ(cluster.core(1).propose_configuration_change(add_learner(5)).error,
            ProposeError::kConfigChangePending);
  cluster.run_until_quiet();
  EXPECT_TRUE(cluster.core(1).propose_configuration_change(add_learner(5)).ok());
}

TEST(RaftMembership, InvalidChangesAreRefused) {
  Cluster cluster({1, 2, 3}, {4}, unit_config(), 25);
  cluster.elect(1);
  RaftCore& leader = cluster.core(1);
  EXPECT_EQ(leader.propose_configuration_change(add_learner(2)).error,
            ProposeError::kInvalidConfigChange);
  EXPECT_EQ(leader.propose_configuration_change(promote(4)).error,
            ProposeError::kInvalidConfigChange);
  EXPECT_EQ(leader.propose_configuration_change(remove_node(4)).error,
            ProposeError::kInvalidConfigChange);
  EXPECT_EQ(leader.propose_configuration_change(remove_node(1)).error,
            ProposeError::kCannotRemoveLeader);
  EXPECT_EQ(cluster.core(2).propose_configuration_change(add_learner(4)).error,
            ProposeError::kNotLeader);
}

TEST(RaftMembership, RemovedVoterNoLongerCountsOrDisrupts) {
  Cluster cluster({1, 2, 3}, {}, unit_config(), 26);
  cluster.elect(1);
  ASSERT_TRUE(cluster.core(1).propose_configuration_change(remove_node(3)).ok());
  idle(cluster, 5);
  EXPECT_EQ(cluster.core(1).configuration().voters, (std::vector<NodeId>{1, 2}));
  EXPECT_EQ(cluster.core(1).progress(3), nullptr);
  cluster.crash(3);
  const ProposeResult result = cluster.propose(1);
  ASSERT_TRUE(result.ok());
  cluster.run_until_quiet();
  EXPECT_EQ(cluster.core(1).commit_index(), result.range.last_offset) << "1 and 2 are a quorum";
  // Back up, node 3 knows it was removed and stays quiet.
  cluster.restart(3);
  idle(cluster, 60);
  EXPECT_EQ(cluster.leader(), 1);
  EXPECT_FALSE(cluster.violation());
}

TEST(RaftMembership, ConfigurationRevertsWhenItsEntryIsTruncated) {
  io::SeededRandom random(1);
  Config config = unit_config();
  config.self = 2;
  RaftCore follower(config, restored_with_log({1}, 1, {1, 2, 3}), random);
  const Configuration start{{1, 2, 3}, {}};
  const Configuration grown{{1, 2, 3}, {4}};
  Entry change{EntryMeta{1, 1, 1, EntryKind::kConfiguration}, grown, {}};
  follower.step(Message{1, 2, 1, AppendRequest{0, 1, -1, 0, {}, {change}}});
  EXPECT_EQ(follower.configuration(), grown);
  // A leader of term 2 never had it.
  Entry other{EntryMeta{1, 1, 2, EntryKind::kLeaderChange}, {}, {}};
  follower.step(Message{3, 2, 2, AppendRequest{0, 1, -1, 0, {}, {other}}});
  EXPECT_EQ(follower.configuration(), start);
  Ready ready = follower.take_ready();
  EXPECT_FALSE(ready.truncate_from) << "the entry never reached the driver";
  ASSERT_EQ(ready.to_persist.size(), 1u);
  EXPECT_EQ(ready.to_persist[0].meta.term, 2);
}

TEST(RaftMembership, RestoresTheLatestConfigurationInTheLog) {
  io::SeededRandom random(1);
  Config config = unit_config();
  config.self = 1;
  RestoredState state = restored_with_log({1, 1, 1}, 1, {1, 2, 3});
  state.configurations.push_back({2, Configuration{{1, 2, 3}, {4}}});
  RaftCore core(config, std::move(state), random);
  EXPECT_EQ(core.configuration(), (Configuration{{1, 2, 3}, {4}}));
}

TEST(RaftTransfer, HandsLeadershipToCaughtUpVoter) {
  Cluster cluster({1, 2, 3}, {}, unit_config(), 31);
  cluster.elect(1);
  const Term term = cluster.core(1).term();
  ASSERT_EQ(cluster.core(1).transfer_leadership(2), ProposeError::kNone);
  EXPECT_EQ(cluster.core(1).propose(1, {}).error, ProposeError::kTransferInProgress);
  cluster.run_until_quiet();
  EXPECT_EQ(cluster.leader(), 2);
  EXPECT_EQ(cluster.core(2).term(), term + 1);
  EXPECT_EQ(cluster.core(1).role(), Role::kFollower);
  EXPECT_FALSE(cluster.violation());
}

TEST(RaftTransfer, WaitsForTheTargetToCatchUp) {
  Cluster cluster({1, 2, 3}, {}, unit_config(), 32);
  cluster.elect(1);
  cluster.isolate(3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cluster.propose(1).ok());
  cluster.run_until_quiet();
  ASSERT_EQ(cluster.core(1).transfer_leadership(3), ProposeError::kNone);
  cluster.run_until_quiet();
  EXPECT_EQ(cluster.leader(), 1) << "no TimeoutNow to a lagging target";
  cluster.heal();
  ASSERT_TRUE(cluster.run_until([&] { return cluster.leader() == 3; }, 10));
  EXPECT_EQ(cluster.core(3).commit_index(), cluster.core(3).last_offset());
  EXPECT_GE(cluster.core(3).last_offset(), 6);
}

TEST(RaftTransfer, AbortsAfterAnElectionTimeout) {
  Cluster cluster({1, 2, 3}, {}, unit_config(), 33);
  cluster.elect(1);
  cluster.isolate(3);
  ASSERT_TRUE(cluster.propose(1).ok());
  ASSERT_EQ(cluster.core(1).transfer_leadership(3), ProposeError::kNone);
  EXPECT_EQ(cluster.core(1).transfer_leadership(2), ProposeError::kTransferInProgress);
  idle(cluster, 10);
  EXPECT_FALSE(cluster.core(1).transfer_target());
  EXPECT_TRUE(cluster.propose(1).ok());
  EXPECT_EQ(cluster.leader(), 1);
}

TEST(RaftTransfer, RefusesNonVoters) {
  io::SeededRandom random(1);
  Config config = unit_config();
  config.self = 1;
  config.pre_vote = false;
  RaftCore core(config, restored_with_log({}, 0, {1, 2, 3}), random);
  EXPECT_EQ(core.transfer_leadership(2), ProposeError::kNotLeader);
  make_leader(core, {2});
  EXPECT_EQ(core.transfer_leadership(1), ProposeError::kInvalidConfigChange);
  EXPECT_EQ(core.transfer_leadership(9), ProposeError::kInvalidConfigChange);
}

}  // namespace
}  // namespace strand::raft
