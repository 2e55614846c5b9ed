// The leader's side of log replication: proposals, appends with flow control, acks and
// rejections with fast backtracking, heartbeats, and the commit rule.
#include <algorithm>

#include "broker/raft/core.h"
#include "io/assert.h"

namespace strand::raft {

ProposeResult RaftCore::propose(std::int32_t record_count, std::vector<std::byte> payload) {
  if (role_ != Role::kLeader) return {ProposeError::kNotLeader, {}};
  if (transfer_target_) return {ProposeError::kTransferInProgress, {}};
  if (record_count < 1) return {ProposeError::kInvalid, {}};
  if (log_.last_offset() - commit_index_ + record_count > config_.uncommitted_offsets_max) {
    return {ProposeError::kBackpressure, {}};
  }
  const Offset base = log_.last_offset() + 1;
  const Offset last = base + record_count - 1;
  append_entry(Entry{EntryMeta{base, last, term_, EntryKind::kData}, {}, std::move(payload)});
  broadcast_append();
  check_invariants();
  return {ProposeError::kNone, OffsetRange{base, last}};
}

void RaftCore::append_sent(NodeId peer, Term term, Offset prev_offset, Offset last_offset) {
  if (role_ != Role::kLeader || term != term_) return;
  auto it = progress_.find(peer);
  if (it == progress_.end()) return;
  STRAND_ASSERT(last_offset >= prev_offset && last_offset <= log_.last_offset(),
                "the driver attaches entries from the leader's log");
  if (!it->second.on_append_sent(prev_offset, last_offset)) return;
  maybe_send_append(peer, it->second, false);
  check_invariants();
}

void RaftCore::broadcast_append() {
  for (auto& [peer, progress] : progress_) maybe_send_append(peer, progress, false);
}

void RaftCore::broadcast_heartbeat() {
  commit_announced_ = commit_index_;
  for (auto& [peer, progress] : progress_) {
    progress.on_heartbeat_interval();
    const HeartbeatRequest heartbeat{commit_index_, progress.match_offset()};
    send(Message{config_.self, peer, term_, heartbeat});
  }
}

bool RaftCore::maybe_send_append(NodeId peer, Progress& progress, bool even_if_empty) {
  if (!progress.can_send()) return false;
  // A follower that needs entries retention removed restarts its log at our log start.
  progress.skip_to(log_.log_start_offset());
  if (progress.next_offset() > log_.last_offset() && !even_if_empty) return false;
  const Offset prev = progress.next_offset() - 1;
  AppendRequest request{prev, log_.term_at(prev), commit_index_, log_.log_start_offset(), {}, {}};
  if (prev == log_.log_start_offset() - 1) {
    request.log_start_configuration = configurations_.at(prev);
  }
  progress.on_append_taken();
  send(Message{config_.self, peer, term_, std::move(request)});
  return true;
}

void RaftCore::handle_append_response(const Message& message, const AppendResponse& response) {
  auto it = progress_.find(message.from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  mark_heard(progress);
  if (response.success) {
    if (response.last_offset > log_.last_offset() || response.last_offset < -1) return;
    if (progress.on_ack(response.last_offset)) maybe_commit();
    maybe_send_timeout_now(message.from, progress);
    maybe_send_append(message.from, progress, false);
    return;
  }
  // Stale rejections answer appends sent before the follower's position was learned.
  const bool stale = progress.state() == Progress::State::kReplicate
                         ? response.rejected_prev_offset <= progress.match_offset()
                         : response.rejected_prev_offset != progress.next_offset() - 1;
  if (stale || response.hint_offset > response.rejected_prev_offset) return;
  // Jump back over every offset whose term the follower cannot share: the follower's log
  // matches ours at most up to the last offset of ours whose term is <= its hint term.
  const Offset hint = std::max(response.hint_offset, log_.log_start_offset() - 1);
  const OffsetAndTerm back = log_.find_conflict_by_term(hint, response.hint_term);
  progress.on_reject(std::min(back.offset + 1, response.rejected_prev_offset));
  maybe_send_append(message.from, progress, true);
}

void RaftCore::handle_heartbeat_response(const Message& message,
                                         const HeartbeatResponse& response) {
  auto it = progress_.find(message.from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  mark_heard(progress);
  if (response.lost_entries && response.last_offset < progress.match_offset()) {
    // It lost entries it had acknowledged (a corrupt batch cut off): send them again. A lower
    // match only delays commits; the commit index never moves back.
    progress.on_lost(std::max(response.last_offset, Offset{-1}));
  } else if (progress.stalled()) {
    progress.on_stall(std::max(response.last_offset, Offset{-1}));
  }
  maybe_send_append(message.from, progress, progress.match_offset() < log_.last_offset());
}

void RaftCore::maybe_commit() {
  STRAND_ASSERT(role_ == Role::kLeader, "only a leader counts matches");
  // The leader's own match is what it has synced, not merely appended: acks=all promises
  // durability on a majority.
  const Offset quorum = quorum_offset(configuration(), [&](NodeId voter) {
    if (voter == config_.self) return persisted_offset_;
    auto it = progress_.find(voter);
    return it == progress_.end() ? Offset{-1} : it->second.match_offset();
  });
  const Offset committable =
      config_.test_only_commit_without_majority ? std::max(quorum, persisted_offset_) : quorum;
  if (committable <= commit_index_) return;
  STRAND_ASSERT(committable <= log_.last_offset(), "a quorum holds only entries in our log");
  // Figure 8 of the Raft paper: an entry of an earlier term on a majority can still be
  // overwritten; only entries of the current term commit by counting.
  if (log_.term_at(committable) != term_ && !config_.test_only_commit_from_earlier_terms) return;
  set_commit_index(committable);
}

void RaftCore::maybe_send_timeout_now(NodeId peer, const Progress& progress) {
  if (transfer_target_ != peer || progress.match_offset() != log_.last_offset()) return;
  send(Message{config_.self, peer, term_, TimeoutNow{}});
}

}  // namespace strand::raft
