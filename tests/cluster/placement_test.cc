// place_replicas: distinct brokers per partition, racks spread, leaders and replicas balanced with
// what the image already holds, deterministic.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "broker/cluster/metadata.h"

namespace strand::cluster {
namespace {

using Placement = std::vector<std::vector<raft::NodeId>>;

// An image with brokers 0..racks.size()-1 on the given racks.
MetadataImage image_with_brokers(const std::vector<std::string>& racks) {
  MetadataImage image;
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < racks.size(); ++i) {
    const auto id = static_cast<raft::NodeId>(i);
    image.apply(BrokerRegistration{id, "h", 9092, "h", 9093, racks[i], 1}, offset++);
  }
  return image;
}

Placement place(const MetadataImage& image, std::int32_t first, std::int32_t count,
                std::int16_t replication) {
  io::Result<Placement> placed = place_replicas(image, first, count, replication);
  EXPECT_TRUE(placed.ok()) << placed.error().message;
  return placed.ok() ? *placed : Placement{};
}

void expect_distinct(const Placement& placement, std::size_t replication) {
  for (const std::vector<raft::NodeId>& replicas : placement) {
    EXPECT_EQ(replicas.size(), replication);
    EXPECT_EQ(std::set<raft::NodeId>(replicas.begin(), replicas.end()).size(), replicas.size());
  }
}

// max - min of the counts over brokers 0..brokers-1 (absent = 0).
std::int64_t spread(const std::map<raft::NodeId, std::int64_t>& counts, std::size_t brokers) {
  std::int64_t lo = INT64_MAX;
  std::int64_t hi = 0;
  for (std::size_t i = 0; i < brokers; ++i) {
    auto it = counts.find(static_cast<raft::NodeId>(i));
    const std::int64_t n = it == counts.end() ? 0 : it->second;
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  return hi - lo;
}

void count(const Placement& placement, std::map<raft::NodeId, std::int64_t>& leaders,
           std::map<raft::NodeId, std::int64_t>& replicas) {
  for (const std::vector<raft::NodeId>& set : placement) {
    leaders[set.front()] += 1;
    for (raft::NodeId id : set) replicas[id] += 1;
  }
}

TEST(Placement, ReplicasOfAPartitionAreOnDistinctBrokers) {
  const MetadataImage image = image_with_brokers({"", "", "", ""});
  const Placement placed = place(image, 0, 10, 3);
  ASSERT_EQ(placed.size(), 10u);
  expect_distinct(placed, 3);
}

TEST(Placement, SpreadsReplicasOverRacks) {
  const MetadataImage image = image_with_brokers({"a", "a", "b", "b", "c", "c"});
  const Placement placed = place(image, 0, 12, 3);
  expect_distinct(placed, 3);
  for (const std::vector<raft::NodeId>& replicas : placed) {
    std::set<std::string> racks;
    for (raft::NodeId id : replicas) racks.insert(image.brokers().at(id).rack);
    EXPECT_EQ(racks.size(), 3u);
  }
}

TEST(Placement, FreshImageSpreadsLeadersRoundRobin) {
  const MetadataImage image = image_with_brokers({"", "", "", "", "", ""});
  const Placement placed = place(image, 0, 12, 3);
  expect_distinct(placed, 3);
  // Each run of 6 partitions has each broker lead once.
  for (std::size_t cycle = 0; cycle < 2; ++cycle) {
    std::set<raft::NodeId> leaders;
    for (std::size_t p = cycle * 6; p < cycle * 6 + 6; ++p) leaders.insert(placed[p].front());
    EXPECT_EQ(leaders.size(), 6u) << "cycle " << cycle;
  }
  std::map<raft::NodeId, std::int64_t> leaders;
  std::map<raft::NodeId, std::int64_t> replicas;
  count(placed, leaders, replicas);
  EXPECT_LE(spread(leaders, 6), 1);
  EXPECT_LE(spread(replicas, 6), 1);
}

TEST(Placement, CountsWhatTheImageAlreadyPlaces) {
  MetadataImage image = image_with_brokers({"", "", "", "", "", ""});
  // An existing topic entirely on brokers 0..2.
  TopicRecord existing{"old", 1, 1, {}, {}};
  for (std::int32_t p = 0; p < 3; ++p) {
    existing.partitions.push_back(
        PartitionAssignment{p, static_cast<GroupId>(p + 1), {p, (p + 1) % 3, (p + 2) % 3}});
  }
  ASSERT_TRUE(image.apply(existing, 100));
  const Placement placed = place(image, 0, 3, 3);
  expect_distinct(placed, 3);
  std::map<raft::NodeId, std::int64_t> leaders;
  std::map<raft::NodeId, std::int64_t> replicas;
  count(placed, leaders, replicas);
  for (raft::NodeId id : {3, 4, 5}) {
    EXPECT_EQ(leaders[id], 1) << "broker " << id;
    EXPECT_EQ(replicas[id], 3) << "broker " << id;
  }
}

TEST(Placement, AddedPartitionsBalanceWithTheTopicsOwn) {
  MetadataImage image = image_with_brokers({"", "", "", ""});
  TopicRecord topic{"t", 1, 1, {}, {}};
  const Placement first = place(image, 0, 3, 2);
  for (std::int32_t p = 0; p < 3; ++p) {
    topic.partitions.push_back(PartitionAssignment{p, static_cast<GroupId>(p + 1), first[p]});
  }
  ASSERT_TRUE(image.apply(topic, 0 + 10));
  const Placement added = place(image, 3, 5, 2);
  std::map<raft::NodeId, std::int64_t> leaders;
  std::map<raft::NodeId, std::int64_t> replicas;
  count(first, leaders, replicas);
  count(added, leaders, replicas);
  EXPECT_LE(spread(leaders, 4), 1);
  EXPECT_LE(spread(replicas, 4), 1);
}

TEST(Placement, FailsWithTooFewBrokers) {
  const MetadataImage image = image_with_brokers({"", ""});
  io::Result<Placement> placed = place_replicas(image, 0, 1, 3);
  ASSERT_FALSE(placed.ok());
  EXPECT_EQ(placed.error().kind, io::ErrorKind::kInvalid);
  EXPECT_NE(placed.error().message.find("replication factor 3 is larger than the 2 registered"),
            std::string::npos)
      << placed.error().message;
}

TEST(Placement, FencedBrokersGetNoReplicas) {
  MetadataImage image = image_with_brokers({"", "", "", ""});
  EXPECT_TRUE(image.apply(BrokerFenceRecord{1, true}, 10));
  const Placement placed = place(image, 0, 12, 3);
  ASSERT_EQ(placed.size(), 12u);
  for (const std::vector<raft::NodeId>& replicas : placed) {
    EXPECT_EQ(std::count(replicas.begin(), replicas.end(), 1), 0);
  }
  expect_distinct(placed, 3);
  EXPECT_TRUE(image.apply(BrokerFenceRecord{2, true}, 11));
  io::Result<Placement> refused = place_replicas(image, 0, 1, 3);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("2 registered brokers not fenced (2 fenced)"),
            std::string::npos)
      << refused.error().message;
}

TEST(Placement, FailsWithoutReplicasOrWithBadIndexes) {
  const MetadataImage image = image_with_brokers({"", ""});
  EXPECT_EQ(place_replicas(image, 0, 1, 0).error().kind, io::ErrorKind::kInvalid);
  EXPECT_EQ(place_replicas(image, -1, 1, 1).error().kind, io::ErrorKind::kInvalid);
  EXPECT_EQ(place_replicas(image, 0, -1, 1).error().kind, io::ErrorKind::kInvalid);
  EXPECT_EQ(place_replicas(MetadataImage{}, 0, 1, 1).error().kind, io::ErrorKind::kInvalid);
}

TEST(Placement, ZeroPartitionsPlaceNothing) {
  const MetadataImage image = image_with_brokers({""});
  EXPECT_TRUE(place(image, 0, 0, 1).empty());
}

TEST(Placement, IsDeterministic) {
  const MetadataImage image = image_with_brokers({"a", "b", "", "a", "c"});
  EXPECT_EQ(place(image, 2, 20, 3), place(image, 2, 20, 3));
}

// Invariant: over any brokers and racks, every partition gets `replication` distinct registered
// brokers on min(replication, racks) racks, and a fresh image's leaders (and, on one rack,
// replicas) differ by at most one between brokers.
RC_GTEST_PROP(PlacementProperty, FreshPlacementIsSpreadAndBalanced, ()) {
  const auto brokers = *rc::gen::inRange<std::size_t>(1, 10);
  const bool one_rack = *rc::gen::arbitrary<bool>();
  std::vector<std::string> racks;
  for (std::size_t i = 0; i < brokers; ++i) {
    racks.push_back(one_rack ? "" : *rc::gen::element<std::string>("a", "b", "c"));
  }
  const MetadataImage image = image_with_brokers(racks);
  const auto replication =
      *rc::gen::inRange<std::int16_t>(1, static_cast<std::int16_t>(brokers + 1));
  const auto partitions = *rc::gen::inRange<std::int32_t>(0, 60);
  io::Result<Placement> placed = place_replicas(image, 0, partitions, replication);
  RC_ASSERT(placed.ok());
  RC_ASSERT(placed->size() == static_cast<std::size_t>(partitions));
  const std::set<std::string> all_racks(racks.begin(), racks.end());
  std::map<raft::NodeId, std::int64_t> leaders;
  std::map<raft::NodeId, std::int64_t> replicas;
  for (const std::vector<raft::NodeId>& set : *placed) {
    RC_ASSERT(set.size() == static_cast<std::size_t>(replication));
    RC_ASSERT(std::set<raft::NodeId>(set.begin(), set.end()).size() == set.size());
    std::set<std::string> used;
    for (raft::NodeId id : set) {
      RC_ASSERT(image.brokers().contains(id));
      used.insert(image.brokers().at(id).rack);
    }
    RC_ASSERT(used.size() == std::min(all_racks.size(), static_cast<std::size_t>(replication)));
  }
  count(*placed, leaders, replicas);
  RC_ASSERT(spread(leaders, brokers) <= 1);
  // Racks may force replicas onto the few brokers of a rare rack; without them, replicas balance.
  if (all_racks.size() == 1) RC_ASSERT(spread(replicas, brokers) <= 1);
}

}  // namespace
}  // namespace strand::cluster
