// The Raft core of one group: a pure state machine in the etcd/raft style. step(), tick(),
// propose() and friends only change state and queue effects; take_ready() hands the effects to
// the driver, which performs them in this order and then calls advance():
//
//   1. Send Ready::to_send_now (any time; nothing in them needs durability).
//   2. Store hard_state (term and vote, atomically and durably) if set. Then, if truncate_from
//      is set, drop every entry at or after it; if log_start_offset is set, move the log start
//      offset forward to it (if the log ends before it, the log becomes empty and starts there;
//      the term of log_start_offset - 1 is term_index().term_at(it - 1), and the configuration
//      in effect there configuration_history().at(it - 1)); append to_persist in order. The
//      hard state goes first because truncations and log start moves are durable at once, and
//      a log must never hold a term beyond the stored one.
//   3. Sync all of that.
//   4. Send to_send_after_sync (vote grants, append acks and anything carrying a term that was
//      not yet durable: sending them earlier could make a crashed node vote twice in a term or
//      acknowledge entries it loses).
//   5. advance(ready). Expose `committed` (high watermark = committed + 1) once this Ready's
//      entries are durable.
//
// Readies must be performed in the order taken; one sync may cover several. The core never holds
// the log: it keeps the term boundaries (TermIndex), the configuration history and per-follower
// progress. Entries for outgoing appends are attached by the driver (see AppendRequest).
//
// Everything is bounded: appends in flight per follower (Config::inflight_appends_max), entries
// per append (Config::append_entries_max), uncommitted offsets on the leader
// (Config::uncommitted_offsets_max), configuration entries (ConfigurationHistory::kEntriesMax).
// Messages that are malformed (bad input from the network) are dropped, never asserted on.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "broker/raft/configuration.h"
#include "broker/raft/ids.h"
#include "broker/raft/progress.h"
#include "broker/raft/term_index.h"
#include "broker/raft/types.h"
#include "io/random.h"

namespace strand::raft {

struct Config {
  NodeId self = kNoNode;
  // A follower campaigns after a random number of ticks in [election_timeout_ticks,
  // 2 * election_timeout_ticks); a leader steps down (check-quorum) and abandons a transfer
  // after election_timeout_ticks.
  std::int32_t election_timeout_ticks = 10;
  std::int32_t heartbeat_interval_ticks = 2;  // < election_timeout_ticks
  // While the group is idle (every peer holds the leader's whole log and was told its commit
  // index, no transfer under way) heartbeats go out this seldom instead, so that thousands of
  // idle partitions cost less; 0: always heartbeat_interval_ticks. < election_timeout_ticks.
  std::int32_t idle_heartbeat_interval_ticks = 0;
  bool pre_vote = true;
  // Also enables the lease: a node that heard from a leader within election_timeout_ticks
  // ignores (pre)vote requests not started by a leadership transfer.
  bool check_quorum = true;
  std::uint32_t inflight_appends_max = 4;          // per follower, in kReplicate
  std::uint32_t append_entries_max = 64;           // what the driver may attach to one append
  std::int64_t uncommitted_offsets_max = 1 << 20;  // proposals beyond this are refused
  // A learner is promoted only when its match offset is at least commit index - this.
  std::int64_t learner_catch_up_lag_max = 0;

  // Planted bugs for proving the simulation's checkers find them. Never set outside tests.
  bool test_only_skip_log_up_to_date_check = false;
  bool test_only_commit_from_earlier_terms = false;
  bool test_only_commit_without_majority = false;  // the leader's own sync alone commits
  bool test_only_keep_diverged_entries = false;    // a follower keeps entries that conflict

  // REQUIRES nothing; answers whether the values are usable.
  bool valid() const;
};

// What the driver loaded at startup. Everything in the log is durable. A fresh group is
// RestoredState{{}, TermIndex(), -1, {{-1, bootstrap configuration}}}.
struct RestoredState {
  HardState hard_state;
  // From the log and its leader epoch cache, which must keep the term of log start - 1.
  TermIndex term_index;
  // A checkpointed commit index (the high watermark checkpoint - 1), clamped to the log; -1 if
  // none. The driver checkpoints only commit indexes it has reported and synced entries for.
  Offset commit_index = -1;
  // The configuration in effect just below the log start offset (or the bootstrap configuration
  // at offset -1) and every configuration entry in the log after it, in offset order.
  std::vector<ConfigurationHistory::Item> configurations;
  // This node lost its state for the group (its replica was deleted, and is now opened again),
  // or part of its log (a corrupt batch cut off): it neither votes nor campaigns until it caught
  // up with a leader (see RaftCore::rejoining()).
  bool rejoining = false;
  // For a node that lost part of its log: the last entry of its log before the loss (or one
  // beyond it). While rejoining it votes, as its whole log would have, for a candidate at least
  // as up to date as this; nullopt: no votes at all.
  std::optional<OffsetAndTerm> rejoin_floor;
};

struct Ready {
  std::uint64_t number = 0;                // increases by one per take_ready(); advance() names it
  std::optional<HardState> hard_state;     // store first, atomically, when set
  std::optional<Offset> truncate_from;     // drop entries at or after this offset
  std::optional<Offset> log_start_offset;  // then move the log start forward to this
  std::vector<Entry> to_persist;           // then append these, in order, densely
  // Messages. AppendRequests in either list go out with entries the driver attaches, followed
  // by a call to RaftCore::append_sent().
  std::vector<Message> to_send_now;
  std::vector<Message> to_send_after_sync;
  std::optional<Offset> committed;      // the new commit index, if it moved
  std::optional<SoftState> soft_state;  // role, leader or term, if any changed
  // A rejoining node caught up: once this Ready's entries are durable, it may vote again.
  bool rejoined = false;

  bool empty() const;
};

struct OffsetRange {
  Offset base_offset = 0;
  Offset last_offset = 0;
};

enum class ProposeError : std::uint8_t {
  kNone,
  kNotLeader,            // redirect to leader() (NOT_LEADER_OR_FOLLOWER)
  kTransferInProgress,   // leadership is moving; retry at the new leader
  kBackpressure,         // too many uncommitted offsets; retry later
  kInvalid,              // record_count < 1
  kConfigChangePending,  // an uncommitted configuration entry exists, or this leader has
                         // not committed an entry of its term yet
  kInvalidConfigChange,  // the change does not apply to the current configuration
  kLearnerNotCaughtUp,   // promote only a learner within learner_catch_up_lag_max
  kCannotRemoveLeader,   // transfer leadership first
};

const char* propose_error_name(ProposeError error);

struct [[nodiscard]] ProposeResult {
  ProposeError error = ProposeError::kNone;
  OffsetRange range;  // meaningful when ok()

  bool ok() const { return error == ProposeError::kNone; }
};

class RaftCore {
 public:
  // Starts as a follower of nobody in the restored term. `random` (the node's env.rng()) drives
  // election timeouts and must outlive the core. REQUIRES: config.valid(), restored state
  // consistent (hard_state.term >= restored term_index.last_term()).
  RaftCore(const Config& config, RestoredState restored, io::Random& random);

  // Handles one message addressed to this node (others, and malformed ones, are dropped).
  // Never blocks; effects go to the next Ready.
  // Messages from other terms are handled as in the Raft paper (step down on a higher term,
  // answer a stale leader so it steps down) except that PreVote never changes terms.
  void step(const Message& message);
  // Advances logical time by one tick: elections, heartbeats, check-quorum, transfer timeout.
  void tick();

  // Leader only: appends a data entry of `record_count` offsets carrying `payload` (the record
  // batch; its offsets and term are stamped by the driver from the returned range and term()).
  // The entry commits (and may be acknowledged to acks=all producers) once committed reaches
  // range.last_offset and the entry still has this term; it may also be lost (leader change).
  ProposeResult propose(std::int32_t record_count, std::vector<std::byte> payload);
  // Leader only: appends a configuration entry; it takes effect at once (single-server change).
  ProposeResult propose_configuration_change(ConfigChange change);
  // Leader only: hands leadership to voter `target` once it is caught up (TimeoutNow).
  // Proposals are refused until the transfer ends: leadership moved, or abandoned after an
  // election timeout. Errors: kNotLeader, kTransferInProgress, kInvalidConfigChange (target is
  // not another voter).
  ProposeError transfer_leadership(NodeId target);

  // The driver attached entries up to `last_offset` (== prev_offset if none) to the
  // AppendRequest for `peer` of `term` with `prev_offset` it took from a Ready. Must be called
  // once per AppendRequest taken, in order, even when nothing could be sent (the core cannot
  // know a byte budget, so it learns here how far the append reached and pipelines the next
  // one from there); further appends to that peer wait for it. Stale reports (another term, no
  // longer leader, progress reset since) are ignored. REQUIRES: last_offset <= last_offset().
  void append_sent(NodeId peer, Term term, Offset prev_offset, Offset last_offset);

  // Retention moved the log start offset forward: entries below `offset` are gone. REQUIRES:
  // log_start_offset() < offset <= min(commit_index(), persisted_offset()) + 1, and `offset` is
  // the base offset of an entry (or last_offset() + 1).
  void advance_log_start_offset(Offset offset);

  bool has_ready() const;
  // The effects accumulated since the last take_ready().
  Ready take_ready();
  // The driver performed `ready` (and every Ready before it): its entries and hard state are
  // durable. Only ready.number is read, so the driver may have moved the payloads out.
  void advance(const Ready& ready);

  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId leader() const { return leader_; }
  NodeId self() const { return config_.self; }
  Offset commit_index() const { return commit_index_; }
  Offset high_watermark() const { return commit_index_ + 1; }
  Offset last_offset() const { return log_.last_offset(); }
  Offset log_start_offset() const { return log_.log_start_offset(); }
  Term last_term() const { return log_.last_term(); }
  // The end of what this node has durably written (the leader's own match offset).
  Offset persisted_offset() const { return persisted_offset_; }
  // Followers: the highest log start offset a leader sent (Kafka's KIP-107: followers drop what
  // the leader deleted). Entries below it are committed, so any leader's value is safe to follow.
  Offset leader_log_start_offset() const { return leader_log_start_offset_; }
  const TermIndex& term_index() const { return log_; }
  const Configuration& configuration() const { return configurations_.latest(); }
  const ConfigurationHistory& configuration_history() const { return configurations_; }
  HardState hard_state() const { return HardState{term_, voted_for_}; }
  std::optional<NodeId> transfer_target() const { return transfer_target_; }
  // Leader only: the progress of `peer`, or null.
  const Progress* progress(NodeId peer) const;
  // Whether this node restarted without the state it had for the group (RestoredState) and has
  // not yet caught up with a leader. Such a node may once have voted, and acknowledged entries it
  // no longer holds: peers with a stale configuration still count it, so a vote from it could
  // elect a leader missing committed entries. It does not campaign, and grants no votes (or, with
  // RestoredState::rejoin_floor, only to candidates at least as up to date as the log it lost),
  // until an append from a leader brought its log up to that leader's commit index.
  bool rejoining() const { return rejoining_; }
  // Ticks since the core was created.
  std::int64_t ticks() const { return ticks_; }
  // True on a leader that heard from a quorum of voters (itself included) within the last
  // election_timeout_ticks: answers to its appends or heartbeats, or votes for its election.
  // False on any other role. Unlike check-quorum's window this never resets to "unknown", so
  // it can gate acks=all writes (NOT_ENOUGH_REPLICAS) without flapping.
  bool quorum_active() const;
  // A leader's voters (itself included) heard from within election_timeout_ticks, in id order;
  // empty on any other role. Kafka's in-sync replicas, as metadata shows them and as
  // min.insync.replicas counts them.
  std::vector<NodeId> active_voters() const;

 private:
  // core.cc: terms, roles, ticks, the log and readies.
  void step_term(const Message& message, bool& handled);
  void dispatch(const Message& message);
  void reset_for_term(Term term);
  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void tick_follower();
  void tick_leader();
  bool in_lease() const;
  bool idle() const;
  bool promotable() const;
  void reset_election_timeout();
  void send(Message message);
  void append_entry(Entry entry);
  void truncate_from(Offset offset);
  void set_commit_index(Offset offset);
  void check_invariants() const;
  void mark_heard(Progress& progress);

  // core_election.cc
  void campaign(bool pre_vote, bool transfer);
  void handle_vote_request(const Message& message, const VoteRequest& request);
  void handle_vote_response(const Message& message, const VoteResponse& response);
  void handle_timeout_now(const Message& message);
  bool log_up_to_date(Offset last_offset, Term last_term) const;
  void tally_votes();

  // core_replication.cc: the leader's side.
  void broadcast_append();
  void broadcast_heartbeat();
  bool maybe_send_append(NodeId peer, Progress& progress, bool even_if_empty);
  void handle_append_response(const Message& message, const AppendResponse& response);
  void handle_heartbeat_response(const Message& message, const HeartbeatResponse& response);
  void maybe_commit();
  void maybe_send_timeout_now(NodeId peer, const Progress& progress);

  // core_follower.cc: the follower's side.
  void handle_append_request(const Message& message, const AppendRequest& request);
  void handle_heartbeat_request(const Message& message, const HeartbeatRequest& request);
  bool valid_append(const Message& message, const AppendRequest& request) const;
  bool matches_prev(const AppendRequest& request) const;
  void reset_to_leader_log_start(const AppendRequest& request);
  Offset append_from_leader(const AppendRequest& request);
  void reject_append(const Message& message, const AppendRequest& request);

  // core_membership.cc
  void apply_configuration();
  void sync_progress_with_configuration();
  void abort_transfer();

  Config config_;
  io::Random& random_;
  TermIndex log_;
  ConfigurationHistory configurations_;

  Term term_ = 0;
  NodeId voted_for_ = kNoNode;
  NodeId leader_ = kNoNode;
  Role role_ = Role::kFollower;
  Offset commit_index_ = -1;
  Offset leader_log_start_offset_ = 0;
  Offset persisted_offset_ = -1;

  std::int32_t election_elapsed_ = 0;   // ticks since the leader was heard (leader: since the
                                        // last check-quorum)
  std::int32_t heartbeat_elapsed_ = 0;  // leader: ticks since the last heartbeat
  Offset commit_announced_ = -1;        // leader: the commit index its last heartbeats carried
  bool rejoining_ = false;
  std::optional<OffsetAndTerm> rejoin_floor_;
  std::int32_t randomized_election_timeout_ = 0;
  std::int64_t ticks_ = 0;  // every tick() so far

  std::map<NodeId, Progress> progress_;  // leader: every member but self
  std::map<NodeId, bool> votes_;         // (pre-)candidate: answers received, self included
  std::optional<NodeId> transfer_target_;
  std::int32_t transfer_elapsed_ = 0;
  Offset term_start_offset_ = -1;  // leader: the offset of its leader-change entry

  // Effects not taken yet, and what the driver has been told so far.
  Ready pending_;
  bool pending_log_writes_ = false;  // pending_ truncates, moves the log start or appends
  Offset driver_last_offset_ = -1;   // the log's end once the driver performed what it took
  std::uint64_t next_ready_number_ = 1;
  HardState taken_hard_state_;
  HardState persisted_hard_state_;
  SoftState taken_soft_state_;
  Offset taken_commit_index_ = -1;
  // Readies taken but not advanced that wrote to the log, with the log end each leaves behind
  // (lowered when a later truncation cuts it), and the hard state each stores.
  struct Unsynced {
    std::uint64_t ready_number;
    Offset last_offset;
    std::optional<HardState> hard_state;
  };
  std::deque<Unsynced> unsynced_;
};

}  // namespace strand::raft
