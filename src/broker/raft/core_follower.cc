// The follower's side of log replication: validating appends, matching, truncating conflicts,
// moving forward past the leader's log start offset, heartbeats and the commit index.
#include <algorithm>

#include "broker/raft/core.h"
#include "io/assert.h"

namespace strand::raft {

void RaftCore::handle_append_request(const Message& message, const AppendRequest& request) {
  // Here message.term == term_. Two leaders in one term would be a bug elsewhere.
  if (role_ == Role::kLeader) return;
  if (role_ != Role::kFollower) become_follower(term_, message.from);
  leader_ = message.from;
  election_elapsed_ = 0;
  if (!valid_append(message, request)) return;
  leader_log_start_offset_ = std::max(leader_log_start_offset_, request.log_start_offset);
  if (!matches_prev(request)) {
    if (request.prev_offset != request.log_start_offset - 1) {
      reject_append(message, request);
      return;
    }
    // The leader has nothing older: what we hold beyond our commit index cannot match.
    reset_to_leader_log_start(request);
  }
  const Offset last_new = append_from_leader(request);
  set_commit_index(std::min(request.leader_commit, last_new));
  if (rejoining_ && last_new >= request.leader_commit) {
    // Our log now holds everything this leader had committed: votes from here on rest on it.
    rejoining_ = false;
    pending_.rejoined = true;
  }
  send(Message{config_.self, message.from, term_, AppendResponse{true, last_new, -1, -1, 0}});
}

bool RaftCore::valid_append(const Message& message, const AppendRequest& request) const {
  if (request.entries.size() > kAppendEntriesLimit) return false;
  if (request.prev_offset < -1 || request.log_start_offset < 0 || request.prev_term < 0) {
    return false;
  }
  if (request.prev_offset < request.log_start_offset - 1) return false;
  // Retention removes only committed entries.
  if (request.log_start_offset - 1 > request.leader_commit) return false;
  if (request.prev_term > message.term) return false;
  // A follower that must restart its log at the leader's needs the configuration there.
  const bool at_start = request.prev_offset == request.log_start_offset - 1;
  if (at_start != request.log_start_configuration.has_value()) return false;
  if (at_start && !request.log_start_configuration->valid()) return false;
  Offset expected_base = request.prev_offset + 1;
  Term term = request.prev_term;
  for (const Entry& entry : request.entries) {
    const EntryMeta& meta = entry.meta;
    if (meta.base_offset != expected_base || meta.last_offset < meta.base_offset) return false;
    if (meta.term < term || meta.term > message.term) return false;
    const bool configuration = meta.kind == EntryKind::kConfiguration;
    if (configuration != entry.configuration.has_value()) return false;
    if (configuration && !entry.configuration->valid()) return false;
    expected_base = meta.last_offset + 1;
    term = meta.term;
  }
  return true;
}

bool RaftCore::matches_prev(const AppendRequest& request) const {
  // Every leader's log holds our committed entries.
  if (request.prev_offset <= commit_index_) return true;
  return log_.covers(request.prev_offset) && log_.term_at(request.prev_offset) == request.prev_term;
}

void RaftCore::reject_append(const Message& message, const AppendRequest& request) {
  const OffsetAndTerm hint = log_.find_conflict_by_term(
      std::min(request.prev_offset, log_.last_offset()), request.prev_term);
  const AppendResponse response{false, log_.last_offset(), request.prev_offset, hint.offset,
                                hint.term};
  send(Message{config_.self, message.from, term_, response});
}

void RaftCore::reset_to_leader_log_start(const AppendRequest& request) {
  STRAND_ASSERT(request.prev_offset > commit_index_, "a matching log is never reset");
  const Offset start = request.log_start_offset;
  truncate_from(commit_index_ + 1);
  // Not taken yet and below the new start: never needs writing.
  pending_.to_persist.clear();
  log_.reset(start, request.prev_term);
  configurations_.reset(start - 1, *request.log_start_configuration);
  apply_configuration();
  pending_.log_start_offset = start;
  pending_log_writes_ = true;
  set_commit_index(start - 1);
}

Offset RaftCore::append_from_leader(const AppendRequest& request) {
  Offset last_new = request.prev_offset;
  for (const Entry& entry : request.entries) {
    const EntryMeta& meta = entry.meta;
    last_new = meta.last_offset;
    if (meta.last_offset <= commit_index_) continue;
    if (meta.base_offset <= log_.last_offset()) {
      // One leader gives an offset one entry per term, so the same term means the same entry.
      const bool same =
          !log_.covers(meta.base_offset) || log_.term_at(meta.base_offset) == meta.term;
      if (same) continue;
      // Planted bug: an entry we already hold in full is taken to be the leader's, whatever its
      // term, so the diverged suffix stays and is acknowledged as matching.
      if (config_.test_only_keep_diverged_entries && meta.last_offset <= log_.last_offset()) {
        continue;
      }
      truncate_from(meta.base_offset);
    }
    append_entry(entry);
  }
  return last_new;
}

void RaftCore::handle_heartbeat_request(const Message& message, const HeartbeatRequest& request) {
  if (role_ == Role::kLeader) return;
  if (role_ != Role::kFollower) become_follower(term_, message.from);
  leader_ = message.from;
  election_elapsed_ = 0;
  // The leader learned match_offset from our acks in this term, so we hold those entries.
  const Offset known = std::min({request.commit_offset, request.match_offset, log_.last_offset()});
  set_commit_index(known);
  // The leader counts entries we acknowledged in this term, and a term never takes back what was
  // acknowledged: a match beyond our log means a restart lost synced entries.
  const bool lost = rejoining_ || request.match_offset > log_.last_offset();
  send(Message{config_.self, message.from, term_, HeartbeatResponse{log_.last_offset(), lost}});
}

}  // namespace strand::raft
