#include "broker/protocol/alter_partition_reassignments.h"

#include <string>
#include <string_view>
#include <utility>

namespace strand::protocol {

namespace {

// Smallest wire sizes, so a lying array length is refused before anything is allocated. An empty
// compact string or array, a null, and an empty tagged-field section are one varint byte each.
constexpr std::size_t kTopicBytesMin = 1 + 1 + 1;                // name, partitions, tagged
constexpr std::size_t kPartitionBytesMin = 4 + 1 + 1;            // index, replicas (null), tagged
constexpr std::size_t kTopicResultBytesMin = 1 + 1 + 1;          // name, partitions, tagged
constexpr std::size_t kPartitionResultBytesMin = 4 + 2 + 1 + 1;  // index, error, message, tagged
constexpr std::size_t kBrokerIdBytes = 4;

bool version_supported(std::int16_t version) {
  return version >= kAlterPartitionReassignmentsVersionMin &&
         version <= kAlterPartitionReassignmentsVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("AlterPartitionReassignments v" + std::to_string(version) + " is not implemented");
  return true;
}

// A compact array that may not be null: null latches an error naming `field`; returns 0 then.
std::int32_t read_required_compact_count(Reader& reader, std::size_t element_bytes_min,
                                         std::string_view field) {
  const std::optional<std::int32_t> count = reader.read_compact_array_length(element_bytes_min);
  // A non-nullable array sent as null is malformed; Kafka's own decoder refuses it too.
  if (!count && reader.ok()) reader.fail(std::string(field) + " is null; it is not nullable");
  return count.value_or(0);
}

AlterPartitionReassignmentsPartition read_partition(Reader& reader) {
  AlterPartitionReassignmentsPartition partition;
  partition.partition_index = reader.read_i32();
  const std::optional<std::int32_t> replicas = reader.read_compact_array_length(kBrokerIdBytes);
  if (replicas && reader.ok()) {
    partition.replicas.emplace();
    for (std::int32_t i = 0; i < *replicas && reader.ok(); ++i) {
      partition.replicas->push_back(reader.read_i32());
    }
  }
  (void)reader.read_tagged_fields();
  return partition;
}

AlterPartitionReassignmentsTopic read_topic(Reader& reader) {
  AlterPartitionReassignmentsTopic topic;
  topic.name = reader.read_compact_string();
  const std::int32_t partitions =
      read_required_compact_count(reader, kPartitionBytesMin, "partitions");
  for (std::int32_t i = 0; i < partitions && reader.ok(); ++i) {
    topic.partitions.push_back(read_partition(reader));
  }
  (void)reader.read_tagged_fields();
  return topic;
}

void write_topic(Writer& writer, const AlterPartitionReassignmentsTopic& topic) {
  writer.write_compact_string(topic.name);
  writer.write_compact_array_length(static_cast<std::int32_t>(topic.partitions.size()));
  for (const AlterPartitionReassignmentsPartition& partition : topic.partitions) {
    writer.write_i32(partition.partition_index);
    if (partition.replicas) {
      writer.write_compact_array_length(static_cast<std::int32_t>(partition.replicas->size()));
      for (std::int32_t broker_id : *partition.replicas) writer.write_i32(broker_id);
    } else {
      writer.write_compact_array_length(-1);
    }
    writer.write_empty_tagged_fields();
  }
  writer.write_empty_tagged_fields();
}

AlterPartitionReassignmentsTopicResult read_topic_result(Reader& reader) {
  AlterPartitionReassignmentsTopicResult topic;
  topic.name = reader.read_compact_string();
  const std::int32_t partitions =
      read_required_compact_count(reader, kPartitionResultBytesMin, "partitions");
  for (std::int32_t i = 0; i < partitions && reader.ok(); ++i) {
    AlterPartitionReassignmentsPartitionResult partition;
    partition.partition_index = reader.read_i32();
    partition.error_code = reader.read_i16();
    partition.error_message = reader.read_compact_nullable_string();
    (void)reader.read_tagged_fields();
    topic.partitions.push_back(std::move(partition));
  }
  (void)reader.read_tagged_fields();
  return topic;
}

void write_topic_result(Writer& writer, const AlterPartitionReassignmentsTopicResult& topic) {
  writer.write_compact_string(topic.name);
  writer.write_compact_array_length(static_cast<std::int32_t>(topic.partitions.size()));
  for (const AlterPartitionReassignmentsPartitionResult& partition : topic.partitions) {
    writer.write_i32(partition.partition_index);
    writer.write_i16(partition.error_code);
    writer.write_compact_nullable_string(partition.error_message);
    writer.write_empty_tagged_fields();
  }
  writer.write_empty_tagged_fields();
}

}  // namespace

AlterPartitionReassignmentsRequest read_alter_partition_reassignments_request(
    Reader& reader, std::int16_t version) {
  AlterPartitionReassignmentsRequest request;
  if (refuse_version(reader, version)) return request;
  request.timeout_ms = reader.read_i32();
  const std::int32_t topics = read_required_compact_count(reader, kTopicBytesMin, "topics");
  for (std::int32_t i = 0; i < topics && reader.ok(); ++i) {
    request.topics.push_back(read_topic(reader));
  }
  (void)reader.read_tagged_fields();
  return request;
}

void write_alter_partition_reassignments_request(Writer& writer,
                                                 const AlterPartitionReassignmentsRequest& request,
                                                 std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "an AlterPartitionReassignments version we implement");
  writer.write_i32(request.timeout_ms);
  writer.write_compact_array_length(static_cast<std::int32_t>(request.topics.size()));
  for (const AlterPartitionReassignmentsTopic& topic : request.topics) write_topic(writer, topic);
  writer.write_empty_tagged_fields();
}

void write_alter_partition_reassignments_response(
    Writer& writer, const AlterPartitionReassignmentsResponse& response, std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "an AlterPartitionReassignments version we implement");
  writer.write_i32(response.throttle_time_ms);
  writer.write_i16(response.error_code);
  writer.write_compact_nullable_string(response.error_message);
  writer.write_compact_array_length(static_cast<std::int32_t>(response.responses.size()));
  for (const AlterPartitionReassignmentsTopicResult& topic : response.responses) {
    write_topic_result(writer, topic);
  }
  writer.write_empty_tagged_fields();
}

AlterPartitionReassignmentsResponse read_alter_partition_reassignments_response(
    Reader& reader, std::int16_t version) {
  AlterPartitionReassignmentsResponse response;
  if (refuse_version(reader, version)) return response;
  response.throttle_time_ms = reader.read_i32();
  response.error_code = reader.read_i16();
  response.error_message = reader.read_compact_nullable_string();
  const std::int32_t topics =
      read_required_compact_count(reader, kTopicResultBytesMin, "responses");
  for (std::int32_t i = 0; i < topics && reader.ok(); ++i) {
    response.responses.push_back(read_topic_result(reader));
  }
  (void)reader.read_tagged_fields();
  return response;
}

}  // namespace strand::protocol
