// Random sequences of joins, syncs, heartbeats, leaves, commits and time steps against one group.
// Invariants: no partition is assigned to two members of the same generation; a committed offset
// changes only by a commit the group accepted; each completed rebalance raises the generation by
// exactly one; every request the group parked is answered exactly once.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>

#include "broker/group/group.h"
#include "group_harness.h"

namespace strand::group {
namespace {

using io::Duration;
using testing::blob;

// A "partition" in these assignments is one byte; a leader assigns each partition of 0..5 to
// one member, round robin.
std::vector<std::pair<std::string, std::vector<std::byte>>> assign(
    const std::vector<JoinedMember>& members) {
  std::vector<std::pair<std::string, std::vector<std::byte>>> out;
  for (const JoinedMember& member : members) out.push_back({member.member_id, {}});
  for (std::size_t p = 0; p < 6 && !out.empty(); ++p) {
    out[p % out.size()].second.push_back(static_cast<std::byte>(p));
  }
  return out;
}

struct Client {
  std::string member_id;
  std::int32_t generation = -1;
  std::optional<RequestId> join;
  std::optional<RequestId> sync;
  std::vector<JoinedMember> members;  // when leader
};

RC_GTEST_PROP(GroupProperty, RandomOperationsKeepTheInvariants, ()) {
  GroupLimits limits;
  limits.initial_rebalance_delay = Duration::ms(*rc::gen::element<std::int64_t>(0, 500, 3000));
  testing::Harness h(limits, *rc::gen::arbitrary<std::uint64_t>());
  std::vector<Client> clients(*rc::gen::inRange<std::size_t>(1, 5));
  std::map<TopicPartition, std::int64_t> model;  // what accepted commits say
  std::int32_t last_generation = h.group().generation();
  bool violated = false;
  // Checked after every operation and every timer the group handles.
  h.after_each_event = [&] {
    // Generation rises by one per completed rebalance: never jumps, never falls.
    const std::int32_t generation = h.group().generation();
    if (generation != last_generation && generation != last_generation + 1) violated = true;
    last_generation = generation;
    // In a Stable group, every partition belongs to at most one member.
    if (h.group().state() == GroupState::kStable) {
      std::set<std::byte> owned;
      for (const auto& [member, assignment] : h.group().assignments()) {
        for (std::byte p : assignment) violated = violated || !owned.insert(p).second;
      }
    }
  };
  const int steps = *rc::gen::inRange(10, 120);
  for (int step = 0; step < steps; ++step) {
    Client& c = clients[*rc::gen::inRange<std::size_t>(0, clients.size())];
    // Answers that arrived for this client.
    if (c.join) {
      if (const JoinResult* r = h.join_answer(*c.join)) {
        if (r->error == ErrorCode::kNone) {
          c.member_id = r->member_id;
          c.generation = r->generation_id;
          c.members = r->members;
        } else if (r->error == ErrorCode::kUnknownMemberId) {
          c.member_id.clear();
        }
        c.join.reset();
      }
    }
    if (c.sync && h.sync_answer(*c.sync)) c.sync.reset();
    switch (*rc::gen::inRange(0, 7)) {
      case 0: {  // (re)join
        JoinRequest request = testing::Harness::request(c.member_id);
        request.require_known_member_id = *rc::gen::arbitrary<bool>();
        const RequestId id = h.join(request);
        const JoinResult* now = h.join_answer(id);
        if (now && now->error == ErrorCode::kMemberIdRequired) {
          c.member_id = now->member_id;
        } else {
          c.join = id;
        }
        break;
      }
      case 1: {  // sync
        if (c.member_id.empty()) break;
        SyncRequest request{c.member_id, std::nullopt, c.generation, {}};
        if (c.member_id == h.group().leader()) request.assignments = assign(c.members);
        c.sync = h.sync(request);
        break;
      }
      case 2:
        (void)h.heartbeat(c.member_id, c.generation);
        break;
      case 3:
        if (*rc::gen::inRange(0, 4) == 0) {
          (void)h.leave(c.member_id);
          c = Client{};
        }
        break;
      case 4: {  // commit
        const TopicPartition tp{"t", *rc::gen::inRange(0, 3)};
        const std::int64_t offset = *rc::gen::inRange<std::int64_t>(0, 1000);
        const std::int32_t generation = *rc::gen::arbitrary<bool>() ? c.generation : -1;
        const ErrorCode ok =
            h.group().validate_commit(c.member_id, std::nullopt, generation, h.now());
        if (ok == ErrorCode::kNone) {
          h.group().offsets().put(tp, OffsetValue{offset, -1, "", h.now().wall_ms});
          model[tp] = offset;
        }
        break;
      }
      default:
        h.advance(Duration::ms(*rc::gen::inRange<std::int64_t>(1, 15'000)));
        break;
    }
    RC_ASSERT(!violated);
    // Offsets change only through accepted commits.
    for (const auto& [tp, value] : h.group().offsets().all()) {
      RC_ASSERT(model.contains(tp));
      RC_ASSERT(model.at(tp) == value.offset);
    }
  }
  // Abandoning answers whatever is still parked; every join id is then answered once.
  h.group().abandon(ErrorCode::kNotCoordinator);
  Effects effects = h.group().take_effects();
  for (const auto& [id, result] : effects.joins) RC_ASSERT(h.join_answer(id) == nullptr);
  for (const auto& [id, result] : effects.syncs) RC_ASSERT(h.sync_answer(id) == nullptr);
}

}  // namespace
}  // namespace strand::group
