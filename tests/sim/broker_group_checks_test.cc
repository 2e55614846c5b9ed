// The consumer-group checkers fail on hand-built histories that break their invariant, and pass
// on the same histories without the break.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sim/broker_history.h"

namespace strand::sim {
namespace {

io::Instant at_ms(std::int64_t ms) { return io::Instant{} + io::Duration::ms(ms); }

BrokerHistory base_history() {
  BrokerHistory history;
  history.replicated = true;
  history.group.members_count = 2;
  history.producers_stop = at_ms(10'000);
  history.readback[PartitionKey{0, 0}] = ReadbackPartition{0, 100, std::nullopt, ""};
  GroupCommit commit;
  commit.member = 0;
  commit.member_id = "m0";
  commit.generation = 1;
  commit.partition = 0;
  commit.offset = 100;
  commit.answered = true;
  commit.sent_at = at_ms(5'000);
  commit.completed_at = at_ms(5'010);
  history.group.commits.push_back(commit);
  history.group.deliveries.push_back(GroupDelivery{0, "m0", 1, 0, 99});
  return history;
}

const CheckVerdict& verdict(const std::vector<CheckVerdict>& verdicts, const std::string& name) {
  auto found = std::find_if(verdicts.begin(), verdicts.end(),
                            [&](const CheckVerdict& v) { return v.name == name; });
  EXPECT_NE(found, verdicts.end()) << name;
  return *found;
}

TEST(GroupChecks, PassOnAConsistentHistory) {
  const std::vector<CheckVerdict> verdicts = check_group_history(base_history(), CheckLimits{});
  for (const CheckVerdict& v : verdicts) EXPECT_TRUE(v.ok) << v.name << ": " << v.detail;
}

TEST(GroupChecks, OffsetFetchBelowAnEarlierAcknowledgedCommitIsALostCommit) {
  BrokerHistory history = base_history();
  history.group.offset_fetches.push_back(
      GroupOffsetFetch{1, "m1", 2, 0, 40, at_ms(6'000), at_ms(6'005)});
  EXPECT_FALSE(
      verdict(check_group_history(history, CheckLimits{}), "committed_offsets_monotonic").ok);
  // Sent before the commit was acknowledged: the answer may predate it.
  history.group.offset_fetches.back().sent_at = at_ms(5'005);
  EXPECT_TRUE(
      verdict(check_group_history(history, CheckLimits{}), "committed_offsets_monotonic").ok);
}

TEST(GroupChecks, CommitBeyondTheLogEndFails) {
  BrokerHistory history = base_history();
  history.group.commits.back().offset = 101;
  const auto verdicts = check_group_history(history, CheckLimits{});
  EXPECT_FALSE(verdict(verdicts, "committed_within_log").ok);
}

TEST(GroupChecks, OneOffsetToTwoMembersOfOneGenerationFails) {
  BrokerHistory history = base_history();
  history.group.deliveries.push_back(GroupDelivery{1, "m1", 1, 0, 99});
  EXPECT_FALSE(
      verdict(check_group_history(history, CheckLimits{}), "one_member_per_generation_partition")
          .ok);
  history.group.deliveries.back().generation = 2;  // a later generation may read it again
  EXPECT_TRUE(
      verdict(check_group_history(history, CheckLimits{}), "one_member_per_generation_partition")
          .ok);
}

TEST(GroupChecks, CommitsShortOfTheEndFailLiveness) {
  BrokerHistory history = base_history();
  history.group.commits.back().offset = 90;
  EXPECT_FALSE(verdict(check_group_history(history, CheckLimits{}), "group_liveness").ok);
  history.group.commits.back().offset = 100;
  history.group.commits.back().completed_at = at_ms(20'000);  // long after the producers stopped
  EXPECT_FALSE(verdict(check_group_history(history, CheckLimits{}), "group_liveness").ok);
}

}  // namespace
}  // namespace strand::sim
