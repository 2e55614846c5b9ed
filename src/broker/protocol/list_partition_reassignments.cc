#include "broker/protocol/list_partition_reassignments.h"

#include <string>
#include <string_view>

namespace strand::protocol {

namespace {

// Smallest wire sizes, so a lying array length is refused before anything is allocated. An empty
// compact string or array, a null, and an empty tagged-field section are one varint byte each.
constexpr std::size_t kTopicBytesMin = 1 + 1 + 1;         // name, partition_indexes, tagged
constexpr std::size_t kOngoingTopicBytesMin = 1 + 1 + 1;  // name, partitions, tagged
// index, replicas, adding_replicas, removing_replicas, tagged
constexpr std::size_t kOngoingPartitionBytesMin = 4 + 1 + 1 + 1 + 1;
constexpr std::size_t kInt32Bytes = 4;

bool version_supported(std::int16_t version) {
  return version >= kListPartitionReassignmentsVersionMin &&
         version <= kListPartitionReassignmentsVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("ListPartitionReassignments v" + std::to_string(version) + " is not implemented");
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

std::vector<std::int32_t> read_int32s(Reader& reader, std::string_view field) {
  std::vector<std::int32_t> values;
  const std::int32_t count = read_required_compact_count(reader, kInt32Bytes, field);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) values.push_back(reader.read_i32());
  return values;
}

void write_int32s(Writer& writer, const std::vector<std::int32_t>& values) {
  writer.write_compact_array_length(static_cast<std::int32_t>(values.size()));
  for (std::int32_t value : values) writer.write_i32(value);
}

ListPartitionReassignmentsTopic read_topic(Reader& reader) {
  ListPartitionReassignmentsTopic topic;
  topic.name = reader.read_compact_string();
  topic.partition_indexes = read_int32s(reader, "partition_indexes");
  (void)reader.read_tagged_fields();
  return topic;
}

OngoingPartitionReassignment read_ongoing_partition(Reader& reader) {
  OngoingPartitionReassignment partition;
  partition.partition_index = reader.read_i32();
  partition.replicas = read_int32s(reader, "replicas");
  partition.adding_replicas = read_int32s(reader, "adding_replicas");
  partition.removing_replicas = read_int32s(reader, "removing_replicas");
  (void)reader.read_tagged_fields();
  return partition;
}

OngoingTopicReassignment read_ongoing_topic(Reader& reader) {
  OngoingTopicReassignment topic;
  topic.name = reader.read_compact_string();
  const std::int32_t partitions =
      read_required_compact_count(reader, kOngoingPartitionBytesMin, "partitions");
  for (std::int32_t i = 0; i < partitions && reader.ok(); ++i) {
    topic.partitions.push_back(read_ongoing_partition(reader));
  }
  (void)reader.read_tagged_fields();
  return topic;
}

void write_ongoing_topic(Writer& writer, const OngoingTopicReassignment& topic) {
  writer.write_compact_string(topic.name);
  writer.write_compact_array_length(static_cast<std::int32_t>(topic.partitions.size()));
  for (const OngoingPartitionReassignment& partition : topic.partitions) {
    writer.write_i32(partition.partition_index);
    write_int32s(writer, partition.replicas);
    write_int32s(writer, partition.adding_replicas);
    write_int32s(writer, partition.removing_replicas);
    writer.write_empty_tagged_fields();
  }
  writer.write_empty_tagged_fields();
}

}  // namespace

ListPartitionReassignmentsRequest read_list_partition_reassignments_request(Reader& reader,
                                                                            std::int16_t version) {
  ListPartitionReassignmentsRequest request;
  if (refuse_version(reader, version)) return request;
  request.timeout_ms = reader.read_i32();
  const std::optional<std::int32_t> topics = reader.read_compact_array_length(kTopicBytesMin);
  if (topics && reader.ok()) {
    request.topics.emplace();
    for (std::int32_t i = 0; i < *topics && reader.ok(); ++i) {
      request.topics->push_back(read_topic(reader));
    }
  }
  (void)reader.read_tagged_fields();
  return request;
}

void write_list_partition_reassignments_request(Writer& writer,
                                                const ListPartitionReassignmentsRequest& request,
                                                std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a ListPartitionReassignments version we implement");
  writer.write_i32(request.timeout_ms);
  if (request.topics) {
    writer.write_compact_array_length(static_cast<std::int32_t>(request.topics->size()));
    for (const ListPartitionReassignmentsTopic& topic : *request.topics) {
      writer.write_compact_string(topic.name);
      write_int32s(writer, topic.partition_indexes);
      writer.write_empty_tagged_fields();
    }
  } else {
    writer.write_compact_array_length(-1);
  }
  writer.write_empty_tagged_fields();
}

void write_list_partition_reassignments_response(Writer& writer,
                                                 const ListPartitionReassignmentsResponse& response,
                                                 std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a ListPartitionReassignments version we implement");
  writer.write_i32(response.throttle_time_ms);
  writer.write_i16(response.error_code);
  writer.write_compact_nullable_string(response.error_message);
  writer.write_compact_array_length(static_cast<std::int32_t>(response.topics.size()));
  for (const OngoingTopicReassignment& topic : response.topics) write_ongoing_topic(writer, topic);
  writer.write_empty_tagged_fields();
}

ListPartitionReassignmentsResponse read_list_partition_reassignments_response(
    Reader& reader, std::int16_t version) {
  ListPartitionReassignmentsResponse response;
  if (refuse_version(reader, version)) return response;
  response.throttle_time_ms = reader.read_i32();
  response.error_code = reader.read_i16();
  response.error_message = reader.read_compact_nullable_string();
  const std::int32_t topics = read_required_compact_count(reader, kOngoingTopicBytesMin, "topics");
  for (std::int32_t i = 0; i < topics && reader.ok(); ++i) {
    response.topics.push_back(read_ongoing_topic(reader));
  }
  (void)reader.read_tagged_fields();
  return response;
}

}  // namespace strand::protocol
