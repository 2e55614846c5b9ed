// Group: SyncGroup, Heartbeat, LeaveGroup, commit checks, timers and what the group reports.
#include <algorithm>

#include "broker/group/group.h"
#include "broker/protocol/codec.h"

namespace strand::group {

std::optional<SyncResult> Group::sync(RequestId id, const SyncRequest& request, Now now) {
  if (state_ == GroupState::kDead) return SyncResult{ErrorCode::kCoordinatorNotAvailable, {}};
  if (std::optional<ErrorCode> fenced =
          fencing_error(request.member_id, request.group_instance_id)) {
    return SyncResult{*fenced, {}};
  }
  auto it = members_.find(request.member_id);
  if (it == members_.end()) return SyncResult{ErrorCode::kUnknownMemberId, {}};
  if (request.generation_id != generation_) return SyncResult{ErrorCode::kIllegalGeneration, {}};
  Member& member = it->second;
  switch (state_) {
    case GroupState::kPreparingRebalance:
      return SyncResult{ErrorCode::kRebalanceInProgress, {}};
    case GroupState::kStable:
      member.session_deadline = now.instant + io::Duration::ms(member.session_timeout_ms);
      return SyncResult{ErrorCode::kNone, member.assignment};
    case GroupState::kCompletingRebalance:
      break;
    case GroupState::kEmpty:
    case GroupState::kDead:
      return SyncResult{ErrorCode::kUnknownMemberId, {}};
  }
  if (member.awaiting_sync) answer_sync(member, SyncResult{ErrorCode::kRebalanceInProgress, {}});
  member.awaiting_sync = id;
  member.session_deadline = now.instant + io::Duration::ms(member.session_timeout_ms);
  pending_sync_.erase(member.member_id);
  if (member.member_id == leader_ && persist_pending_generation_ != generation_) {
    // Members the leader left out get an empty assignment; names that are not members are
    // ignored. The answers wait until the assignment is durable.
    pending_assignments_.clear();
    for (const auto& [member_id, assignment] : request.assignments) {
      if (members_.contains(member_id)) pending_assignments_[member_id] = assignment;
    }
    GroupValue value = snapshot(now);
    for (MemberValue& out : value.members) {
      auto found = pending_assignments_.find(out.member_id);
      out.assignment =
          found == pending_assignments_.end() ? std::vector<std::byte>{} : found->second;
    }
    persist_pending_generation_ = generation_;
    effects_.persists.push_back(Persist{std::move(value), generation_});
  }
  return std::nullopt;
}

void Group::persisted(std::int32_t generation, bool ok, Now now) {
  if (persist_pending_generation_ != generation) return;
  persist_pending_generation_.reset();
  if (state_ != GroupState::kCompletingRebalance || generation != generation_) return;
  if (!ok) {
    propagate_assignment_error(ErrorCode::kCoordinatorNotAvailable);
    prepare_rebalance(now);
    return;
  }
  for (auto& [id, member] : members_) {
    auto found = pending_assignments_.find(id);
    member.assignment =
        found == pending_assignments_.end() ? std::vector<std::byte>{} : found->second;
    if (member.awaiting_sync) answer_sync(member, SyncResult{ErrorCode::kNone, member.assignment});
  }
  pending_assignments_.clear();
  pending_sync_.clear();
  transition(GroupState::kStable, now);
}

ErrorCode Group::heartbeat(std::string_view member_id,
                           const std::optional<std::string>& group_instance_id,
                           std::int32_t generation_id, Now now) {
  if (state_ == GroupState::kDead) return ErrorCode::kCoordinatorNotAvailable;
  if (std::optional<ErrorCode> fenced = fencing_error(member_id, group_instance_id)) {
    return *fenced;
  }
  auto it = members_.find(std::string(member_id));
  if (it == members_.end()) return ErrorCode::kUnknownMemberId;
  if (generation_id != generation_) return ErrorCode::kIllegalGeneration;
  it->second.session_deadline = now.instant + io::Duration::ms(it->second.session_timeout_ms);
  if (state_ == GroupState::kPreparingRebalance) return ErrorCode::kRebalanceInProgress;
  return ErrorCode::kNone;
}

ErrorCode Group::leave(std::string_view member_id,
                       const std::optional<std::string>& group_instance_id, Now now) {
  if (state_ == GroupState::kDead) return ErrorCode::kCoordinatorNotAvailable;
  std::string id(member_id);
  if (group_instance_id) {
    auto known = static_members_.find(*group_instance_id);
    if (known == static_members_.end()) return ErrorCode::kUnknownMemberId;
    if (!id.empty() && known->second != id) return ErrorCode::kFencedInstanceId;
    id = known->second;
  }
  if (pending_members_.erase(id) > 0) {
    maybe_complete_join(now);
    return ErrorCode::kNone;
  }
  if (!members_.contains(id)) return ErrorCode::kUnknownMemberId;
  remove_member_and_update(id, now);
  return ErrorCode::kNone;
}

ErrorCode Group::validate_commit(std::string_view member_id,
                                 const std::optional<std::string>& group_instance_id,
                                 std::int32_t generation_id, Now now) {
  if (state_ == GroupState::kDead) return ErrorCode::kCoordinatorNotAvailable;
  if (std::optional<ErrorCode> fenced = fencing_error(member_id, group_instance_id)) {
    return *fenced;
  }
  if (generation_id < 0 && state_ == GroupState::kEmpty) return ErrorCode::kNone;
  if (state_ == GroupState::kCompletingRebalance) return ErrorCode::kRebalanceInProgress;
  auto it = members_.find(std::string(member_id));
  if (it == members_.end()) return ErrorCode::kUnknownMemberId;
  if (generation_id != generation_) return ErrorCode::kIllegalGeneration;
  it->second.session_deadline = now.instant + io::Duration::ms(it->second.session_timeout_ms);
  return ErrorCode::kNone;
}

void Group::tick(Now now) {
  for (auto it = pending_members_.begin(); it != pending_members_.end();) {
    it = it->second <= now.instant ? pending_members_.erase(it) : std::next(it);
  }
  // A member waiting for a JoinGroup or SyncGroup answer is governed by the rebalance timers.
  std::vector<std::string> expired;
  for (const auto& [id, member] : members_) {
    if (!member.awaiting_join && !member.awaiting_sync && member.session_deadline <= now.instant) {
      expired.push_back(id);
    }
  }
  for (const std::string& id : expired) {
    if (members_.contains(id)) remove_member_and_update(id, now);
  }
  if (state_ == GroupState::kPreparingRebalance) maybe_complete_join(now);
  if (state_ == GroupState::kCompletingRebalance && now.instant >= sync_deadline_ &&
      !persist_pending_generation_) {
    complete_sync_phase(now);
  }
}

// The sync phase timed out: members that never sent SyncGroup are gone; the rest rebalance.
void Group::complete_sync_phase(Now now) {
  std::vector<std::string> missing(pending_sync_.begin(), pending_sync_.end());
  for (const std::string& id : missing) {
    if (members_.contains(id)) remove_member(id, now);
  }
  pending_sync_.clear();
  prepare_rebalance(now);
  maybe_complete_join(now);  // at once when nobody is left
}

std::optional<io::Instant> Group::next_deadline() const {
  std::optional<io::Instant> next;
  auto consider = [&next](io::Instant at) {
    if (!next || at < *next) next = at;
  };
  for (const auto& [id, deadline] : pending_members_) consider(deadline);
  for (const auto& [id, member] : members_) {
    if (!member.awaiting_join && !member.awaiting_sync) consider(member.session_deadline);
  }
  if (state_ == GroupState::kPreparingRebalance) consider(join_deadline_);
  if (state_ == GroupState::kCompletingRebalance && !persist_pending_generation_) {
    consider(sync_deadline_);
  }
  return next;
}

void Group::abandon(ErrorCode error) {
  for (auto& [id, member] : members_) {
    if (member.awaiting_join) answer_join(member, JoinResult{error, -1, {}, {}, id, {}});
    if (member.awaiting_sync) answer_sync(member, SyncResult{error, {}});
  }
}

void Group::mark_dead(Now now) {
  STRAND_ASSERT(members_.empty(), "only a group without members dies");
  transition(GroupState::kDead, now);
}

std::vector<TopicPartition> Group::expired_offsets(Now now, std::int64_t retention_ms) const {
  if (state_ != GroupState::kEmpty) return {};
  std::optional<std::int64_t> empty_since;
  if (!protocol_type_.empty()) empty_since = state_timestamp_ms_;
  return offsets_.expired(now.wall_ms, retention_ms, empty_since);
}

GroupValue Group::snapshot(Now now) const {
  GroupValue value;
  value.protocol_type = protocol_type_;
  value.generation = generation_;
  if (!protocol_name_.empty()) value.protocol = protocol_name_;
  if (!leader_.empty() && !members_.empty()) value.leader = leader_;
  value.current_state_timestamp_ms = now.wall_ms;
  for (const auto& [id, member] : members_) {
    MemberValue out;
    out.member_id = id;
    out.group_instance_id = member.group_instance_id;
    out.client_id = member.client_id;
    out.client_host = member.client_host;
    out.rebalance_timeout_ms = member.rebalance_timeout_ms;
    out.session_timeout_ms = member.session_timeout_ms;
    for (const Protocol& protocol : member.protocols) {
      if (protocol.name == protocol_name_) out.subscription = protocol.metadata;
    }
    out.assignment = member.assignment;
    value.members.push_back(std::move(out));
  }
  return value;
}

std::vector<MemberSummary> Group::describe_members() const {
  std::vector<MemberSummary> out;
  for (const auto& [id, member] : members_) {
    MemberSummary summary{id, member.group_instance_id, member.client_id, member.client_host, {},
                          {}};
    if (state_ == GroupState::kStable) {
      for (const Protocol& protocol : member.protocols) {
        if (protocol.name == protocol_name_) summary.metadata = protocol.metadata;
      }
      summary.assignment = member.assignment;
    }
    out.push_back(std::move(summary));
  }
  return out;
}

std::map<std::string, std::vector<std::byte>> Group::assignments() const {
  std::map<std::string, std::vector<std::byte>> out;
  for (const auto& [id, member] : members_) out[id] = member.assignment;
  return out;
}

bool Group::subscribed_to(std::string_view topic) const {
  if (protocol_type_ != "consumer") return !members_.empty();
  for (const auto& [id, member] : members_) {
    for (const Protocol& protocol : member.protocols) {
      // ConsumerProtocolSubscription: version, then the topic names.
      protocol::Reader reader(protocol.metadata);
      (void)reader.read_i16();
      const std::int32_t count = reader.read_required_array_length(2, "topics");
      if (!reader.ok()) return true;
      for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
        if (reader.read_string() == topic) return true;
      }
      if (!reader.ok()) return true;
    }
  }
  return false;
}

}  // namespace strand::group
