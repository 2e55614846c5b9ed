// A member of a consumer group (Kafka's classic protocol) on a Client: finds the group's
// coordinator, joins (JoinGroup with protocol type "consumer" and the range assignor; the elected
// leader computes every member's partitions and sends them in its SyncGroup), starts each
// assigned partition at the group's committed offset (OffsetFetch; the log start where none was
// committed), fetches the assigned partitions, heartbeats, commits what it consumed with its
// generation and member id, and leaves on stop.
//
// Single-threaded and driven by its owner: there is no background heartbeat task, so poll()
// heartbeats when one is due, and the owner must call it more often than the session timeout.
// After an answer that says the group moved on (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION,
// UNKNOWN_MEMBER_ID) the member is no longer active() and the owner calls join() again. A lost
// connection or NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS makes
// the next call ask FindCoordinator again. No call retries on its own beyond that.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "broker/protocol/join_group.h"
#include "broker/protocol/sync_group.h"
#include "client/client.h"
#include "client/group_admin.h"
#include "io/result.h"
#include "io/task.h"
#include "io/time.h"

namespace strand::client {

struct GroupConsumerOptions {
  std::string group_id;
  std::vector<std::string> topics;  // the subscription
  io::Duration session_timeout = io::Duration::s(10);
  io::Duration rebalance_timeout = io::Duration::s(10);
  io::Duration heartbeat_interval = io::Duration::s(1);
  FetchLimits fetch_limits;
};

// One partition's answer to an OffsetCommit.
struct CommitOutcome {
  TopicPartition tp;
  std::int64_t offset = 0;
  std::int16_t error_code = 0;
};

class GroupConsumer {
 public:
  // `client` must outlive this object.
  GroupConsumer(Client& client, GroupConsumerOptions options);

  // A settled generation with an assignment, and no answer since saying the group moved on.
  bool active() const { return active_; }
  // The starting offsets of the assignment are known (fetch_positions() succeeded since join()).
  bool positions_known() const { return positions_known_; }
  const std::string& member_id() const { return member_id_; }
  std::int32_t generation() const { return generation_; }
  const std::vector<TopicPartition>& assignment() const { return assignment_; }
  // The next offset to read, by assigned partition (once positions_known()).
  const std::map<TopicPartition, std::int64_t>& positions() const { return positions_; }
  // The high watermark the last fetch of each partition saw.
  const std::map<TopicPartition, std::int64_t>& high_watermarks() const { return high_watermarks_; }

  // Joins the group (or rejoins it) until a generation's assignment arrives: JoinGroup, again with
  // the id a MEMBER_ID_REQUIRED answer names, then SyncGroup. Forgets the positions. Errors: the
  // kafka_error of a refusal (UNKNOWN_MEMBER_ID also resets the member id), connection errors.
  io::Task<io::Result<void>> join();

  // The group's committed offset of every assigned partition (OffsetFetch), -1 where none is;
  // the positions start there, or at the log start where none is. REQUIRES: active().
  io::Task<io::Result<std::map<TopicPartition, std::int64_t>>> fetch_positions();

  // Heartbeats if one is due, then (still active) fetches the assigned partitions from their
  // positions and moves the positions past what came back; with nothing assigned, waits until
  // the next heartbeat is due and returns nothing. REQUIRES: positions_known(). Errors:
  // a heartbeat's connection error, the first fetch error.
  io::Task<io::Result<std::vector<FetchedRecords>>> poll();

  // A heartbeat now. REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID are not
  // errors: the member is no longer active(). Errors: connection errors, other kafka_errors.
  io::Task<io::Result<void>> heartbeat();

  // Commits the positions of the assignment with this generation and member id, and answers each
  // partition's error code (the member stops being active() on a generation error). Errors:
  // connection errors, a coordinator that moved. REQUIRES: positions_known().
  io::Task<io::Result<std::vector<CommitOutcome>>> commit();

  // LeaveGroup (best effort: errors are ignored), then no member id and nothing assigned.
  io::Task<void> leave();

 private:
  template <typename Request, typename Response>
  io::Task<io::Result<Response>> call_coordinator(
      protocol::ApiKey key, std::int16_t version, const Request& request,
      void (*write)(protocol::Writer&, const Request&, std::int16_t),
      Response (*read)(protocol::Reader&, std::int16_t), io::Duration timeout);
  io::Task<io::Result<std::vector<std::byte>>> sync(const protocol::JoinGroupResponse& joined);
  io::Task<io::Result<std::vector<protocol::SyncGroupRequestAssignment>>> assign(
      const protocol::JoinGroupResponse& joined);
  // Moves the positions of `topic`'s partitions into [log start, high watermark] (after
  // OFFSET_OUT_OF_RANGE: a log that lost records, like Kafka's reset to the nearest end).
  io::Task<io::Result<void>> clamp_positions(std::string topic);
  // Whether `code` ends the generation for this member (and forgets the member id if it must).
  bool fenced(std::int16_t code);
  void forget_coordinator_if_moved(std::int16_t code);

  Client& client_;
  GroupAdmin admin_;  // FindCoordinator with retries, connections to coordinators
  GroupConsumerOptions options_;
  std::string member_id_;
  std::int32_t generation_ = -1;
  bool active_ = false;
  bool positions_known_ = false;
  std::vector<TopicPartition> assignment_;
  std::map<TopicPartition, std::int64_t> positions_;
  std::map<TopicPartition, std::int64_t> high_watermarks_;
  io::Instant next_heartbeat_;
};

}  // namespace strand::client
