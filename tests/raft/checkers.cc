// The Cluster's safety checkers: election safety, leader completeness, log matching, commit
// monotonicity and state machine safety (every node commits the same entry at each offset).
#include <string>

#include "cluster.h"

namespace strand::raft::testing {

namespace {

bool same_entry(const Entry& a, const Entry& b) {
  return a.meta == b.meta && a.configuration == b.configuration && a.payload == b.payload;
}

std::string node_name(NodeId id) { return "node " + std::to_string(id); }

}  // namespace

void Cluster::fail(std::string what) {
  if (!violation_) violation_ = "tick " + std::to_string(now_) + ": " + std::move(what);
}

void Cluster::check_ready(Node& node, const Ready& ready) {
  const RaftCore& core = *node.core;
  if (ready.soft_state && ready.soft_state->role == Role::kLeader) {
    const Term term = ready.soft_state->term;
    auto [it, inserted] = leader_of_term_.emplace(term, node.id);
    if (!inserted && it->second != node.id) {
      fail("election safety: " + node_name(it->second) + " and " + node_name(node.id) +
           " both led term " + std::to_string(term));
    }
    check_leader_completeness(node);
  }
  if (ready.committed) {
    const Offset commit = *ready.committed;
    if (commit < node.reported_commit) {
      fail("commit index of " + node_name(node.id) + " went back from " +
           std::to_string(node.reported_commit) + " to " + std::to_string(commit));
    }
    node.reported_commit = commit;
    check_committed_prefix(node, commit);
  }
  if (core.commit_index() > core.last_offset()) fail("commit index beyond the log");
}

void Cluster::check_leader_completeness(const Node& node) {
  for (const auto& [base, entry] : committed_) {
    if (base < node.log.log_start) continue;
    const Entry* mine = node.log.find(base);
    if (mine == nullptr || !same_entry(*mine, entry)) {
      fail("leader completeness: " + node_name(node.id) + " leads term " +
           std::to_string(node.core->term()) + " without committed entry " + describe(entry.meta) +
           (mine ? " (has " + describe(mine->meta) + ")" : ""));
      return;
    }
  }
}

void Cluster::check_committed_prefix(const Node& node, Offset commit) {
  if (commit >= node.log.log_start && node.log.find(commit) == nullptr) {
    fail(node_name(node.id) + " committed " + std::to_string(commit) + " beyond its log");
    return;
  }
  for (const Entry& entry : node.log.entries) {
    if (entry.meta.base_offset > commit) break;
    if (entry.meta.last_offset > commit) {
      fail(node_name(node.id) + " committed into the middle of " + describe(entry.meta));
      return;
    }
    auto [it, inserted] = committed_.emplace(entry.meta.base_offset, entry);
    if (!inserted && !same_entry(it->second, entry)) {
      fail("state machine safety: " + node_name(node.id) + " committed " + describe(entry.meta) +
           " where " + describe(it->second.meta) + " was committed");
      return;
    }
  }
}

void Cluster::check_logs() {
  for (const auto& [a_id, a] : nodes_) {
    for (const auto& [b_id, b] : nodes_) {
      if (a_id >= b_id) continue;
      // The highest entry both hold with the same term: everything up to it must be equal.
      for (auto it = a.log.entries.rbegin(); it != a.log.entries.rend(); ++it) {
        const Entry* other = b.log.find(it->meta.base_offset);
        if (other == nullptr || other->meta.term != it->meta.term) continue;
        const Offset upto = it->meta.last_offset;
        for (const Entry& entry : a.log.entries) {
          if (entry.meta.base_offset > upto) break;
          if (entry.meta.base_offset < b.log.log_start) continue;
          const Entry* match = b.log.find(entry.meta.base_offset);
          if (match == nullptr || !same_entry(*match, entry)) {
            fail("log matching: " + node_name(a_id) + " and " + node_name(b_id) + " share term " +
                 std::to_string(it->meta.term) + " at " + std::to_string(upto) + " but differ at " +
                 describe(entry.meta));
            return;
          }
        }
        break;
      }
    }
  }
}

}  // namespace strand::raft::testing
