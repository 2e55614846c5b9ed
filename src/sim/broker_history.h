// What the broker scenario's simulated clients did and saw, and the checkers that judge it.
//
// The workload records every produce attempt (with its outcome), every record a consumer or the
// final read-back fetched, the broker's crashes, and the offsets that latent bit flips may have
// destroyed. The checkers read only this history: they know nothing of the broker's internals.
//
// Records identify themselves: the value starts with "p<producer>s<seq>|" followed by filler bytes
// derived from the pair, the key (if any) and the single header are recorded with the attempt, so
// any fetched record can be rebuilt from its attempt and compared byte for byte.
//
// Bit flips (what the checkers allow). A flipped bit in synced data of the only replica can
// legitimately destroy records: the broker detects the bad CRC and refuses to serve the batch, and
// a restart truncates the last segment at the first bad batch, after which new records reuse those
// offsets. So for every partition the workload remembers the lowest base offset of a batch that
// held a flipped bit (its taint). At offsets at or beyond the taint, acknowledged records may be
// missing or replaced by later ones, readers may disagree, acks may share an offset, readers
// may stop at the corrupt batch, and a record whose first copy was destroyed there may be written
// again by an idempotent producer's retry (seen at two offsets). Never relaxed, anywhere: every
// record served parses, is one some producer sent, matches it byte for byte, and sits at one
// offset only when neither is tainted; a reader's offsets are strictly increasing, and dense on a
// single broker. In a replicated cluster a bit flip taints nothing: the replica that meets the
// corrupt batch repairs it from its peers (src/broker/raft/replica.h), so no exemption applies.
//
// A replicated cluster (history.replicated): a new leader's Raft control batch takes an offset
// that consumers skip, and the history can't tell where those are, so polls need only be strictly
// increasing; acks=1 records may be lost on any failover (a crash or a partition), so their loss
// (and the reuse of their offsets) is always excused. acks=all records never are. The leader
// sampler adds one check: at most one leader per term per partition; the replicas' logs at the end
// add another: log matching (offsets where two replicas hold the same term form a prefix of their
// common range, and their committed entries agree).
//
// Retention (history.retention.limited(): the scenario sets log.retention.ms or
// log.retention.bytes). Records below a partition's final log start offset are gone: the durability
// and same-record checks exempt them, and retention_correct (broker_retention_checks.cc) checks
// instead that each acknowledged one was legally deletable.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/protocol/batch_builder.h"
#include "io/time.h"

namespace strand::sim {

struct PartitionKey {
  std::uint32_t topic = 0;
  std::int32_t partition = 0;
  friend auto operator<=>(const PartitionKey&, const PartitionKey&) = default;
};

std::string topic_name(std::uint32_t topic);
std::string partition_label(const PartitionKey& tp);

enum class ProduceOutcome : std::uint8_t {
  kPending,  // queued, no outcome yet
  kRefused,  // send() failed: the record never left the producer
  kAcked,    // acks=1 or acks=all: acknowledged at `offset`
  kSent,     // acks=0: handed to the connection, no answer expected
  kFailed,   // an error came back (timeout, connection lost, storage error): may or may not exist
  kUnknown,  // still pending when the run ended
};

struct ProduceAttempt {
  std::int16_t acks = -1;
  std::uint32_t topic = 0;
  std::optional<std::string> key;
  std::uint32_t value_bytes = 0;
  io::Instant sent_at;  // world time
  ProduceOutcome outcome = ProduceOutcome::kPending;
  std::int32_t partition = -1;     // known once acknowledged or sent
  std::int64_t offset = -1;        // acks != 0 and acknowledged
  io::Instant completed_at;        // world time the workload learned the outcome
  std::int64_t timestamp_ms = -1;  // the record's CreateTime: the producer's wall clock at send
};

struct ProducerHistory {
  std::int16_t acks = -1;
  bool idempotent = false;  // enable.idempotence: retries, and the broker stores each batch once
  std::uint64_t batches_retried = 0;  // the producer's counters, as last seen
  std::uint64_t producer_ids = 0;
  std::vector<ProduceAttempt> attempts;  // by sequence number
};

// Who read a record: a consumer by index, or the final read-back.
inline constexpr std::uint32_t kReadback = 0xffff'ffffu;

struct RecordId {
  std::uint32_t producer = 0;
  std::uint64_t seq = 0;
  friend auto operator<=>(const RecordId&, const RecordId&) = default;
};

// One record as a reader saw it.
struct Observation {
  std::uint32_t reader = 0;
  std::uint64_t session = 0;  // per reader: a run of dense offsets on one partition
  PartitionKey tp;
  std::int64_t offset = 0;
  std::optional<RecordId> id;  // nullopt: the value does not name a record
  bool intact = false;         // rebuilt from its attempt, it is byte for byte the same
  io::Instant at;
};

// A reader started (or restarted after OFFSET_OUT_OF_RANGE) reading `tp` at `offset`.
struct SessionStart {
  std::uint32_t reader = 0;
  std::uint64_t session = 0;
  PartitionKey tp;
  std::int64_t offset = 0;
};

struct ConsumerHistory {
  std::uint32_t topic = 0;
  bool tail = false;
  std::map<std::int32_t, std::int64_t> positions;  // by partition, when the consumer stopped
  std::uint64_t fetch_errors = 0;
};

struct ReadbackPartition {
  std::int64_t start = 0;  // the log start offset (ListOffsets earliest) the read-back ended with
  std::int64_t end = -1;   // the high watermark; -1: never learned
  std::optional<std::int64_t> stuck_at;  // a storage error stopped the read-back here
  std::string error;                     // why the read-back of this partition failed, if it did
};

// One replica's Raft log at the end of the run (after the read-back): the term of each offset from
// its log start, as (first offset, term) runs, and its commit index.
struct ReplicaLog {
  std::int32_t node = 0;
  std::int64_t log_start_offset = 0;
  std::int64_t last_offset = -1;
  std::int64_t commit_index = -1;
  std::vector<std::pair<std::int64_t, std::int32_t>> term_runs;  // offset order
};

// ---- Consumer groups: members of one group reading topic 0 (broker_group_member.cc) --------

// A record a group member's poll returned.
struct GroupDelivery {
  std::uint32_t member = 0;  // the member's index (its node)
  std::string member_id;     // the coordinator's id for this incarnation of it
  std::int32_t generation = -1;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

// One partition of one OffsetCommit a member sent.
struct GroupCommit {
  std::uint32_t member = 0;
  std::string member_id;
  std::int32_t generation = -1;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int16_t error_code = 0;  // the coordinator's answer for the partition
  bool answered = false;        // false: no answer (timeout, connection lost); it may be stored
  std::int64_t high_watermark_seen = -1;  // what the member's last fetch of the partition saw
  io::Instant sent_at;                    // world times
  io::Instant completed_at;
  bool acknowledged() const { return answered && error_code == 0; }
};

// One partition of an OffsetFetch answer a member started its generation from.
struct GroupOffsetFetch {
  std::uint32_t member = 0;
  std::string member_id;
  std::int32_t generation = -1;
  std::int32_t partition = 0;
  std::int64_t committed = -1;  // -1: nothing committed
  io::Instant sent_at;
  io::Instant answered_at;
};

struct GroupHistory {
  std::uint32_t topic = 0;
  std::uint32_t members_count = 0;  // 0: no group in this run
  std::vector<GroupDelivery> deliveries;
  std::vector<GroupCommit> commits;
  std::vector<GroupOffsetFetch> offset_fetches;
  std::uint64_t joins = 0;  // generations members settled in
  std::uint64_t join_failures = 0;
  std::string last_join_error;       // the first join failure, for the report
  std::uint64_t member_crashes = 0;  // members stopped without LeaveGroup
  std::uint64_t leaves = 0;
};

// The brokers' retention settings (every broker has the same) and what the checker needs to bound
// the bytes a record occupies in the log.
struct RetentionLimits {
  bool set = false;                   // the scenario sets log.retention.ms or log.retention.bytes
  std::int64_t retention_ms = -1;     // -1: no time limit
  std::int64_t retention_bytes = -1;  // -1: no size limit
  std::uint64_t segment_bytes = 0;    // log.segment.bytes
  std::uint32_t batch_bytes_max = 0;  // the producers' batch.size
  bool limited() const { return set && (retention_ms >= 0 || retention_bytes >= 0); }
};

// A partition's log start offset, sampled on some broker, rose above every earlier sample: the
// records below it were removed while no broker's wall clock had passed wall_ms_max.
struct LogStartRise {
  std::int64_t start = 0;
  std::int64_t wall_ms_max = 0;
};

struct BrokerHistory {
  bool replicated = false;  // a cluster of brokers with Raft-replicated partitions
  std::vector<ProducerHistory> producers;
  std::vector<ConsumerHistory> consumers;
  std::vector<Observation> observations;
  std::vector<SessionStart> sessions;
  std::vector<io::Instant> broker_crashes;     // world times of power failures (and heal restarts)
  std::map<PartitionKey, std::int64_t> taint;  // lowest offset a bit flip may have destroyed
  std::map<PartitionKey, ReadbackPartition> readback;
  bool readback_done = false;
  std::uint64_t served_corrupt = 0;  // fetches whose bytes failed the client's checks
  std::string served_corrupt_detail;
  // The leader sampler: the first node seen leading each (partition, term), and every other.
  std::map<std::pair<PartitionKey, std::int32_t>, std::int32_t> leaders;
  std::uint64_t leader_samples = 0;
  std::vector<std::string> leader_conflicts;
  // Every live replica's log once the run is over (replicated only), for log matching.
  std::map<PartitionKey, std::vector<ReplicaLog>> replica_logs;
  GroupHistory group;
  RetentionLimits retention;
  // The largest wall-clock time (ms) any broker may have read during the run (SimNode::wall_ms_max
  // at the end): retention can't have judged a record older than this allows.
  std::int64_t broker_wall_ms_max = 0;
  // Sampled every 250 ms (and at fault steps) where retention is limited, in sampling order.
  std::map<PartitionKey, std::vector<LogStartRise>> log_start_rises;
  io::Instant fault_end;  // heal phase starts (world time)
  io::Instant producers_stop;
  io::Instant run_end;

  bool tainted(const PartitionKey& tp, std::int64_t offset) const;
  // Whether retention may have removed `offset`: it is below the final read-back's log start.
  bool below_log_start(const PartitionKey& tp, std::int64_t offset) const;
};

// The value, key and header of record `seq` of `producer`.
std::string record_value(std::uint32_t producer, std::uint64_t seq, std::uint32_t size_bytes);
std::string record_header_value(std::uint32_t producer, std::uint64_t seq);
inline constexpr const char* kRecordHeaderKey = "id";

// Identifies a fetched record and checks its bytes against the attempt that made it.
Observation observe(const BrokerHistory& history, std::uint32_t reader, std::uint64_t session,
                    const PartitionKey& tp, const protocol::Record& record, io::Instant at);

struct CheckVerdict {
  std::string name;
  bool ok = false;
  std::string detail;
};

// Collects the first few failures of one check into its detail line.
class CheckFailures {
 public:
  void add(const std::string& what) {
    count_ += 1;
    if (count_ <= kShownMax) examples_ += (examples_.empty() ? "" : "; ") + what;
  }
  std::uint64_t count() const { return count_; }
  CheckVerdict verdict(std::string name, const std::string& ok_detail,
                       const std::string& failed_what) const {
    if (count_ == 0) return {std::move(name), true, ok_detail};
    return {std::move(name), false,
            std::to_string(count_) + " " + failed_what + " (" + examples_ + ")"};
  }

 private:
  static constexpr std::uint64_t kShownMax = 3;
  std::uint64_t count_ = 0;
  std::string examples_;
};

struct CheckLimits {
  std::uint64_t acked_min = 0;  // acknowledged records the run must reach
  io::Duration liveness_bound;  // after the heal, a first acknowledgement within this
  // After the producers stop, the group's commits reach the end of every partition within this.
  io::Duration group_liveness_bound = io::Duration::s(4);
};

// Runs every checker over a finished history. See the top of this file for what they allow.
std::vector<CheckVerdict> check_history(const BrokerHistory& history, const CheckLimits& limits);

// The consumer-group checkers (broker_group_checks.cc), part of check_history when the run had a
// group: committed_offsets_monotonic (no OffsetFetch answer below an acknowledged commit that
// completed before it was sent: a lost commit), committed_within_log (no acknowledged commit
// beyond the partition's final log end, unless a power failure of the single broker or a bit
// flip may have removed records), one_member_per_generation_partition (no offset delivered to two
// members in one generation), group_liveness (the commits reach every partition's end).
std::vector<CheckVerdict> check_group_history(const BrokerHistory& history,
                                              const CheckLimits& limits);

// The retention checker (broker_retention_checks.cc), part of check_history when
// history.retention.limited(): retention_correct (every acknowledged record below a final log
// start offset was legally deletable: older than retention.ms by the largest wall clock any broker
// had before it was seen removed, or with at least retention.bytes of log after it; a partition
// written to after the heal is not empty at the end: never the active segment; no read-back holds
// more than retention.bytes and a segment besides).
CheckVerdict check_retention(const BrokerHistory& history);

// The idempotent-producer checker (broker_idempotence_checks.cc), part of check_history when some
// producer is idempotent: idempotent_once_in_order (each record of an idempotent producer is at one
// offset in everything read, retries notwithstanding; its acknowledged records of a partition
// have offsets in send order).
CheckVerdict check_idempotent(const BrokerHistory& history);

}  // namespace strand::sim
