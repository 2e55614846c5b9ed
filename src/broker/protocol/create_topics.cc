#include "broker/protocol/create_topics.h"

#include <string>

namespace strand::protocol {

namespace {

// Smallest wire sizes, so a lying array length is refused before anything is allocated.
constexpr std::size_t kTopicBytesMin = 2 + 4 + 2 + 4 + 4;  // name, partitions, rf, two arrays
constexpr std::size_t kAssignmentBytesMin = 4 + 4;         // partition_index, broker_ids
constexpr std::size_t kConfigBytesMin = 2 + 2;             // name, value (null)

bool version_supported(std::int16_t version) {
  return version >= kCreateTopicsVersionMin && version <= kCreateTopicsVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("CreateTopics v" + std::to_string(version) + " is not implemented");
  return true;
}

CreatableReplicaAssignment read_assignment(Reader& reader) {
  CreatableReplicaAssignment assignment;
  assignment.partition_index = reader.read_i32();
  const std::int32_t count = reader.read_required_array_length(4, "broker_ids");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    assignment.broker_ids.push_back(reader.read_i32());
  }
  return assignment;
}

CreatableTopic read_topic(Reader& reader) {
  CreatableTopic topic;
  topic.name = reader.read_string();
  topic.num_partitions = reader.read_i32();
  topic.replication_factor = reader.read_i16();
  const std::int32_t assignments =
      reader.read_required_array_length(kAssignmentBytesMin, "assignments");
  for (std::int32_t i = 0; i < assignments && reader.ok(); ++i) {
    topic.assignments.push_back(read_assignment(reader));
  }
  const std::int32_t configs = reader.read_required_array_length(kConfigBytesMin, "configs");
  for (std::int32_t i = 0; i < configs && reader.ok(); ++i) {
    CreatableTopicConfig config;
    config.name = reader.read_string();
    config.value = reader.read_nullable_string();
    topic.configs.push_back(std::move(config));
  }
  return topic;
}

void write_topic(Writer& writer, const CreatableTopic& topic) {
  writer.write_string(topic.name);
  writer.write_i32(topic.num_partitions);
  writer.write_i16(topic.replication_factor);
  writer.write_array_length(static_cast<std::int32_t>(topic.assignments.size()));
  for (const CreatableReplicaAssignment& assignment : topic.assignments) {
    writer.write_i32(assignment.partition_index);
    writer.write_array_length(static_cast<std::int32_t>(assignment.broker_ids.size()));
    for (std::int32_t broker_id : assignment.broker_ids) writer.write_i32(broker_id);
  }
  writer.write_array_length(static_cast<std::int32_t>(topic.configs.size()));
  for (const CreatableTopicConfig& config : topic.configs) {
    writer.write_string(config.name);
    writer.write_nullable_string(config.value);
  }
}

}  // namespace

CreateTopicsRequest read_create_topics_request(Reader& reader, std::int16_t version) {
  CreateTopicsRequest request;
  if (refuse_version(reader, version)) return request;
  const std::int32_t topics = reader.read_required_array_length(kTopicBytesMin, "topics");
  for (std::int32_t i = 0; i < topics && reader.ok(); ++i) {
    request.topics.push_back(read_topic(reader));
  }
  request.timeout_ms = reader.read_i32();
  if (version >= 1) request.validate_only = reader.read_bool();
  return request;
}

void write_create_topics_request(Writer& writer, const CreateTopicsRequest& request,
                                 std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a CreateTopics version we implement");
  writer.write_array_length(static_cast<std::int32_t>(request.topics.size()));
  for (const CreatableTopic& topic : request.topics) write_topic(writer, topic);
  writer.write_i32(request.timeout_ms);
  if (version >= 1) writer.write_bool(request.validate_only);
}

void write_create_topics_response(Writer& writer, const CreateTopicsResponse& response,
                                  std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a CreateTopics version we implement");
  if (version >= 2) writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.topics.size()));
  for (const CreatableTopicResult& topic : response.topics) {
    writer.write_string(topic.name);
    writer.write_i16(topic.error_code);
    if (version >= 1) writer.write_nullable_string(topic.error_message);
  }
}

CreateTopicsResponse read_create_topics_response(Reader& reader, std::int16_t version) {
  CreateTopicsResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 2) response.throttle_time_ms = reader.read_i32();
  const std::size_t result_bytes_min = version >= 1 ? 2 + 2 + 2 : 2 + 2;
  const std::int32_t topics = reader.read_required_array_length(result_bytes_min, "topics");
  for (std::int32_t i = 0; i < topics && reader.ok(); ++i) {
    CreatableTopicResult topic;
    topic.name = reader.read_string();
    topic.error_code = reader.read_i16();
    if (version >= 1) topic.error_message = reader.read_nullable_string();
    response.topics.push_back(std::move(topic));
  }
  return response;
}

}  // namespace strand::protocol
