// The driver of one Raft group: one partition's replica on one broker. It owns the RaftCore and
// the partition's PartitionLog, ticks the core on the io clock, and performs every Ready in the
// order core.h prescribes:
//   hard state (raft-state) -> truncate -> move the log start -> leader epoch checkpoint ->
//   append (base offset and term stamped into each batch) -> send to_send_now (AppendRequests
//   with entries read from the log, then append_sent()) -> sync -> send to_send_after_sync ->
//   advance -> expose the high watermark (commit index + 1, only once durable).
// The leader epoch checkpoint is rewritten before the entries of a new term are appended, so a
// crash never leaves entries of a term the checkpoint does not know; on open, term starts beyond
// the log's end are dropped and the rest is checked against the log at every term boundary and at
// its end (a disagreement is kCorrupt: the replica does not guess).
//
// Errors are values: a proposal to a non-leader answers kNotLeader with the leader this replica
// knows (NOT_LEADER_OR_FOLLOWER). A storage error fails the replica (it stops, refuses
// proposals, and needs a reopen): after a failed write or sync, what is durable is unknown.
//
// The high watermark is checkpointed every few seconds; a restarted replica starts from it (and
// learns the rest from the leader).
//
// A follower moved past the end of its log by the leader's log start offset (retention deleted
// what it lacks) restarts its log empty there (PartitionLog::truncate_fully_and_start_at).
//
// A corrupt batch (its CRC fails, or its term disagrees with the term index) found in the log of a
// replica with other voters is repaired from them: the replica fails (needs_repair()), and close()
// writes the rejoin marker, then a repair marker naming the offset. The next open cuts the log
// there and the replica rejoins (RaftCore::rejoining(): no votes, no campaign) until a leader
// has sent it everything that leader committed. A replica that is its group's only voter has
// nobody to repair from: it stays failed, never serving the batch. A log that restarts holding
// less than its checkpointed high watermark (a corrupt batch cut off by recovery) rejoins too.
//
// Configuration entries are control batches in the log; open() replays them over the
// configuration the epoch checkpoint holds for below the log start (the bootstrap at first), so
// the last one in the log is in effect. It reads the whole log once (to keep open proportional
// to the configuration entries, remember their offsets beside the log).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/raft/core.h"
#include "broker/raft/message_codec.h"
#include "broker/raft/transport.h"
#include "broker/storage/partition_log.h"
#include "io/env.h"
#include "io/sync.h"

namespace strand::raft {

struct ReplicaOptions {
  Config raft;  // raft.self is this broker; election_timeout_ticks 10 by default
  io::Duration tick_interval = io::Duration::ms(100);
  std::uint32_t append_bytes_max = 1u << 20;  // entries attached to one AppendRequest
  // How often a moved high watermark is checkpointed
  // (replica.high.watermark.checkpoint.interval.ms).
  io::Duration high_watermark_checkpoint_interval = io::Duration::s(5);
  storage::LogConfig log;
  // Notified whenever the high watermark moves (long-polling fetches wait on it); may be null.
  io::Condition* high_watermark_moved = nullptr;
  // Ticks come from outside (tick(), one ticker for every replica of a broker), so run() keeps
  // no timer of its own: thousands of idle replicas then cost no timer wake-ups.
  bool external_ticks = false;
  // Incremented whenever the replica's role, leader or term changes (one counter may serve many
  // replicas, so an owner can tell that none changed without looking at each); may be null.
  std::uint64_t* role_changes = nullptr;
  // Incremented, and notified, when the replica found a corrupt batch in its log and failed so
  // that its owner closes and reopens it (needs_repair()). Null: no repair while running (open()
  // still repairs what it finds).
  std::uint64_t* repairs_requested = nullptr;
  io::Condition* repair_requested = nullptr;
  // Planted bug (simulation tests only): a replica that cut off a corrupt batch does not rejoin,
  // so it votes on the log it has left.
  bool test_only_repair_without_rejoin = false;
};

enum class Acks : std::uint8_t {
  kLeader,  // acks=1: answered once appended to the leader's log (lost if it fails over)
  kAll,     // acks=all: answered once committed and durable on a majority
};

enum class ReplicaError : std::uint8_t {
  kNone,
  kNotLeader,     // NOT_LEADER_OR_FOLLOWER; ProposeOutcome::leader names the known leader.
                  // For an accepted acks=all proposal: leadership was lost before it
                  // committed; it may still commit under the next leader
  kBackpressure,  // too much uncommitted or a leadership transfer: retry shortly
  kInvalidBatch,  // not one valid producer batch (CORRUPT_MESSAGE)
  kLost,          // a new leader replaced the entry before it committed: not written
  kTimeout,       // no answer in time: the batch may or may not commit later
  kFailed,        // the replica's storage failed or it stopped
};

const char* replica_error_name(ReplicaError error);

struct ProposeOutcome {
  ReplicaError error = ReplicaError::kNone;
  NodeId leader = kNoNode;  // for kNotLeader and kLost: the leader known now (kNoNode: none)
  Offset base_offset = -1;  // when ok(): where the batch is
  Offset last_offset = -1;
  Term term = 0;  // the leader epoch stamped into the batch

  bool ok() const { return error == ReplicaError::kNone; }
};

class Replica {
 public:
  // Opens the partition log in `directory` and the replica's state beside it. A fresh directory
  // starts with `bootstrap` as its configuration. Errors: the log's, kCorrupt for state files
  // that fail their checks or disagree with the log.
  static io::Task<io::Result<std::unique_ptr<Replica>>> open(io::Env& env, std::string directory,
                                                             GroupId group, Configuration bootstrap,
                                                             ReplicaOptions options,
                                                             Transport& transport);
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Ticks and performs Readies until stop(), a storage failure, or its frame is destroyed.
  io::Task<void> run();
  void stop();

  // After run() ended: checkpoints the high watermark (a restart then starts from it) and closes
  // the log cleanly.
  io::Task<io::Result<void>> close();

  // Hands an incoming message of this group to the core; effects are performed by run().
  void step(const Message& message);
  // One tick of the core's logical clock, for ReplicaOptions::external_ticks (every
  // tick_interval); wakes run() only when there is something to do.
  void tick();

  // Appends one producer batch if this replica leads, and answers per `acks` within `timeout`.
  // The batch is stored verbatim but for baseOffset and partitionLeaderEpoch.
  io::Task<ProposeOutcome> propose(std::vector<std::byte> batch, Acks acks, io::Duration timeout);
  // Waits as propose() does for an entry already in the log at `outcome`'s offsets and term (an
  // idempotent producer's retried batch) to settle per `acks`, within `timeout`.
  io::Task<ProposeOutcome> await_settled(ProposeOutcome outcome, Acks acks, io::Duration timeout);

  // Leader only: appends a single-server configuration change (core.h
  // propose_configuration_change) and answers once it committed, within `timeout`. Errors as
  // propose(); kInvalidBatch for a change that does not apply (or removes the leader),
  // kBackpressure while another change is pending or a learner is not caught up.
  io::Task<ProposeOutcome> change_configuration(ConfigChange change, io::Duration timeout);

  // Leader only: hands leadership to voter `target` (core.h transfer_leadership); proposals get
  // kBackpressure until it moved or was abandoned. Returns at once: kNone once started,
  // kNotLeader, kBackpressure while a transfer is under way, kInvalidBatch for a target that is
  // not another voter.
  ReplicaError transfer_leadership(NodeId target);

  // Applies the log's retention (LogConfig) to segments wholly below the high watermark, and
  // moves the core's log start offset with it: followers that lack the deleted entries are
  // moved forward. Returns what was removed. Errors: the log's (the replica fails).
  // A follower also drops what its leader deleted (leader_log_start_offset), up to its own high
  // watermark.
  io::Task<io::Result<storage::RetentionResult>> apply_retention();

  // Moves the log start offset forward to `offset`, but not past the high watermark (Kafka's
  // DeleteRecords: only committed entries go); followers follow at their next retention check.
  // Returns the log start offset after the move. Errors: kUnavailable unless this replica leads;
  // the log's (the replica fails).
  io::Task<io::Result<Offset>> advance_log_start(Offset offset);

  Role role() const { return core_->role(); }
  NodeId leader() const { return core_->leader(); }
  Term term() const { return core_->term(); }
  GroupId group() const { return group_; }
  // Consumers read below this: committed and durable here.
  Offset high_watermark() const { return high_watermark_; }
  bool failed() const { return failed_; }
  // Failed on a corrupt batch that peers can replace: close() and open() again to repair.
  bool needs_repair() const { return repair_from_.has_value(); }
  // Where open() cut the log to repair it (a repair marker, or fewer entries than the checkpointed
  // high watermark); nullopt if it did not.
  std::optional<Offset> repaired_from() const { return repaired_from_; }
  // A read of this replica's log met a corrupt batch at or after `offset` (kCorrupt): repair as
  // the header says, if there are other voters to repair from.
  void request_repair(Offset offset);
  // True on a running leader that heard from a quorum of voters (itself included) within the
  // last election timeout; false otherwise. acks=all writes answer NOT_ENOUGH_REPLICAS when
  // false instead of waiting for a commit that cannot come.
  bool quorum_reachable() const { return !failed_ && !stopping_ && core_->quorum_active(); }
  // A running leader's voters heard from lately (RaftCore::active_voters), itself included.
  std::vector<NodeId> in_sync_replicas() const {
    return failed_ || stopping_ ? std::vector<NodeId>{} : core_->active_voters();
  }
  const RaftCore& core() const { return *core_; }
  storage::PartitionLog& log() { return *log_; }

 private:
  Replica(io::Env& env, std::string directory, GroupId group, ReplicaOptions options,
          Transport& transport);
  io::Task<io::Result<void>> restore(Configuration bootstrap);
  // The log's last offset and its term by the epoch checkpoint.
  OffsetAndTerm log_end() const;
  // Makes the rejoin marker say this replica lost a log ending at `floor` (a floor already there
  // only rises; a marker without one stays so).
  io::Task<io::Result<void>> mark_rejoining(OffsetAndTerm floor);
  // mark_rejoining(floor), then the repair marker for `from` (replica_state.h).
  io::Task<io::Result<void>> mark_for_repair(Offset from, OffsetAndTerm floor);
  bool may_repair() const;
  io::Task<void> run_ticked();
  io::Task<io::Result<void>> validate_epochs();
  io::Task<io::Result<std::vector<ConfigurationHistory::Item>>> replay_configurations();
  // The entry holding `offset` in the log.
  io::Task<io::Result<EntryMeta>> meta_at(Offset offset);
  io::Task<io::Result<void>> perform(Ready& ready);
  io::Task<io::Result<void>> write_log(Ready& ready);
  // A Ready's log start move, with what the core knew about the offset below it.
  struct StartMove {
    Offset start = 0;
    Term term_before = 0;                // the term of start - 1
    Configuration configuration_before;  // in effect at start - 1
  };
  io::Task<io::Result<void>> restart_log(const StartMove& move);
  io::Task<io::Result<void>> append_entries(std::vector<Entry>& entries);
  io::Task<void> send_all(std::vector<Message>& messages);
  io::Task<Offset> attach_entries(AppendRequest& append);
  void expose_commit(Offset committed);
  io::Task<io::Result<void>> checkpoint_high_watermark();
  void fail(const io::Error& error);
  // Moves the log's start to min(`offset`, what is committed and durable here), then the core's.
  io::Task<io::Result<void>> move_log_start(Offset offset);
  void follow_log_start_in_core();
  // What a waiting proposal learns now; nullopt while undecided.
  std::optional<ReplicaError> settled(const ProposeOutcome& proposal, Acks acks) const;

  io::Env& env_;
  std::string directory_;
  GroupId group_;
  ReplicaOptions options_;
  Transport& transport_;
  std::unique_ptr<storage::PartitionLog> log_;
  std::unique_ptr<RaftCore> core_;
  std::vector<TermStart> epochs_;  // what the leader epoch checkpoint holds
  Configuration base_configuration_;
  Offset appended_last_ = -1;  // the log's end after the Readies performed so far
  Offset high_watermark_ = 0;
  Offset checkpointed_high_watermark_ = 0;
  std::optional<Offset> repair_from_;  // where a corrupt batch was met
  std::optional<Offset> corrupt_at_;   // while restoring: where a log read met one
  std::optional<Offset> repaired_from_;
  bool failed_ = false;
  bool stopping_ = false;
  std::int64_t ticks_since_checkpoint_ = 0;  // external ticks
  bool checkpoint_due_ = false;
  io::Condition wake_;      // the core may have a Ready
  io::Condition progress_;  // a Ready was performed, or the replica stopped
};

}  // namespace strand::raft
