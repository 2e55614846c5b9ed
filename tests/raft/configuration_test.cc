// Configurations: single-server changes, quorum arithmetic, the history's truncation and lookup.
#include "broker/raft/configuration.h"

#include <gtest/gtest.h>

#include <map>

namespace strand::raft {
namespace {

TEST(Configuration, SingleServerChanges) {
  const Configuration three{{1, 2, 3}, {}};
  EXPECT_EQ(apply_change(three, {ConfigChangeKind::kAddLearner, 4}),
            (Configuration{{1, 2, 3}, {4}}));
  EXPECT_FALSE(apply_change(three, {ConfigChangeKind::kAddLearner, 2}));
  EXPECT_FALSE(apply_change(three, {ConfigChangeKind::kPromoteLearner, 2}));
  EXPECT_EQ(apply_change(Configuration{{1, 2, 3}, {4}}, {ConfigChangeKind::kPromoteLearner, 4}),
            (Configuration{{1, 2, 3, 4}, {}}));
  EXPECT_EQ(apply_change(three, {ConfigChangeKind::kRemoveNode, 2}), (Configuration{{1, 3}, {}}));
  EXPECT_FALSE(apply_change(Configuration{{1}, {}}, {ConfigChangeKind::kRemoveNode, 1}));
  EXPECT_FALSE(apply_change(three, {ConfigChangeKind::kRemoveNode, 9}));
}

TEST(Configuration, ValidityAndQuorum) {
  EXPECT_TRUE((Configuration{{1, 2, 3}, {4}}).valid());
  EXPECT_FALSE((Configuration{{}, {4}}).valid());
  EXPECT_FALSE((Configuration{{2, 1}, {}}).valid());
  EXPECT_FALSE((Configuration{{1, 2}, {2}}).valid());
  EXPECT_EQ((Configuration{{1, 2, 3, 4}, {}}).quorum(), 3u);
  EXPECT_EQ((Configuration{{1, 2, 3, 4, 5}, {}}).quorum(), 3u);
}

TEST(Configuration, QuorumOffsetIgnoresLearners) {
  const Configuration config{{1, 2, 3}, {4}};
  std::map<NodeId, Offset> match{{1, 10}, {2, 7}, {3, 3}, {4, 100}};
  EXPECT_EQ(quorum_offset(config, [&](NodeId n) { return match[n]; }), 7);
}

TEST(ConfigurationHistory, TruncatesCompactsAndLooksUp) {
  ConfigurationHistory history({{-1, Configuration{{1, 2, 3}, {}}}});
  history.append(10, Configuration{{1, 2, 3}, {4}});
  history.append(20, Configuration{{1, 2, 3, 4}, {}});
  EXPECT_TRUE(history.pending(15));
  EXPECT_EQ(history.at(15), (Configuration{{1, 2, 3}, {4}}));
  history.truncate_from(20);
  EXPECT_EQ(history.latest(), (Configuration{{1, 2, 3}, {4}}));
  history.compact(12);
  EXPECT_EQ(history.items().size(), 1u);
  EXPECT_EQ(history.at(12), (Configuration{{1, 2, 3}, {4}}));
  history.reset(40, Configuration{{5}, {}});
  EXPECT_EQ(history.latest_offset(), 40);
}

}  // namespace
}  // namespace strand::raft
