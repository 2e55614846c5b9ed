// The cluster's metadata: the records of the metadata log (Raft group 0, kept by the controller
// quorum) and the image every broker builds by applying them in order. Pure values: no I/O.
//
// Each record travels as a FlatBuffer (metadata_records.fbs) in the value of a one-record Kafka
// batch, so the metadata log is an ordinary partition log (__cluster_metadata-0) that the Raft
// driver replicates like any other; the Raft control batches in it are skipped when reading.
//
// Applying is deterministic and total: a record that does not apply to the image (a topic that
// already exists, a partition that does not) is ignored, because the controller checked it against
// the same image before proposing and every broker must reach the same image from the same log.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "broker/raft/ids.h"
#include "io/result.h"

namespace strand::cluster {

using GroupId = std::uint64_t;  // raft::GroupId; 0 is the metadata log itself

inline constexpr GroupId kMetadataGroup = 0;
inline constexpr char kMetadataTopic[] = "__cluster_metadata";

// A broker announcing itself (again after each restart, with a new incarnation).
struct BrokerRegistration {
  raft::NodeId node_id = raft::kNoNode;
  std::string host;  // Kafka listener clients are told to use
  std::uint16_t port = 0;
  std::string rpc_host;  // inter-broker RPC (Raft) listener
  std::uint16_t rpc_port = 0;
  std::string rack;  // broker.rack; "" = none
  std::uint64_t incarnation = 0;

  friend bool operator==(const BrokerRegistration&, const BrokerRegistration&) = default;
};

struct PartitionAssignment {
  std::int32_t partition = 0;
  GroupId group = 0;                   // the partition's Raft group
  std::vector<raft::NodeId> replicas;  // the first is the preferred leader

  friend bool operator==(const PartitionAssignment&, const PartitionAssignment&) = default;
};

struct TopicRecord {
  std::string name;
  std::uint64_t id_high = 0;  // Kafka's topic UUID
  std::uint64_t id_low = 0;
  std::map<std::string, std::string> configs;   // overrides, Kafka's topic-level names
  std::vector<PartitionAssignment> partitions;  // indexes 0..n-1, in order

  friend bool operator==(const TopicRecord&, const TopicRecord&) = default;
};

struct RemoveTopicRecord {
  std::string name;

  friend bool operator==(const RemoveTopicRecord&, const RemoveTopicRecord&) = default;
};

// New partitions of an existing topic: indexes continue where the topic's end.
struct AddPartitionsRecord {
  std::string name;
  std::vector<PartitionAssignment> partitions;

  friend bool operator==(const AddPartitionsRecord&, const AddPartitionsRecord&) = default;
};

// A partition leader reporting itself; applies only with an epoch above the one known.
struct LeaderRecord {
  GroupId group = 0;
  raft::NodeId leader = raft::kNoNode;
  std::int32_t epoch = 0;

  friend bool operator==(const LeaderRecord&, const LeaderRecord&) = default;
};

// A reassignment of a partition begins, or changes where it goes: the partition's Raft leader
// moves its configuration toward `target` one member at a time (add a learner, promote it,
// remove a voter, hand leadership over), then reports ReassignDoneRecord. A cancel is a
// reassignment back to the replicas the partition had before it began.
struct ReassignRecord {
  GroupId group = 0;
  std::vector<raft::NodeId> target;  // the first is the preferred leader

  friend bool operator==(const ReassignRecord&, const ReassignRecord&) = default;
};

// The partition's leader saw its committed Raft configuration equal `replicas` (the target):
// the reassignment ends, and brokers outside it drop their replicas. Applies only while the
// target is still `replicas`.
struct ReassignDoneRecord {
  GroupId group = 0;
  std::vector<raft::NodeId> replicas;
  // The term of the leader that found the configuration at the target. Refused when the image
  // knows a newer leader: a deposed leader's configuration may be behind the group's (its
  // successor may have changed it since), and brokers delete replicas on this record's word.
  std::int32_t leader_epoch = -1;

  friend bool operator==(const ReassignDoneRecord&, const ReassignDoneRecord&) = default;
};

// The controller quorum's leader fences a registered broker it has not heard from within
// broker.session.timeout.ms (Metadata leaves it out, placement skips it) and unfences it once it
// hears from it again. A registration (each restart) also unfences.
struct BrokerFenceRecord {
  raft::NodeId node_id = raft::kNoNode;
  bool fenced = true;

  friend bool operator==(const BrokerFenceRecord&, const BrokerFenceRecord&) = default;
};

using MetadataRecord =
    std::variant<BrokerRegistration, TopicRecord, RemoveTopicRecord, AddPartitionsRecord,
                 LeaderRecord, ReassignRecord, ReassignDoneRecord, BrokerFenceRecord>;

// The FlatBuffer bytes of one record.
std::vector<std::byte> encode_record(const MetadataRecord& record);
// Errors: kCorrupt when the bytes fail the FlatBuffers verifier or a field is out of range.
io::Result<MetadataRecord> decode_record(std::span<const std::byte> bytes);

// A one-record Kafka batch (magic 2, uncompressed) whose value is the encoded record, ready for
// Replica::propose.
std::vector<std::byte> record_batch(const MetadataRecord& record, std::int64_t timestamp_ms);

struct OffsetRecord {
  std::int64_t offset = 0;
  MetadataRecord record;
};
// The records in stored batches (what PartitionLog::read returns: whole batches, concatenated),
// in order, skipping control batches. Errors: kCorrupt for a batch or a record that does not
// decode.
io::Result<std::vector<OffsetRecord>> read_records(std::span<const std::byte> batches);

class MetadataImage {
 public:
  struct PartitionState {
    // During a reassignment, the target followed by the replicas from before it that are not in
    // the target: every broker that may hold a member of the partition's Raft configuration.
    PartitionAssignment assignment;
    raft::NodeId leader = raft::kNoNode;  // as last reported; kNoNode until then
    std::int32_t leader_epoch = -1;
    // During a reassignment: where it goes, and the replicas from before it began (a fresh
    // replica starts from that configuration until its log tells it better). Empty otherwise.
    std::vector<raft::NodeId> target;
    std::vector<raft::NodeId> original;

    bool reassigning() const { return !target.empty(); }
    // Kafka's view of a reassignment: replicas it adds and replicas it removes.
    std::vector<raft::NodeId> adding() const;
    std::vector<raft::NodeId> removing() const;
    // The configuration a replica opened on a fresh directory starts with.
    const std::vector<raft::NodeId>& bootstrap_voters() const {
      return reassigning() ? original : assignment.replicas;
    }
  };
  struct TopicState {
    std::string name;
    std::uint64_t id_high = 0;
    std::uint64_t id_low = 0;
    std::map<std::string, std::string> configs;
    std::vector<PartitionState> partitions;  // by index
  };

  // Applies the record found at `offset` of the metadata log. Returns false (and changes nothing
  // but applied_offset) for a record that does not apply.
  bool apply(const MetadataRecord& record, std::int64_t offset);

  // Every registered broker, fenced or not.
  const std::map<raft::NodeId, BrokerRegistration>& brokers() const { return brokers_; }
  // Whether registered broker `node` is fenced (not heard from within the session timeout).
  bool fenced(raft::NodeId node) const { return fenced_.contains(node); }
  // The registered brokers that are not fenced, in id order.
  std::vector<raft::NodeId> unfenced_brokers() const;
  const std::map<std::string, TopicState>& topics() const { return topics_; }
  const TopicState* topic(const std::string& name) const;
  // The topic and index of the partition whose Raft group is `group`.
  struct Located {
    const TopicState* topic = nullptr;
    std::int32_t partition = 0;
  };
  std::optional<Located> locate(GroupId group) const;
  // The state of the partition that Raft group `group` replicates, or null.
  const PartitionState* partition(GroupId group) const;
  // The groups of the partitions being reassigned, in id order.
  const std::set<GroupId>& reassigning() const { return reassigning_; }
  // One beyond the largest group id ever used (1 on an empty image): ids are never reused, so a
  // deleted topic's replicas can't be mistaken for a new one's.
  GroupId next_group() const { return next_group_; }
  // The offset of the last record applied; -1 before any.
  std::int64_t applied_offset() const { return applied_offset_; }

 private:
  std::map<raft::NodeId, BrokerRegistration> brokers_;
  std::set<raft::NodeId> fenced_;  // a subset of brokers_' keys
  std::map<std::string, TopicState> topics_;
  std::map<GroupId, std::pair<std::string, std::int32_t>> groups_;
  std::set<GroupId> reassigning_;  // every group whose partition's target is not empty
  GroupId next_group_ = 1;
  std::int64_t applied_offset_ = -1;
};

// Replica sets for `count` new partitions of a topic, whose indexes start at `first_index`, with
// `replication` replicas each, over the registered brokers: replicas of one partition on distinct
// brokers and, where brokers have racks, on as many distinct racks as possible; preferred leaders
// (the first replica) and replicas spread evenly, counting what `image` already places. Fenced
// brokers get none. Deterministic. Errors: kInvalid when replication < 1 or there are fewer
// unfenced brokers than `replication`.
io::Result<std::vector<std::vector<raft::NodeId>>> place_replicas(const MetadataImage& image,
                                                                  std::int32_t first_index,
                                                                  std::int32_t count,
                                                                  std::int16_t replication);

}  // namespace strand::cluster
