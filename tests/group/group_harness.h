// A driver for one pure Group in tests: owns the clock, hands out request ids, acknowledges
// persists (or holds them), and collects the answers that came back through effects.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/group/group.h"
#include "broker/protocol/codec.h"
#include "io/random.h"

namespace strand::group::testing {

// ConsumerProtocolSubscription v0: version, topics, user data (null).
inline std::vector<std::byte> subscription(const std::vector<std::string>& topics) {
  protocol::Writer writer;
  writer.write_i16(0);
  writer.write_array_length(static_cast<std::int32_t>(topics.size()));
  for (const std::string& topic : topics) writer.write_string(topic);
  writer.write_i32(-1);
  return writer.take();
}

inline std::vector<std::byte> blob(std::string_view text) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return std::vector<std::byte>(p, p + text.size());
}

class Harness {
 public:
  explicit Harness(GroupLimits limits = no_delay(), std::uint64_t seed = 7)
      : limits_(limits), rng_(seed), group_("g", limits_, rng_) {
    now_.instant = io::Instant::from_ns(1'000'000'000);
    now_.wall_ms = 1'700'000'000'000;
  }

  static GroupLimits no_delay() {
    GroupLimits limits;
    limits.initial_rebalance_delay = io::Duration::ms(0);
    return limits;
  }

  Group& group() { return group_; }
  Now now() const { return now_; }
  bool hold_persists = false;              // leave Persists with an ack unacknowledged
  std::vector<Persist> persisted;          // every Persist the group asked for, in order
  std::function<void()> after_each_event;  // called after every operation and every tick

  static JoinRequest request(std::string member_id = {}, std::string assignor = "range",
                             std::vector<std::string> topics = {"t"}) {
    JoinRequest request;
    request.member_id = std::move(member_id);
    request.client_id = "client";
    request.client_host = "/127.0.0.1";
    request.session_timeout_ms = 10'000;
    request.rebalance_timeout_ms = 30'000;
    request.protocol_type = "consumer";
    request.protocols.push_back({std::move(assignor), subscription(topics)});
    return request;
  }

  // Sends a JoinGroup; returns its id. The answer is in join_answer(id) once there is one.
  RequestId join(const JoinRequest& request) {
    const RequestId id = next_id_++;
    std::optional<JoinResult> now = group_.join(id, request, now_);
    if (now) joins_[id] = std::move(*now);
    drain();
    return id;
  }
  RequestId sync(const SyncRequest& request) {
    const RequestId id = next_id_++;
    std::optional<SyncResult> now = group_.sync(id, request, now_);
    if (now) syncs_[id] = std::move(*now);
    drain();
    return id;
  }
  ErrorCode heartbeat(const std::string& member_id, std::int32_t generation,
                      std::optional<std::string> instance = std::nullopt) {
    ErrorCode error = group_.heartbeat(member_id, instance, generation, now_);
    drain();
    return error;
  }
  ErrorCode leave(const std::string& member_id,
                  std::optional<std::string> instance = std::nullopt) {
    ErrorCode error = group_.leave(member_id, instance, now_);
    drain();
    return error;
  }

  const JoinResult* join_answer(RequestId id) const {
    auto it = joins_.find(id);
    return it == joins_.end() ? nullptr : &it->second;
  }
  const SyncResult* sync_answer(RequestId id) const {
    auto it = syncs_.find(id);
    return it == syncs_.end() ? nullptr : &it->second;
  }

  // Moves time forward by `by`, calling tick() at every deadline on the way (as the driver).
  void advance(io::Duration by) {
    const io::Instant target = now_.instant + by;
    for (int rounds = 0; rounds < 10'000; ++rounds) {
      std::optional<io::Instant> next = group_.next_deadline();
      if (!next || *next > target) break;
      set_time(std::max(*next, now_.instant));
      group_.tick(now_);
      drain();
    }
    set_time(target);
    group_.tick(now_);
    drain();
  }

  // Acknowledges held persists (ok or failed).
  void release_persists(bool ok) {
    std::vector<std::int32_t> acks = std::exchange(held_, {});
    for (std::int32_t generation : acks) {
      group_.persisted(generation, ok, now_);
      drain();
    }
  }

  // New member through the v4 handshake (MEMBER_ID_REQUIRED, then join with the id).
  std::string member_id_for(JoinRequest request) {
    request.require_known_member_id = true;
    const RequestId first = join(request);
    const JoinResult* answer = join_answer(first);
    if (!answer || answer->error != ErrorCode::kMemberIdRequired) return {};
    return answer->member_id;
  }

 private:
  void set_time(io::Instant at) {
    now_.wall_ms += (at - now_.instant).count_ms();
    now_.instant = at;
  }
  void drain() {
    if (after_each_event) after_each_event();
    for (int rounds = 0; rounds < 100; ++rounds) {
      Effects effects = group_.take_effects();
      if (effects.empty()) return;
      for (auto& [id, result] : effects.joins) joins_[id] = std::move(result);
      for (auto& [id, result] : effects.syncs) syncs_[id] = std::move(result);
      for (Persist& persist : effects.persists) {
        persisted.push_back(persist);
        if (!persist.ack_generation) continue;
        if (hold_persists) {
          held_.push_back(*persist.ack_generation);
        } else {
          group_.persisted(*persist.ack_generation, true, now_);
          if (after_each_event) after_each_event();
        }
      }
    }
  }

  GroupLimits limits_;
  io::SeededRandom rng_;
  Group group_;
  Now now_;
  RequestId next_id_ = 1;
  std::map<RequestId, JoinResult> joins_;
  std::map<RequestId, SyncResult> syncs_;
  std::vector<std::int32_t> held_;
};

}  // namespace strand::group::testing
