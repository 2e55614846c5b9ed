#include "broker/protocol/list_offsets.h"

#include "io/assert.h"

namespace strand::protocol {

namespace {

// Smallest wire size of each element, for read_array_length's bound. Vectors are not reserve()d
// from a count: a parsed element is larger in memory than on the wire, so they grow only with
// elements actually present.
constexpr std::size_t kTopicBytesMin = 2 + 4;                      // name length, count
constexpr std::size_t kPartitionBytesMin = 4 + 8;                  // index, timestamp
constexpr std::size_t kPartitionResponseBytesMin = 4 + 2 + 8 + 8;  // index, error, ts, offset

bool version_supported(std::int16_t version) {
  return version >= kListOffsetsVersionMin && version <= kListOffsetsVersionMax;
}

bool check_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return true;
  reader.fail("ListOffsets v" + std::to_string(version) + " is not implemented");
  return false;
}

ListOffsetsTopic read_topic(Reader& reader, std::int16_t version) {
  ListOffsetsTopic topic;
  topic.name = reader.read_string();
  const std::int32_t count = reader.read_required_array_length(kPartitionBytesMin);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    ListOffsetsPartition partition;
    partition.partition_index = reader.read_i32();
    if (version >= 4) partition.current_leader_epoch = reader.read_i32();
    partition.timestamp = reader.read_i64();
    topic.partitions.push_back(partition);
  }
  return topic;
}

ListOffsetsTopicResponse read_topic_response(Reader& reader, std::int16_t version) {
  ListOffsetsTopicResponse topic;
  topic.name = reader.read_string();
  const std::int32_t count = reader.read_required_array_length(kPartitionResponseBytesMin);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    ListOffsetsPartitionResponse partition;
    partition.partition_index = reader.read_i32();
    partition.error_code = reader.read_i16();
    partition.timestamp = reader.read_i64();
    partition.offset = reader.read_i64();
    if (version >= 4) partition.leader_epoch = reader.read_i32();
    topic.partitions.push_back(partition);
  }
  return topic;
}

}  // namespace

ListOffsetsRequest read_list_offsets_request(Reader& reader, std::int16_t version) {
  ListOffsetsRequest request;
  if (!check_version(reader, version)) return request;
  request.replica_id = reader.read_i32();
  if (version >= 2) request.isolation_level = reader.read_i8();
  const std::int32_t count = reader.read_required_array_length(kTopicBytesMin);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    request.topics.push_back(read_topic(reader, version));
  }
  return request;
}

void write_list_offsets_request(Writer& writer, const ListOffsetsRequest& request,
                                std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a ListOffsets version we implement");
  writer.write_i32(request.replica_id);
  if (version >= 2) writer.write_i8(request.isolation_level);
  writer.write_array_length(static_cast<std::int32_t>(request.topics.size()));
  for (const ListOffsetsTopic& topic : request.topics) {
    writer.write_string(topic.name);
    writer.write_array_length(static_cast<std::int32_t>(topic.partitions.size()));
    for (const ListOffsetsPartition& partition : topic.partitions) {
      writer.write_i32(partition.partition_index);
      if (version >= 4) writer.write_i32(partition.current_leader_epoch);
      writer.write_i64(partition.timestamp);
    }
  }
}

void write_list_offsets_response(Writer& writer, const ListOffsetsResponse& response,
                                 std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a ListOffsets version we implement");
  if (version >= 2) writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.topics.size()));
  for (const ListOffsetsTopicResponse& topic : response.topics) {
    writer.write_string(topic.name);
    writer.write_array_length(static_cast<std::int32_t>(topic.partitions.size()));
    for (const ListOffsetsPartitionResponse& partition : topic.partitions) {
      writer.write_i32(partition.partition_index);
      writer.write_i16(partition.error_code);
      writer.write_i64(partition.timestamp);
      writer.write_i64(partition.offset);
      if (version >= 4) writer.write_i32(partition.leader_epoch);
    }
  }
}

ListOffsetsResponse read_list_offsets_response(Reader& reader, std::int16_t version) {
  ListOffsetsResponse response;
  if (!check_version(reader, version)) return response;
  if (version >= 2) response.throttle_time_ms = reader.read_i32();
  const std::int32_t count = reader.read_required_array_length(kTopicBytesMin);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    response.topics.push_back(read_topic_response(reader, version));
  }
  return response;
}

}  // namespace strand::protocol
