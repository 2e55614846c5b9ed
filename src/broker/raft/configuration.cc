#include "broker/raft/configuration.h"

#include <algorithm>

#include "io/assert.h"

namespace strand::raft {

namespace {

bool sorted_unique(const std::vector<NodeId>& nodes) {
  return std::adjacent_find(nodes.begin(), nodes.end(), std::greater_equal<>()) == nodes.end();
}

void insert_sorted(std::vector<NodeId>& nodes, NodeId node) {
  nodes.insert(std::lower_bound(nodes.begin(), nodes.end(), node), node);
}

void erase(std::vector<NodeId>& nodes, NodeId node) {
  nodes.erase(std::remove(nodes.begin(), nodes.end(), node), nodes.end());
}

}  // namespace

bool Configuration::is_voter(NodeId node) const {
  return std::binary_search(voters.begin(), voters.end(), node);
}

bool Configuration::is_learner(NodeId node) const {
  return std::binary_search(learners.begin(), learners.end(), node);
}

bool Configuration::valid() const {
  if (voters.empty() || !sorted_unique(voters) || !sorted_unique(learners)) return false;
  for (NodeId learner : learners) {
    if (is_voter(learner) || learner < 0) return false;
  }
  return std::all_of(voters.begin(), voters.end(), [](NodeId v) { return v >= 0; });
}

std::optional<Configuration> apply_change(const Configuration& current, ConfigChange change) {
  STRAND_ASSERT(current.valid(), "the current configuration is valid");
  Configuration next = current;
  switch (change.kind) {
    case ConfigChangeKind::kAddLearner:
      if (change.node < 0 || current.contains(change.node)) return std::nullopt;
      insert_sorted(next.learners, change.node);
      break;
    case ConfigChangeKind::kPromoteLearner:
      if (!current.is_learner(change.node)) return std::nullopt;
      erase(next.learners, change.node);
      insert_sorted(next.voters, change.node);
      break;
    case ConfigChangeKind::kRemoveNode:
      if (!current.contains(change.node)) return std::nullopt;
      if (current.voters.size() == 1 && current.is_voter(change.node)) return std::nullopt;
      erase(next.voters, change.node);
      erase(next.learners, change.node);
      break;
  }
  STRAND_ASSERT(next.valid(), "a single-server change keeps the configuration valid");
  return next;
}

ConfigurationHistory::ConfigurationHistory(std::vector<Item> items) : items_(std::move(items)) {
  STRAND_ASSERT(!items_.empty(), "a log always has a configuration");
  STRAND_ASSERT(items_.size() <= kEntriesMax, "configuration history is bounded");
  for (std::size_t i = 0; i < items_.size(); ++i) {
    STRAND_ASSERT(items_[i].configuration.valid(), "restored configurations are valid");
    STRAND_ASSERT(i == 0 || items_[i - 1].offset < items_[i].offset, "offsets increase");
  }
}

void ConfigurationHistory::append(Offset offset, Configuration configuration) {
  STRAND_ASSERT(offset > latest_offset(), "configuration entries are appended in offset order");
  STRAND_ASSERT(configuration.valid(), "an appended configuration is valid");
  STRAND_ASSERT(items_.size() < kEntriesMax, "configuration history is bounded");
  items_.push_back(Item{offset, std::move(configuration)});
}

void ConfigurationHistory::truncate_from(Offset offset) {
  while (!items_.empty() && items_.back().offset >= offset) items_.pop_back();
  STRAND_ASSERT(!items_.empty(), "truncation never removes the committed configuration");
}

void ConfigurationHistory::compact(Offset offset) {
  std::size_t keep_from = 0;
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].offset <= offset) keep_from = i;
  }
  items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(keep_from));
}

void ConfigurationHistory::reset(Offset offset, Configuration configuration) {
  STRAND_ASSERT(configuration.valid(), "a reset configuration is valid");
  items_.clear();
  items_.push_back(Item{offset, std::move(configuration)});
}

const Configuration& ConfigurationHistory::at(Offset offset) const {
  STRAND_ASSERT(offset >= items_.front().offset, "the history reaches back to the offset");
  const Item* found = &items_.front();
  for (const Item& item : items_) {
    if (item.offset <= offset) found = &item;
  }
  return found->configuration;
}

}  // namespace strand::raft
