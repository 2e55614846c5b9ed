// Small helpers shared by the Raft unit tests.
#pragma once

#include <vector>

#include "broker/raft/core.h"

namespace strand::raft::testing {

inline Config unit_config() {
  Config config;
  config.election_timeout_ticks = 10;
  config.heartbeat_interval_ticks = 2;
  return config;
}

// A node whose log is `terms`, one single-offset entry per element, with a term and bootstrap
// voters.
inline RestoredState restored_with_log(const std::vector<Term>& terms, Term term,
                                       const std::vector<NodeId>& voters) {
  std::vector<TermStart> starts{TermStart{0, -1}};
  for (std::size_t i = 0; i < terms.size(); ++i) {
    if (terms[i] > starts.back().term) starts.push_back({terms[i], static_cast<Offset>(i)});
  }
  return RestoredState{HardState{term, kNoNode},
                       TermIndex(starts, 0, static_cast<Offset>(terms.size()) - 1),
                       -1,
                       {{-1, Configuration{voters, {}}}}};
}

// Every message of `ready`, both queues.
inline std::vector<Message> all_messages(const Ready& ready) {
  std::vector<Message> out = ready.to_send_now;
  out.insert(out.end(), ready.to_send_after_sync.begin(), ready.to_send_after_sync.end());
  return out;
}

// Ticks a core without pre-vote until it is a candidate, then grants it votes from `voters`.
inline void make_leader(RaftCore& core, const std::vector<NodeId>& voters) {
  for (int i = 0; i < 100 && core.role() == Role::kFollower; ++i) core.tick();
  core.advance(core.take_ready());
  for (NodeId voter : voters) {
    core.step(Message{voter, core.self(), core.term(), VoteResponse{false, true}});
  }
}

}  // namespace strand::raft::testing
