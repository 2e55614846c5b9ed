// Replicas of one partition on three simulated brokers over the RPC transport. Invariant checked
// throughout: every acknowledged (acks=all) batch is in every replica's log, at its offset, with
// its term, byte for byte, once the cluster converged; logs are identical; no term has two leaders.
//
// Each test runs several seeds; a failure names the seed. Rerun one seed with
//   STRAND_SEED=<seed> build/tests/raft/raft_replica_test --gtest_filter=<test>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/random.h"
#include "replica_cluster.h"

namespace strand::raft::testing {
namespace {

using io::Duration;

constexpr int kSeeds = 10;

std::vector<std::uint64_t> seeds(std::uint64_t first) {
  if (const char* forced = std::getenv("STRAND_SEED")) return {std::strtoull(forced, nullptr, 10)};
  std::vector<std::uint64_t> out;
  for (int i = 0; i < kSeeds; ++i) out.push_back(first + static_cast<std::uint64_t>(i));
  return out;
}

std::string rerun(std::uint64_t seed) {
  return "seed " + std::to_string(seed) + " (rerun: STRAND_SEED=" + std::to_string(seed) +
         " raft_replica_test --gtest_filter=" +
         ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "." +
         ::testing::UnitTest::GetInstance()->current_test_info()->name() + ")";
}

// Converges, reads every log back and checks it against what was acknowledged.
void expect_converged_and_complete(ReplicaCluster& cluster, const std::vector<Acked>& acked,
                                   const std::string& where) {
  ASSERT_TRUE(cluster.wait_converged(Duration::s(60))) << where << cluster.describe();
  std::optional<std::string> problem = check_logs(cluster.read_logs(), acked);
  EXPECT_FALSE(problem) << where << ": " << *problem;
  EXPECT_FALSE(cluster.violation()) << where << ": " << *cluster.violation();
}

TEST(RaftReplica, ElectsLeaderAndReplicatesIdentically) {
  for (std::uint64_t seed : seeds(100)) {
    const std::string where = rerun(seed);
    ReplicaCluster cluster(seed);
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where << cluster.describe();
    const NodeId leader = *cluster.leader();
    Stream stream;
    cluster.start_stream(leader, stream, 4, 25, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(stream, Duration::s(120))) << where;
    EXPECT_EQ(stream.acked.size(), 100u) << where << cluster.describe();
    // A follower refuses and names the leader (NOT_LEADER_OR_FOLLOWER); acks=1 is answered.
    const NodeId follower = leader % kBrokers + 1;
    Stream refused;
    cluster.start_stream(follower, refused, 1, 1, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(refused, Duration::s(10))) << where;
    EXPECT_EQ(refused.errors[ReplicaError::kNotLeader], 1) << where;
    EXPECT_EQ(refused.leader_hint, leader) << where;
    Stream acks_one;
    acks_one.acks = Acks::kLeader;
    cluster.start_stream(leader, acks_one, 2, 10, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(acks_one, Duration::s(60))) << where;
    EXPECT_EQ(acks_one.acked.size(), 20u) << where;
    stream.acked.insert(stream.acked.end(), acks_one.acked.begin(), acks_one.acked.end());
    if (std::getenv("STRAND_VERBOSE")) {
      std::printf("%s: t=%lld ms%s\n", where.c_str(),
                  static_cast<long long>(cluster.world().now().ns() / 1000000),
                  cluster.describe().c_str());
    }
    expect_converged_and_complete(cluster, stream.acked, where);
  }
}

TEST(RaftReplica, LeaderCrashLosesNoAcknowledgedBatch) {
  std::vector<double> failover_ms;
  for (std::uint64_t seed : seeds(200)) {
    const std::string where = rerun(seed);
    ReplicaCluster cluster(seed);
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where;
    const NodeId old_leader = *cluster.leader();
    Stream before;
    cluster.start_stream(old_leader, before, 4, 200, Duration::s(10));
    cluster.world().run_for(Duration::ms(50 + static_cast<std::int64_t>(seed % 7) * 60));
    cluster.crash(old_leader);
    const io::Instant crashed_at = cluster.world().now();
    // Ask the successor as soon as there is one, until one batch is acknowledged.
    Stream after;
    for (int attempt = 0; attempt < 50 && after.acked.empty(); ++attempt) {
      ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30), old_leader)) << where;
      cluster.start_stream(*cluster.leader(), after, 1, 1, Duration::s(10));
      ASSERT_TRUE(cluster.wait_stream(after, Duration::s(30))) << where;
    }
    ASSERT_FALSE(after.acked.empty()) << where << cluster.describe();
    failover_ms.push_back(static_cast<double>((*after.first_ack_at - crashed_at).count_us()) /
                          1000.0);
    cluster.start_stream(*cluster.leader(), after, 2, 20, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(after, Duration::s(120))) << where;
    cluster.restart(old_leader);
    std::vector<Acked> acked = before.acked;
    acked.insert(acked.end(), after.acked.begin(), after.acked.end());
    EXPECT_GT(before.acked.size(), 0u) << where;
    expect_converged_and_complete(cluster, acked, where);
  }
  double sum = 0;
  double worst = 0;
  for (double ms : failover_ms) {
    sum += ms;
    worst = std::max(worst, ms);
  }
  std::printf(
      "failover (leader crash -> first acks=all on the successor, simulated): mean %.0f ms,"
      " max %.0f ms over %zu seeds\n",
      sum / static_cast<double>(failover_ms.size()), worst, failover_ms.size());
}

TEST(RaftReplica, IsolatedLeaderStopsAcknowledgingAndMajorityMovesOn) {
  for (std::uint64_t seed : seeds(300)) {
    const std::string where = rerun(seed);
    ReplicaCluster cluster(seed);
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where;
    const NodeId old_leader = *cluster.leader();
    Stream warmup;
    cluster.start_stream(old_leader, warmup, 1, 5, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(warmup, Duration::s(30))) << where;
    cluster.isolate(old_leader);
    Stream cut_off;
    cluster.start_stream(old_leader, cut_off, 2, 3, Duration::s(5));
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30), old_leader)) << where;
    const NodeId new_leader = *cluster.leader();
    Stream majority;
    cluster.start_stream(new_leader, majority, 2, 10, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(majority, Duration::s(60))) << where;
    ASSERT_TRUE(cluster.wait_stream(cut_off, Duration::s(60))) << where;
    EXPECT_TRUE(cut_off.acked.empty()) << where << ": the isolated leader acknowledged";
    if (std::getenv("STRAND_VERBOSE")) {
      std::printf("%s: cut off: %d timeout, %d lost, %d not leader;%s\n", where.c_str(),
                  cut_off.errors[ReplicaError::kTimeout], cut_off.errors[ReplicaError::kLost],
                  cut_off.errors[ReplicaError::kNotLeader], cluster.describe().c_str());
    }
    EXPECT_EQ(majority.acked.size(), 20u) << where << cluster.describe();
    cluster.heal();
    std::vector<Acked> acked = warmup.acked;
    acked.insert(acked.end(), majority.acked.begin(), majority.acked.end());
    expect_converged_and_complete(cluster, acked, where);
  }
}

TEST(RaftReplica, PowerFailureOfAllBrokersLosesNoAcknowledgedBatch) {
  for (std::uint64_t seed : seeds(400)) {
    const std::string where = rerun(seed);
    ReplicaCluster cluster(seed);
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where;
    Stream stream;
    cluster.start_stream(*cluster.leader(), stream, 4, 200, Duration::s(10));
    cluster.world().run_for(Duration::ms(100 + static_cast<std::int64_t>(seed % 5) * 70));
    for (NodeId id = 1; id <= kBrokers; ++id) cluster.crash(id);
    for (NodeId id = 1; id <= kBrokers; ++id) cluster.restart(id);
    EXPECT_GT(stream.acked.size(), 0u) << where;
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where << cluster.describe();
    Stream after;
    cluster.start_stream(*cluster.leader(), after, 1, 5, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(after, Duration::s(60))) << where;
    std::vector<Acked> acked = stream.acked;
    acked.insert(acked.end(), after.acked.begin(), after.acked.end());
    expect_converged_and_complete(cluster, acked, where);
  }
}

// quorum_reachable() (acks=all's NOT_ENOUGH_REPLICAS) turns false within an election timeout
// of a leader losing both followers, and true again on the leader after the heal.
TEST(RaftReplica, QuorumReachableFollowsFollowerContact) {
  for (std::uint64_t seed : seeds(700)) {
    const std::string where = rerun(seed);
    ReplicaCluster cluster(seed);
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where;
    const NodeId leader = *cluster.leader();
    ASSERT_TRUE(cluster.world().run_until(
        [&] { return cluster.replica(leader)->quorum_reachable(); }, Duration::s(5)))
        << where << cluster.describe();
    for (NodeId id = 1; id <= kBrokers; ++id) {
      if (id != leader) {
        EXPECT_FALSE(cluster.replica(id)->quorum_reachable()) << where << ": a follower";
      }
    }
    for (NodeId id = 1; id <= kBrokers; ++id) {
      if (id != leader) cluster.isolate(id);
    }
    // election timeout = 10 ticks of 100 ms, plus a tick of slack.
    ASSERT_TRUE(cluster.world().run_until(
        [&] { return !cluster.replica(leader)->quorum_reachable(); }, Duration::ms(1100)))
        << where << cluster.describe();
    cluster.heal();
    ASSERT_TRUE(cluster.world().run_until(
        [&] {
          std::optional<NodeId> lead = cluster.leader();
          return lead && cluster.replica(*lead)->quorum_reachable();
        },
        Duration::s(30)))
        << where << cluster.describe();
    Stream stream;
    cluster.start_stream(*cluster.leader(), stream, 1, 3, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(stream, Duration::s(30))) << where;
    EXPECT_EQ(stream.acked.size(), 3u) << where << cluster.describe();
  }
}

// A follower down while the leader's retention deletes what it lacks comes back, restarts its
// log at the leader's log start offset, and then holds exactly the leader's log from there.
TEST(RaftReplica, FollowerBehindRetentionRestartsAtLeaderLogStart) {
  for (std::uint64_t seed : seeds(800)) {
    const std::string where = rerun(seed);
    ClusterOptions options;
    options.log.segment_bytes = 1024;
    options.log.retention_bytes = 2048;
    ReplicaCluster cluster(seed, options);
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where;
    const NodeId leader = *cluster.leader();
    const NodeId lagging = leader % kBrokers + 1;
    Stream before;
    cluster.start_stream(leader, before, 1, 5, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(before, Duration::s(30))) << where;
    ASSERT_TRUE(cluster.wait_converged(Duration::s(30))) << where << cluster.describe();
    cluster.crash(lagging);
    const Offset lagging_end = before.acked.back().base_offset + 1;
    Stream during;
    cluster.start_stream(leader, during, 2, 60, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(during, Duration::s(120))) << where;
    ASSERT_EQ(during.acked.size(), 120u) << where << cluster.describe();
    ASSERT_TRUE(cluster.world().run_until(
        [&] {
          Replica* r = cluster.replica(leader);
          return r->high_watermark() == r->log().next_offset();
        },
        Duration::s(10)))
        << where;
    ASSERT_TRUE(cluster.apply_retention(leader)) << where;
    const Offset start = cluster.replica(leader)->log().log_start_offset();
    ASSERT_GT(start, lagging_end + 1) << where << ": retention removed too little";
    EXPECT_EQ(cluster.replica(leader)->core().log_start_offset(), start) << where;
    cluster.restart(lagging);
    Stream after;
    ASSERT_TRUE(cluster.world().run_until([&] { return cluster.replica(lagging) != nullptr; },
                                          Duration::s(10)))
        << where;
    cluster.start_stream(leader, after, 1, 5, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(after, Duration::s(60))) << where;
    ASSERT_TRUE(cluster.wait_converged(Duration::s(60))) << where << cluster.describe();
    EXPECT_EQ(cluster.replica(lagging)->log().log_start_offset(), start) << where;
    EXPECT_FALSE(cluster.replica(lagging)->failed()) << where;
    std::map<NodeId, std::vector<std::byte>> logs = cluster.read_logs();
    std::map<NodeId, std::vector<std::byte>> compared{{leader, logs[leader]},
                                                      {lagging, logs[lagging]}};
    std::vector<Acked> acked;
    for (const Stream* stream : {&during, &after}) {
      for (const Acked& ack : stream->acked) {
        if (ack.base_offset >= start) acked.push_back(ack);
      }
    }
    std::optional<std::string> problem = check_logs(compared, acked);
    EXPECT_FALSE(problem) << where << ": " << *problem;
    EXPECT_FALSE(cluster.violation()) << where << ": " << *cluster.violation();
    // The restarted log survives a restart of its broker.
    cluster.crash(lagging);
    cluster.restart(lagging);
    ASSERT_TRUE(cluster.wait_converged(Duration::s(60))) << where << cluster.describe();
    EXPECT_EQ(cluster.replica(lagging)->log().log_start_offset(), start) << where;
  }
}

// The leader moves its log start into the middle of a segment (DeleteRecords, the group
// coordinator's compaction); followers follow at their next retention check, never past their
// own high watermark, and a follower may not move it itself.
TEST(RaftReplica, FollowersFollowTheLeadersLogStart) {
  for (std::uint64_t seed : seeds(850)) {
    const std::string where = rerun(seed);
    ClusterOptions options;
    options.log.segment_bytes = 1024;
    ReplicaCluster cluster(seed, options);
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where;
    const NodeId leader = *cluster.leader();
    const NodeId follower = leader % kBrokers + 1;
    Stream stream;
    cluster.start_stream(leader, stream, 1, 40, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(stream, Duration::s(60))) << where;
    ASSERT_EQ(stream.acked.size(), 40u) << where;
    ASSERT_TRUE(cluster.wait_converged(Duration::s(30))) << where << cluster.describe();
    EXPECT_FALSE(cluster.advance_log_start(follower, stream.acked[10].base_offset))
        << where << ": only the leader moves the log start";
    const Offset target = stream.acked[25].base_offset;
    const Offset beyond = cluster.replica(leader)->high_watermark() + 100;
    std::optional<Offset> start = cluster.advance_log_start(leader, target);
    ASSERT_TRUE(start) << where;
    EXPECT_EQ(*start, target) << where;
    EXPECT_EQ(cluster.replica(leader)->core().log_start_offset(), target) << where;
    std::optional<Offset> capped = cluster.advance_log_start(leader, beyond);
    ASSERT_TRUE(capped) << where;
    EXPECT_EQ(*capped, cluster.replica(leader)->high_watermark()) << where << ": capped";
    // A heartbeat or append carries the new start; then the followers' retention check.
    Stream more;
    cluster.start_stream(leader, more, 1, 3, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(more, Duration::s(60))) << where;
    ASSERT_TRUE(cluster.wait_converged(Duration::s(30))) << where << cluster.describe();
    const Offset leader_start = cluster.replica(leader)->log().log_start_offset();
    for (NodeId id = 1; id <= kBrokers; ++id) {
      if (id == leader) continue;
      ASSERT_TRUE(cluster.apply_retention(id)) << where;
      EXPECT_EQ(cluster.replica(id)->log().log_start_offset(), leader_start)
          << where << " node " << id;
      EXPECT_EQ(cluster.replica(id)->core().log_start_offset(), leader_start) << where;
    }
    std::optional<std::string> problem = check_logs(cluster.read_logs(), more.acked);
    EXPECT_FALSE(problem) << where << ": " << *problem;
    cluster.crash(follower);
    cluster.restart(follower);
    ASSERT_TRUE(cluster.wait_converged(Duration::s(60))) << where << cluster.describe();
    EXPECT_EQ(cluster.replica(follower)->log().log_start_offset(), leader_start) << where;
    EXPECT_FALSE(cluster.violation()) << where << ": " << *cluster.violation();
  }
}

// A configuration entry in the log wins over the bootstrap after a restart of every broker:
// the group shrunk to two voters stays shrunk, and still commits.
// A bit flips in a replica's synced log (latent media corruption), below its checkpointed high
// watermark, while it is down. Opening meets the corrupt batch (recovery cuts it, and the log then
// ends before the checkpoint), and the replica rejoins: it does not campaign, and votes only for
// candidates as up to date as the log it lost, until a leader sent it everything it committed.
// Nothing acknowledged is lost and the logs end identical. Odd seeds corrupt the leader's log, even
// ones a follower's.
TEST(RaftReplica, CorruptBatchIsCutAndRepairedFromThePeers) {
  for (std::uint64_t seed : seeds(900)) {
    const std::string where = rerun(seed);
    ReplicaCluster cluster(seed);
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where;
    const NodeId leader = *cluster.leader();
    Stream stream;
    cluster.start_stream(leader, stream, 2, 60, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(stream, Duration::s(120))) << where;
    ASSERT_EQ(stream.acked.size(), 120u) << where;
    cluster.world().run_for(Duration::s(6));  // a high watermark checkpoint (every 5 s) covers it
    const NodeId victim = seed % 2 == 1 ? leader : leader % kBrokers + 1;
    const std::string path = "data/topic-0/00000000000000000000.log";
    io::Result<std::vector<std::byte>> durable = cluster.node(victim).disk().durable_bytes(path);
    ASSERT_TRUE(durable.ok() && durable->size() > 100) << where;
    cluster.crash(victim);
    // Somewhere in the first half of the log, below everything acknowledged since.
    const std::uint64_t position = durable->size() / 4 + seed * 37 % (durable->size() / 4);
    ASSERT_TRUE(cluster.node(victim).disk().flip_bit(path, position, seed % 8).ok()) << where;
    cluster.restart(victim);
    ASSERT_TRUE(cluster.world().run_until([&] { return cluster.replica(victim) != nullptr; },
                                          Duration::s(30)))
        << where;
    const Replica* reopened = cluster.replica(victim);
    ASSERT_TRUE(reopened->repaired_from().has_value()) << where;
    EXPECT_LE(*reopened->repaired_from(), stream.acked.back().base_offset) << where;
    EXPECT_TRUE(reopened->core().rejoining()) << where;
    // More writes while it rejoins (after a new election if the leader was the victim).
    Stream more;
    for (int attempt = 0; attempt < 20 && more.acked.empty(); ++attempt) {
      ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where;
      cluster.start_stream(*cluster.leader(), more, 1, 10, Duration::s(10));
      ASSERT_TRUE(cluster.wait_stream(more, Duration::s(60))) << where;
    }
    std::vector<Acked> acked = stream.acked;
    acked.insert(acked.end(), more.acked.begin(), more.acked.end());
    expect_converged_and_complete(cluster, acked, where);
    EXPECT_FALSE(cluster.replica(victim)->core().rejoining()) << where << cluster.describe();
  }
}

TEST(RaftReplica, ConfigurationEntriesAreReplayedOnOpen) {
  for (std::uint64_t seed : seeds(900)) {
    const std::string where = rerun(seed);
    ReplicaCluster cluster(seed);
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where;
    const NodeId leader = *cluster.leader();
    Stream warmup;
    cluster.start_stream(leader, warmup, 1, 3, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(warmup, Duration::s(30))) << where;
    const NodeId removed = leader % kBrokers + 1;
    ProposeOutcome changed =
        cluster.change_configuration(leader, ConfigChange{ConfigChangeKind::kRemoveNode, removed});
    ASSERT_TRUE(changed.ok()) << where << ": " << replica_error_name(changed.error);
    for (NodeId id = 1; id <= kBrokers; ++id) cluster.crash(id);
    for (NodeId id = 1; id <= kBrokers; ++id) cluster.restart(id);
    ASSERT_TRUE(cluster.world().run_until(
        [&] {
          for (NodeId id = 1; id <= kBrokers; ++id) {
            if (cluster.replica(id) == nullptr) return false;
          }
          return true;
        },
        Duration::s(10)))
        << where;
    for (NodeId id = 1; id <= kBrokers; ++id) {
      if (id == removed) continue;
      const Configuration& config = cluster.replica(id)->core().configuration();
      EXPECT_EQ(config.voters.size(), 2u) << where << ": broker " << id;
      EXPECT_FALSE(config.contains(removed)) << where << ": broker " << id;
    }
    ASSERT_TRUE(cluster.wait_for_leader(Duration::s(30))) << where;
    Stream after;
    cluster.start_stream(*cluster.leader(), after, 1, 3, Duration::s(10));
    ASSERT_TRUE(cluster.wait_stream(after, Duration::s(60))) << where;
    EXPECT_EQ(after.acked.size(), 3u) << where << cluster.describe();
    EXPECT_FALSE(cluster.violation()) << where << ": " << *cluster.violation();
  }
}

// Random faults for a minute of simulated time (crashes, restarts, power failures, isolations,
// lossy links) under a continuous acks=all load; then heal and check.
// Returns the world's trace hash.
std::uint64_t run_random_faults(std::uint64_t seed, const std::string& where) {
  {
    ReplicaCluster cluster(seed);
    sim::LinkConfig link;
    link.latency_jitter_mean = Duration::ms(1);
    link.loss = 0.01;
    link.reorder = 0.01;
    cluster.world().network().set_all_links(link);
    io::SeededRandom random(io::mix64(seed));
    std::vector<Stream> streams(1);
    const io::Instant end = cluster.world().now() + Duration::s(60);
    for (int step = 0; step < 1000 && cluster.world().now() < end; ++step) {
      if (streams.back().running == 0) {
        if (std::optional<NodeId> lead = cluster.leader()) {
          streams.emplace_back();
          cluster.start_stream(*lead, streams.back(), 2, 20, Duration::s(5));
        }
      }
      cluster.world().run_for(Duration::ms(random.between(100, 3000)));
      const auto target = static_cast<NodeId>(random.between(1, kBrokers));
      const std::uint64_t action = random.uniform(10);
      if (action < 2 && cluster.node(target).up()) {
        cluster.crash(target);
      } else if (action < 5) {
        for (NodeId id = 1; id <= kBrokers; ++id) {
          if (!cluster.node(id).up()) cluster.restart(id);
        }
      } else if (action < 6) {
        cluster.isolate(target);
      } else if (action < 8) {
        cluster.heal();
      } else if (action < 9 && random.chance(0.3)) {
        for (NodeId id = 1; id <= kBrokers; ++id) {
          if (cluster.node(id).up()) cluster.crash(id);
        }
      }
    }
    cluster.heal();
    cluster.world().network().set_all_links(sim::LinkConfig{});
    for (NodeId id = 1; id <= kBrokers; ++id) {
      if (!cluster.node(id).up()) cluster.restart(id);
    }
    for (Stream& stream : streams)
      EXPECT_TRUE(cluster.wait_stream(stream, Duration::s(60))) << where;
    if (!cluster.wait_for_leader(Duration::s(30))) {
      ADD_FAILURE() << where << ": no leader after the heal;" << cluster.describe();
      return 0;
    }
    streams.emplace_back();
    cluster.start_stream(*cluster.leader(), streams.back(), 1, 5, Duration::s(10));
    EXPECT_TRUE(cluster.wait_stream(streams.back(), Duration::s(60))) << where;
    std::vector<Acked> acked;
    for (const Stream& stream : streams) {
      acked.insert(acked.end(), stream.acked.begin(), stream.acked.end());
    }
    EXPECT_FALSE(streams.back().acked.empty()) << where << ": no progress after the heal";
    if (std::getenv("STRAND_VERBOSE")) {
      std::printf("%s: %zu acknowledged in %zu streams;%s\n", where.c_str(), acked.size(),
                  streams.size(), cluster.describe().c_str());
    }
    expect_converged_and_complete(cluster, acked, where);
    return cluster.world().trace_hash();
  }
}

TEST(RaftReplica, RandomFaultsLoseNoAcknowledgedBatch) {
  for (std::uint64_t seed : seeds(500)) {
    const std::string where = rerun(seed);
    run_random_faults(seed, where);
    if (HasFailure()) break;
  }
}

TEST(RaftReplica, SameSeedSameTrace) {
  const std::uint64_t seed = seeds(600).front();
  const std::string where = rerun(seed);
  EXPECT_EQ(run_random_faults(seed, where), run_random_faults(seed, where)) << where;
}

}  // namespace
}  // namespace strand::raft::testing
