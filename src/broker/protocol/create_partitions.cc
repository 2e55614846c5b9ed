#include "broker/protocol/create_partitions.h"

#include <string>

namespace strand::protocol {

namespace {

// Smallest wire sizes, so a lying array length is refused before anything is allocated.
constexpr std::size_t kTopicBytesMin = 2 + 4 + 4;   // name, count, assignments (null)
constexpr std::size_t kAssignmentBytesMin = 4;      // broker_ids
constexpr std::size_t kResultBytesMin = 2 + 2 + 2;  // name, error_code, error_message (null)

bool version_supported(std::int16_t version) {
  return version >= kCreatePartitionsVersionMin && version <= kCreatePartitionsVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("CreatePartitions v" + std::to_string(version) + " is not implemented");
  return true;
}

CreatePartitionsTopic read_topic(Reader& reader) {
  CreatePartitionsTopic topic;
  topic.name = reader.read_string();
  topic.count = reader.read_i32();
  const std::optional<std::int32_t> assignments = reader.read_array_length(kAssignmentBytesMin);
  if (!assignments || !reader.ok()) return topic;
  topic.assignments.emplace();
  for (std::int32_t i = 0; i < *assignments && reader.ok(); ++i) {
    CreatePartitionsAssignment assignment;
    const std::int32_t brokers = reader.read_required_array_length(4, "broker_ids");
    for (std::int32_t j = 0; j < brokers && reader.ok(); ++j) {
      assignment.broker_ids.push_back(reader.read_i32());
    }
    topic.assignments->push_back(std::move(assignment));
  }
  return topic;
}

void write_topic(Writer& writer, const CreatePartitionsTopic& topic) {
  writer.write_string(topic.name);
  writer.write_i32(topic.count);
  if (!topic.assignments) {
    writer.write_array_length(-1);
    return;
  }
  writer.write_array_length(static_cast<std::int32_t>(topic.assignments->size()));
  for (const CreatePartitionsAssignment& assignment : *topic.assignments) {
    writer.write_array_length(static_cast<std::int32_t>(assignment.broker_ids.size()));
    for (std::int32_t broker_id : assignment.broker_ids) writer.write_i32(broker_id);
  }
}

}  // namespace

CreatePartitionsRequest read_create_partitions_request(Reader& reader, std::int16_t version) {
  CreatePartitionsRequest request;
  if (refuse_version(reader, version)) return request;
  const std::int32_t topics = reader.read_required_array_length(kTopicBytesMin, "topics");
  for (std::int32_t i = 0; i < topics && reader.ok(); ++i) {
    request.topics.push_back(read_topic(reader));
  }
  request.timeout_ms = reader.read_i32();
  request.validate_only = reader.read_bool();
  return request;
}

void write_create_partitions_request(Writer& writer, const CreatePartitionsRequest& request,
                                     std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a CreatePartitions version we implement");
  writer.write_array_length(static_cast<std::int32_t>(request.topics.size()));
  for (const CreatePartitionsTopic& topic : request.topics) write_topic(writer, topic);
  writer.write_i32(request.timeout_ms);
  writer.write_bool(request.validate_only);
}

void write_create_partitions_response(Writer& writer, const CreatePartitionsResponse& response,
                                      std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a CreatePartitions version we implement");
  writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.results.size()));
  for (const CreatePartitionsTopicResult& result : response.results) {
    writer.write_string(result.name);
    writer.write_i16(result.error_code);
    writer.write_nullable_string(result.error_message);
  }
}

CreatePartitionsResponse read_create_partitions_response(Reader& reader, std::int16_t version) {
  CreatePartitionsResponse response;
  if (refuse_version(reader, version)) return response;
  response.throttle_time_ms = reader.read_i32();
  const std::int32_t results = reader.read_required_array_length(kResultBytesMin, "results");
  for (std::int32_t i = 0; i < results && reader.ok(); ++i) {
    CreatePartitionsTopicResult result;
    result.name = reader.read_string();
    result.error_code = reader.read_i16();
    result.error_message = reader.read_nullable_string();
    response.results.push_back(std::move(result));
  }
  return response;
}

}  // namespace strand::protocol
