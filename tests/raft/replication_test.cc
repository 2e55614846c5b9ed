// Log replication: durability before acks, the commit rule, conflicts and fast backtracking,
// followers moved past the leader's log start offset, heartbeats, proposals.
#include <gtest/gtest.h>

#include "cluster.h"
#include "test_util.h"

namespace strand::raft {
namespace {

using testing::all_messages;
using testing::Cluster;
using testing::make_leader;
using testing::restored_with_log;
using testing::unit_config;

Config node_config(NodeId self) {
  Config config = unit_config();
  config.self = self;
  config.pre_vote = false;
  return config;
}

Entry entry(Offset base, Offset last, Term term) {
  return Entry{EntryMeta{base, last, term, EntryKind::kData}, {}, {std::byte{1}}};
}

TEST(RaftReplication, FollowerPersistsBeforeAcknowledging) {
  io::SeededRandom random(1);
  RaftCore follower(node_config(2), restored_with_log({}, 1, {1, 2, 3}), random);
  AppendRequest append{-1, 0, -1, 0, Configuration{{1, 2, 3}, {}}, {entry(0, 4, 1)}};
  follower.step(Message{1, 2, 1, append});
  Ready ready = follower.take_ready();
  ASSERT_EQ(ready.to_persist.size(), 1u);
  EXPECT_TRUE(ready.to_send_now.empty());
  ASSERT_EQ(ready.to_send_after_sync.size(), 1u);
  const auto& ack = std::get<AppendResponse>(ready.to_send_after_sync[0].body);
  EXPECT_TRUE(ack.success);
  EXPECT_EQ(ack.last_offset, 4);
  EXPECT_EQ(follower.persisted_offset(), -1);
  follower.advance(ready);
  EXPECT_EQ(follower.persisted_offset(), 4);
}

TEST(RaftReplication, LeaderCommitsOnlyWhatAQuorumHasSynced) {
  Cluster cluster({1, 2, 3}, {}, unit_config(), 11);
  cluster.elect(1);
  cluster.auto_sync = false;
  const ProposeResult proposed = cluster.propose(1, 5);
  ASSERT_TRUE(proposed.ok());
  cluster.run_until_quiet();
  const Offset before = cluster.core(1).commit_index();
  EXPECT_LT(before, proposed.range.last_offset) << "nothing synced anywhere";
  cluster.sync(1);
  cluster.run_until_quiet();
  EXPECT_EQ(cluster.core(1).commit_index(), before) << "the leader alone is no quorum";
  cluster.sync(2);
  cluster.run_until_quiet();
  EXPECT_EQ(cluster.core(1).commit_index(), proposed.range.last_offset);
  EXPECT_FALSE(cluster.violation());
}

TEST(RaftReplication, CommitsOnlyCurrentTermEntriesByCounting) {
  // Figure 8: the new leader of term 3 holds an entry of term 2 at offset 1; a follower holding
  // it too makes a majority, but only the leader-change entry of term 3 may commit it.
  for (bool planted_bug : {false, true}) {
    io::SeededRandom random(1);
    Config config = node_config(1);
    config.test_only_commit_from_earlier_terms = planted_bug;
    RaftCore leader(config, restored_with_log({1, 2}, 2, {1, 2, 3}), random);
    testing::make_leader(leader, {2});
    ASSERT_EQ(leader.role(), Role::kLeader);
    ASSERT_EQ(leader.term(), 3);
    leader.advance(leader.take_ready());  // the leader-change entry at offset 2 is durable
    leader.step(Message{2, 1, 3, AppendResponse{true, 1, -1, -1, 0}});
    EXPECT_EQ(leader.commit_index(), planted_bug ? 1 : -1) << "planted bug " << planted_bug;
    leader.step(Message{2, 1, 3, AppendResponse{true, 2, -1, -1, 0}});
    EXPECT_EQ(leader.commit_index(), 2);
  }
}

TEST(RaftReplication, TruncatesConflictsAndBacktracksByTerm) {
  Cluster cluster({1, 2, 3}, {}, unit_config(), 12);
  cluster.elect(1);
  ASSERT_TRUE(cluster.propose(1, 2).ok());
  cluster.run_until_quiet();
  // Node 1, cut off, keeps appending entries nobody else gets.
  cluster.isolate(1);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(cluster.propose(1).ok());
  cluster.run_until_quiet();
  ASSERT_TRUE(cluster.run_until(
      [&] {
        return cluster.leader() && *cluster.leader() != 1 &&
               cluster.core(1).role() != Role::kLeader;
      },
      100));
  const NodeId leader = *cluster.leader();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster.propose(leader).ok());
  cluster.run_until_quiet();
  const int rejections_before = cluster.delivered_rejections;
  cluster.heal();
  ASSERT_TRUE(cluster.run_until(
      [&] {
        return cluster.core(1).last_offset() == cluster.core(leader).last_offset() &&
               cluster.core(1).commit_index() == cluster.core(leader).commit_index();
      },
      50));
  cluster.check_logs();
  EXPECT_FALSE(cluster.violation()) << *cluster.violation();
  const auto& mine = cluster.node(1).log.entries;
  const auto& theirs = cluster.node(leader).log.entries;
  ASSERT_EQ(mine.size(), theirs.size());
  for (std::size_t i = 0; i < mine.size(); ++i) EXPECT_EQ(mine[i].meta, theirs[i].meta);
  // 20 conflicting entries of one term cost one jump back, not twenty.
  EXPECT_LE(cluster.delivered_rejections - rejections_before, 2);
}

TEST(RaftReplication, RejectionHintSkipsWholeTerms) {
  io::SeededRandom random(1);
  // Follower: terms 1 1 2 2 2 2; the leader's log has term 3 from offset 2 on.
  RaftCore follower(node_config(2), restored_with_log({1, 1, 2, 2, 2, 2}, 3, {1, 2, 3}), random);
  AppendRequest append{7, 3, -1, 0, {}, {}};
  follower.step(Message{1, 2, 3, append});
  Ready ready = follower.take_ready();
  const std::vector<Message> sent = all_messages(ready);
  ASSERT_EQ(sent.size(), 1u);
  const auto& reject = std::get<AppendResponse>(sent[0].body);
  EXPECT_FALSE(reject.success);
  EXPECT_EQ(reject.rejected_prev_offset, 7);
  EXPECT_EQ(reject.hint_offset, 5);  // our last offset; its term 2 <= prev term 3
  EXPECT_EQ(reject.hint_term, 2);
}

TEST(RaftReplication, FollowerBehindRetentionMovesToLeaderLogStart) {
  Cluster cluster({1, 2, 3}, {}, unit_config(), 13);
  cluster.elect(1);
  cluster.crash(3);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(cluster.propose(1).ok());
  cluster.run_until_quiet();
  ASSERT_EQ(cluster.core(1).commit_index(), 30);
  ASSERT_TRUE(cluster.run_until([&] { return cluster.core(2).commit_index() == 30; }, 5));
  cluster.retain_from(1, 20);
  cluster.retain_from(2, 20);
  cluster.restart(3);
  ASSERT_TRUE(cluster.run_until([&] { return cluster.core(3).commit_index() == 30; }, 50));
  EXPECT_EQ(cluster.core(3).log_start_offset(), 20);
  EXPECT_EQ(cluster.node(3).log.log_start, 20);
  EXPECT_EQ(cluster.core(3).last_offset(), 30);
  EXPECT_EQ(cluster.core(3).term_index().term_at(19), cluster.core(1).term());
  EXPECT_EQ(cluster.core(3).configuration(), cluster.core(1).configuration());
  cluster.check_logs();
  EXPECT_FALSE(cluster.violation()) << *cluster.violation();
}

TEST(RaftReplication, FollowerResetKeepsCommittedPrefixAndDropsItsConflicts) {
  io::SeededRandom random(1);
  // Follower: committed offset 0 (t1), then uncommitted 1..2 of term 2 that lost.
  RestoredState state = restored_with_log({1, 2, 2}, 2, {1, 2, 3});
  state.commit_index = 0;
  RaftCore follower(node_config(2), std::move(state), random);
  // The leader's log starts at 10; offset 9 has term 3.
  AppendRequest append{9, 3, 12, 10, Configuration{{1, 2, 3}, {}}, {entry(10, 12, 4)}};
  follower.step(Message{1, 2, 4, append});
  Ready ready = follower.take_ready();
  ASSERT_TRUE(ready.truncate_from);
  EXPECT_EQ(*ready.truncate_from, 1) << "only what lies beyond the commit index";
  ASSERT_TRUE(ready.log_start_offset);
  EXPECT_EQ(*ready.log_start_offset, 10);
  ASSERT_EQ(ready.to_persist.size(), 1u);
  EXPECT_EQ(follower.commit_index(), 12);
  EXPECT_EQ(follower.term_index().term_at(9), 3);
}

TEST(RaftReplication, HeartbeatCommitsOnlyUpToKnownMatch) {
  io::SeededRandom random(1);
  RaftCore follower(node_config(2), restored_with_log({1, 1, 1, 1, 1}, 1, {1, 2, 3}), random);
  follower.step(Message{1, 2, 1, HeartbeatRequest{4, 2}});
  EXPECT_EQ(follower.commit_index(), 2);
  EXPECT_EQ(follower.leader(), 1);
  Ready ready = follower.take_ready();
  ASSERT_EQ(ready.to_send_now.size(), 1u) << "heartbeat answers need no sync";
  EXPECT_EQ(std::get<HeartbeatResponse>(ready.to_send_now[0].body).last_offset, 4);
}

// The leader's match offset counts entries this follower acknowledged in the term; one beyond its
// log means a restart lost synced entries (a corrupt batch cut off), and the answer says so.
TEST(RaftReplication, FollowerSaysItLostEntriesTheLeaderCountsAsMatched) {
  io::SeededRandom random(1);
  RaftCore follower(node_config(2), restored_with_log({1, 1, 1, 1, 1}, 1, {1, 2, 3}), random);
  auto lost = [&](Offset match) {
    follower.step(Message{1, 2, 1, HeartbeatRequest{4, match}});
    Ready ready = follower.take_ready();
    const auto& response = std::get<HeartbeatResponse>(ready.to_send_now.at(0).body);
    EXPECT_EQ(response.last_offset, 4);
    follower.advance(ready);
    return response.lost_entries;
  };
  EXPECT_FALSE(lost(4));
  EXPECT_FALSE(lost(2));
  EXPECT_TRUE(lost(7));
}

TEST(RaftReplication, StaleLeaderIsToldTheNewTerm) {
  io::SeededRandom random(1);
  RaftCore follower(node_config(2), restored_with_log({}, 5, {1, 2, 3}), random);
  follower.step(Message{1, 2, 3, HeartbeatRequest{-1, -1}});
  Ready ready = follower.take_ready();
  ASSERT_EQ(ready.to_send_now.size(), 1u);
  EXPECT_EQ(ready.to_send_now[0].term, 5);
}

TEST(RaftReplication, MalformedAppendsAreDropped) {
  io::SeededRandom random(1);
  RaftCore follower(node_config(2), restored_with_log({}, 1, {1, 2, 3}), random);
  const Configuration start{{1, 2, 3}, {}};
  // A gap between entries, a term beyond the message's, an entry ending before it starts.
  follower.step(
      Message{1, 2, 1, AppendRequest{-1, 0, -1, 0, start, {entry(0, 0, 1), entry(2, 2, 1)}}});
  follower.step(Message{1, 2, 1, AppendRequest{-1, 0, -1, 0, start, {entry(0, 0, 2)}}});
  follower.step(Message{1, 2, 1, AppendRequest{-1, 0, -1, 0, start, {entry(0, -1, 1)}}});
  // Addressed to someone else.
  follower.step(Message{1, 3, 1, AppendRequest{-1, 0, -1, 0, start, {entry(0, 0, 1)}}});
  EXPECT_EQ(follower.last_offset(), -1);
  EXPECT_TRUE(follower.take_ready().to_persist.empty());
}

TEST(RaftReplication, ProposalsAreRefusedWithReasons) {
  io::SeededRandom random(1);
  Config config = node_config(1);
  config.uncommitted_offsets_max = 10;
  RaftCore core(config, restored_with_log({}, 0, {1, 2, 3}), random);
  EXPECT_EQ(core.propose(1, {}).error, ProposeError::kNotLeader);
  make_leader(core, {2});
  ASSERT_EQ(core.role(), Role::kLeader);
  EXPECT_EQ(core.propose(0, {}).error, ProposeError::kInvalid);
  const ProposeResult first = core.propose(5, {});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.range.base_offset, 1);
  EXPECT_EQ(first.range.last_offset, 5);
  EXPECT_EQ(core.propose(5, {}).error, ProposeError::kBackpressure);
}

TEST(RaftReplication, LostAppendsAreResent) {
  Cluster cluster({1, 2, 3}, {}, unit_config(), 14);
  cluster.elect(1);
  ASSERT_TRUE(cluster.propose(1, 3).ok());
  cluster.drop_in_flight();  // the appends carrying it are lost
  ASSERT_TRUE(cluster.run_until(
      [&] {
        return cluster.core(2).last_offset() == 3 && cluster.core(3).last_offset() == 3 &&
               cluster.core(1).commit_index() == 3;
      },
      20));
}

TEST(RaftReplication, RejoiningFollowerLowersItsMatchAndIsSentTheEntriesAgain) {
  Cluster cluster({1, 2, 3}, {}, unit_config(), 15);
  cluster.elect(1);
  ASSERT_TRUE(cluster.propose(1, 5).ok());
  ASSERT_TRUE(cluster.run_until([&] { return cluster.core(2).last_offset() == 5; }, 20));
  RaftCore& leader = cluster.core(1);
  const Term term = leader.term();
  ASSERT_EQ(leader.progress(2)->match_offset(), 5);
  // A stale (or reordered) heartbeat answer that does not say entries were lost changes nothing.
  leader.step(Message{2, 1, term, HeartbeatResponse{2, false}});
  EXPECT_EQ(leader.progress(2)->match_offset(), 5);
  // A follower that cut its log after offset 2 (a corrupt batch): resend from 3.
  leader.step(Message{2, 1, term, HeartbeatResponse{2, true}});
  EXPECT_EQ(leader.progress(2)->match_offset(), 2);
  EXPECT_EQ(leader.progress(2)->next_offset(), 3);
  EXPECT_EQ(leader.commit_index(), 5) << "the commit index never moves back";
  Ready ready = leader.take_ready();
  bool resent = false;
  for (const Message& message : ready.to_send_now) {
    const auto* append = std::get_if<AppendRequest>(&message.body);
    if (message.to == 2 && append != nullptr && append->prev_offset == 2) resent = true;
  }
  EXPECT_TRUE(resent);
}

}  // namespace
}  // namespace strand::raft
