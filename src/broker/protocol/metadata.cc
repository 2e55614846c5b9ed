#include "broker/protocol/metadata.h"

#include "io/assert.h"

namespace strand::protocol {

namespace {

// Smallest wire size of each element, for read_array_length's bound. Vectors are not reserve()d
// from a count: a parsed element is larger in memory than on the wire, so they grow only with
// elements actually present.
constexpr std::size_t kRequestTopicBytesMin = 2;    // name length
constexpr std::size_t kBrokerBytesMin = 4 + 2 + 4;  // node_id, host length, port
constexpr std::size_t kTopicBytesMin = 2 + 2 + 4;   // error_code, name length, partitions count
constexpr std::size_t kPartitionBytesMin = 2 + 4 + 4 + 4 + 4;  // ..., replica and isr counts
constexpr std::size_t kNodeIdBytes = 4;

bool version_supported(std::int16_t version) {
  return version >= kMetadataVersionMin && version <= kMetadataVersionMax;
}

bool check_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return true;
  reader.fail("Metadata v" + std::to_string(version) + " is not implemented");
  return false;
}

std::vector<std::int32_t> read_node_ids(Reader& reader) {
  const std::int32_t count = reader.read_required_array_length(kNodeIdBytes);
  std::vector<std::int32_t> ids;
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) ids.push_back(reader.read_i32());
  return ids;
}

void write_node_ids(Writer& writer, const std::vector<std::int32_t>& ids) {
  writer.write_array_length(static_cast<std::int32_t>(ids.size()));
  for (std::int32_t id : ids) writer.write_i32(id);
}

MetadataResponsePartition read_partition(Reader& reader, std::int16_t version) {
  MetadataResponsePartition partition;
  partition.error_code = reader.read_i16();
  partition.partition_index = reader.read_i32();
  partition.leader_id = reader.read_i32();
  if (version >= 7) partition.leader_epoch = reader.read_i32();
  partition.replica_nodes = read_node_ids(reader);
  partition.isr_nodes = read_node_ids(reader);
  if (version >= 5) partition.offline_replicas = read_node_ids(reader);
  return partition;
}

void write_partition(Writer& writer, const MetadataResponsePartition& partition,
                     std::int16_t version) {
  writer.write_i16(partition.error_code);
  writer.write_i32(partition.partition_index);
  writer.write_i32(partition.leader_id);
  if (version >= 7) writer.write_i32(partition.leader_epoch);
  write_node_ids(writer, partition.replica_nodes);
  write_node_ids(writer, partition.isr_nodes);
  if (version >= 5) write_node_ids(writer, partition.offline_replicas);
}

MetadataResponseTopic read_topic(Reader& reader, std::int16_t version) {
  MetadataResponseTopic topic;
  topic.error_code = reader.read_i16();
  topic.name = reader.read_string();
  if (version >= 1) topic.is_internal = reader.read_bool();
  const std::int32_t count = reader.read_required_array_length(kPartitionBytesMin);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    topic.partitions.push_back(read_partition(reader, version));
  }
  if (version >= 8) topic.topic_authorized_operations = reader.read_i32();
  return topic;
}

void write_topic(Writer& writer, const MetadataResponseTopic& topic, std::int16_t version) {
  writer.write_i16(topic.error_code);
  writer.write_string(topic.name);
  if (version >= 1) writer.write_bool(topic.is_internal);
  writer.write_array_length(static_cast<std::int32_t>(topic.partitions.size()));
  for (const MetadataResponsePartition& partition : topic.partitions) {
    write_partition(writer, partition, version);
  }
  if (version >= 8) writer.write_i32(topic.topic_authorized_operations);
}

}  // namespace

MetadataRequest read_metadata_request(Reader& reader, std::int16_t version) {
  MetadataRequest request;
  if (!check_version(reader, version)) return request;
  std::optional<std::int32_t> count = reader.read_array_length(kRequestTopicBytesMin);
  if (!count && reader.ok() && version < 1) reader.fail("Metadata v0 topics is null");
  // v0 has no null array; its empty array is what later versions say with null.
  if (count && (*count > 0 || version >= 1)) {
    request.topics.emplace();
    for (std::int32_t i = 0; i < *count && reader.ok(); ++i) {
      request.topics->push_back(MetadataRequestTopic{reader.read_string()});
    }
  }
  if (version >= 4) request.allow_auto_topic_creation = reader.read_bool();
  if (version >= 8) {
    request.include_cluster_authorized_operations = reader.read_bool();
    request.include_topic_authorized_operations = reader.read_bool();
  }
  return request;
}

void write_metadata_request(Writer& writer, const MetadataRequest& request, std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a Metadata version we implement");
  if (!request.topics) {
    writer.write_array_length(version >= 1 ? -1 : 0);
  } else {
    writer.write_array_length(static_cast<std::int32_t>(request.topics->size()));
    for (const MetadataRequestTopic& topic : *request.topics) writer.write_string(topic.name);
  }
  if (version >= 4) writer.write_bool(request.allow_auto_topic_creation);
  if (version >= 8) {
    writer.write_bool(request.include_cluster_authorized_operations);
    writer.write_bool(request.include_topic_authorized_operations);
  }
}

void write_metadata_response(Writer& writer, const MetadataResponse& response,
                             std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a Metadata version we implement");
  if (version >= 3) writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.brokers.size()));
  for (const MetadataResponseBroker& broker : response.brokers) {
    writer.write_i32(broker.node_id);
    writer.write_string(broker.host);
    writer.write_i32(broker.port);
    if (version >= 1) writer.write_nullable_string(broker.rack);
  }
  if (version >= 2) writer.write_nullable_string(response.cluster_id);
  if (version >= 1) writer.write_i32(response.controller_id);
  writer.write_array_length(static_cast<std::int32_t>(response.topics.size()));
  for (const MetadataResponseTopic& topic : response.topics) write_topic(writer, topic, version);
  if (version >= 8) writer.write_i32(response.cluster_authorized_operations);
}

MetadataResponse read_metadata_response(Reader& reader, std::int16_t version) {
  MetadataResponse response;
  if (!check_version(reader, version)) return response;
  if (version >= 3) response.throttle_time_ms = reader.read_i32();
  const std::int32_t broker_count = reader.read_required_array_length(kBrokerBytesMin);
  for (std::int32_t i = 0; i < broker_count && reader.ok(); ++i) {
    MetadataResponseBroker broker;
    broker.node_id = reader.read_i32();
    broker.host = reader.read_string();
    broker.port = reader.read_i32();
    if (version >= 1) broker.rack = reader.read_nullable_string();
    response.brokers.push_back(std::move(broker));
  }
  if (version >= 2) response.cluster_id = reader.read_nullable_string();
  if (version >= 1) response.controller_id = reader.read_i32();
  const std::int32_t topic_count = reader.read_required_array_length(kTopicBytesMin);
  for (std::int32_t i = 0; i < topic_count && reader.ok(); ++i) {
    response.topics.push_back(read_topic(reader, version));
  }
  if (version >= 8) response.cluster_authorized_operations = reader.read_i32();
  return response;
}

}  // namespace strand::protocol
