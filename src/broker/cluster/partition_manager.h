// The partitions this broker serves, with the topic catalog that says which exist. On a single
// node every partition is led here; the high watermark is the synced offset (what a crash cannot
// take back), so consumers never read a record that a power failure could still lose. Appends
// acknowledged with acks=1 become visible as soon as a background group-commit sync covers them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/cluster/producer_state.h"
#include "broker/cluster/topic_catalog.h"
#include "broker/config.h"
#include "broker/protocol/error_code.h"
#include "broker/raft/replica.h"
#include "broker/raft/rpc_transport.h"
#include "broker/storage/log_manager.h"
#include "io/env.h"
#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::cluster {

enum class Acks : std::int8_t { kNone = 0, kLeader = 1, kAll = -1 };

// A Kafka error code with the text for logs and for error_message fields.
struct TopicError {
  protocol::ErrorCode code = protocol::ErrorCode::kNone;
  std::string message;
  bool ok() const { return code == protocol::ErrorCode::kNone; }
};

class Partition : public std::enable_shared_from_this<Partition> {
 public:
  // A partition whose log is only here (a single node).
  Partition(io::Env& env, storage::TopicPartition tp, storage::PartitionLog& log,
            io::Condition& data_arrived);
  // A replica of a replicated partition: writes go through Raft on the leader, reads stop at the
  // commit index, and a follower refuses both (NOT_LEADER_OR_FOLLOWER).
  Partition(io::Env& env, storage::TopicPartition tp, raft::Replica& replica,
            io::Condition& data_arrived);
  ~Partition();
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  // Whether a write with `acks` may start here: kNone, NOT_LEADER_OR_FOLLOWER on a follower,
  // NOT_ENOUGH_REPLICAS for acks=all on a leader that cannot reach a quorum (or fewer than
  // min.insync.replicas) of its replicas.
  protocol::ErrorCode check_writable(Acks acks, std::int16_t min_insync_replicas) const;
  // Whether reads are served here: kUnavailable (NOT_LEADER_OR_FOLLOWER) on a follower.
  io::Result<void> check_leader() const;

  // Appends one producer batch. acks=all answers once the batch is synced (a single node) or
  // committed on a quorum (replicated); acks=1 (and 0) once it is written here. Errors from the
  // log (kCorrupt naming the field, kNoSpace, kIoError, kInvalid), kNotFound once the partition
  // is being deleted; replicated: kUnavailable when this replica does not lead (or lost the
  // leadership before the batch committed), kTimeout after `timeout` (it may still commit).
  io::Task<io::Result<storage::AppendResult>> append(std::vector<std::byte> batch, Acks acks,
                                                     io::Duration timeout = io::Duration::s(30));

  // A client's batch. An idempotent producer's (a producer id and sequence in its header) is
  // checked against the partition's producer state first: the producer's next batch is appended,
  // a retried one is answered with the offsets it got the first time (once committed, for
  // acks=all) and not written again; `refused` says OUT_OF_ORDER_SEQUENCE_NUMBER after a gap,
  // INVALID_PRODUCER_EPOCH for a fenced epoch, REQUEST_TIMED_OUT while the same batch is still
  // being written. Other batches go straight to append().
  struct Produced {
    protocol::ErrorCode refused = protocol::ErrorCode::kNone;
    io::Result<storage::AppendResult> appended = storage::AppendResult{-1, -1};
  };
  io::Task<Produced> produce(std::vector<std::byte> batch, Acks acks, io::Duration timeout);

  // Whole batches from `offset`, up to `bytes_max` (at least one batch unless `strict_max`),
  // none at or beyond the high watermark. Errors: kOutOfRange, kCorrupt, kIoError, kNotFound.
  io::Task<io::Result<std::vector<std::byte>>> read(std::int64_t offset, std::uint32_t bytes_max);

  // Moves the log start offset forward to `offset` (Kafka's DeleteRecords), at most to the high
  // watermark: records below it are no longer served, and segments wholly below it are removed.
  // Returns the log start offset after the move. Errors: kUnavailable on a follower (followers
  // follow their leader's log start), kNotFound once the partition is being deleted, the log's.
  io::Task<io::Result<std::int64_t>> delete_records_before(std::int64_t offset);

  // The first visible record with timestamp >= `timestamp`: its offset and its timestamp (for a
  // compressed batch, the batch's largest timestamp).
  struct TimestampedOffset {
    std::int64_t offset;
    std::int64_t timestamp;
  };
  io::Task<io::Result<std::optional<TimestampedOffset>>> offset_for_timestamp(
      std::int64_t timestamp);

  std::int64_t high_watermark() const { return log_.high_watermark(); }
  // The replica's leader and its epoch; a single node leads its partitions in epoch 0.
  raft::NodeId leader(raft::NodeId self) const;
  std::int32_t leader_epoch() const;
  raft::Replica* replica() const { return replica_; }
  std::int64_t log_start_offset() const { return log_.log_start_offset(); }
  std::int64_t log_end_offset() const { return log_.next_offset(); }
  const storage::TopicPartition& topic_partition() const { return tp_; }

  // The producer snapshot: the state of idempotent producers as of an offset, in a file beside
  // the log, so that it outlives the segments retention removes (Kafka's producer snapshots). A
  // leader rebuilds its producer state from it and the batches after it. save_producer_snapshot
  // folds the committed batches up to `upto` (at most the high watermark) into it; the log calls
  // it before its start moves (watch_log_start), and the retention loop now and then, so that a
  // rebuild reads little. Its errors are logged: the rebuild then falls back to the log's tail.
  io::Task<void> save_producer_snapshot(std::int64_t upto);
  // producer.id.expiration.ms: producers silent this long are dropped from the producer state and
  // from the next snapshot (expire_producers(), called with retention).
  void set_producer_expiration_ms(std::int64_t ms) { producer_expiration_ms_ = ms; }
  void expire_producers();
  // Has the log call save_producer_snapshot before its start moves. Once, on a shared Partition.
  void watch_log_start();

  // Refuses new operations and waits for those in flight (and the background sync) to finish.
  io::Task<void> quiesce();

  // Simulation tests only: plants the named bug (BrokerConfig::planted_bug). A no-op unless the
  // build has -Dsim_planted_bugs=true.
  void set_planted_bug(const std::string& name);

 private:
  // A read met a corrupt batch (kCorrupt) at or after `offset`: a replica repairs it from peers.
  void note_read_error(const io::Error& error, std::int64_t offset);
  io::Task<io::Result<std::optional<TimestampedOffset>>> find_timestamp(std::int64_t timestamp);
  // Replicated: proposes the batch; the outcome has its offsets once it is in the log, even if it
  // did not commit in time.
  io::Task<raft::ProposeOutcome> propose(std::vector<std::byte> batch, Acks acks,
                                         io::Duration timeout);
  io::Task<io::Result<storage::AppendResult>> append_local(std::vector<std::byte> batch, Acks acks);
  // Whether producers_ holds the producer state of this leadership.
  bool producer_state_current() const { return producers_epoch_ == leader_epoch(); }
  io::Task<void> load_producer_state(std::int32_t epoch);
  io::Task<void> read_producer_snapshot();
  io::Task<void> save_producer_snapshot_counted(std::int64_t upto);
  // Replays the idempotent batches in [from, end) into `table`; returns where it stopped (end, or
  // the first offset it could not read).
  io::Task<std::int64_t> replay_batches(ProducerStateTable& table, std::int64_t from,
                                        std::int64_t end, std::uint64_t& batches);
  static io::Task<void> save_before_start_moves(std::weak_ptr<Partition> weak,
                                                std::int64_t new_start);
  std::string producer_snapshot_path() const;
  io::Task<Produced> answer_duplicate(const BatchSequences& written, Acks acks,
                                      io::Duration timeout);
  void schedule_flush();
  io::Task<void> flush_loop();
  void advance_high_watermark();
  io::Env& env_;
  storage::TopicPartition tp_;
  raft::Replica* replica_ = nullptr;  // set for a replicated partition
  storage::PartitionLog& log_;
  io::Condition& data_arrived_;
  std::uint32_t operations_in_flight_ = 0;  // appends, reads and the flush loop
  io::Condition operation_done_;
  bool flushing_ = false;
  bool closing_ = false;
  ProducerStateTable producers_;
  std::int32_t producers_epoch_ = -1;  // the leader epoch producers_ was rebuilt in
  bool producers_loading_ = false;
  io::Condition producers_loaded_;
  // The producer snapshot as stored: every idempotent batch below snapshot_end_ folded in.
  ProducerStateTable snapshot_;
  std::int64_t producer_expiration_ms_ = 86'400'000;
  std::int64_t snapshot_end_ = -1;  // -1: none (or not usable)
  bool snapshot_read_ = false;
  io::Mutex snapshot_lock_;
  bool planted_ack_before_sync_ = false;
  bool planted_reads_beyond_high_watermark_ = false;
  bool planted_duplicates_written_ = false;
  io::TaskScope background_;  // last: destroyed first
};

class Controller;

// A single node keeps its topics in a catalog file and each partition's log locally. In a cluster
// (use_cluster) the topics come from the controller's metadata image: each partition placed on
// this broker is a Raft replica in <data_dir>/<topic>-<partition>.<group>, opened and removed as
// the image changes, and the leaders report themselves to the controller.
class PartitionManager {
 public:
  PartitionManager(io::Env& env, const BrokerConfig& config);
  ~PartitionManager();

  // Serves a cluster's partitions: call before open(). Raft messages of the replicas leave
  // through `transport` and arrive through `registry`.
  void use_cluster(Controller& controller, raft::Transport& transport,
                   raft::GroupRegistry& registry);
  bool clustered() const { return controller_ != nullptr; }
  Controller* controller() const { return controller_; }
  // Cluster mode: starts keeping the replicas in step with the image and reporting leaderships
  // in the background; close() stops it.
  void start_cluster();
  // The error for a partition find() does not have: NOT_LEADER_OR_FOLLOWER if the partition
  // exists on other brokers, UNKNOWN_TOPIC_OR_PARTITION otherwise.
  protocol::ErrorCode missing_partition_error(const storage::TopicPartition& tp) const;

  // Reads the catalog, opens every partition's log (recovering it), removes directories of topics
  // the catalog no longer has (a delete that crashed half way). A data directory without a
  // catalog adopts the partition directories it finds. Errors: kCorrupt (catalog), I/O errors.
  io::Task<io::Result<void>> open();
  // Waits for operations in flight and closes every log cleanly (clean-shutdown markers).
  io::Task<io::Result<void>> close();

  // `assignments`: explicit replica sets per partition (a cluster only; partitions and
  // replication_factor are then -1).
  io::Task<TopicError> create_topic(std::string name, std::int32_t partitions,
                                    std::int16_t replication_factor,
                                    std::map<std::string, std::string> configs, bool validate_only,
                                    std::vector<std::vector<std::int32_t>> assignments = {});
  io::Task<TopicError> delete_topic(std::string name);
  io::Task<TopicError> create_partitions(std::string name, std::int32_t count, bool validate_only);

  const TopicCatalog& catalog() const { return catalog_; }
  std::shared_ptr<Partition> find(const storage::TopicPartition& tp) const;
  storage::LogConfig topic_log_config(const std::string& topic) const;

  // Notified whenever some partition's high watermark moves (long-polling fetches wait on it).
  io::Condition& data_arrived() { return data_arrived_; }

  // Starts running retention over all logs every log.retention.check.interval.ms; close()
  // stops it between rounds.
  void start_retention();

 private:
  io::Task<io::Result<void>> save_catalog();
  io::Task<io::Result<void>> open_partition(const TopicInfo& topic, std::int32_t index);
  io::Task<io::Result<void>> remove_orphans();
  io::Task<void> retention_loop();
  // Cluster mode.
  struct Hosted {
    storage::TopicPartition tp;
    std::unique_ptr<raft::Replica> replica;
    raft::Term reported_term = 0;
    std::unique_ptr<io::TaskScope> scope;  // runs the replica; destroyed before it
  };
  void rebuild_catalog();
  io::Task<void> reconcile();
  // The groups hosted here that the image no longer places here.
  std::vector<std::uint64_t> replicas_gone() const;
  io::Task<void> reconcile_loop();
  io::Task<void> report_leaders_loop();
  // Records this broker's leadership of a partition in the metadata log; sets *failed if the
  // controller did not take it.
  io::Task<void> report_leadership(std::uint64_t group, std::int32_t term, bool* failed);
  void resign_fenced_leaderships();
  // On the leader of each partition being reassigned: moves its Raft configuration one change
  // at a time toward the target, then reports the reassignment done to the controller.
  io::Task<void> reassign_loop();
  io::Task<void> rebalance_loop();
  io::Task<void> step_reassignment(std::uint64_t group, std::vector<raft::NodeId> target);
  io::Task<void> tick_loop();
  io::Task<io::Result<void>> open_replica(storage::TopicPartition tp, std::uint64_t group,
                                          std::vector<std::int32_t> replicas,
                                          storage::LogConfig log);
  io::Task<void> remove_replica(std::uint64_t group, bool delete_files);
  std::string replica_directory(const storage::TopicPartition& tp, std::uint64_t group) const;

  io::Env& env_;
  const BrokerConfig& config_;
  storage::LogManager logs_;
  TopicCatalog catalog_;
  std::map<storage::TopicPartition, std::shared_ptr<Partition>> partitions_;
  io::Mutex changing_;  // topic creation, deletion and growth, one at a time
  io::Condition data_arrived_;
  bool retention_running_ = false;  // a round is in progress (not just sleeping)
  io::Condition retention_idle_;
  Controller* controller_ = nullptr;
  raft::Transport* transport_ = nullptr;
  raft::GroupRegistry* registry_ = nullptr;
  std::map<std::uint64_t, Hosted> replicas_;  // by Raft group
  std::uint64_t role_changes_ = 0;            // of every replica here (ReplicaOptions)
  std::uint64_t repairs_requested_ = 0;       // of every replica here (ReplicaOptions)
  std::uint64_t repairs_seen_ = 0;            // what reconcile() last looked at
  std::int64_t reconciled_offset_ = -2;       // the image reconcile() last completed on
  io::Condition image_changed_;
  bool closing_ = false;
  io::TaskScope cluster_tasks_;
  io::TaskScope retention_;  // last: destroyed first
};

}  // namespace strand::cluster
