#include "broker/raft/progress.h"

#include <algorithm>

#include "io/assert.h"

namespace strand::raft {

Progress::Progress(Offset next_offset, std::uint32_t inflight_max)
    : next_offset_(next_offset), inflight_max_(inflight_max) {
  STRAND_ASSERT(inflight_max_ >= 1, "at least one append may be in flight");
  check_invariants();
}

bool Progress::can_send() const {
  if (awaiting_sent_report_) return false;
  if (state_ == State::kProbe) return !probe_sent_;
  return inflight_.size() < inflight_max_;
}

void Progress::on_append_taken() {
  STRAND_ASSERT(can_send(), "appends are taken only when flow control allows");
  awaiting_sent_report_ = true;
  awaiting_prev_offset_ = next_offset_ - 1;
}

bool Progress::on_append_sent(Offset prev_offset, Offset last_offset) {
  STRAND_ASSERT(last_offset >= prev_offset, "an append carries entries after its prev offset");
  if (!awaiting_sent_report_ || prev_offset != awaiting_prev_offset_) return false;
  awaiting_sent_report_ = false;
  // An ack or rejection may have moved next_offset since the append was taken; then the
  // append no longer describes the follower's flow and only the report is consumed.
  if (prev_offset != next_offset_ - 1) {
    check_invariants();
    return true;
  }
  if (state_ == State::kProbe) {
    probe_sent_ = true;
  } else if (last_offset > prev_offset) {
    next_offset_ = last_offset + 1;
    inflight_.push_back(last_offset);
  }
  check_invariants();
  return true;
}

bool Progress::on_ack(Offset last_offset) {
  const bool moved = last_offset > match_offset_;
  if (moved) {
    match_offset_ = last_offset;
    idle_intervals_ = 0;
  }
  next_offset_ = std::max(next_offset_, match_offset_ + 1);
  while (!inflight_.empty() && inflight_.front() <= match_offset_) inflight_.pop_front();
  if (state_ == State::kProbe && (moved || last_offset == match_offset_)) {
    state_ = State::kReplicate;
    probe_sent_ = false;
    inflight_.clear();
    next_offset_ = match_offset_ + 1;
  }
  acked_since_heartbeat = acked_since_heartbeat || moved;
  check_invariants();
  return moved;
}

void Progress::on_reject(Offset next_offset) {
  state_ = State::kProbe;
  idle_intervals_ = 0;
  probe_sent_ = false;
  inflight_.clear();
  next_offset_ = std::max(next_offset, match_offset_ + 1);
  check_invariants();
}

void Progress::on_stall(Offset follower_last_offset) {
  on_reject(std::min(next_offset_, follower_last_offset + 1));
}

void Progress::on_lost(Offset follower_last_offset) {
  match_offset_ = std::max(Offset{-1}, std::min(match_offset_, follower_last_offset));
  state_ = State::kProbe;
  idle_intervals_ = 0;
  probe_sent_ = false;
  inflight_.clear();
  next_offset_ = match_offset_ + 1;
  check_invariants();
}

void Progress::on_heartbeat_interval() {
  probe_sent_ = false;
  const bool waiting = match_offset_ + 1 < next_offset_;
  idle_intervals_ = (waiting && !acked_since_heartbeat) ? idle_intervals_ + 1 : 0;
  acked_since_heartbeat = false;
}

void Progress::skip_to(Offset offset) {
  if (next_offset_ < offset) next_offset_ = offset;
  check_invariants();
}

void Progress::check_invariants() const {
  STRAND_ASSERT(next_offset_ > match_offset_, "next offset lies beyond the match offset");
  STRAND_ASSERT(inflight_.size() <= inflight_max_, "in-flight appends are bounded");
  STRAND_ASSERT(state_ == State::kReplicate || inflight_.empty(), "probes are not pipelined");
  STRAND_ASSERT(std::is_sorted(inflight_.begin(), inflight_.end()), "in flight in order");
}

}  // namespace strand::raft
