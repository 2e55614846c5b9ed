// Raft membership: who votes and who only replicates. Changes are single-server (Raft
// dissertation, section 4.1): one node is added as a learner, promoted to voter, or removed per
// configuration entry, and a configuration takes effect as soon as its entry is appended, before
// it commits. ConfigurationHistory remembers the configuration entries a log holds so that a
// truncation can fall back to the one before.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "broker/raft/ids.h"

namespace strand::raft {

struct Configuration {
  std::vector<NodeId> voters;    // sorted, unique
  std::vector<NodeId> learners;  // sorted, unique, disjoint from voters

  bool is_voter(NodeId node) const;
  bool is_learner(NodeId node) const;
  bool contains(NodeId node) const { return is_voter(node) || is_learner(node); }
  // Votes (or matches) needed for a majority of the voters.
  std::size_t quorum() const { return voters.size() / 2 + 1; }
  // Sorted and unique voters, sorted and unique learners, no node in both, at least one voter.
  bool valid() const;

  friend bool operator==(const Configuration&, const Configuration&) = default;
};

enum class ConfigChangeKind : std::uint8_t { kAddLearner, kPromoteLearner, kRemoveNode };

struct ConfigChange {
  ConfigChangeKind kind = ConfigChangeKind::kAddLearner;
  NodeId node = kNoNode;
};

// The configuration after `change`, or nothing if the change does not apply (adding a member,
// promoting a non-learner, removing a non-member or the last voter).
std::optional<Configuration> apply_change(const Configuration& current, ConfigChange change);

// The largest offset that a quorum of `config`'s voters hold, given each voter's match offset
// from `match_of(node)`. -1 if there are no voters.
template <typename MatchOf>
Offset quorum_offset(const Configuration& config, MatchOf match_of);

// The configuration entries of a log, oldest first: the one in effect just below the log start
// offset (offset -1 stands for the bootstrap configuration) and every one after it, which is
// what truncations (fall back to the previous configuration) and followers moved forward past
// the log start offset (they receive the configuration in effect there) need. Bounded: at most
// kEntriesMax configuration entries may lie between the log start offset and the end of the log.
class ConfigurationHistory {
 public:
  static constexpr std::size_t kEntriesMax = 1024;

  struct Item {
    Offset offset;
    Configuration configuration;
  };

  // REQUIRES: `items` non-empty, offsets strictly increasing, every configuration valid().
  explicit ConfigurationHistory(std::vector<Item> items);

  // The configuration in effect: the last one appended.
  const Configuration& latest() const { return items_.back().configuration; }
  Offset latest_offset() const { return items_.back().offset; }
  // Whether the latest configuration's entry is above `commit_index` (not committed yet).
  bool pending(Offset commit_index) const { return latest_offset() > commit_index; }

  // REQUIRES: offset > latest_offset(); configuration.valid().
  void append(Offset offset, Configuration configuration);
  // Forgets every configuration entry at or after `offset`. REQUIRES: one remains (the entries
  // at or below the commit index are never truncated).
  void truncate_from(Offset offset);
  // Drops history no longer needed: everything before the latest entry at or below `offset`.
  void compact(Offset offset);
  // Forgets everything and starts over with `configuration` in effect at `offset` (a follower
  // moved forward past the leader's log start offset). REQUIRES: configuration.valid().
  void reset(Offset offset, Configuration configuration);
  // The configuration in effect at `offset`: the latest entry at or below it. REQUIRES: offset >=
  // the first item's offset.
  const Configuration& at(Offset offset) const;
  std::span<const Item> items() const { return items_; }

 private:
  std::vector<Item> items_;
};

template <typename MatchOf>
Offset quorum_offset(const Configuration& config, MatchOf match_of) {
  if (config.voters.empty()) return -1;
  std::vector<Offset> matches;
  matches.reserve(config.voters.size());
  for (NodeId voter : config.voters) matches.push_back(match_of(voter));
  std::sort(matches.begin(), matches.end(), std::greater<>());
  return matches[config.quorum() - 1];
}

}  // namespace strand::raft
