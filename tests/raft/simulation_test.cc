// Invariant: under any schedule of message loss, duplication, reordering and delay, partitions,
// crashes that drop unsynced writes, proposals, membership changes, leadership transfers and
// retention, there is at most one leader per term, logs match, no committed entry is ever lost
// or changed, commit indexes never go back; and once faults heal, a leader is elected and a
// proposal commits within a bounded number of ticks.
//
// Seeded, not shrunk: each seed is one whole run. STRAND_RAFT_SEED=<seed> runs just that seed
// (and STRAND_RAFT_SEEDS=<n> runs n seeds per test instead of the default).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>

#include "cluster.h"

namespace strand::raft {
namespace {

using testing::Cluster;

struct SimOptions {
  int voters = 3;
  int spares = 1;  // nodes outside the configuration that membership changes can add
  std::uint64_t seed = 1;
  int safety_ticks = 500;
  int liveness_ticks = 300;
  double crash_rate = 0.01;      // per tick
  double partition_rate = 0.01;  // per tick
  double heal_rate = 0.02;       // per tick
  Config config;
};

struct SimResult {
  std::optional<std::string> violation;
  Offset committed = -1;  // the highest commit index seen
  int leaders = 0;
};

template <typename T>
T pick(io::Random& random, const std::vector<T>& items) {
  return items[random.uniform(items.size())];
}

class Simulation {
 public:
  explicit Simulation(const SimOptions& options)
      : options_(options), random_(io::mix64(options.seed ^ 0x5eed)), cluster_(make()) {
    cluster_.auto_sync = false;
    cluster_.trace = std::getenv("STRAND_RAFT_TRACE") != nullptr;
  }

  SimResult run() {
    for (int tick = 0; tick < options_.safety_ticks && !cluster_.violation(); ++tick) {
      faults();
      workload();
      cluster_.tick_all();
      for (NodeId id : cluster_.ids()) {
        if (random_.chance(0.6)) cluster_.sync(id);
      }
      if (tick % 25 == 0) cluster_.check_logs();
    }
    if (!cluster_.violation()) liveness();
    cluster_.check_logs();
    result_.violation = cluster_.violation() ? cluster_.violation() : liveness_violation_;
    if (std::getenv("STRAND_RAFT_STATS") != nullptr) print_stats();
    return result_;
  }

 private:
  Cluster make() {
    std::vector<NodeId> voters;
    std::vector<NodeId> spares;
    for (int i = 1; i <= options_.voters; ++i) voters.push_back(i);
    for (int i = 1; i <= options_.spares; ++i) spares.push_back(options_.voters + i);
    return Cluster(voters, spares, options_.config, options_.seed);
  }

  void faults() {
    testing::NetworkOptions& net = cluster_.network;
    if (random_.chance(0.02)) {
      net.loss = random_.chance(0.5) ? 0 : random_.unit() * 0.3;
      net.duplicate = random_.chance(0.5) ? 0 : 0.1;
      net.delay_ticks_max = static_cast<std::int32_t>(random_.between(1, 4));
    }
    if (random_.chance(options_.partition_rate)) {
      std::set<NodeId> side;
      if (random_.chance(0.5)) {
        side.insert(pick(random_, cluster_.ids()));
      } else {
        for (NodeId id : cluster_.ids()) {
          if (random_.chance(0.5)) side.insert(id);
        }
      }
      cluster_.partition(side);
      ++partitions_;
    }
    if (random_.chance(options_.heal_rate)) cluster_.heal();
    if (random_.chance(options_.crash_rate)) {
      cluster_.crash(pick(random_, cluster_.ids()));
      ++crashes_;
    }
    for (NodeId id : cluster_.ids()) {
      if (!cluster_.node(id).up() && random_.chance(0.05)) cluster_.restart(id);
    }
    if (random_.chance(0.01)) retention(pick(random_, cluster_.ids()));
  }

  void workload() {
    const std::optional<NodeId> leader = cluster_.leader();
    if (!leader) return;
    RaftCore& core = cluster_.core(*leader);
    if (random_.chance(0.5)) {
      (void)cluster_.propose(*leader, static_cast<std::int32_t>(random_.between(1, 3)));
    }
    if (random_.chance(0.03)) change_membership(core);
    if (random_.chance(0.01)) {
      (void)core.transfer_leadership(pick(random_, core.configuration().voters));
    }
  }

  void change_membership(RaftCore& leader) {
    const Configuration& config = leader.configuration();
    std::vector<ConfigChange> options;
    for (NodeId id : cluster_.ids()) {
      if (!config.contains(id)) options.push_back({ConfigChangeKind::kAddLearner, id});
      if (config.is_learner(id)) {
        options.push_back({ConfigChangeKind::kPromoteLearner, id});
        options.push_back({ConfigChangeKind::kRemoveNode, id});
      }
      if (config.is_voter(id) && id != leader.self() && config.voters.size() > 2) {
        options.push_back({ConfigChangeKind::kRemoveNode, id});
      }
    }
    if (options.empty()) return;
    (void)leader.propose_configuration_change(pick(random_, options));
    cluster_.process(leader.self());
  }

  void retention(NodeId id) {
    testing::Node& node = cluster_.node(id);
    if (!node.up()) return;
    const Offset limit = std::min(node.core->commit_index(), node.core->persisted_offset()) + 1;
    std::vector<Offset> starts;
    for (const Entry& entry : node.log.entries) {
      if (entry.meta.base_offset > node.log.log_start && entry.meta.base_offset <= limit) {
        starts.push_back(entry.meta.base_offset);
      }
    }
    if (starts.empty()) return;
    cluster_.retain_from(id, pick(random_, starts));
  }

  // Heal everything, then a leader must emerge and commit a new proposal.
  void liveness() {
    cluster_.heal();
    cluster_.network = {};
    for (NodeId id : cluster_.ids()) cluster_.restart(id);
    cluster_.sync_all();
    cluster_.auto_sync = true;
    std::optional<std::pair<NodeId, OffsetRange>> proposal;
    Term proposal_term = -1;
    const bool committed = cluster_.run_until(
        [&] {
          const std::optional<NodeId> leader = cluster_.leader();
          if (!leader) return false;
          RaftCore& core = cluster_.core(*leader);
          if (proposal && proposal->first == *leader && core.term() == proposal_term) {
            return core.commit_index() >= proposal->second.last_offset;
          }
          const ProposeResult result = cluster_.propose(*leader);
          if (result.ok()) {
            proposal = {*leader, result.range};
            proposal_term = core.term();
          }
          return false;
        },
        options_.liveness_ticks);
    for (NodeId id : cluster_.ids()) {
      result_.committed = std::max(result_.committed, cluster_.core(id).commit_index());
    }
    if (!committed) {
      std::string state;
      for (NodeId id : cluster_.ids()) {
        const RaftCore& core = cluster_.core(id);
        state += " [node " + std::to_string(id) + " " + role_name(core.role()) + " t" +
                 std::to_string(core.term()) + " last " + std::to_string(core.last_offset()) +
                 " commit " + std::to_string(core.commit_index()) + "]";
      }
      cluster_.check_logs();
      if (!cluster_.violation()) {
        liveness_violation_ = "liveness: no proposal committed within " +
                              std::to_string(options_.liveness_ticks) +
                              " ticks of healing:" + state;
      }
    }
  }

  void print_stats() {
    std::string line = "seed " + std::to_string(options_.seed) + ":";
    for (const auto& [name, count] : cluster_.delivered_by_name) {
      line += " " + name + "=" + std::to_string(count);
    }
    line += " committed=" + std::to_string(result_.committed);
    for (NodeId id : cluster_.ids()) {
      const RaftCore& core = cluster_.core(id);
      line += " | n" + std::to_string(id) + " t" + std::to_string(core.term()) + " start " +
              std::to_string(core.log_start_offset()) + " voters " +
              std::to_string(core.configuration().voters.size()) + " learners " +
              std::to_string(core.configuration().learners.size());
    }
    line += " crashes=" + std::to_string(crashes_) + " partitions=" + std::to_string(partitions_);
    std::fprintf(stderr, "%s\n", line.c_str());
  }

  int crashes_ = 0;
  int partitions_ = 0;
  SimOptions options_;
  io::SeededRandom random_;
  Cluster cluster_;
  SimResult result_;
  std::optional<std::string> liveness_violation_;
};

SimResult simulate(const SimOptions& options) {
  Simulation simulation(options);
  return simulation.run();
}

std::optional<std::uint64_t> seed_from_environment() {
  const char* text = std::getenv("STRAND_RAFT_SEED");
  if (text == nullptr || *text == '\0') return std::nullopt;
  return std::strtoull(text, nullptr, 10);
}

int seeds_from_environment(int fallback) {
  const char* text = std::getenv("STRAND_RAFT_SEEDS");
  return (text == nullptr || *text == '\0') ? fallback : std::atoi(text);
}

Config sim_config() {
  Config config;
  config.election_timeout_ticks = 10;
  config.heartbeat_interval_ticks = 2;
  config.inflight_appends_max = 3;
  config.append_entries_max = 4;
  return config;
}

void run_seeds(int voters, int seeds_default, std::uint64_t first_seed, bool harsh = false) {
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::vector<std::uint64_t> seeds;
  if (auto only = seed_from_environment()) {
    seeds.push_back(*only);
  } else {
    const int count = seeds_from_environment(seeds_default);
    for (int i = 0; i < count; ++i) seeds.push_back(first_seed + static_cast<std::uint64_t>(i));
  }
  Offset committed_total = 0;
  for (std::uint64_t seed : seeds) {
    SimOptions options;
    options.voters = voters;
    options.seed = seed;
    options.config = sim_config();
    if (harsh) {
      options.config.append_entries_max = 1;
      options.crash_rate = 0.1;
      options.partition_rate = 0.05;
      options.heal_rate = 0.05;
    }
    const SimResult result = simulate(options);
    committed_total += result.committed;
    ASSERT_FALSE(result.violation)
        << *result.violation << "\nseed " << seed << "; rerun with: STRAND_RAFT_SEED=" << seed
        << " build-raft/tests/raft/raft_test --gtest_filter='RaftSimulation." << test << "'";
  }
  // The runs did real work: they committed entries, not just survived.
  EXPECT_GT(committed_total, static_cast<Offset>(seeds.size()) * 10);
}

TEST(RaftSimulation, ThreeVotersStaySafeAndLive) { run_seeds(3, 400, 1000); }

TEST(RaftSimulation, FiveVotersStaySafeAndLive) { run_seeds(5, 300, 2000); }

TEST(RaftSimulation, HarshFaultsStaySafeAndLive) {
  run_seeds(3, 200, 3000, true);
  run_seeds(5, 150, 4000, true);
}

TEST(RaftSimulation, SameSeedSameRun) {
  SimOptions options;
  options.seed = 77;
  options.config = sim_config();
  const SimResult first = simulate(options);
  const SimResult second = simulate(options);
  EXPECT_EQ(first.committed, second.committed);
  EXPECT_EQ(first.violation, second.violation);
}

// The checkers have teeth: with a planted bug the simulation finds a violation within a bounded
// number of seeds. The profile is harsh (frequent crashes and partitions, one entry per append,
// so logs diverge across several terms), which the Figure 8 bug needs to show.
std::optional<std::uint64_t> first_failing_seed(Config config, int seeds_max) {
  config.append_entries_max = 1;
  for (int i = 0; i < seeds_max; ++i) {
    SimOptions options;
    options.seed = 5000 + static_cast<std::uint64_t>(i);
    options.config = config;
    options.crash_rate = 0.05;
    options.partition_rate = 0.03;
    options.heal_rate = 0.03;
    options.safety_ticks = 1000;
    const SimResult result = simulate(options);
    if (result.violation) {
      std::fprintf(stderr, "planted bug found with seed %llu: %s\n",
                   static_cast<unsigned long long>(options.seed), result.violation->c_str());
      return options.seed;
    }
  }
  return std::nullopt;
}

TEST(RaftSimulation, FindsPlantedVoteUpToDateBug) {
  Config config = sim_config();
  config.test_only_skip_log_up_to_date_check = true;
  EXPECT_TRUE(first_failing_seed(config, 50).has_value());
}

TEST(RaftSimulation, FindsPlantedCommitFromEarlierTermBug) {
  Config config = sim_config();
  config.test_only_commit_from_earlier_terms = true;
  EXPECT_TRUE(first_failing_seed(config, 400).has_value());
}

TEST(RaftSimulation, FindsPlantedCommitWithoutMajorityBug) {
  Config config = sim_config();
  config.test_only_commit_without_majority = true;
  EXPECT_TRUE(first_failing_seed(config, 50).has_value());
}

TEST(RaftSimulation, FindsPlantedKeepDivergedEntriesBug) {
  Config config = sim_config();
  config.test_only_keep_diverged_entries = true;
  EXPECT_TRUE(first_failing_seed(config, 100).has_value());
}

}  // namespace
}  // namespace strand::raft
