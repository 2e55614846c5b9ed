#include "broker/raft/types.h"

#include <type_traits>

namespace strand::raft {

const char* role_name(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

const char* message_name(const Message& message) {
  return std::visit(
      [](const auto& body) -> const char* {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, VoteRequest>) {
          return body.pre_vote ? "PreVoteRequest" : "VoteRequest";
        } else if constexpr (std::is_same_v<T, VoteResponse>) {
          return body.pre_vote ? "PreVoteResponse" : "VoteResponse";
        } else if constexpr (std::is_same_v<T, AppendRequest>) {
          return "AppendRequest";
        } else if constexpr (std::is_same_v<T, AppendResponse>) {
          return "AppendResponse";
        } else if constexpr (std::is_same_v<T, HeartbeatRequest>) {
          return "HeartbeatRequest";
        } else if constexpr (std::is_same_v<T, HeartbeatResponse>) {
          return "HeartbeatResponse";
        } else {
          return "TimeoutNow";
        }
      },
      message.body);
}

}  // namespace strand::raft
