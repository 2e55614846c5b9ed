// Membership (single-server changes through configuration entries) and leadership transfer.
#include "broker/raft/core.h"
#include "io/assert.h"

namespace strand::raft {

ProposeResult RaftCore::propose_configuration_change(ConfigChange change) {
  if (role_ != Role::kLeader) return {ProposeError::kNotLeader, {}};
  if (transfer_target_) return {ProposeError::kTransferInProgress, {}};
  // One change at a time, and only once an entry of this term committed: a leader elected on
  // an uncommitted configuration entry could otherwise stack a second change on it (the bug in
  // the original single-server algorithm).
  if (configurations_.pending(commit_index_) || commit_index_ < term_start_offset_) {
    return {ProposeError::kConfigChangePending, {}};
  }
  if (change.kind == ConfigChangeKind::kRemoveNode && change.node == config_.self) {
    return {ProposeError::kCannotRemoveLeader, {}};
  }
  std::optional<Configuration> next = apply_change(configuration(), change);
  if (!next) return {ProposeError::kInvalidConfigChange, {}};
  if (change.kind == ConfigChangeKind::kPromoteLearner) {
    const Progress* learner = progress(change.node);
    if (learner == nullptr ||
        learner->match_offset() + config_.learner_catch_up_lag_max < commit_index_) {
      return {ProposeError::kLearnerNotCaughtUp, {}};
    }
  }
  const Offset offset = log_.last_offset() + 1;
  append_entry(Entry{EntryMeta{offset, offset, term_, EntryKind::kConfiguration}, *next, {}});
  broadcast_append();
  check_invariants();
  return {ProposeError::kNone, OffsetRange{offset, offset}};
}

ProposeError RaftCore::transfer_leadership(NodeId target) {
  if (role_ != Role::kLeader) return ProposeError::kNotLeader;
  if (transfer_target_) return ProposeError::kTransferInProgress;
  if (target == config_.self || !configuration().is_voter(target)) {
    return ProposeError::kInvalidConfigChange;
  }
  transfer_target_ = target;
  transfer_elapsed_ = 0;
  Progress& target_progress = progress_.at(target);
  maybe_send_timeout_now(target, target_progress);
  maybe_send_append(target, target_progress, false);
  check_invariants();
  return ProposeError::kNone;
}

void RaftCore::abort_transfer() {
  transfer_target_.reset();
  transfer_elapsed_ = 0;
}

void RaftCore::apply_configuration() {
  if (role_ != Role::kLeader) return;
  STRAND_ASSERT(configuration().is_voter(config_.self), "a leader never removes itself");
  sync_progress_with_configuration();
  if (transfer_target_ && !configuration().is_voter(*transfer_target_)) abort_transfer();
  // A smaller quorum may commit at once.
  maybe_commit();
}

void RaftCore::sync_progress_with_configuration() {
  const Configuration& config = configuration();
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = config.contains(it->first) ? std::next(it) : progress_.erase(it);
  }
  auto add = [&](NodeId node) {
    if (node == config_.self || progress_.contains(node)) return;
    Progress fresh(log_.last_offset() + 1, config_.inflight_appends_max);
    fresh.recent_active = true;  // a new member gets an election timeout before it counts
    progress_.emplace(node, fresh);
  };
  for (NodeId voter : config.voters) add(voter);
  for (NodeId learner : config.learners) add(learner);
}

}  // namespace strand::raft
