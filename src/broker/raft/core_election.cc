// Elections: pre-vote, vote, the log up-to-date check, and TimeoutNow.
#include "broker/raft/core.h"
#include "io/assert.h"

namespace strand::raft {

void RaftCore::campaign(bool pre_vote, bool transfer) {
  if (!promotable()) return;
  if (pre_vote) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
  // A PreVote asks "would you vote for me in the next term?" without anyone moving to it.
  const Term campaign_term = pre_vote ? term_ + 1 : term_;
  const VoteRequest request{pre_vote, transfer, log_.last_offset(), log_.last_term()};
  for (NodeId voter : configuration().voters) {
    if (voter != config_.self) send(Message{config_.self, voter, campaign_term, request});
  }
  votes_[config_.self] = true;
  tally_votes();
}

void RaftCore::tally_votes() {
  std::size_t granted = 0;
  std::size_t rejected = 0;
  for (NodeId voter : configuration().voters) {
    auto it = votes_.find(voter);
    if (it == votes_.end()) continue;
    ++(it->second ? granted : rejected);
  }
  const std::size_t quorum = configuration().quorum();
  if (granted >= quorum) {
    if (role_ == Role::kPreCandidate) {
      campaign(false, false);
    } else if (role_ == Role::kCandidate) {
      become_leader();
    }
  } else if (rejected >= quorum) {
    become_follower(term_, kNoNode);
  }
}

bool RaftCore::log_up_to_date(Offset last_offset, Term last_term) const {
  if (config_.test_only_skip_log_up_to_date_check) return true;
  if (last_term != log_.last_term()) return last_term > log_.last_term();
  return last_offset >= log_.last_offset();
}

void RaftCore::handle_vote_request(const Message& message, const VoteRequest& request) {
  // Here message.term >= term_, or > term_ for a PreVote we did not step to.
  const bool can_vote = voted_for_ == message.from ||
                        (voted_for_ == kNoNode && leader_ == kNoNode) ||
                        (request.pre_vote && message.term > term_);
  // A rejoining node's log is no promise of what it once acknowledged (rejoining()); the end of
  // the log it lost, if it knows it, is.
  const bool floor_ok =
      !rejoining_ || (rejoin_floor_ && (request.last_term != rejoin_floor_->term
                                            ? request.last_term > rejoin_floor_->term
                                            : request.last_offset >= rejoin_floor_->offset));
  const bool grant = can_vote && floor_ok && log_up_to_date(request.last_offset, request.last_term);
  if (request.pre_vote) {
    const Term answer_term = grant ? message.term : term_;
    send(Message{config_.self, message.from, answer_term, VoteResponse{true, grant}});
    return;
  }
  if (grant) {
    STRAND_ASSERT(message.term == term_, "a vote is granted in the voter's current term");
    election_elapsed_ = 0;
    voted_for_ = message.from;
  }
  send(Message{config_.self, message.from, term_, VoteResponse{false, grant}});
}

void RaftCore::handle_vote_response(const Message& message, const VoteResponse& response) {
  if (response.pre_vote) {
    if (role_ != Role::kPreCandidate) return;
    // Grants carry the term we would campaign in; rejections our own term (higher ones made
    // us a follower already).
    if (message.term != (response.granted ? term_ + 1 : term_)) return;
  } else {
    if (role_ != Role::kCandidate || message.term != term_) return;
  }
  votes_.emplace(message.from, response.granted);
  tally_votes();
}

void RaftCore::handle_timeout_now(const Message& message) {
  if (role_ != Role::kFollower || message.from != leader_) return;
  // The leader asks us to take over: campaign now, skipping pre-vote and lease checks, since
  // the leader stands aside.
  campaign(false, true);
}

}  // namespace strand::raft
