#include "broker/group/group.h"

#include <algorithm>
#include <cstdio>

namespace strand::group {

namespace {

constexpr const char* kStateNames[] = {"Empty", "PreparingRebalance", "CompletingRebalance",
                                       "Stable", "Dead"};

JoinResult join_error(ErrorCode error, std::string member_id = {}) {
  JoinResult result;
  result.error = error;
  result.member_id = std::move(member_id);
  return result;
}

}  // namespace

std::string_view state_name(GroupState state) { return kStateNames[static_cast<int>(state)]; }

Group::Group(std::string group_id, const GroupLimits& limits, io::Random& rng)
    : group_id_(std::move(group_id)), limits_(limits), rng_(rng) {}

Group Group::restored(std::string group_id, const GroupLimits& limits, io::Random& rng,
                      const GroupValue& value, Now now) {
  Group group(std::move(group_id), limits, rng);
  group.generation_ = value.generation;
  group.protocol_type_ = value.protocol_type;
  group.state_timestamp_ms_ = value.current_state_timestamp_ms;
  // Metadata with members is only written for a generation whose assignment is settled: the
  // group goes on in that generation, and members that do not heartbeat in time leave it.
  if (value.members.empty() || !value.protocol) return group;
  group.protocol_name_ = *value.protocol;
  for (const MemberValue& saved : value.members) {
    Member member;
    member.member_id = saved.member_id;
    member.group_instance_id = saved.group_instance_id;
    member.client_id = saved.client_id;
    member.client_host = saved.client_host;
    member.session_timeout_ms = saved.session_timeout_ms;
    member.rebalance_timeout_ms = saved.rebalance_timeout_ms;
    member.protocols = {Protocol{*value.protocol, saved.subscription}};
    member.assignment = saved.assignment;
    member.joined_seq = group.next_join_seq_++;
    member.session_deadline = now.instant + io::Duration::ms(saved.session_timeout_ms);
    member.is_new = false;
    if (saved.group_instance_id) group.static_members_[*saved.group_instance_id] = saved.member_id;
    group.members_.emplace(saved.member_id, std::move(member));
  }
  group.leader_ = value.leader.value_or("");
  if (!group.members_.contains(group.leader_)) group.elect_leader();
  group.state_ = GroupState::kStable;
  return group;
}

void Group::transition(GroupState state, Now now) {
  state_ = state;
  state_timestamp_ms_ = now.wall_ms;
}

bool Group::has_member(std::string_view member_id) const {
  return members_.find(std::string(member_id)) != members_.end();
}

std::string Group::new_member_id(std::string_view prefix) {
  // A random (version 4) UUID, as Kafka's member ids end with one.
  const std::uint64_t high = (rng_.next_u64() & ~0xf000ull) | 0x4000ull;
  const std::uint64_t low = (rng_.next_u64() & ~(3ull << 62)) | (2ull << 62);
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xffff), static_cast<unsigned>(high & 0xffff),
                static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffull));
  return std::string(prefix) + "-" + uuid;
}

ErrorCode Group::check_session_timeout(const JoinRequest& request) const {
  if (request.session_timeout_ms < limits_.session_timeout_min_ms ||
      request.session_timeout_ms > limits_.session_timeout_max_ms) {
    return ErrorCode::kInvalidSessionTimeout;
  }
  return ErrorCode::kNone;
}

bool Group::supports_protocols(const JoinRequest& request) const {
  if (members_.empty()) return !request.protocol_type.empty() && !request.protocols.empty();
  if (request.protocol_type != protocol_type_) return false;
  for (const Protocol& offered : request.protocols) {
    const bool everyone = std::all_of(members_.begin(), members_.end(), [&](const auto& entry) {
      const std::vector<Protocol>& theirs = entry.second.protocols;
      return std::any_of(theirs.begin(), theirs.end(),
                         [&](const Protocol& p) { return p.name == offered.name; });
    });
    if (everyone) return true;
  }
  return false;
}

std::optional<ErrorCode> Group::fencing_error(std::string_view member_id,
                                              const std::optional<std::string>& instance_id) const {
  if (!instance_id) return std::nullopt;
  auto it = static_members_.find(*instance_id);
  if (it == static_members_.end()) return std::nullopt;
  if (it->second != member_id) return ErrorCode::kFencedInstanceId;
  return std::nullopt;
}

std::optional<JoinResult> Group::join(RequestId id, const JoinRequest& request, Now now) {
  if (state_ == GroupState::kDead) return join_error(ErrorCode::kCoordinatorNotAvailable);
  if (ErrorCode invalid = check_session_timeout(request); invalid != ErrorCode::kNone) {
    return join_error(invalid, request.member_id);
  }
  if (!supports_protocols(request)) {
    return join_error(ErrorCode::kInconsistentGroupProtocol, request.member_id);
  }
  if (request.member_id.empty()) return join_new_member(id, request, now);
  return join_known_member(id, request, now);
}

std::optional<JoinResult> Group::join_new_member(RequestId id, const JoinRequest& request,
                                                 Now now) {
  const std::size_t size = members_.size() + pending_members_.size();
  const bool returning_static =
      request.group_instance_id && static_members_.contains(*request.group_instance_id);
  if (!returning_static && size >= static_cast<std::size_t>(limits_.size_max)) {
    return join_error(ErrorCode::kGroupMaxSizeReached);
  }
  std::string member_id = new_member_id(
      request.group_instance_id ? std::string_view(*request.group_instance_id) : request.client_id);
  if (request.group_instance_id) return join_static_member(id, request, std::move(member_id), now);
  if (request.require_known_member_id) {
    // The member must come back with this id: a client that times out and retries then can't
    // leave ghost members behind.
    pending_members_[member_id] = now.instant + io::Duration::ms(request.session_timeout_ms);
    return join_error(ErrorCode::kMemberIdRequired, std::move(member_id));
  }
  add_member_and_rebalance(id, request, std::move(member_id), now);
  return std::nullopt;
}

std::optional<JoinResult> Group::join_known_member(RequestId id, const JoinRequest& request,
                                                   Now now) {
  if (pending_members_.erase(request.member_id) > 0) {
    if (request.group_instance_id) return join_error(ErrorCode::kUnknownMemberId);
    add_member_and_rebalance(id, request, request.member_id, now);
    return std::nullopt;
  }
  if (request.group_instance_id) {
    auto known = static_members_.find(*request.group_instance_id);
    if (known == static_members_.end()) return join_error(ErrorCode::kUnknownMemberId);
    if (known->second != request.member_id) return join_error(ErrorCode::kFencedInstanceId);
  }
  auto it = members_.find(request.member_id);
  if (it == members_.end()) return join_error(ErrorCode::kUnknownMemberId, request.member_id);
  Member& member = it->second;
  const bool unchanged = member.protocols == request.protocols;
  switch (state_) {
    case GroupState::kPreparingRebalance:
      update_member_and_rebalance(id, member, request, now);
      return std::nullopt;
    case GroupState::kCompletingRebalance:
      if (unchanged) return current_generation_answer(member);
      update_member_and_rebalance(id, member, request, now);
      return std::nullopt;
    case GroupState::kStable:
      if (unchanged && member.member_id != leader_) return current_generation_answer(member);
      update_member_and_rebalance(id, member, request, now);
      return std::nullopt;
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
  return join_error(ErrorCode::kUnknownMemberId, request.member_id);
}

// A static member (group.instance.id) rejoining without its member id takes over its old
// identity: the old id is fenced, and a Stable group keeps its generation unless the member's
// protocols changed.
std::optional<JoinResult> Group::join_static_member(RequestId id, const JoinRequest& request,
                                                    std::string new_member_id, Now now) {
  auto known = static_members_.find(*request.group_instance_id);
  if (known == static_members_.end()) {
    add_member_and_rebalance(id, request, std::move(new_member_id), now);
    return std::nullopt;
  }
  auto old = members_.find(known->second);
  STRAND_ASSERT(old != members_.end(), "a static member id maps to a member");
  Member member = std::move(old->second);
  members_.erase(old);
  if (member.awaiting_join) answer_join(member, join_error(ErrorCode::kFencedInstanceId));
  if (member.awaiting_sync) answer_sync(member, SyncResult{ErrorCode::kFencedInstanceId, {}});
  const bool was_leader = leader_ == member.member_id;
  if (pending_sync_.erase(member.member_id) > 0) pending_sync_.insert(new_member_id);
  member.member_id = new_member_id;
  known->second = new_member_id;
  if (was_leader) leader_ = new_member_id;
  member.session_deadline = now.instant + io::Duration::ms(request.session_timeout_ms);
  Member& replaced = members_.emplace(new_member_id, std::move(member)).first->second;
  if (state_ == GroupState::kStable && replaced.protocols == request.protocols) {
    replaced.client_id = request.client_id;
    replaced.client_host = request.client_host;
    effects_.persists.push_back(Persist{snapshot(now), std::nullopt});
    return current_generation_answer(replaced);
  }
  update_member_and_rebalance(id, replaced, request, now);
  return std::nullopt;
}

JoinResult Group::current_generation_answer(const Member& member) const {
  JoinResult result;
  result.generation_id = generation_;
  result.protocol_name = protocol_name_;
  result.leader = leader_;
  result.member_id = member.member_id;
  if (member.member_id == leader_) {
    for (const auto& [id, other] : members_) {
      auto protocol = std::find_if(other.protocols.begin(), other.protocols.end(),
                                   [&](const Protocol& p) { return p.name == protocol_name_; });
      result.members.push_back(
          {id, other.group_instance_id,
           protocol == other.protocols.end() ? std::vector<std::byte>{} : protocol->metadata});
    }
  }
  return result;
}

void Group::add_member_and_rebalance(RequestId id, const JoinRequest& request,
                                     std::string member_id, Now now) {
  Member member;
  member.member_id = member_id;
  member.group_instance_id = request.group_instance_id;
  member.client_id = request.client_id;
  member.client_host = request.client_host;
  member.session_timeout_ms = request.session_timeout_ms;
  member.rebalance_timeout_ms = request.rebalance_timeout_ms;
  member.protocols = request.protocols;
  member.joined_seq = next_join_seq_++;
  member.session_deadline = now.instant + io::Duration::ms(request.session_timeout_ms);
  member.awaiting_join = id;
  if (members_.empty()) protocol_type_ = request.protocol_type;
  if (state_ == GroupState::kPreparingRebalance && generation_ == 0) new_member_added_ = true;
  if (request.group_instance_id) static_members_[*request.group_instance_id] = member_id;
  members_.emplace(member_id, std::move(member));
  if (leader_.empty()) leader_ = member_id;
  maybe_prepare_rebalance(now);
  maybe_complete_join(now);
}

void Group::update_member_and_rebalance(RequestId id, Member& member, const JoinRequest& request,
                                        Now now) {
  member.protocols = request.protocols;
  member.session_timeout_ms = request.session_timeout_ms;
  member.rebalance_timeout_ms = request.rebalance_timeout_ms;
  member.client_id = request.client_id;
  member.client_host = request.client_host;
  if (member.awaiting_join) {
    // A retried JoinGroup replaces the one still waiting; that one is answered so no request
    // is left without a response.
    answer_join(member, join_error(ErrorCode::kRebalanceInProgress, member.member_id));
  }
  member.awaiting_join = id;
  maybe_prepare_rebalance(now);
  maybe_complete_join(now);
}

void Group::maybe_prepare_rebalance(Now now) {
  if (state_ == GroupState::kStable || state_ == GroupState::kCompletingRebalance ||
      state_ == GroupState::kEmpty) {
    prepare_rebalance(now);
  }
}

std::int32_t Group::rebalance_timeout_ms() const {
  std::int32_t timeout_ms = 0;
  for (const auto& [id, member] : members_) {
    timeout_ms = std::max(timeout_ms, member.rebalance_timeout_ms);
  }
  return timeout_ms;
}

void Group::prepare_rebalance(Now now) {
  if (state_ == GroupState::kCompletingRebalance) {
    propagate_assignment_error(ErrorCode::kRebalanceInProgress);
  }
  const bool was_empty = state_ == GroupState::kEmpty;
  const io::Duration timeout = io::Duration::ms(rebalance_timeout_ms());
  transition(GroupState::kPreparingRebalance, now);
  pending_sync_.clear();
  persist_pending_generation_.reset();
  if (was_empty) {
    // Kafka's InitialDelayedJoin: wait for more members before the first generation, extending
    // while they keep coming, never beyond the rebalance timeout.
    initial_delay_ = true;
    new_member_added_ = false;
    join_deadline_ = now.instant + limits_.initial_rebalance_delay;
    initial_delay_remaining_ = std::max(timeout - limits_.initial_rebalance_delay, io::Duration{});
  } else {
    initial_delay_ = false;
    join_deadline_ = now.instant + timeout;
  }
}

bool Group::all_members_joined() const {
  if (!pending_members_.empty()) return false;
  return std::all_of(members_.begin(), members_.end(),
                     [](const auto& entry) { return entry.second.awaiting_join.has_value(); });
}

void Group::maybe_complete_join(Now now) {
  if (state_ != GroupState::kPreparingRebalance) return;
  if (initial_delay_) {
    if (now.instant < join_deadline_) return;
    if (new_member_added_ && initial_delay_remaining_ > io::Duration{}) {
      new_member_added_ = false;
      const io::Duration delay =
          std::min(limits_.initial_rebalance_delay, initial_delay_remaining_);
      initial_delay_remaining_ = initial_delay_remaining_ - delay;
      join_deadline_ = now.instant + delay;
      return;
    }
    complete_join(now);
    return;
  }
  if (all_members_joined() || now.instant >= join_deadline_) complete_join(now);
}

void Group::complete_join(Now now) {
  STRAND_ASSERT(state_ == GroupState::kPreparingRebalance, "a join phase to complete");
  std::vector<std::string> gone;
  for (const auto& [id, member] : members_) {
    if (!member.awaiting_join) gone.push_back(id);
  }
  for (const std::string& id : gone) remove_member(id, now);
  initial_delay_ = false;
  generation_ += 1;
  if (members_.empty()) {
    protocol_name_.clear();
    transition(GroupState::kEmpty, now);
    effects_.persists.push_back(Persist{snapshot(now), std::nullopt});
    return;
  }
  protocol_name_ = select_protocol();
  transition(GroupState::kCompletingRebalance, now);
  sync_deadline_ = now.instant + io::Duration::ms(rebalance_timeout_ms());
  for (auto& [id, member] : members_) {
    pending_sync_.insert(id);
    member.assignment.clear();
    member.is_new = false;
    member.session_deadline = now.instant + io::Duration::ms(member.session_timeout_ms);
    answer_join(member, current_generation_answer(member));
  }
}

std::string Group::select_protocol() const {
  // Candidates are the protocols every member supports; each member votes for its first choice
  // among them, the most votes win, ties going to the leader's preference order.
  const Member& leader = members_.at(leader_);
  std::map<std::string, int> votes;
  for (const auto& [id, member] : members_) {
    for (const Protocol& protocol : member.protocols) {
      const bool everyone = std::all_of(members_.begin(), members_.end(), [&](const auto& entry) {
        return std::any_of(entry.second.protocols.begin(), entry.second.protocols.end(),
                           [&](const Protocol& p) { return p.name == protocol.name; });
      });
      if (everyone) {
        votes[protocol.name] += 1;
        break;
      }
    }
  }
  std::string best;
  int best_votes = 0;
  for (const Protocol& protocol : leader.protocols) {
    auto it = votes.find(protocol.name);
    if (it != votes.end() && it->second > best_votes) {
      best = protocol.name;
      best_votes = it->second;
    }
  }
  STRAND_ASSERT(!best.empty(), "members that joined share a protocol");
  return best;
}

void Group::answer_join(Member& member, JoinResult result) {
  STRAND_ASSERT(member.awaiting_join.has_value(), "a join to answer");
  effects_.joins.emplace_back(*member.awaiting_join, std::move(result));
  member.awaiting_join.reset();
}

void Group::answer_sync(Member& member, SyncResult result) {
  STRAND_ASSERT(member.awaiting_sync.has_value(), "a sync to answer");
  effects_.syncs.emplace_back(*member.awaiting_sync, std::move(result));
  member.awaiting_sync.reset();
}

void Group::propagate_assignment_error(ErrorCode error) {
  pending_assignments_.clear();
  for (auto& [id, member] : members_) {
    member.assignment.clear();
    if (member.awaiting_sync) answer_sync(member, SyncResult{error, {}});
  }
}

void Group::elect_leader() {
  leader_.clear();
  const Member* first = nullptr;
  for (const auto& [id, member] : members_) {
    if (!first || member.joined_seq < first->joined_seq) first = &member;
  }
  if (first) leader_ = first->member_id;
}

void Group::remove_member(const std::string& member_id, Now) {
  auto it = members_.find(member_id);
  STRAND_ASSERT(it != members_.end(), "removing a member that is there");
  Member& member = it->second;
  if (member.awaiting_join) answer_join(member, join_error(ErrorCode::kUnknownMemberId, member_id));
  if (member.awaiting_sync) answer_sync(member, SyncResult{ErrorCode::kUnknownMemberId, {}});
  if (member.group_instance_id) static_members_.erase(*member.group_instance_id);
  pending_sync_.erase(member_id);
  members_.erase(it);
  if (leader_ == member_id) elect_leader();
}

void Group::remove_member_and_update(const std::string& member_id, Now now) {
  remove_member(member_id, now);
  if (state_ == GroupState::kStable || state_ == GroupState::kCompletingRebalance) {
    prepare_rebalance(now);
  }
  maybe_complete_join(now);  // the others may all be waiting already, or nobody is left
}

}  // namespace strand::group
