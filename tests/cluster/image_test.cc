// MetadataImage: which records apply, what each changes, and that the ones that don't apply change
// nothing but the applied offset.
#include <gtest/gtest.h>

#include "broker/cluster/metadata.h"

namespace strand::cluster {
namespace {

BrokerRegistration broker(raft::NodeId id, std::string rack = "", std::uint64_t incarnation = 1) {
  return BrokerRegistration{id,         "host" + std::to_string(id),
                            9092,       "rpc" + std::to_string(id),
                            9093,       std::move(rack),
                            incarnation};
}

// A topic with one partition per group, replicas {1, 2}.
TopicRecord topic(std::string name, std::vector<GroupId> groups) {
  TopicRecord r{std::move(name), 11, 22, {{"retention.ms", "1000"}}, {}};
  for (std::size_t i = 0; i < groups.size(); ++i) {
    r.partitions.push_back(PartitionAssignment{static_cast<std::int32_t>(i), groups[i], {1, 2}});
  }
  return r;
}

class Image : public ::testing::Test {
 protected:
  // Applies at the next offset.
  bool apply(const MetadataRecord& record) { return image_.apply(record, ++offset_); }
  MetadataImage image_;
  std::int64_t offset_ = -1;
};

TEST_F(Image, StartsEmpty) {
  EXPECT_TRUE(image_.brokers().empty());
  EXPECT_TRUE(image_.topics().empty());
  EXPECT_EQ(image_.next_group(), 1u);
  EXPECT_EQ(image_.applied_offset(), -1);
  EXPECT_EQ(image_.topic("t"), nullptr);
  EXPECT_FALSE(image_.locate(1).has_value());
}

TEST_F(Image, BrokerReRegistrationReplacesTheEntry) {
  EXPECT_TRUE(apply(broker(2, "a", 1)));
  EXPECT_TRUE(apply(broker(1, "b", 1)));
  EXPECT_TRUE(apply(broker(2, "c", 2)));
  ASSERT_EQ(image_.brokers().size(), 2u);
  EXPECT_EQ(image_.brokers().begin()->first, 1);
  EXPECT_EQ(image_.brokers().at(2), broker(2, "c", 2));
  EXPECT_EQ(image_.applied_offset(), 2);
}

TEST_F(Image, FencingAppliesToRegisteredBrokersAndARegistrationUnfences) {
  EXPECT_TRUE(apply(broker(1)));
  EXPECT_TRUE(apply(broker(2)));
  EXPECT_TRUE(apply(broker(3)));
  EXPECT_FALSE(apply(BrokerFenceRecord{7, true}));   // not registered
  EXPECT_FALSE(apply(BrokerFenceRecord{2, false}));  // not fenced: nothing changes
  EXPECT_TRUE(apply(BrokerFenceRecord{2, true}));
  EXPECT_TRUE(image_.fenced(2));
  EXPECT_FALSE(image_.fenced(1));
  EXPECT_FALSE(apply(BrokerFenceRecord{2, true}));  // already fenced
  EXPECT_EQ(image_.unfenced_brokers(), (std::vector<raft::NodeId>{1, 3}));
  EXPECT_EQ(image_.brokers().size(), 3u);  // still registered
  EXPECT_TRUE(apply(BrokerFenceRecord{3, true}));
  EXPECT_TRUE(apply(BrokerFenceRecord{2, false}));
  EXPECT_EQ(image_.unfenced_brokers(), (std::vector<raft::NodeId>{1, 2}));
  EXPECT_TRUE(apply(broker(3, "", 2)));  // restarted: registers again
  EXPECT_FALSE(image_.fenced(3));
  EXPECT_EQ(image_.unfenced_brokers(), (std::vector<raft::NodeId>{1, 2, 3}));
}

TEST_F(Image, TopicRecordCreatesTheTopicAndAdvancesNextGroup) {
  EXPECT_TRUE(apply(topic("t", {1, 2, 5})));
  const MetadataImage::TopicState* t = image_.topic("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->name, "t");
  EXPECT_EQ(t->id_high, 11u);
  EXPECT_EQ(t->id_low, 22u);
  EXPECT_EQ(t->configs.at("retention.ms"), "1000");
  ASSERT_EQ(t->partitions.size(), 3u);
  EXPECT_EQ(t->partitions[2].assignment, (PartitionAssignment{2, 5, {1, 2}}));
  EXPECT_EQ(t->partitions[2].leader, raft::kNoNode);
  EXPECT_EQ(t->partitions[2].leader_epoch, -1);
  EXPECT_EQ(image_.next_group(), 6u);
  std::optional<MetadataImage::Located> located = image_.locate(5);
  ASSERT_TRUE(located.has_value());
  EXPECT_EQ(located->topic, t);
  EXPECT_EQ(located->partition, 2);
}

TEST_F(Image, IgnoresATopicThatAlreadyExists) {
  EXPECT_TRUE(apply(topic("t", {1})));
  EXPECT_FALSE(apply(topic("t", {2})));
  EXPECT_EQ(image_.topic("t")->partitions.size(), 1u);
  EXPECT_EQ(image_.next_group(), 2u);
  EXPECT_EQ(image_.applied_offset(), 1);
}

TEST_F(Image, IgnoresATopicWithPartitionsOutOfOrder) {
  TopicRecord r = topic("t", {1, 2});
  std::swap(r.partitions[0].partition, r.partitions[1].partition);
  EXPECT_FALSE(apply(r));
  r = topic("t", {1, 2});
  r.partitions[1].partition = 2;  // a gap
  EXPECT_FALSE(apply(r));
  EXPECT_EQ(image_.topic("t"), nullptr);
  EXPECT_EQ(image_.next_group(), 1u);
}

TEST_F(Image, IgnoresATopicWithGroupZeroOrAGroupInUse) {
  EXPECT_FALSE(apply(topic("zero", {kMetadataGroup})));
  EXPECT_FALSE(apply(topic("twice", {3, 3})));
  EXPECT_TRUE(apply(topic("t", {1, 2})));
  EXPECT_FALSE(apply(topic("u", {4, 2})));
  EXPECT_EQ(image_.topics().size(), 1u);
  EXPECT_FALSE(image_.locate(4).has_value());
}

TEST_F(Image, RemoveTopicForgetsItsGroupsButNeverReusesThem) {
  EXPECT_TRUE(apply(topic("t", {1, 2})));
  EXPECT_TRUE(apply(RemoveTopicRecord{"t"}));
  EXPECT_EQ(image_.topic("t"), nullptr);
  EXPECT_FALSE(image_.locate(1).has_value());
  EXPECT_EQ(image_.next_group(), 3u);
  // A new topic with a group of the deleted one does not apply: its replicas could be mistaken
  // for the old ones.
  EXPECT_FALSE(apply(topic("t", {2})));
  EXPECT_FALSE(apply(LeaderRecord{1, 1, 1}));
  EXPECT_TRUE(apply(topic("t", {3})));
  EXPECT_EQ(image_.next_group(), 4u);
}

TEST_F(Image, IgnoresRemovingAnUnknownTopic) {
  EXPECT_FALSE(apply(RemoveTopicRecord{"t"}));
  EXPECT_EQ(image_.applied_offset(), 0);
}

TEST_F(Image, AddPartitionsContinuesTheIndexes) {
  EXPECT_TRUE(apply(topic("t", {1, 2})));
  EXPECT_TRUE(apply(AddPartitionsRecord{"t", {{2, 7, {2}}, {3, 8, {1}}}}));
  const MetadataImage::TopicState* t = image_.topic("t");
  ASSERT_EQ(t->partitions.size(), 4u);
  EXPECT_EQ(t->partitions[3].assignment, (PartitionAssignment{3, 8, {1}}));
  EXPECT_EQ(image_.next_group(), 9u);
  ASSERT_TRUE(image_.locate(7).has_value());
  EXPECT_EQ(image_.locate(7)->partition, 2);
}

TEST_F(Image, IgnoresAddPartitionsThatDoNotFit) {
  EXPECT_TRUE(apply(topic("t", {1, 2})));
  EXPECT_FALSE(apply(AddPartitionsRecord{"u", {{0, 3, {1}}}}));  // no such topic
  EXPECT_FALSE(apply(AddPartitionsRecord{"t", {{3, 3, {1}}}}));  // skips index 2
  EXPECT_FALSE(apply(AddPartitionsRecord{"t", {{1, 3, {1}}}}));  // index 1 exists
  EXPECT_FALSE(apply(AddPartitionsRecord{"t", {{2, 2, {1}}}}));  // group 2 in use
  EXPECT_FALSE(apply(AddPartitionsRecord{"t", {{2, 0, {1}}}}));  // the metadata group
  EXPECT_EQ(image_.topic("t")->partitions.size(), 2u);
  EXPECT_EQ(image_.next_group(), 3u);
  EXPECT_EQ(image_.applied_offset(), 5);
}

TEST_F(Image, LeaderRecordAppliesOnlyWithAHigherEpoch) {
  EXPECT_TRUE(apply(topic("t", {1, 2})));
  EXPECT_TRUE(apply(LeaderRecord{2, 1, 0}));
  EXPECT_TRUE(apply(LeaderRecord{2, 2, 4}));
  EXPECT_FALSE(apply(LeaderRecord{2, 1, 4}));
  EXPECT_FALSE(apply(LeaderRecord{2, 1, 3}));
  EXPECT_FALSE(apply(LeaderRecord{9, 1, 10}));  // no such group
  const MetadataImage::PartitionState& p = image_.topic("t")->partitions[1];
  EXPECT_EQ(p.leader, 2);
  EXPECT_EQ(p.leader_epoch, 4);
  EXPECT_EQ(image_.topic("t")->partitions[0].leader, raft::kNoNode);
}

TEST_F(Image, ReassignmentKeepsEveryPossibleMemberUntilDone) {
  EXPECT_TRUE(apply(topic("t", {1})));  // replicas {1, 2}
  EXPECT_TRUE(apply(ReassignRecord{1, {3, 2}}));
  const MetadataImage::PartitionState& p = image_.topic("t")->partitions[0];
  EXPECT_TRUE(p.reassigning());
  EXPECT_EQ(p.target, (std::vector<raft::NodeId>{3, 2}));
  EXPECT_EQ(p.original, (std::vector<raft::NodeId>{1, 2}));
  EXPECT_EQ(p.assignment.replicas, (std::vector<raft::NodeId>{3, 2, 1}));
  EXPECT_EQ(p.adding(), (std::vector<raft::NodeId>{3}));
  EXPECT_EQ(p.removing(), (std::vector<raft::NodeId>{1}));
  EXPECT_EQ(p.bootstrap_voters(), (std::vector<raft::NodeId>{1, 2}));

  // A new target mid-way keeps node 3, which may already be a member, and the original set.
  EXPECT_TRUE(apply(ReassignRecord{1, {4}}));
  EXPECT_EQ(p.assignment.replicas, (std::vector<raft::NodeId>{4, 3, 2, 1}));
  EXPECT_EQ(p.original, (std::vector<raft::NodeId>{1, 2}));
  EXPECT_EQ(p.removing(), (std::vector<raft::NodeId>{3, 2, 1}));

  EXPECT_FALSE(apply(ReassignDoneRecord{1, {3, 2}}));  // no longer the target
  EXPECT_TRUE(p.reassigning());
  EXPECT_TRUE(apply(ReassignDoneRecord{1, {4}}));
  EXPECT_FALSE(p.reassigning());
  EXPECT_EQ(p.assignment.replicas, (std::vector<raft::NodeId>{4}));
  EXPECT_TRUE(p.original.empty());
  EXPECT_TRUE(p.adding().empty());
  EXPECT_TRUE(p.removing().empty());
  EXPECT_EQ(p.bootstrap_voters(), (std::vector<raft::NodeId>{4}));
  EXPECT_FALSE(apply(ReassignDoneRecord{1, {4}}));  // nothing in progress
}

// A deposed leader's report of a finished move is refused once the image knows its successor: the
// successor may have changed the configuration since.
TEST_F(Image, ListsThePartitionsBeingReassigned) {
  ASSERT_TRUE(apply(topic("t", {1, 2, 3})));
  ASSERT_TRUE(apply(topic("u", {4})));
  EXPECT_TRUE(image_.reassigning().empty());
  EXPECT_TRUE(apply(ReassignRecord{2, {2, 3}}));
  EXPECT_TRUE(apply(ReassignRecord{4, {3}}));
  EXPECT_TRUE(apply(ReassignRecord{3, {1, 2}}));  // to where it is: still a (short) move
  EXPECT_FALSE(apply(ReassignRecord{9, {1}}));    // no such group
  EXPECT_EQ(image_.reassigning(), (std::set<GroupId>{2, 3, 4}));
  EXPECT_TRUE(apply(ReassignDoneRecord{2, {2, 3}, -1}));
  EXPECT_FALSE(apply(ReassignDoneRecord{3, {2}, -1}));  // not its target
  EXPECT_EQ(image_.reassigning(), (std::set<GroupId>{3, 4}));
  EXPECT_TRUE(apply(RemoveTopicRecord{"u"}));
  EXPECT_EQ(image_.reassigning(), (std::set<GroupId>{3}));
  for (GroupId group : image_.reassigning()) EXPECT_TRUE(image_.partition(group)->reassigning());
}

TEST_F(Image, ReassignmentIsDoneOnlyOnTheWordOfTheLatestLeader) {
  EXPECT_TRUE(apply(topic("t", {1, 2})));
  EXPECT_TRUE(apply(LeaderRecord{1, 1, 5}));
  EXPECT_TRUE(apply(ReassignRecord{1, {3, 2}}));
  EXPECT_FALSE(apply(ReassignDoneRecord{1, {3, 2}, 4})) << "a leader of an older term";
  EXPECT_TRUE(image_.topic("t")->partitions[0].reassigning());
  EXPECT_TRUE(apply(ReassignDoneRecord{1, {3, 2}, 5}));
  EXPECT_FALSE(image_.topic("t")->partitions[0].reassigning());
  EXPECT_EQ(image_.topic("t")->partitions[0].assignment.replicas,
            (std::vector<raft::NodeId>{3, 2}));
}

TEST_F(Image, IgnoresReassigningAnUnknownGroupOrToAnInvalidSet) {
  EXPECT_TRUE(apply(topic("t", {1})));
  EXPECT_FALSE(apply(ReassignRecord{7, {1}}));
  EXPECT_FALSE(apply(ReassignRecord{1, {}}));
  EXPECT_FALSE(apply(ReassignRecord{1, {2, 2}}));
  EXPECT_FALSE(apply(ReassignDoneRecord{7, {1}}));
  EXPECT_FALSE(image_.topic("t")->partitions[0].reassigning());
}

TEST_F(Image, AppliedOffsetFollowsEveryRecordAppliedOrNot) {
  EXPECT_TRUE(image_.apply(broker(1), 5));
  EXPECT_EQ(image_.applied_offset(), 5);
  EXPECT_FALSE(image_.apply(RemoveTopicRecord{"missing"}, 9));
  EXPECT_EQ(image_.applied_offset(), 9);
}

TEST(ImageDeathTest, OffsetsMustIncrease) {
  MetadataImage image;
  EXPECT_TRUE(image.apply(broker(1), 3));
  EXPECT_DEATH(image.apply(broker(2), 3), "log order");
}

TEST(ImageReplay, SameLogGivesTheSameImage) {
  const std::vector<MetadataRecord> log = {broker(1),
                                           topic("a", {1, 2}),
                                           LeaderRecord{1, 1, 1},
                                           topic("a", {3}),
                                           AddPartitionsRecord{"a", {{2, 3, {1, 2}}}},
                                           RemoveTopicRecord{"b"},
                                           topic("b", {4}),
                                           RemoveTopicRecord{"a"},
                                           LeaderRecord{4, 2, 7}};
  MetadataImage x;
  MetadataImage y;
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(x.apply(log[i], static_cast<std::int64_t>(i)),
              y.apply(log[i], static_cast<std::int64_t>(i)));
  }
  EXPECT_EQ(x.brokers(), y.brokers());
  EXPECT_EQ(x.next_group(), 5u);
  EXPECT_EQ(x.next_group(), y.next_group());
  ASSERT_EQ(x.topics().size(), 1u);
  EXPECT_EQ(x.topic("b")->partitions[0].leader, 2);
  EXPECT_EQ(y.topic("b")->partitions[0].leader, 2);
}

}  // namespace
}  // namespace strand::cluster
