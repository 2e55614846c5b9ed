// The vocabulary of the Raft core: ids, terms, offsets, log entries and the messages Raft nodes
// exchange. Plain values with no behaviour; the driver encodes them for the wire (rpc) and the
// core consumes and produces them.
//
// The Raft log of a partition is its Kafka log, so the Raft "index" is the Kafka offset: an entry
// is a record batch covering [base_offset, last_offset] and its term is the batch's
// partitionLeaderEpoch. Offset -1 is "before the first entry"; its term is 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "broker/raft/configuration.h"
#include "broker/raft/ids.h"

namespace strand::raft {

// Messages carrying more entries than this are bad input and dropped (the driver should never
// attach more than Config::append_entries_max).
inline constexpr std::size_t kAppendEntriesLimit = 4096;

enum class EntryKind : std::uint8_t {
  kData,           // a client record batch
  kLeaderChange,   // the no-op control batch a new leader appends so older terms can commit
  kConfiguration,  // a control batch carrying the new voters and learners
};

// What the core knows of an entry: which offsets it covers and its term. The core never looks
// at payloads.
struct EntryMeta {
  Offset base_offset = 0;
  Offset last_offset = 0;  // base_offset + record_count - 1
  Term term = 0;
  EntryKind kind = EntryKind::kData;

  friend bool operator==(const EntryMeta&, const EntryMeta&) = default;
};

struct Entry {
  EntryMeta meta;
  // Set exactly for kConfiguration entries. The driver encodes it into the control batch it
  // writes, and decodes it from control batches it reads (the core never parses batches).
  std::optional<Configuration> configuration;
  // The record batch bytes for kData entries; empty for control entries the core creates (the
  // driver builds their control batch from `meta` and `configuration`).
  std::vector<std::byte> payload;
};

// Durable state the driver must store atomically (term and vote together) before it sends any
// message of Ready::to_send_after_sync.
struct HardState {
  Term term = 0;
  NodeId voted_for = kNoNode;

  friend bool operator==(const HardState&, const HardState&) = default;
};

enum class Role : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };

const char* role_name(Role role);

// Volatile state the driver reports (metadata, NOT_LEADER_OR_FOLLOWER answers).
struct SoftState {
  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  Term term = 0;

  friend bool operator==(const SoftState&, const SoftState&) = default;
};

// RequestVote, or PreVote when `pre_vote` (Message::term is then the term the sender would
// campaign in; nobody changes term for a PreVote). `transfer` marks a campaign started by
// TimeoutNow, which voters accept even while they still hear from a leader.
struct VoteRequest {
  bool pre_vote = false;
  bool transfer = false;
  Offset last_offset = -1;
  Term last_term = 0;
};

// A granted PreVote response carries the request's term; a rejection carries the voter's term.
struct VoteResponse {
  bool pre_vote = false;
  bool granted = false;
};

// AppendEntries. The core emits it with `entries` empty: the driver attaches whole entries read
// from its log starting at prev_offset + 1 (at most Config::append_entries_max and its own byte
// budget, possibly none) and then reports what it attached with RaftCore::append_sent().
struct AppendRequest {
  Offset prev_offset = -1;
  Term prev_term = 0;
  Offset leader_commit = -1;
  // The leader's log start offset. A follower whose log cannot match at prev_offset ==
  // log_start_offset - 1 (the leader has nothing older to send) discards its uncommitted log and
  // restarts it at log_start_offset.
  Offset log_start_offset = 0;
  // Set when prev_offset == log_start_offset - 1: the configuration in effect there, which a
  // follower moved forward cannot read from entries it will never receive.
  std::optional<Configuration> log_start_configuration;
  std::vector<Entry> entries;
};

// Success: the follower durably holds the leader's entries up to `last_offset`. Rejection: the
// follower's log does not match at `rejected_prev_offset`; (hint_offset, hint_term) is the
// largest offset <= min(rejected_prev_offset, follower's last offset) whose term is <= the
// request's prev_term, with that term, so the leader can jump back a whole term at a time.
struct AppendResponse {
  bool success = false;
  Offset last_offset = -1;
  Offset rejected_prev_offset = -1;
  Offset hint_offset = -1;
  Term hint_term = 0;
};

// A heartbeat is its own small message (not an empty append) so that a driver can coalesce the
// heartbeats of many Raft groups between the same two brokers into one RPC. It carries no log
// position to check: the follower commits min(commit_offset, match_offset), which it knows it
// holds because the leader only learned match_offset from its acks in this term.
struct HeartbeatRequest {
  Offset commit_offset = -1;
  Offset match_offset = -1;  // the leader's knowledge of this follower's match (-1: none)
};

// The follower's last offset, so the leader notices appends that were lost on the way.
struct HeartbeatResponse {
  Offset last_offset = -1;
  // The follower holds less than it acknowledged: it is rejoining (RaftCore::rejoining()), or the
  // leader's match offset in the request lies beyond its log (a restart cut entries it had synced).
  // The leader then lowers its match offset to last_offset instead of ignoring it.
  bool lost_entries = false;
};

// Leadership transfer: the target campaigns at once, without pre-vote.
struct TimeoutNow {};

using MessageBody = std::variant<VoteRequest, VoteResponse, AppendRequest, AppendResponse,
                                 HeartbeatRequest, HeartbeatResponse, TimeoutNow>;

struct Message {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;
  MessageBody body;
};

// A short name of the message type, for logs and test output.
const char* message_name(const Message& message);

}  // namespace strand::raft
