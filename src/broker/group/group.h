// One consumer group under Kafka's classic protocol, as a pure state machine: no I/O and no clock
// of its own. Every call takes the current time and changes state; answers that must wait (a
// JoinGroup until the rebalance completes, a SyncGroup until the leader's assignment is durable)
// come back later through take_effects(), keyed by the RequestId the caller gave. The coordinator
// (a driver on io::Env) persists what effects ask, calls tick() at next_deadline(), and resolves
// the waiting requests.
//
// States: Empty -> PreparingRebalance (members (re)join; the first rebalance of an empty group
// waits group.initial.rebalance.delay.ms for more joiners) -> CompletingRebalance (the leader
// computes assignments; members SyncGroup) -> Stable -> PreparingRebalance on any membership
// change. Dead: the group was deleted. The leader is the member that joined first.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/group/offset_table.h"
#include "broker/group/records.h"
#include "broker/protocol/error_code.h"
#include "io/random.h"
#include "io/time.h"

namespace strand::group {

using protocol::ErrorCode;

enum class GroupState : std::uint8_t {
  kEmpty,
  kPreparingRebalance,
  kCompletingRebalance,
  kStable,
  kDead
};

// Kafka's name for the state (DescribeGroups).
std::string_view state_name(GroupState state);

struct GroupLimits {
  io::Duration initial_rebalance_delay =
      io::Duration::ms(3000);                       // group.initial.rebalance.delay.ms
  std::int32_t session_timeout_min_ms = 6000;       // group.min.session.timeout.ms
  std::int32_t session_timeout_max_ms = 1'800'000;  // group.max.session.timeout.ms
  std::int32_t size_max = std::numeric_limits<std::int32_t>::max();  // group.max.size
};

// Both clocks: monotonic for sessions and rebalance timers, wall for what is persisted
// (state timestamps, on which offset retention is measured).
struct Now {
  io::Instant instant;
  std::int64_t wall_ms = 0;
};

struct Protocol {
  std::string name;
  std::vector<std::byte> metadata;
  friend bool operator==(const Protocol&, const Protocol&) = default;
};

struct JoinRequest {
  std::string member_id;  // "" for a new member
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<Protocol> protocols;
  bool require_known_member_id = false;  // JoinGroup v4+: MEMBER_ID_REQUIRED first
};

struct JoinedMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::byte> metadata;
  friend bool operator==(const JoinedMember&, const JoinedMember&) = default;
};

struct JoinResult {
  ErrorCode error = ErrorCode::kNone;
  std::int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<JoinedMember> members;  // the leader's answer only
};

struct SyncRequest {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::int32_t generation_id = -1;
  std::vector<std::pair<std::string, std::vector<std::byte>>> assignments;  // leader only
};

struct SyncResult {
  ErrorCode error = ErrorCode::kNone;
  std::vector<std::byte> assignment;
};

using RequestId = std::uint64_t;

// Group metadata to append to __consumer_offsets. With `ack_generation`, the caller reports the
// outcome through persisted(); the members' SyncGroup answers wait for it.
struct Persist {
  GroupValue value;
  std::optional<std::int32_t> ack_generation;
};

struct Effects {
  std::vector<std::pair<RequestId, JoinResult>> joins;
  std::vector<std::pair<RequestId, SyncResult>> syncs;
  std::vector<Persist> persists;
  bool empty() const { return joins.empty() && syncs.empty() && persists.empty(); }
};

struct MemberSummary {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::byte> metadata;  // of the selected protocol
  std::vector<std::byte> assignment;
};

class Group {
 public:
  // `rng` makes member ids; it must outlive the group.
  Group(std::string group_id, const GroupLimits& limits, io::Random& rng);
  // A group rebuilt from __consumer_offsets (a coordinator that starts or takes over the
  // partition): the generation, protocol type and state timestamp of `value`; Stable with its
  // members and their assignments if `value` has members (their sessions start at `now`, as if
  // each had just heartbeated), Empty otherwise.
  static Group restored(std::string group_id, const GroupLimits& limits, io::Random& rng,
                        const GroupValue& value, Now now);

  // JoinGroup. The answer now, or nullopt: then it comes through take_effects() under `id`.
  std::optional<JoinResult> join(RequestId id, const JoinRequest& request, Now now);
  // SyncGroup. The answer now, or nullopt: then it comes through take_effects() under `id`.
  std::optional<SyncResult> sync(RequestId id, const SyncRequest& request, Now now);
  ErrorCode heartbeat(std::string_view member_id,
                      const std::optional<std::string>& group_instance_id,
                      std::int32_t generation_id, Now now);
  // LeaveGroup for one member (v3 names the member by instance id, member id "" allowed).
  ErrorCode leave(std::string_view member_id, const std::optional<std::string>& group_instance_id,
                  Now now);
  // Whether an OffsetCommit with these credentials may commit (generation -1: a standalone
  // commit, allowed while the group has no members). A member's commit counts as a heartbeat.
  ErrorCode validate_commit(std::string_view member_id,
                            const std::optional<std::string>& group_instance_id,
                            std::int32_t generation_id, Now now);

  // Expires sessions and completes timed-out rebalance phases due at `now`.
  void tick(Now now);
  // The earliest time tick() has something to do, if any.
  std::optional<io::Instant> next_deadline() const;
  // The outcome of a Persist with ack_generation == `generation`.
  void persisted(std::int32_t generation, bool ok, Now now);
  // Answers every waiting request with `error` (the coordinator stops or moves away).
  void abandon(ErrorCode error);
  // DeleteGroups (REQUIRES: no members) or expiry: the group is gone.
  void mark_dead(Now now);

  Effects take_effects() { return std::exchange(effects_, {}); }

  OffsetTable& offsets() { return offsets_; }
  const OffsetTable& offsets() const { return offsets_; }
  // Offsets expired at `now` under `retention_ms` (only an Empty group's expire).
  std::vector<TopicPartition> expired_offsets(Now now, std::int64_t retention_ms) const;
  // Whether some member's consumer-protocol subscription names `topic` (unknown metadata counts).
  bool subscribed_to(std::string_view topic) const;

  const std::string& id() const { return group_id_; }
  GroupState state() const { return state_; }
  std::int32_t generation() const { return generation_; }
  const std::string& protocol_type() const { return protocol_type_; }
  const std::string& protocol_name() const { return protocol_name_; }
  const std::string& leader() const { return leader_; }
  std::size_t member_count() const { return members_.size(); }
  bool has_member(std::string_view member_id) const;
  std::vector<MemberSummary> describe_members() const;
  // The members' current assignments (for checks and tests).
  std::map<std::string, std::vector<std::byte>> assignments() const;

 private:
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    std::int32_t session_timeout_ms = 0;
    std::int32_t rebalance_timeout_ms = 0;
    std::vector<Protocol> protocols;
    std::vector<std::byte> assignment;
    std::uint64_t joined_seq = 0;  // join order: the earliest is the leader
    io::Instant session_deadline;
    std::optional<RequestId> awaiting_join;
    std::optional<RequestId> awaiting_sync;
    bool is_new = true;
  };

  void transition(GroupState state, Now now);
  ErrorCode check_session_timeout(const JoinRequest& request) const;
  bool supports_protocols(const JoinRequest& request) const;
  std::optional<JoinResult> join_new_member(RequestId id, const JoinRequest& request, Now now);
  std::optional<JoinResult> join_known_member(RequestId id, const JoinRequest& request, Now now);
  std::optional<JoinResult> join_static_member(RequestId id, const JoinRequest& request,
                                               std::string new_member_id, Now now);
  void add_member_and_rebalance(RequestId id, const JoinRequest& request, std::string member_id,
                                Now now);
  void update_member_and_rebalance(RequestId id, Member& member, const JoinRequest& request,
                                   Now now);
  JoinResult current_generation_answer(const Member& member) const;
  void maybe_prepare_rebalance(Now now);
  void prepare_rebalance(Now now);
  void maybe_complete_join(Now now);
  void complete_join(Now now);
  void complete_sync_phase(Now now);
  void remove_member(const std::string& member_id, Now now);
  void remove_member_and_update(const std::string& member_id, Now now);
  void answer_join(Member& member, JoinResult result);
  void answer_sync(Member& member, SyncResult result);
  void propagate_assignment_error(ErrorCode error);
  void elect_leader();
  std::string select_protocol() const;
  std::optional<ErrorCode> fencing_error(std::string_view member_id,
                                         const std::optional<std::string>& instance_id) const;
  std::string new_member_id(std::string_view prefix);
  std::int32_t rebalance_timeout_ms() const;
  GroupValue snapshot(Now now) const;
  bool all_members_joined() const;

  std::string group_id_;
  const GroupLimits& limits_;
  io::Random& rng_;
  GroupState state_ = GroupState::kEmpty;
  std::int64_t state_timestamp_ms_ = -1;
  std::int32_t generation_ = 0;
  std::string protocol_type_;
  std::string protocol_name_;
  std::string leader_;
  std::map<std::string, Member> members_;
  std::map<std::string, std::string> static_members_;   // instance id -> member id
  std::map<std::string, io::Instant> pending_members_;  // MEMBER_ID_REQUIRED, not yet back
  std::uint64_t next_join_seq_ = 0;
  // PreparingRebalance: when the join phase ends; during the initial delay, how much of the
  // rebalance timeout is left to extend it by, and whether someone joined meanwhile.
  io::Instant join_deadline_;
  bool initial_delay_ = false;
  io::Duration initial_delay_remaining_;
  bool new_member_added_ = false;
  // CompletingRebalance: members that must SyncGroup before sync_deadline_.
  std::set<std::string> pending_sync_;
  io::Instant sync_deadline_;
  std::optional<std::int32_t> persist_pending_generation_;
  std::map<std::string, std::vector<std::byte>> pending_assignments_;
  OffsetTable offsets_;
  Effects effects_;
};

}  // namespace strand::group
