// plan_decommission: which replica moves where when a broker leaves the cluster.
#include "client/decommission.h"

#include <gtest/gtest.h>

namespace strand::client {
namespace {

using Ids = std::vector<std::int32_t>;

TEST(PlanDecommission, ReplacesTheBrokerInPlaceWithTheLeastLoadedOther) {
  const std::vector<PartitionReplicas> partitions = {
      {"a", 0, {3, 1}},  // broker 3 is the preferred leader here
      {"a", 1, {1, 2}},
      {"a", 2, {2, 3}},
      {"b", 0, {3}},
  };
  io::Result<std::vector<PartitionMove>> plan = plan_decommission(partitions, {1, 2, 3, 4}, 3);
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  ASSERT_EQ(plan->size(), 3u);
  // Replicas before: broker 1 two, 2 two, 3 three, 4 none. Broker 4 takes a-0 (then one), a-2
  // (then two); for b-0 brokers 1, 2 and 4 tie at two.
  EXPECT_EQ((*plan)[0].topic, "a");
  EXPECT_EQ((*plan)[0].partition, 0);
  EXPECT_EQ((*plan)[0].from, (Ids{3, 1}));
  EXPECT_EQ((*plan)[0].to, (Ids{4, 1})) << "the replacement keeps the preferred place";
  EXPECT_EQ((*plan)[1].to, (Ids{2, 4}));
  EXPECT_EQ((*plan)[2].to, (Ids{1})) << "ties go to the lowest id";
  for (const PartitionMove& move : *plan) {
    for (std::int32_t id : move.to) EXPECT_NE(id, 3);
  }
}

TEST(PlanDecommission, NothingToMoveForABrokerWithoutReplicas) {
  io::Result<std::vector<PartitionMove>> plan = plan_decommission({{"a", 0, {1, 2}}}, {1, 2, 3}, 3);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
}

TEST(PlanDecommission, MovesEverythingOffAFencedBrokerMetadataNoLongerLists) {
  io::Result<std::vector<PartitionMove>> plan =
      plan_decommission({{"a", 0, {3, 1}}, {"a", 1, {1, 2}}, {"b", 0, {2, 3}}}, {1, 2}, 3);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->size(), 2u);
  EXPECT_EQ((*plan)[0].to, (std::vector<std::int32_t>{2, 1}));
  EXPECT_EQ((*plan)[1].to, (std::vector<std::int32_t>{2, 1}));
}

TEST(PlanDecommission, RefusesAnUnknownBrokerAndAPartitionWithNowhereToGo) {
  io::Result<std::vector<PartitionMove>> unknown = plan_decommission({}, {1, 2}, 7);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, io::ErrorKind::kNotFound);
  io::Result<std::vector<PartitionMove>> full =
      plan_decommission({{"a", 0, {1, 2, 3}}}, {1, 2, 3}, 2);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().kind, io::ErrorKind::kInvalid);
  EXPECT_NE(full.error().message.find("a-0"), std::string::npos) << full.error().message;
}

}  // namespace
}  // namespace strand::client
