// The leader's view of one follower (voter or learner): how much of the log it is known to hold
// and where to send from next. etcd/raft's flow control: a follower in kProbe gets one append at
// a time until one succeeds (its log position is unknown); in kReplicate appends are pipelined,
// at most `inflight_max` unacknowledged at once.
#pragma once

#include <cstdint>
#include <deque>

#include "broker/raft/ids.h"

namespace strand::raft {

class Progress {
 public:
  enum class State : std::uint8_t { kProbe, kReplicate };

  // A follower of a new leader: nothing known, probing from the leader's end of log.
  Progress(Offset next_offset, std::uint32_t inflight_max);

  State state() const { return state_; }
  // The follower durably holds the leader's entries up to here (-1: nothing known).
  Offset match_offset() const { return match_offset_; }
  // The first offset the next append carries.
  Offset next_offset() const { return next_offset_; }
  std::size_t inflight_count() const { return inflight_.size(); }
  bool awaiting_sent_report() const { return awaiting_sent_report_; }

  // Whether a new append may be handed to the driver now: not while the driver has not reported
  // the previous one, in kProbe not while a probe is unanswered, in kReplicate not with
  // inflight_max appends unacknowledged.
  bool can_send() const;
  // An append from next_offset() was handed to the driver.
  void on_append_taken();
  // The driver reports the append it took from `prev_offset` carried entries up to
  // `last_offset` (== prev_offset when it carried none). Returns false, changing nothing, for a
  // report that does not match the append awaiting one. REQUIRES: last_offset >= prev_offset.
  bool on_append_sent(Offset prev_offset, Offset last_offset);

  // An ack: the follower holds the leader's log up to `last_offset`. Returns whether that moved
  // the match offset. Moves a probing follower to kReplicate.
  bool on_ack(Offset last_offset);
  // A rejection: restart probing at `next_offset` (never at or below the match offset).
  void on_reject(Offset next_offset);
  // Appends may have been lost (the follower's last offset is behind what was sent and nothing
  // was acked for a heartbeat interval): probe again from just after `follower_last_offset`.
  void on_stall(Offset follower_last_offset);
  // The follower lost entries it had acknowledged (a corrupt batch it cut off) and holds the log
  // only up to `follower_last_offset`: lower the match offset and probe from just after it.
  void on_lost(Offset follower_last_offset);
  // A heartbeat interval passed: a probe may be sent again.
  void on_heartbeat_interval();
  // In kReplicate, two heartbeat intervals passed with appends unacknowledged and no ack: they
  // were probably lost.
  bool stalled() const { return state_ == State::kReplicate && idle_intervals_ >= 2; }
  // Moves next_offset forward to `offset` if it lies below (the leader's log start offset).
  void skip_to(Offset offset);

  // Activity bookkeeping for check-quorum and stall detection.
  bool recent_active = false;
  bool acked_since_heartbeat = false;
  // The leader's tick count (RaftCore::ticks()) when this follower last answered; -1: never.
  std::int64_t heard_at_tick = -1;

 private:
  void check_invariants() const;

  State state_ = State::kProbe;
  Offset match_offset_ = -1;
  Offset next_offset_;
  std::uint32_t inflight_max_;
  bool probe_sent_ = false;
  std::uint32_t idle_intervals_ = 0;
  bool awaiting_sent_report_ = false;
  Offset awaiting_prev_offset_ = -1;
  std::deque<Offset> inflight_;  // last offsets of unacknowledged appends; <= inflight_max_
};

}  // namespace strand::raft
