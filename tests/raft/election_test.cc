// Elections: randomised timeouts, pre-vote, check-quorum, the lease, the vote rules.
#include <gtest/gtest.h>

#include <set>

#include "cluster.h"
#include "test_util.h"

namespace strand::raft {
namespace {

using testing::Cluster;

using testing::restored_with_log;

Config test_config() { return testing::unit_config(); }

TEST(RaftElection, ElectsOneLeaderAfterTimeout) {
  Cluster cluster({1, 2, 3}, {}, test_config(), 1);
  ASSERT_TRUE(cluster.run_until([&] { return cluster.leader().has_value(); }, 100));
  const NodeId leader = *cluster.leader();
  cluster.run_until([] { return false; }, 5);
  for (NodeId id : cluster.ids()) {
    EXPECT_EQ(cluster.core(id).leader(), leader) << "node " << id;
    EXPECT_EQ(cluster.core(id).term(), cluster.core(leader).term());
    // The leader-change entry committed everywhere once heartbeats carried the commit.
    EXPECT_EQ(cluster.core(id).commit_index(), 0);
  }
  EXPECT_FALSE(cluster.violation()) << *cluster.violation();
}

TEST(RaftElection, RandomisedTimeoutsComeFromTheGivenRandom) {
  // Two cores with the same seed campaign at the same tick; different seeds mostly differ.
  auto first_campaign_tick = [](std::uint64_t seed) {
    io::SeededRandom random(seed);
    Config config = test_config();
    config.self = 1;
    RaftCore core(config, restored_with_log({}, 0, {1, 2, 3}), random);
    for (int tick = 1; tick <= 40; ++tick) {
      core.tick();
      if (core.role() != Role::kFollower) return tick;
    }
    return -1;
  };
  EXPECT_EQ(first_campaign_tick(7), first_campaign_tick(7));
  std::set<int> ticks;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const int tick = first_campaign_tick(seed);
    EXPECT_GE(tick, 10);
    EXPECT_LT(tick, 20);
    ticks.insert(tick);
  }
  EXPECT_GT(ticks.size(), 3u);
}

TEST(RaftElection, PreVoteKeepsPartitionedNodeFromRaisingTerms) {
  Cluster cluster({1, 2, 3}, {}, test_config(), 2);
  cluster.elect(1);
  ASSERT_EQ(cluster.leader(), 1);
  const Term term = cluster.core(1).term();
  cluster.isolate(3);
  cluster.run_until([] { return false; }, 200);
  EXPECT_EQ(cluster.core(3).term(), term) << "pre-vote failed, so the term stayed";
  EXPECT_NE(cluster.core(3).role(), Role::kCandidate);
  cluster.heal();
  cluster.run_until([] { return false; }, 30);
  EXPECT_EQ(cluster.leader(), 1) << "the rejoining node did not disrupt the leader";
  EXPECT_EQ(cluster.core(1).term(), term);
  EXPECT_EQ(cluster.core(3).leader(), 1);
}

TEST(RaftElection, WithoutPreVotePartitionedNodeRaisesTerms) {
  Config config = test_config();
  config.pre_vote = false;
  Cluster cluster({1, 2, 3}, {}, config, 3);
  cluster.elect(1);
  const Term term = cluster.core(1).term();
  cluster.isolate(3);
  cluster.run_until([] { return false; }, 100);
  EXPECT_GT(cluster.core(3).term(), term);
}

TEST(RaftElection, CheckQuorumStepsDownIsolatedLeader) {
  Cluster cluster({1, 2, 3}, {}, test_config(), 4);
  cluster.elect(1);
  ASSERT_EQ(cluster.leader(), 1);
  cluster.isolate(1);
  cluster.run_until([] { return false; }, 25);
  EXPECT_EQ(cluster.core(1).role(), Role::kFollower) << "no quorum heard: stepped down";
  EXPECT_TRUE(cluster.leader().has_value());
  EXPECT_NE(*cluster.leader(), 1);
  const ProposeResult refused = cluster.core(1).propose(1, {});
  EXPECT_EQ(refused.error, ProposeError::kNotLeader);
}

TEST(RaftElection, FollowerInLeaseIgnoresVoteRequests) {
  Cluster cluster({1, 2, 3}, {}, test_config(), 5);
  cluster.elect(1);
  const Term term = cluster.core(2).term();
  Message vote{3, 2, term + 1, VoteRequest{false, false, 100, term}};
  cluster.core(2).step(vote);
  EXPECT_EQ(cluster.core(2).term(), term) << "a lease holder does not even move to the term";
  EXPECT_FALSE(cluster.core(2).has_ready());
  // A transfer campaign is not disruptive: it is honoured.
  Message transfer{3, 2, term + 1, VoteRequest{false, true, 100, term}};
  cluster.core(2).step(transfer);
  EXPECT_EQ(cluster.core(2).term(), term + 1);
  EXPECT_EQ(cluster.core(2).hard_state().voted_for, 3);
}

TEST(RaftElection, VoteGrantWaitsForPersistedVote) {
  io::SeededRandom random(1);
  Config config = test_config();
  config.self = 2;
  RaftCore voter(config, restored_with_log({}, 0, {1, 2, 3}), random);
  voter.step(Message{1, 2, 1, VoteRequest{false, false, -1, 0}});
  Ready ready = voter.take_ready();
  ASSERT_TRUE(ready.hard_state);
  EXPECT_EQ(*ready.hard_state, (HardState{1, 1}));
  EXPECT_TRUE(ready.to_send_now.empty());
  ASSERT_EQ(ready.to_send_after_sync.size(), 1u);
  const auto& answer = std::get<VoteResponse>(ready.to_send_after_sync[0].body);
  EXPECT_TRUE(answer.granted);
  voter.advance(ready);
  // Once durable, a repeated request is answered again, still only after a sync.
  voter.step(Message{1, 2, 1, VoteRequest{false, false, -1, 0}});
  Ready again = voter.take_ready();
  EXPECT_FALSE(again.hard_state);
  ASSERT_EQ(again.to_send_after_sync.size(), 1u);
}

TEST(RaftElection, CandidateSolicitsVotesOnlyAfterPersistingItsOwn) {
  io::SeededRandom random(1);
  Config config = test_config();
  config.self = 1;
  config.pre_vote = false;
  RaftCore candidate(config, restored_with_log({}, 0, {1, 2, 3}), random);
  for (int i = 0; i < 20 && candidate.role() == Role::kFollower; ++i) candidate.tick();
  ASSERT_EQ(candidate.role(), Role::kCandidate);
  Ready ready = candidate.take_ready();
  ASSERT_TRUE(ready.hard_state);
  EXPECT_EQ(ready.hard_state->voted_for, 1);
  EXPECT_TRUE(ready.to_send_now.empty());
  EXPECT_EQ(ready.to_send_after_sync.size(), 2u);
}

TEST(RaftElection, VoterRejectsCandidateWithOlderLog) {
  io::SeededRandom random(1);
  Config config = test_config();
  config.self = 2;
  // Voter log: terms 1, 1, 2. Candidates: shorter same last term, or older last term.
  RaftCore voter(config, restored_with_log({1, 1, 2}, 2, {1, 2, 3}), random);
  voter.step(Message{1, 2, 3, VoteRequest{false, false, 1, 2}});
  voter.step(Message{3, 2, 3, VoteRequest{false, false, 10, 1}});
  Ready ready = voter.take_ready();
  std::size_t answers = 0;
  for (const auto* list : {&ready.to_send_now, &ready.to_send_after_sync}) {
    for (const Message& message : *list) {
      EXPECT_FALSE(std::get<VoteResponse>(message.body).granted) << "to " << message.to;
      ++answers;
    }
  }
  EXPECT_EQ(answers, 2u);
  EXPECT_EQ(voter.hard_state().voted_for, kNoNode);
  // A shorter log with a newer last term is more up to date.
  voter.step(Message{3, 2, 3, VoteRequest{false, false, 0, 3}});
  EXPECT_EQ(voter.hard_state().voted_for, 3);
}

TEST(RaftElection, SkippingUpToDateCheckGrantsStaleCandidates) {
  io::SeededRandom random(1);
  Config config = test_config();
  config.self = 2;
  config.test_only_skip_log_up_to_date_check = true;
  RaftCore voter(config, restored_with_log({1, 1, 2}, 2, {1, 2, 3}), random);
  voter.step(Message{1, 2, 3, VoteRequest{false, false, 0, 1}});
  EXPECT_EQ(voter.hard_state().voted_for, 1);
}

// A replica whose state was deleted and that is opened again (RestoredState::rejoining) may be
// counted by peers with a stale configuration: it grants no vote, pre-vote or vote, and does not
// campaign, until an append brought its log up to the leader's commit index.
TEST(RaftElection, RejoiningNodeNeitherVotesNorCampaignsUntilCaughtUp) {
  io::SeededRandom random(1);
  Config config = test_config();
  config.self = 2;
  RestoredState restored = restored_with_log({}, 0, {1, 2, 3});
  restored.rejoining = true;
  RaftCore node(config, std::move(restored), random);
  ASSERT_TRUE(node.rejoining());
  for (int i = 0; i < 100; ++i) node.tick();
  EXPECT_EQ(node.role(), Role::kFollower) << "a rejoining node does not campaign";
  node.step(Message{1, 2, 1, VoteRequest{true, false, 5, 1}});
  node.step(Message{3, 2, 1, VoteRequest{false, false, 5, 1}});
  Ready ready = node.take_ready();
  std::size_t answers = 0;
  for (const Message& message : testing::all_messages(ready)) {
    EXPECT_FALSE(std::get<VoteResponse>(message.body).granted) << "to " << message.to;
    ++answers;
  }
  EXPECT_EQ(answers, 2u);
  EXPECT_EQ(node.hard_state().voted_for, kNoNode);
  node.advance(ready);

  // A leader of term 2 sends offsets 0..1 but has committed 3: still rejoining.
  auto append = [](Offset prev, Term prev_term, Offset commit, Offset from, Offset to) {
    AppendRequest request{prev, prev_term, commit, 0, std::nullopt, {}};
    if (prev == -1) request.log_start_configuration = Configuration{{1, 2, 3}, {}};
    for (Offset offset = from; offset <= to; ++offset) {
      request.entries.push_back(Entry{EntryMeta{offset, offset, 1, EntryKind::kData}, {}, {}});
    }
    return request;
  };
  node.step(Message{1, 2, 2, append(-1, 0, 3, 0, 1)});
  EXPECT_TRUE(node.rejoining());
  Ready partial = node.take_ready();
  EXPECT_FALSE(partial.rejoined);
  node.advance(partial);
  // The rest: now its log holds what the leader committed.
  node.step(Message{1, 2, 2, append(1, 1, 3, 2, 3)});
  EXPECT_FALSE(node.rejoining());
  Ready caught_up = node.take_ready();
  EXPECT_TRUE(caught_up.rejoined) << "the driver removes the marker after this Ready's sync";
  node.advance(caught_up);
  // Votes rest on its log again: a candidate of a later term with a log as long gets one (a
  // leadership transfer's, which the leader lease does not hold back).
  node.step(Message{3, 2, 4, VoteRequest{false, true, 3, 1}});
  EXPECT_EQ(node.hard_state().voted_for, 3);
}

// A node that cut off part of its log (a corrupt batch) knows where the lost log ended: while
// rejoining it votes as that log would have, only for candidates at least as up to date as it.
TEST(RaftElection, RejoiningNodeWithAFloorVotesOnlyForCandidatesReachingIt) {
  io::SeededRandom random(1);
  Config config = test_config();
  config.self = 2;
  RestoredState restored = restored_with_log({1, 1, 2}, 2, {1, 2, 3});
  restored.rejoining = true;
  restored.rejoin_floor = OffsetAndTerm{6, 2};  // it held offsets up to 6 (term 2) before
  RaftCore node(config, std::move(restored), random);
  for (int i = 0; i < 100; ++i) node.tick();
  EXPECT_EQ(node.role(), Role::kFollower) << "a rejoining node does not campaign";
  auto granted = [&](NodeId from, Term term, Offset last_offset, Term last_term) {
    node.step(Message{from, 2, term, VoteRequest{false, false, last_offset, last_term}});
    Ready ready = node.take_ready();
    bool grant = false;
    for (const Message& message : testing::all_messages(ready)) {
      if (const auto* vote = std::get_if<VoteResponse>(&message.body)) grant = vote->granted;
    }
    node.advance(ready);
    return grant;
  };
  // Longer than what it holds now (offset 2), shorter than what it lost: refused.
  EXPECT_FALSE(granted(1, 3, 5, 2));
  // As long as the lost log, in a later term: granted.
  EXPECT_TRUE(granted(3, 4, 6, 2));
  // A later last term beats any offset.
  EXPECT_TRUE(granted(1, 5, 3, 3));
  EXPECT_TRUE(node.rejoining()) << "voting does not end rejoining; catching up does";
}

TEST(RaftElection, SingleVoterElectsItselfAndCommitsAfterSync) {
  io::SeededRandom random(1);
  Config config = test_config();
  config.self = 1;
  RaftCore core(config, restored_with_log({}, 0, {1}), random);
  for (int i = 0; i < 20 && core.role() != Role::kLeader; ++i) core.tick();
  ASSERT_EQ(core.role(), Role::kLeader);
  EXPECT_EQ(core.commit_index(), -1) << "the leader-change entry is not durable yet";
  Ready ready = core.take_ready();
  ASSERT_EQ(ready.to_persist.size(), 1u);
  EXPECT_EQ(ready.to_persist[0].meta.kind, EntryKind::kLeaderChange);
  core.advance(ready);
  EXPECT_EQ(core.commit_index(), 0);
  const ProposeResult result = core.propose(3, {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.range.base_offset, 1);
  EXPECT_EQ(result.range.last_offset, 3);
  EXPECT_EQ(core.commit_index(), 0);
  core.advance(core.take_ready());
  EXPECT_EQ(core.commit_index(), 3);
  EXPECT_EQ(core.high_watermark(), 4);
}

}  // namespace
}  // namespace strand::raft
