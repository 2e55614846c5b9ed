// RaftCore: construction, terms and roles, ticks, and the Ready bookkeeping. Elections are in
// core_election.cc, the leader's replication in core_replication.cc, the follower's in
// core_follower.cc, membership and transfer in core_membership.cc.
#include "broker/raft/core.h"

#include <algorithm>
#include <utility>

#include "io/assert.h"

namespace strand::raft {

namespace {

// A driver that never calls advance() is a bug; this catches it long before memory runs out.
constexpr std::size_t kUnsyncedReadiesMax = 1 << 16;

}  // namespace

bool Config::valid() const {
  return self >= 0 && election_timeout_ticks >= 2 && heartbeat_interval_ticks >= 1 &&
         heartbeat_interval_ticks < election_timeout_ticks && idle_heartbeat_interval_ticks >= 0 &&
         idle_heartbeat_interval_ticks < election_timeout_ticks && inflight_appends_max >= 1 &&
         append_entries_max >= 1 && append_entries_max <= kAppendEntriesLimit &&
         uncommitted_offsets_max >= 1 && learner_catch_up_lag_max >= 0;
}

bool Ready::empty() const {
  return !hard_state && !truncate_from && !log_start_offset && to_persist.empty() &&
         to_send_now.empty() && to_send_after_sync.empty() && !committed && !soft_state &&
         !rejoined;
}

const char* propose_error_name(ProposeError error) {
  switch (error) {
    case ProposeError::kNone:
      return "none";
    case ProposeError::kNotLeader:
      return "not_leader";
    case ProposeError::kTransferInProgress:
      return "transfer_in_progress";
    case ProposeError::kBackpressure:
      return "backpressure";
    case ProposeError::kInvalid:
      return "invalid";
    case ProposeError::kConfigChangePending:
      return "config_change_pending";
    case ProposeError::kInvalidConfigChange:
      return "invalid_config_change";
    case ProposeError::kLearnerNotCaughtUp:
      return "learner_not_caught_up";
    case ProposeError::kCannotRemoveLeader:
      return "cannot_remove_leader";
  }
  return "unknown";
}

RaftCore::RaftCore(const Config& config, RestoredState restored, io::Random& random)
    : config_(config),
      random_(random),
      log_(std::move(restored.term_index)),
      configurations_(std::move(restored.configurations)),
      term_(restored.hard_state.term),
      voted_for_(restored.hard_state.voted_for),
      rejoining_(restored.rejoining),
      rejoin_floor_(restored.rejoin_floor) {
  STRAND_ASSERT(config_.valid(), "the Raft configuration is usable");
  STRAND_ASSERT(term_ >= log_.last_term(), "the stored term is at least the log's last term");
  STRAND_ASSERT(configurations_.latest_offset() <= log_.last_offset(),
                "restored configuration entries are in the log");
  commit_index_ =
      std::clamp(restored.commit_index, log_.log_start_offset() - 1, log_.last_offset());
  persisted_offset_ = log_.last_offset();
  driver_last_offset_ = log_.last_offset();
  configurations_.compact(log_.log_start_offset() - 1);
  taken_hard_state_ = persisted_hard_state_ = hard_state();
  taken_soft_state_ = SoftState{role_, leader_, term_};
  taken_commit_index_ = commit_index_;
  reset_election_timeout();
  check_invariants();
}

void RaftCore::step(const Message& message) {
  // Misrouted messages are bad input; a node never talks to itself.
  if (message.to != config_.self || message.from == config_.self || message.from < 0) return;
  if (message.term < 0) return;
  bool handled = false;
  step_term(message, handled);
  if (!handled) dispatch(message);
  check_invariants();
}

void RaftCore::step_term(const Message& message, bool& handled) {
  const auto* vote = std::get_if<VoteRequest>(&message.body);
  if (message.term > term_) {
    // The lease: while a leader is heard from, a vote request is someone partitioned or
    // removed trying to take over; ignoring it keeps the cluster stable.
    if (vote != nullptr && !vote->transfer && in_lease()) {
      handled = true;
      return;
    }
    if (vote != nullptr && vote->pre_vote) return;
    const auto* answer = std::get_if<VoteResponse>(&message.body);
    if (answer != nullptr && answer->pre_vote && answer->granted) return;
    const bool from_leader = std::holds_alternative<AppendRequest>(message.body) ||
                             std::holds_alternative<HeartbeatRequest>(message.body) ||
                             std::holds_alternative<TimeoutNow>(message.body);
    become_follower(message.term, from_leader ? message.from : kNoNode);
    return;
  }
  if (message.term < term_) {
    handled = true;
    if (std::holds_alternative<AppendRequest>(message.body) ||
        std::holds_alternative<HeartbeatRequest>(message.body)) {
      // A stale leader (one partitioned away, say): tell it the term so it steps down.
      send(Message{config_.self, message.from, term_, HeartbeatResponse{log_.last_offset()}});
    } else if (vote != nullptr && vote->pre_vote) {
      send(Message{config_.self, message.from, term_, VoteResponse{true, false}});
    }
  }
}

void RaftCore::dispatch(const Message& message) {
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, VoteRequest>) {
          handle_vote_request(message, body);
        } else if constexpr (std::is_same_v<T, VoteResponse>) {
          handle_vote_response(message, body);
        } else if constexpr (std::is_same_v<T, AppendRequest>) {
          handle_append_request(message, body);
        } else if constexpr (std::is_same_v<T, AppendResponse>) {
          if (role_ == Role::kLeader) handle_append_response(message, body);
        } else if constexpr (std::is_same_v<T, HeartbeatRequest>) {
          handle_heartbeat_request(message, body);
        } else if constexpr (std::is_same_v<T, HeartbeatResponse>) {
          if (role_ == Role::kLeader) handle_heartbeat_response(message, body);
        } else {
          handle_timeout_now(message);
        }
      },
      message.body);
}

void RaftCore::reset_for_term(Term term) {
  STRAND_ASSERT(term >= term_, "terms never decrease");
  if (term > term_) {
    term_ = term;
    voted_for_ = kNoNode;
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_election_timeout();
  progress_.clear();
  votes_.clear();
  transfer_target_.reset();
  transfer_elapsed_ = 0;
  term_start_offset_ = -1;
}

void RaftCore::become_follower(Term term, NodeId leader) {
  reset_for_term(term);
  role_ = Role::kFollower;
  leader_ = leader;
}

void RaftCore::become_pre_candidate() {
  STRAND_ASSERT(role_ != Role::kLeader, "a leader does not campaign");
  votes_.clear();
  leader_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void RaftCore::become_candidate() {
  STRAND_ASSERT(role_ != Role::kLeader, "a leader does not campaign");
  reset_for_term(term_ + 1);
  voted_for_ = config_.self;
  role_ = Role::kCandidate;
}

void RaftCore::become_leader() {
  STRAND_ASSERT(role_ == Role::kCandidate, "only a candidate becomes leader");
  STRAND_ASSERT(voted_for_ == config_.self, "a leader voted for itself");
  const std::map<NodeId, bool> votes = votes_;  // reset_for_term clears them
  reset_for_term(term_);
  role_ = Role::kLeader;
  leader_ = config_.self;
  sync_progress_with_configuration();
  // A vote for this term is an answer heard now.
  for (auto& [peer, progress] : progress_) {
    auto vote = votes.find(peer);
    if (vote != votes.end() && vote->second) mark_heard(progress);
  }
  // The leader-change control batch: entries of earlier terms commit only under an entry of
  // this term (Raft section 5.4.2).
  const Offset offset = log_.last_offset() + 1;
  term_start_offset_ = offset;
  append_entry(Entry{EntryMeta{offset, offset, term_, EntryKind::kLeaderChange}, {}, {}});
  broadcast_append();
  maybe_commit();
}

void RaftCore::tick() {
  ++ticks_;
  // Most ticks of most groups: a follower still waiting out its election timeout. Nothing else
  // changes, so the checks below (and the invariants) are skipped.
  if (role_ != Role::kLeader && election_elapsed_ + 1 < randomized_election_timeout_) {
    ++election_elapsed_;
    return;
  }
  if (role_ == Role::kLeader) {
    tick_leader();
  } else {
    tick_follower();
  }
  check_invariants();
}

void RaftCore::tick_follower() {
  election_elapsed_ = std::min(election_elapsed_ + 1, 2 * randomized_election_timeout_ + 1);
  if (election_elapsed_ < randomized_election_timeout_ || !promotable()) return;
  election_elapsed_ = 0;
  campaign(config_.pre_vote, false);
}

void RaftCore::tick_leader() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (transfer_target_ && ++transfer_elapsed_ >= config_.election_timeout_ticks) {
    abort_transfer();
  }
  if (election_elapsed_ >= config_.election_timeout_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      std::size_t active = configuration().is_voter(config_.self) ? 1 : 0;
      for (auto& [peer, progress] : progress_) {
        if (progress.recent_active && configuration().is_voter(peer)) ++active;
        progress.recent_active = false;
      }
      if (active < configuration().quorum()) {
        // Cut off from a quorum: a new leader may already exist; stop accepting writes.
        become_follower(term_, kNoNode);
        return;
      }
    }
  }
  const std::int32_t interval = config_.idle_heartbeat_interval_ticks > 0 && idle()
                                    ? config_.idle_heartbeat_interval_ticks
                                    : config_.heartbeat_interval_ticks;
  if (heartbeat_elapsed_ >= interval) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat();
  }
}

bool RaftCore::idle() const {
  if (transfer_target_ || commit_announced_ != commit_index_) return false;
  for (const auto& [peer, progress] : progress_) {
    if (progress.match_offset() != log_.last_offset()) return false;
  }
  return true;
}

bool RaftCore::in_lease() const {
  return config_.check_quorum && leader_ != kNoNode &&
         election_elapsed_ < config_.election_timeout_ticks;
}

bool RaftCore::promotable() const { return !rejoining_ && configuration().is_voter(config_.self); }

void RaftCore::reset_election_timeout() {
  const std::int32_t base = config_.election_timeout_ticks;
  randomized_election_timeout_ = static_cast<std::int32_t>(random_.between(base, 2 * base - 1));
}

void RaftCore::send(Message message) {
  message.from = config_.self;
  // Anything carrying a term (or vote) not yet durable waits for the sync: a node that crashed
  // before storing it could otherwise vote twice in a term. Grants and acks always wait: they
  // promise durable state.
  bool after_sync = hard_state() != persisted_hard_state_;
  if (const auto* vote = std::get_if<VoteResponse>(&message.body)) {
    after_sync = after_sync || (vote->granted && !vote->pre_vote);
  }
  after_sync = after_sync || std::holds_alternative<AppendResponse>(message.body);
  auto& queue = after_sync ? pending_.to_send_after_sync : pending_.to_send_now;
  queue.push_back(std::move(message));
}

void RaftCore::append_entry(Entry entry) {
  const EntryMeta& meta = entry.meta;
  log_.append(meta.term, meta.base_offset, meta.last_offset);
  if (meta.kind == EntryKind::kConfiguration) {
    STRAND_ASSERT(entry.configuration.has_value(), "a configuration entry carries one");
    configurations_.append(meta.base_offset, *entry.configuration);
    apply_configuration();
  }
  pending_.to_persist.push_back(std::move(entry));
  pending_log_writes_ = true;
}

void RaftCore::truncate_from(Offset offset) {
  STRAND_ASSERT(offset > commit_index_, "committed entries are never truncated");
  STRAND_ASSERT(role_ != Role::kLeader, "a leader never truncates its own log");
  if (offset > log_.last_offset()) return;
  const Offset config_offset = configurations_.latest_offset();
  log_.truncate_from(offset);
  configurations_.truncate_from(offset);
  if (config_offset >= offset) apply_configuration();
  auto& entries = pending_.to_persist;
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [&](const Entry& e) { return e.meta.base_offset >= offset; }),
                entries.end());
  if (offset <= driver_last_offset_) {
    pending_.truncate_from = std::min(pending_.truncate_from.value_or(offset), offset);
    driver_last_offset_ = offset - 1;
  }
  persisted_offset_ = std::min(persisted_offset_, offset - 1);
  for (Unsynced& unsynced : unsynced_) {
    unsynced.last_offset = std::min(unsynced.last_offset, offset - 1);
  }
  pending_log_writes_ = true;
}

void RaftCore::set_commit_index(Offset offset) {
  if (offset <= commit_index_) return;
  STRAND_ASSERT(offset <= log_.last_offset(), "only entries in the log commit");
  commit_index_ = offset;
}

void RaftCore::advance_log_start_offset(Offset offset) {
  STRAND_ASSERT(offset > log_.log_start_offset(), "the log start offset moves forward");
  STRAND_ASSERT(offset <= std::min(commit_index_, persisted_offset_) + 1,
                "retention removes only committed, durable entries");
  log_.advance_start(offset);
  configurations_.compact(offset - 1);
  check_invariants();
}

bool RaftCore::has_ready() const {
  return !pending_.empty() || pending_log_writes_ || hard_state() != taken_hard_state_ ||
         SoftState{role_, leader_, term_} != taken_soft_state_ ||
         commit_index_ != taken_commit_index_;
}

Ready RaftCore::take_ready() {
  Ready ready = std::move(pending_);
  pending_ = Ready{};
  ready.number = next_ready_number_++;
  if (hard_state() != taken_hard_state_) {
    ready.hard_state = taken_hard_state_ = hard_state();
  }
  const SoftState soft{role_, leader_, term_};
  if (soft != taken_soft_state_) ready.soft_state = taken_soft_state_ = soft;
  if (commit_index_ != taken_commit_index_) ready.committed = taken_commit_index_ = commit_index_;
  if (pending_log_writes_ || ready.hard_state) {
    unsynced_.push_back(Unsynced{ready.number, log_.last_offset(), ready.hard_state});
    STRAND_ASSERT(unsynced_.size() <= kUnsyncedReadiesMax, "the driver advances its readies");
  }
  driver_last_offset_ = log_.last_offset();
  pending_log_writes_ = false;
  return ready;
}

void RaftCore::advance(const Ready& ready) {
  STRAND_ASSERT(ready.number < next_ready_number_, "advance names a Ready that was taken");
  while (!unsynced_.empty() && unsynced_.front().ready_number <= ready.number) {
    const Unsynced& done = unsynced_.front();
    STRAND_ASSERT(done.last_offset <= log_.last_offset(), "durable entries are in the log");
    persisted_offset_ = done.last_offset;
    if (done.hard_state) persisted_hard_state_ = *done.hard_state;
    unsynced_.pop_front();
  }
  if (role_ == Role::kLeader) maybe_commit();
  check_invariants();
}

const Progress* RaftCore::progress(NodeId peer) const {
  auto it = progress_.find(peer);
  return it == progress_.end() ? nullptr : &it->second;
}

void RaftCore::mark_heard(Progress& progress) {
  progress.recent_active = true;
  progress.heard_at_tick = ticks_;
}

bool RaftCore::quorum_active() const {
  if (role_ != Role::kLeader) return false;
  return active_voters().size() >= configuration().quorum();
}

std::vector<NodeId> RaftCore::active_voters() const {
  std::vector<NodeId> active;
  if (role_ != Role::kLeader) return active;
  const Configuration& config = configuration();
  if (config.is_voter(config_.self)) active.push_back(config_.self);
  for (const auto& [peer, progress] : progress_) {
    if (!config.is_voter(peer) || progress.heard_at_tick < 0) continue;
    if (ticks_ - progress.heard_at_tick < config_.election_timeout_ticks) active.push_back(peer);
  }
  std::sort(active.begin(), active.end());
  return active;
}

void RaftCore::check_invariants() const {
  STRAND_ASSERT(term_ >= log_.last_term(), "no entry has a term beyond the current term");
  STRAND_ASSERT(commit_index_ <= log_.last_offset(), "the commit index is in the log");
  STRAND_ASSERT(commit_index_ >= log_.log_start_offset() - 1, "entries below start committed");
  STRAND_ASSERT(persisted_offset_ <= log_.last_offset(), "durable entries are in the log");
  STRAND_ASSERT(configurations_.latest_offset() <= log_.last_offset(),
                "the configuration in effect is in the log");
  if (role_ == Role::kLeader) {
    STRAND_ASSERT(leader_ == config_.self && voted_for_ == config_.self, "a leader voted self");
    STRAND_ASSERT(!progress_.contains(config_.self), "a leader tracks only its followers");
    STRAND_ASSERT(term_start_offset_ >= 0, "a leader appended its leader-change entry");
  } else {
    STRAND_ASSERT(progress_.empty() && !transfer_target_, "only a leader tracks followers");
  }
  if (role_ == Role::kCandidate) {
    STRAND_ASSERT(voted_for_ == config_.self, "a candidate voted for itself");
  }
}

}  // namespace strand::raft
