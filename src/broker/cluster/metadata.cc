#include "broker/cluster/metadata.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include "broker/cluster/metadata_records_generated.h"
#include "broker/protocol/batch_builder.h"
#include "broker/protocol/byte_order.h"
#include "broker/protocol/record_batch.h"
#include "io/assert.h"

namespace strand::cluster {

namespace {

namespace wire = strand::cluster::fb;
using Builder = flatbuffers::FlatBufferBuilder;

io::Error corrupt(std::string message) {
  return io::Error{io::ErrorKind::kCorrupt, "metadata record: " + std::move(message)};
}

// What both the decoder (bytes that break it are corrupt) and the image (a record that breaks it
// does not apply) demand of a replica set: some replicas, all real node ids, none twice.
bool replicas_valid(const std::vector<raft::NodeId>& replicas) {
  if (replicas.empty()) return false;
  std::set<raft::NodeId> seen;
  for (raft::NodeId id : replicas) {
    if (id < 0 || !seen.insert(id).second) return false;
  }
  return true;
}

// ---- encoding ----

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::PartitionAssignment>>>
encode_partitions(Builder& builder, const std::vector<PartitionAssignment>& partitions) {
  std::vector<flatbuffers::Offset<wire::PartitionAssignment>> out;
  out.reserve(partitions.size());
  for (const PartitionAssignment& p : partitions) {
    auto replicas = builder.CreateVector(p.replicas);
    out.push_back(wire::CreatePartitionAssignment(builder, p.partition, p.group, replicas));
  }
  return builder.CreateVector(out);
}

flatbuffers::Offset<wire::TopicRecord> encode_topic(Builder& builder, const TopicRecord& r) {
  auto name = builder.CreateString(r.name);
  std::vector<flatbuffers::Offset<wire::Config>> configs;
  configs.reserve(r.configs.size());
  for (const auto& [key, value] : r.configs) {
    auto k = builder.CreateString(key);
    auto v = builder.CreateString(value);
    configs.push_back(wire::CreateConfig(builder, k, v));
  }
  auto config_vector = builder.CreateVector(configs);
  auto partitions = encode_partitions(builder, r.partitions);
  return wire::CreateTopicRecord(builder, name, r.id_high, r.id_low, config_vector, partitions);
}

std::pair<wire::Body, flatbuffers::Offset<void>> encode_body(Builder& builder,
                                                             const MetadataRecord& record) {
  if (const auto* r = std::get_if<BrokerRegistration>(&record)) {
    auto host = builder.CreateString(r->host);
    auto rpc_host = builder.CreateString(r->rpc_host);
    auto rack = builder.CreateString(r->rack);
    return {wire::Body::BrokerRegistration,
            wire::CreateBrokerRegistration(builder, r->node_id, host, r->port, rpc_host,
                                           r->rpc_port, rack, r->incarnation)
                .Union()};
  }
  if (const auto* r = std::get_if<TopicRecord>(&record)) {
    return {wire::Body::TopicRecord, encode_topic(builder, *r).Union()};
  }
  if (const auto* r = std::get_if<RemoveTopicRecord>(&record)) {
    auto name = builder.CreateString(r->name);
    return {wire::Body::RemoveTopicRecord, wire::CreateRemoveTopicRecord(builder, name).Union()};
  }
  if (const auto* r = std::get_if<AddPartitionsRecord>(&record)) {
    auto name = builder.CreateString(r->name);
    auto partitions = encode_partitions(builder, r->partitions);
    return {wire::Body::AddPartitionsRecord,
            wire::CreateAddPartitionsRecord(builder, name, partitions).Union()};
  }
  if (const auto* r = std::get_if<ReassignRecord>(&record)) {
    auto target = builder.CreateVector(r->target);
    return {wire::Body::ReassignRecord,
            wire::CreateReassignRecord(builder, r->group, target).Union()};
  }
  if (const auto* r = std::get_if<ReassignDoneRecord>(&record)) {
    auto replicas = builder.CreateVector(r->replicas);
    return {wire::Body::ReassignDoneRecord,
            wire::CreateReassignDoneRecord(builder, r->group, replicas, r->leader_epoch).Union()};
  }
  if (const auto* r = std::get_if<BrokerFenceRecord>(&record)) {
    return {wire::Body::BrokerFence,
            wire::CreateBrokerFence(builder, r->node_id, r->fenced).Union()};
  }
  const auto* r = std::get_if<LeaderRecord>(&record);
  STRAND_ASSERT(r != nullptr, "every record kind is encoded");
  return {wire::Body::LeaderRecord,
          wire::CreateLeaderRecord(builder, r->group, r->leader, r->epoch).Union()};
}

// ---- decoding: the verifier has run, so every offset is in bounds; the values are checked here.

io::Result<std::string> required_name(const flatbuffers::String* name, const char* what) {
  if (name == nullptr || name->size() == 0) return corrupt(std::string(what) + " has no name");
  return name->str();
}

std::string optional_string(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : s->str();
}

io::Result<std::uint16_t> port_of(std::int32_t port, const char* what) {
  if (port < 0 || port > std::numeric_limits<std::uint16_t>::max()) {
    return corrupt(std::string(what) + " " + std::to_string(port) + " is out of range");
  }
  return static_cast<std::uint16_t>(port);
}

io::Result<MetadataRecord> decode_broker(const wire::BrokerRegistration& in) {
  if (in.node_id() < 0) return corrupt("broker id " + std::to_string(in.node_id()));
  io::Result<std::uint16_t> port = port_of(in.port(), "port");
  if (!port) return std::move(port).error();
  io::Result<std::uint16_t> rpc_port = port_of(in.rpc_port(), "rpc port");
  if (!rpc_port) return std::move(rpc_port).error();
  BrokerRegistration out;
  out.node_id = in.node_id();
  out.host = optional_string(in.host());
  out.port = *port;
  out.rpc_host = optional_string(in.rpc_host());
  out.rpc_port = *rpc_port;
  out.rack = optional_string(in.rack());
  out.incarnation = in.incarnation();
  return MetadataRecord{std::move(out)};
}

using WirePartitions = flatbuffers::Vector<flatbuffers::Offset<wire::PartitionAssignment>>;

io::Result<std::vector<PartitionAssignment>> decode_partitions(const WirePartitions* in) {
  std::vector<PartitionAssignment> out;
  if (in == nullptr) return out;
  out.reserve(in->size());
  for (const wire::PartitionAssignment* p : *in) {
    if (p->partition() < 0) return corrupt("partition " + std::to_string(p->partition()));
    PartitionAssignment assignment;
    assignment.partition = p->partition();
    assignment.group = p->group();
    if (p->replicas() != nullptr) {
      assignment.replicas.assign(p->replicas()->begin(), p->replicas()->end());
    }
    if (!replicas_valid(assignment.replicas)) {
      return corrupt("partition " + std::to_string(p->partition()) +
                     " has an empty replica set, a negative id or a duplicate");
    }
    out.push_back(std::move(assignment));
  }
  return out;
}

io::Result<MetadataRecord> decode_topic(const wire::TopicRecord& in) {
  io::Result<std::string> name = required_name(in.name(), "topic");
  if (!name) return std::move(name).error();
  TopicRecord out;
  out.name = std::move(*name);
  out.id_high = in.id_high();
  out.id_low = in.id_low();
  if (in.configs() != nullptr) {
    for (const wire::Config* config : *in.configs()) {
      if (config->key() == nullptr || config->value() == nullptr) {
        return corrupt("topic " + out.name + ": a config without key or value");
      }
      if (!out.configs.emplace(config->key()->str(), config->value()->str()).second) {
        return corrupt("topic " + out.name + ": config " + config->key()->str() + " twice");
      }
    }
  }
  io::Result<std::vector<PartitionAssignment>> partitions = decode_partitions(in.partitions());
  if (!partitions) return io::with_context(std::move(partitions).error(), "topic " + out.name);
  out.partitions = std::move(*partitions);
  return MetadataRecord{std::move(out)};
}

io::Result<MetadataRecord> decode_add_partitions(const wire::AddPartitionsRecord& in) {
  io::Result<std::string> name = required_name(in.name(), "added partitions' topic");
  if (!name) return std::move(name).error();
  AddPartitionsRecord out;
  out.name = std::move(*name);
  io::Result<std::vector<PartitionAssignment>> partitions = decode_partitions(in.partitions());
  if (!partitions) return io::with_context(std::move(partitions).error(), "topic " + out.name);
  out.partitions = std::move(*partitions);
  return MetadataRecord{std::move(out)};
}

io::Result<std::vector<raft::NodeId>> decode_replicas(const flatbuffers::Vector<std::int32_t>* in,
                                                      GroupId group) {
  std::vector<raft::NodeId> out;
  if (in != nullptr) out.assign(in->begin(), in->end());
  if (!replicas_valid(out)) {
    return corrupt("reassignment of group " + std::to_string(group) +
                   ": an empty replica set, a negative id or a duplicate");
  }
  return out;
}

io::Result<MetadataRecord> decode_body(const wire::MetadataRecord& in) {
  // The verifier accepts a union type whose table is absent; body_as_*() is then null.
  if (in.body() == nullptr) return corrupt("missing record body");
  switch (in.body_type()) {
    case wire::Body::BrokerRegistration:
      return decode_broker(*in.body_as_BrokerRegistration());
    case wire::Body::TopicRecord:
      return decode_topic(*in.body_as_TopicRecord());
    case wire::Body::RemoveTopicRecord: {
      io::Result<std::string> name =
          required_name(in.body_as_RemoveTopicRecord()->name(), "removed topic");
      if (!name) return std::move(name).error();
      return MetadataRecord{RemoveTopicRecord{std::move(*name)}};
    }
    case wire::Body::AddPartitionsRecord:
      return decode_add_partitions(*in.body_as_AddPartitionsRecord());
    case wire::Body::LeaderRecord: {
      const wire::LeaderRecord& r = *in.body_as_LeaderRecord();
      if (r.leader() < 0 || r.epoch() < 0) {
        return corrupt("leader " + std::to_string(r.leader()) + " epoch " +
                       std::to_string(r.epoch()));
      }
      return MetadataRecord{LeaderRecord{r.group(), r.leader(), r.epoch()}};
    }
    case wire::Body::ReassignRecord: {
      const wire::ReassignRecord& r = *in.body_as_ReassignRecord();
      io::Result<std::vector<raft::NodeId>> target = decode_replicas(r.target(), r.group());
      if (!target) return std::move(target).error();
      return MetadataRecord{ReassignRecord{r.group(), std::move(*target)}};
    }
    case wire::Body::ReassignDoneRecord: {
      const wire::ReassignDoneRecord& r = *in.body_as_ReassignDoneRecord();
      io::Result<std::vector<raft::NodeId>> replicas = decode_replicas(r.replicas(), r.group());
      if (!replicas) return std::move(replicas).error();
      return MetadataRecord{ReassignDoneRecord{r.group(), std::move(*replicas), r.leader_epoch()}};
    }
    case wire::Body::BrokerFence: {
      const wire::BrokerFence& r = *in.body_as_BrokerFence();
      if (r.node_id() < 0) return corrupt("fenced broker id " + std::to_string(r.node_id()));
      return MetadataRecord{BrokerFenceRecord{r.node_id(), r.fenced()}};
    }
    default:
      return corrupt("unknown or missing record kind");
  }
}

// The offset of a batch from its header, for error messages; -1 when even that is cut off.
std::int64_t base_offset_of(std::span<const std::byte> batch) {
  if (batch.size() < sizeof(std::int64_t)) return -1;
  return protocol::load_be<std::int64_t>(batch.data());
}

}  // namespace

std::vector<std::byte> encode_record(const MetadataRecord& record) {
  Builder builder;
  auto [type, body] = encode_body(builder, record);
  builder.Finish(wire::CreateMetadataRecord(builder, type, body));
  const auto* data = reinterpret_cast<const std::byte*>(builder.GetBufferPointer());
  return std::vector<std::byte>(data, data + builder.GetSize());
}

io::Result<MetadataRecord> decode_record(std::span<const std::byte> bytes) {
  // Record values sit at any position inside a batch; FlatBuffers reads scalars in place, so
  // misaligned bytes are copied to an aligned buffer first.
  std::vector<std::uint64_t> aligned;
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (reinterpret_cast<std::uintptr_t>(data) % alignof(std::uint64_t) != 0) {
    aligned.resize((bytes.size() + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
    if (!bytes.empty()) std::memcpy(aligned.data(), bytes.data(), bytes.size());
    data = reinterpret_cast<const std::uint8_t*>(aligned.data());
  }
  flatbuffers::Verifier verifier(data, bytes.size());
  if (!wire::VerifyMetadataRecordBuffer(verifier)) return corrupt("does not verify");
  return decode_body(*wire::GetMetadataRecord(data));
}

std::vector<std::byte> record_batch(const MetadataRecord& record, std::int64_t timestamp_ms) {
  const std::vector<std::byte> encoded = encode_record(record);
  protocol::Record kafka_record;
  kafka_record.value.emplace(reinterpret_cast<const char*>(encoded.data()), encoded.size());
  kafka_record.timestamp_ms = timestamp_ms;
  return protocol::build_batch(std::span<const protocol::Record>(&kafka_record, 1));
}

io::Result<std::vector<OffsetRecord>> read_records(std::span<const std::byte> batches) {
  std::vector<OffsetRecord> out;
  // Each pass consumes one whole batch (at least a header's worth of bytes), so this ends.
  while (!batches.empty()) {
    const std::string where = "metadata batch at offset " + std::to_string(base_offset_of(batches));
    io::Result<std::uint32_t> size = protocol::RecordBatchView::peek_size(batches);
    if (!size) return io::with_context(std::move(size).error(), where);
    if (*size > batches.size()) return corrupt(where + ": truncated batch");
    io::Result<protocol::RecordBatchView> view =
        protocol::RecordBatchView::parse(batches.first(*size), protocol::BatchOrigin::kLog);
    batches = batches.subspan(*size);
    if (!view) return io::with_context(std::move(view).error(), where);
    if (view->control()) continue;  // Raft's leader-change and configuration entries
    io::Result<std::vector<protocol::Record>> records = protocol::read_records(*view);
    if (!records) return io::with_context(std::move(records).error(), where);
    for (const protocol::Record& record : *records) {
      const std::string at = "metadata record at offset " + std::to_string(record.offset);
      if (!record.value) return corrupt(at + ": no value");
      io::Result<MetadataRecord> decoded = decode_record(std::span<const std::byte>(
          reinterpret_cast<const std::byte*>(record.value->data()), record.value->size()));
      if (!decoded) return io::with_context(std::move(decoded).error(), at);
      out.push_back(OffsetRecord{record.offset, std::move(*decoded)});
    }
  }
  return out;
}

// ---- the image ----

namespace {

struct ImageState {
  std::map<std::string, MetadataImage::TopicState>& topics;
  std::map<GroupId, std::pair<std::string, std::int32_t>>& groups;
  GroupId& next_group;
  std::set<GroupId>& reassigning;
};

// New partitions apply when their indexes continue from `first_index` in order, their replica sets
// are valid and their groups were never used: every group ever used is below next_group, so a
// deleted topic's group can't come back.
bool partitions_apply(const ImageState& s, const std::vector<PartitionAssignment>& partitions,
                      std::int32_t first_index) {
  std::set<GroupId> seen;
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    const PartitionAssignment& p = partitions[i];
    if (static_cast<std::int64_t>(p.partition) != first_index + static_cast<std::int64_t>(i)) {
      return false;
    }
    if (p.group == kMetadataGroup || p.group < s.next_group ||
        p.group == std::numeric_limits<GroupId>::max() || !seen.insert(p.group).second) {
      return false;
    }
    if (!replicas_valid(p.replicas)) return false;
  }
  return true;
}

void add_partitions(const ImageState& s, MetadataImage::TopicState& topic,
                    const std::vector<PartitionAssignment>& partitions) {
  for (const PartitionAssignment& p : partitions) {
    STRAND_ASSERT(p.partition == static_cast<std::int32_t>(topic.partitions.size()),
                  "partitions_apply checked the order");
    s.groups.emplace(p.group, std::make_pair(topic.name, p.partition));
    s.next_group = std::max(s.next_group, p.group + 1);
    MetadataImage::PartitionState& added = topic.partitions.emplace_back();
    added.assignment = p;
  }
}

bool apply_topic(const ImageState& s, const TopicRecord& r) {
  if (r.name.empty() || s.topics.contains(r.name)) return false;
  if (!partitions_apply(s, r.partitions, 0)) return false;
  MetadataImage::TopicState& topic = s.topics[r.name];
  topic.name = r.name;
  topic.id_high = r.id_high;
  topic.id_low = r.id_low;
  topic.configs = r.configs;
  add_partitions(s, topic, r.partitions);
  return true;
}

bool apply_remove(const ImageState& s, const RemoveTopicRecord& r) {
  auto it = s.topics.find(r.name);
  if (it == s.topics.end()) return false;
  for (const MetadataImage::PartitionState& p : it->second.partitions) {
    s.groups.erase(p.assignment.group);
    s.reassigning.erase(p.assignment.group);
  }
  s.topics.erase(it);
  return true;
}

bool apply_add_partitions(const ImageState& s, const AddPartitionsRecord& r) {
  auto it = s.topics.find(r.name);
  if (it == s.topics.end() || r.partitions.empty()) return false;
  const auto count = static_cast<std::int32_t>(it->second.partitions.size());
  if (!partitions_apply(s, r.partitions, count)) return false;
  add_partitions(s, it->second, r.partitions);
  return true;
}

// The partition whose Raft group is `group`, or null.
MetadataImage::PartitionState* partition_of(const ImageState& s, GroupId group) {
  auto found = s.groups.find(group);
  if (found == s.groups.end()) return nullptr;
  auto topic = s.topics.find(found->second.first);
  STRAND_ASSERT(topic != s.topics.end(), "a known group belongs to a known topic");
  const auto index = static_cast<std::size_t>(found->second.second);
  STRAND_ASSERT(index < topic->second.partitions.size(), "a known group is a known partition");
  return &topic->second.partitions[index];
}

bool contains(const std::vector<raft::NodeId>& nodes, raft::NodeId node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

bool apply_reassign(const ImageState& s, const ReassignRecord& r) {
  MetadataImage::PartitionState* partition = partition_of(s, r.group);
  if (partition == nullptr || !replicas_valid(r.target)) return false;
  std::vector<raft::NodeId>& replicas = partition->assignment.replicas;
  if (!partition->reassigning()) partition->original = replicas;
  // Every broker that was a replica stays one until the reassignment is done: the leader may
  // not have removed it from the Raft configuration yet.
  std::vector<raft::NodeId> hosting = r.target;
  for (raft::NodeId node : replicas) {
    if (!contains(hosting, node)) hosting.push_back(node);
  }
  replicas = std::move(hosting);
  partition->target = r.target;
  s.reassigning.insert(r.group);
  return true;
}

bool apply_reassign_done(const ImageState& s, const ReassignDoneRecord& r) {
  MetadataImage::PartitionState* partition = partition_of(s, r.group);
  if (partition == nullptr || !partition->reassigning() || partition->target != r.replicas) {
    return false;
  }
  if (r.leader_epoch >= 0 && r.leader_epoch < partition->leader_epoch) return false;
  partition->assignment.replicas = r.replicas;
  partition->target.clear();
  partition->original.clear();
  s.reassigning.erase(r.group);
  return true;
}

bool apply_leader(const ImageState& s, const LeaderRecord& r) {
  MetadataImage::PartitionState* found = partition_of(s, r.group);
  if (found == nullptr) return false;
  MetadataImage::PartitionState& partition = *found;
  if (r.epoch <= partition.leader_epoch) return false;
  partition.leader = r.leader;
  partition.leader_epoch = r.epoch;
  return true;
}

}  // namespace

bool MetadataImage::apply(const MetadataRecord& record, std::int64_t offset) {
  STRAND_ASSERT(offset > applied_offset_, "metadata records apply in log order, once each");
  applied_offset_ = offset;
  const ImageState s{topics_, groups_, next_group_, reassigning_};
  if (const auto* r = std::get_if<BrokerRegistration>(&record)) {
    if (r->node_id < 0) return false;
    brokers_[r->node_id] = *r;
    fenced_.erase(r->node_id);  // it just spoke to the controller
    return true;
  }
  if (const auto* r = std::get_if<BrokerFenceRecord>(&record)) {
    if (!brokers_.contains(r->node_id) || fenced(r->node_id) == r->fenced) return false;
    if (r->fenced) {
      fenced_.insert(r->node_id);
    } else {
      fenced_.erase(r->node_id);
    }
    return true;
  }
  if (const auto* r = std::get_if<TopicRecord>(&record)) return apply_topic(s, *r);
  if (const auto* r = std::get_if<RemoveTopicRecord>(&record)) return apply_remove(s, *r);
  if (const auto* r = std::get_if<AddPartitionsRecord>(&record)) {
    return apply_add_partitions(s, *r);
  }
  if (const auto* r = std::get_if<ReassignRecord>(&record)) return apply_reassign(s, *r);
  if (const auto* r = std::get_if<ReassignDoneRecord>(&record)) {
    return apply_reassign_done(s, *r);
  }
  const auto* r = std::get_if<LeaderRecord>(&record);
  STRAND_ASSERT(r != nullptr, "every record kind is applied");
  return apply_leader(s, *r);
}

std::vector<raft::NodeId> MetadataImage::PartitionState::adding() const {
  std::vector<raft::NodeId> out;
  for (raft::NodeId node : target) {
    if (!contains(original, node)) out.push_back(node);
  }
  return out;
}

std::vector<raft::NodeId> MetadataImage::PartitionState::removing() const {
  std::vector<raft::NodeId> out;
  if (!reassigning()) return out;
  for (raft::NodeId node : assignment.replicas) {
    if (!contains(target, node)) out.push_back(node);
  }
  return out;
}

std::vector<raft::NodeId> MetadataImage::unfenced_brokers() const {
  std::vector<raft::NodeId> out;
  for (const auto& [id, broker] : brokers_) {
    if (!fenced(id)) out.push_back(id);
  }
  return out;
}

const MetadataImage::TopicState* MetadataImage::topic(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second;
}

std::optional<MetadataImage::Located> MetadataImage::locate(GroupId group) const {
  auto it = groups_.find(group);
  if (it == groups_.end()) return std::nullopt;
  const TopicState* state = topic(it->second.first);
  STRAND_ASSERT(state != nullptr, "a known group belongs to a known topic");
  return Located{state, it->second.second};
}

const MetadataImage::PartitionState* MetadataImage::partition(GroupId group) const {
  std::optional<Located> located = locate(group);
  if (!located) return nullptr;
  return &located->topic->partitions.at(static_cast<std::size_t>(located->partition));
}

}  // namespace strand::cluster
