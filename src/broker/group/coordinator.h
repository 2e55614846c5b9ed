// The group coordinator: owns the Group state machines of every group whose __consumer_offsets
// partition this broker leads, drives their timers with the node's clock, persists group
// metadata and committed offsets as records in __consumer_offsets, and answers the group APIs.
// Each group lives on partition offsets_partition_for(group, N); a partition is loaded by
// replaying its records. A single node leads every partition and loads them all at start. In a
// cluster the partitions are Raft-replicated: a broker that becomes a partition's leader loads it
// once everything before its own term is committed (COORDINATOR_LOAD_IN_PROGRESS meanwhile), and
// drops its groups when it loses the leadership or the epoch changes (NOT_COORDINATOR), so the
// groups of a partition live on exactly one broker at a time, rebuilt from the log.
//
// Ordering and durability: an OffsetCommit is answered only after its records are appended and
// synced (acks=all); the in-memory offsets change after that, in log order (one writer per
// partition at a time). A generation's SyncGroup answers wait for its metadata record likewise.
// JoinGroup and SyncGroup answers may wait for seconds (the rebalance); stop_waiting() answers
// every waiting request at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/cluster/partition_manager.h"
#include "broker/config.h"
#include "broker/group/group.h"
#include "broker/group/replay.h"
#include "broker/protocol/batch_builder.h"
#include "broker/protocol/delete_groups.h"
#include "broker/protocol/describe_groups.h"
#include "broker/protocol/heartbeat.h"
#include "broker/protocol/join_group.h"
#include "broker/protocol/leave_group.h"
#include "broker/protocol/list_groups.h"
#include "broker/protocol/offset_commit.h"
#include "broker/protocol/offset_delete.h"
#include "broker/protocol/offset_fetch.h"
#include "broker/protocol/sync_group.h"
#include "io/env.h"
#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::group {

// Who sent a request, for DescribeGroups.
struct ClientInfo {
  std::string client_id;
  std::string client_host;
};

class Coordinator {
 public:
  Coordinator(io::Env& env, const BrokerConfig& config, cluster::PartitionManager& partitions);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // After the partitions are open: rebuilds every group from __consumer_offsets (if it exists)
  // and starts the session timers and offset retention. Errors: storage errors reading the log.
  io::Task<io::Result<void>> start();
  // Answers every waiting JoinGroup/SyncGroup with NOT_COORDINATOR and refuses new requests
  // with COORDINATOR_NOT_AVAILABLE. Call before draining connections at shutdown.
  void stop_waiting();
  // Stops the timers and waits for the writes in flight. REQUIRES: stop_waiting() first.
  io::Task<void> close();

  // Creates __consumer_offsets (offsets.topic.num.partitions partitions, retention.ms=-1) if it
  // does not exist yet. Returns a Kafka error code (none when the topic is there).
  io::Task<protocol::ErrorCode> ensure_offsets_topic();

  io::Task<protocol::JoinGroupResponse> join(protocol::JoinGroupRequest request,
                                             std::int16_t version, ClientInfo client);
  io::Task<protocol::SyncGroupResponse> sync(protocol::SyncGroupRequest request);
  protocol::HeartbeatResponse heartbeat(const protocol::HeartbeatRequest& request);
  protocol::LeaveGroupResponse leave(const protocol::LeaveGroupRequest& request,
                                     std::int16_t version);
  io::Task<protocol::OffsetCommitResponse> commit(protocol::OffsetCommitRequest request);
  protocol::OffsetFetchResponse fetch_offsets(const protocol::OffsetFetchRequest& request,
                                              std::int16_t version);
  io::Task<protocol::OffsetDeleteResponse> delete_offsets(protocol::OffsetDeleteRequest request);
  io::Task<protocol::DeleteGroupsResponse> delete_groups(protocol::DeleteGroupsRequest request);
  protocol::ListGroupsResponse list_groups() const;
  protocol::DescribeGroupsResponse describe_groups(
      const protocol::DescribeGroupsRequest& request) const;

  // The __consumer_offsets partition that holds `group_id`'s records.
  std::int32_t offsets_partition(const std::string& group_id) const {
    return partition_of(group_id);
  }
  // The replication factor __consumer_offsets is created with: 3, or fewer brokers if fewer.
  std::int16_t offsets_replication_factor() const;

  // Expires offsets now, as the retention timer does (tests call it directly).
  void expire_offsets_now();
  // The group, if the coordinator has it (tests and tools).
  const Group* find(const std::string& group_id) const;

 private:
  struct Entry {
    Entry(std::string id, const GroupLimits& limits, io::Random& rng)
        : group(std::move(id), limits, rng) {}
    Entry(Group restored) : group(std::move(restored)) {}
    Group group;
    bool removed = false;
  };
  template <typename Result>
  struct Waiting {
    std::optional<Result> result;
    io::Event done;
  };

  // A replicated __consumer_offsets partition this broker leads (cluster mode).
  struct Ownership {
    std::int32_t epoch = -1;         // the leader epoch it is (being) loaded in
    std::int64_t load_from_end = 0;  // the log end seen on becoming leader: load once committed
    bool loaded = false;
  };

  // How much of a __consumer_offsets partition's log is more than its compacted state. The
  // partition is compacted (its live records written again, then the log start moved to them)
  // once a segment's worth of bytes came after the last compaction and at least half of its
  // records are dead, so the log holds at most about two segments and the live state.
  struct Growth {
    std::uint64_t records = 0;  // from the log start to the end
    std::uint64_t bytes = 0;
    std::uint64_t live_records = 0;     // at the last load or compaction
    std::uint64_t compacted_bytes = 0;  // what the last compaction wrote
    std::uint64_t retry_at_bytes = 0;   // after a compaction that could not run
    bool compacting = false;
  };
  struct Loaded {
    std::vector<std::shared_ptr<Entry>> groups;
    Growth growth;
  };
  struct Replayed {
    std::int64_t next = 0;  // the offset after the last batch read
    std::uint64_t bytes = 0;
  };

  Now now();
  // Whether requests for `group_id` are served here now: kNone, INVALID_GROUP_ID for an id over
  // 1 KiB, COORDINATOR_NOT_AVAILABLE after
  // stop_waiting(), and in a cluster NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.
  ErrorCode admit(const std::string& group_id) const;
  // The epoch `partition` was loaded in (0 on a single node), or -1 if it is not loaded here:
  // a write applies its effect in memory only if this did not change while it was written.
  std::int32_t loaded_epoch(std::int32_t partition) const;
  io::Task<void> ownership_loop();
  void check_ownership();
  io::Task<void> load_owned(std::int32_t partition, std::int32_t epoch);
  // Drops the groups of `partition` (waiting requests get NOT_COORDINATOR).
  void unload(std::int32_t partition);
  void unload_all();
  std::int32_t partition_of(const std::string& group_id) const;
  io::Mutex& write_lock(std::int32_t partition);
  std::shared_ptr<Entry> lookup(const std::string& group_id) const;
  std::shared_ptr<Entry> create(const std::string& group_id);
  void dispatch(Entry& entry);
  io::Task<void> persist(std::shared_ptr<Entry> entry, Persist persist);
  io::Task<io::Result<void>> write(std::int32_t partition, std::vector<protocol::Record> records);
  // write() with the offsets the records got. REQUIRES: the partition's write lock is held.
  io::Task<io::Result<storage::AppendResult>> append_records(std::int32_t partition,
                                                             std::vector<protocol::Record> records);
  // Replays `partition` up to its high watermark into groups not installed yet.
  io::Task<io::Result<Loaded>> load_partition(std::int32_t partition);
  // Applies the records of [from, to) to `state` (control batches skipped).
  io::Task<io::Result<Replayed>> replay_range(cluster::Partition& partition, std::int64_t from,
                                              std::int64_t to, ReplayResult& state);
  // Counts an appended batch, and starts a compaction when one is due.
  void grew(std::int32_t partition, std::uint64_t records, std::uint64_t bytes);
  io::Task<void> compact(std::int32_t partition, std::int32_t epoch);
  io::Task<io::Result<void>> rewrite_live(std::int32_t partition, std::int32_t epoch,
                                          cluster::Partition& target, const ReplayResult& state);
  io::Task<void> timer_loop();
  io::Task<void> retention_loop();
  void tick_due();
  io::Task<void> expire(std::shared_ptr<Entry> entry, std::vector<TopicPartition> expired);
  io::Task<protocol::ErrorCode> remove_group(std::shared_ptr<Entry> entry);
  bool topic_partition_exists(const std::string& topic, std::int32_t partition) const;

  io::Env& env_;
  const BrokerConfig& config_;
  cluster::PartitionManager& partitions_;
  GroupLimits limits_;
  std::int32_t offsets_partitions_;
  bool accepting_ = true;
  std::map<std::string, std::shared_ptr<Entry>> groups_;
  std::map<std::int32_t, Ownership> owned_;  // cluster mode: by __consumer_offsets partition
  std::map<std::int32_t, Growth> growth_;    // the partitions loaded here
  std::set<std::int32_t> loads_running_;
  RequestId next_request_id_ = 1;
  std::map<RequestId, std::shared_ptr<Waiting<JoinResult>>> waiting_joins_;
  std::map<RequestId, std::shared_ptr<Waiting<SyncResult>>> waiting_syncs_;
  std::map<std::int32_t, std::unique_ptr<io::Mutex>> write_locks_;
  io::Mutex creating_topic_;
  io::Condition deadlines_changed_;
  io::TaskScope writes_;  // persists and expiries in flight; joined by close()
  io::TaskScope loops_;   // last: destroyed first
};

}  // namespace strand::group
