#include "broker/protocol/offset_commit.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

constexpr std::size_t kTopicBytesMin = 2 + 4;              // name, partitions
constexpr std::size_t kPartitionBytesMin = 4 + 8 + 2;      // index, offset, metadata (null)
constexpr std::size_t kPartitionResponseBytesMin = 4 + 2;  // index, error_code

bool version_supported(std::int16_t version) {
  return version >= kOffsetCommitVersionMin && version <= kOffsetCommitVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("OffsetCommit v" + std::to_string(version) + " is not implemented");
  return true;
}

OffsetCommitRequestTopic read_topic(Reader& reader, std::int16_t version) {
  OffsetCommitRequestTopic topic;
  topic.name = reader.read_string();
  const std::int32_t count = reader.read_required_array_length(kPartitionBytesMin, "partitions");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    OffsetCommitRequestPartition partition;
    partition.partition_index = reader.read_i32();
    partition.committed_offset = reader.read_i64();
    if (version >= 6) partition.committed_leader_epoch = reader.read_i32();
    if (version == 1) partition.commit_timestamp = reader.read_i64();
    partition.committed_metadata = reader.read_nullable_string();
    topic.partitions.push_back(std::move(partition));
  }
  return topic;
}

}  // namespace

OffsetCommitRequest read_offset_commit_request(Reader& reader, std::int16_t version) {
  OffsetCommitRequest request;
  if (refuse_version(reader, version)) return request;
  request.group_id = reader.read_string();
  if (version >= 1) {
    request.generation_id = reader.read_i32();
    request.member_id = reader.read_string();
  }
  if (version >= 7) request.group_instance_id = reader.read_nullable_string();
  if (version >= 2 && version <= 4) request.retention_time_ms = reader.read_i64();
  const std::int32_t count = reader.read_required_array_length(kTopicBytesMin, "topics");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    request.topics.push_back(read_topic(reader, version));
  }
  return request;
}

void write_offset_commit_request(Writer& writer, const OffsetCommitRequest& request,
                                 std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "an OffsetCommit version we implement");
  writer.write_string(request.group_id);
  if (version >= 1) {
    writer.write_i32(request.generation_id);
    writer.write_string(request.member_id);
  }
  if (version >= 7) writer.write_nullable_string(request.group_instance_id);
  if (version >= 2 && version <= 4) writer.write_i64(request.retention_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(request.topics.size()));
  for (const OffsetCommitRequestTopic& topic : request.topics) {
    writer.write_string(topic.name);
    writer.write_array_length(static_cast<std::int32_t>(topic.partitions.size()));
    for (const OffsetCommitRequestPartition& partition : topic.partitions) {
      writer.write_i32(partition.partition_index);
      writer.write_i64(partition.committed_offset);
      if (version >= 6) writer.write_i32(partition.committed_leader_epoch);
      if (version == 1) writer.write_i64(partition.commit_timestamp);
      writer.write_nullable_string(partition.committed_metadata);
    }
  }
}

void write_offset_commit_response(Writer& writer, const OffsetCommitResponse& response,
                                  std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "an OffsetCommit version we implement");
  if (version >= 3) writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.topics.size()));
  for (const OffsetCommitResponseTopic& topic : response.topics) {
    writer.write_string(topic.name);
    writer.write_array_length(static_cast<std::int32_t>(topic.partitions.size()));
    for (const OffsetCommitResponsePartition& partition : topic.partitions) {
      writer.write_i32(partition.partition_index);
      writer.write_i16(partition.error_code);
    }
  }
}

OffsetCommitResponse read_offset_commit_response(Reader& reader, std::int16_t version) {
  OffsetCommitResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 3) response.throttle_time_ms = reader.read_i32();
  const std::int32_t topics = reader.read_required_array_length(kTopicBytesMin, "topics");
  for (std::int32_t i = 0; i < topics && reader.ok(); ++i) {
    OffsetCommitResponseTopic topic;
    topic.name = reader.read_string();
    const std::int32_t count =
        reader.read_required_array_length(kPartitionResponseBytesMin, "partitions");
    for (std::int32_t j = 0; j < count && reader.ok(); ++j) {
      OffsetCommitResponsePartition partition;
      partition.partition_index = reader.read_i32();
      partition.error_code = reader.read_i16();
      topic.partitions.push_back(partition);
    }
    response.topics.push_back(std::move(topic));
  }
  return response;
}

}  // namespace strand::protocol
