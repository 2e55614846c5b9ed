#include "broker/protocol/offset_delete.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

constexpr std::size_t kTopicBytesMin = 2 + 4;  // name, partitions

bool version_supported(std::int16_t version) {
  return version >= kOffsetDeleteVersionMin && version <= kOffsetDeleteVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("OffsetDelete v" + std::to_string(version) + " is not implemented");
  return true;
}

}  // namespace

OffsetDeleteRequest read_offset_delete_request(Reader& reader, std::int16_t version) {
  OffsetDeleteRequest request;
  if (refuse_version(reader, version)) return request;
  request.group_id = reader.read_string();
  const std::int32_t count = reader.read_required_array_length(kTopicBytesMin, "topics");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    OffsetDeleteRequestTopic topic;
    topic.name = reader.read_string();
    const std::int32_t partitions = reader.read_required_array_length(4, "partitions");
    for (std::int32_t j = 0; j < partitions && reader.ok(); ++j) {
      topic.partition_indexes.push_back(reader.read_i32());
    }
    request.topics.push_back(std::move(topic));
  }
  return request;
}

void write_offset_delete_request(Writer& writer, const OffsetDeleteRequest& request,
                                 std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "an OffsetDelete version we implement");
  writer.write_string(request.group_id);
  writer.write_array_length(static_cast<std::int32_t>(request.topics.size()));
  for (const OffsetDeleteRequestTopic& topic : request.topics) {
    writer.write_string(topic.name);
    writer.write_array_length(static_cast<std::int32_t>(topic.partition_indexes.size()));
    for (std::int32_t index : topic.partition_indexes) writer.write_i32(index);
  }
}

void write_offset_delete_response(Writer& writer, const OffsetDeleteResponse& response,
                                  std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "an OffsetDelete version we implement");
  writer.write_i16(response.error_code);
  writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.topics.size()));
  for (const OffsetDeleteResponseTopic& topic : response.topics) {
    writer.write_string(topic.name);
    writer.write_array_length(static_cast<std::int32_t>(topic.partitions.size()));
    for (const OffsetDeleteResponsePartition& partition : topic.partitions) {
      writer.write_i32(partition.partition_index);
      writer.write_i16(partition.error_code);
    }
  }
}

OffsetDeleteResponse read_offset_delete_response(Reader& reader, std::int16_t version) {
  OffsetDeleteResponse response;
  if (refuse_version(reader, version)) return response;
  response.error_code = reader.read_i16();
  response.throttle_time_ms = reader.read_i32();
  const std::int32_t count = reader.read_required_array_length(kTopicBytesMin, "topics");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    OffsetDeleteResponseTopic topic;
    topic.name = reader.read_string();
    const std::int32_t partitions = reader.read_required_array_length(4 + 2, "partitions");
    for (std::int32_t j = 0; j < partitions && reader.ok(); ++j) {
      OffsetDeleteResponsePartition partition;
      partition.partition_index = reader.read_i32();
      partition.error_code = reader.read_i16();
      topic.partitions.push_back(partition);
    }
    response.topics.push_back(std::move(topic));
  }
  return response;
}

}  // namespace strand::protocol
