#include "broker/protocol/offset_fetch.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

constexpr std::size_t kTopicBytesMin = 2 + 4;                      // name, partitions
constexpr std::size_t kPartitionResponseBytesMin = 4 + 8 + 2 + 2;  // index, offset, meta, error

bool version_supported(std::int16_t version) {
  return version >= kOffsetFetchVersionMin && version <= kOffsetFetchVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("OffsetFetch v" + std::to_string(version) + " is not implemented");
  return true;
}

OffsetFetchResponseTopic read_topic_response(Reader& reader, std::int16_t version) {
  OffsetFetchResponseTopic topic;
  topic.name = reader.read_string();
  const std::int32_t count =
      reader.read_required_array_length(kPartitionResponseBytesMin, "partitions");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    OffsetFetchResponsePartition partition;
    partition.partition_index = reader.read_i32();
    partition.committed_offset = reader.read_i64();
    if (version >= 5) partition.committed_leader_epoch = reader.read_i32();
    partition.metadata = reader.read_nullable_string();
    partition.error_code = reader.read_i16();
    topic.partitions.push_back(std::move(partition));
  }
  return topic;
}

}  // namespace

OffsetFetchRequest read_offset_fetch_request(Reader& reader, std::int16_t version) {
  OffsetFetchRequest request;
  if (refuse_version(reader, version)) return request;
  request.group_id = reader.read_string();
  std::optional<std::int32_t> count = reader.read_array_length(kTopicBytesMin);
  if (!count && reader.ok() && version < 2) reader.fail("topics is null before v2");
  if (!count) {
    request.topics.reset();
    return request;
  }
  for (std::int32_t i = 0; i < *count && reader.ok(); ++i) {
    OffsetFetchRequestTopic topic;
    topic.name = reader.read_string();
    const std::int32_t partitions = reader.read_required_array_length(4, "partition_indexes");
    for (std::int32_t j = 0; j < partitions && reader.ok(); ++j) {
      topic.partition_indexes.push_back(reader.read_i32());
    }
    request.topics->push_back(std::move(topic));
  }
  return request;
}

void write_offset_fetch_request(Writer& writer, const OffsetFetchRequest& request,
                                std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "an OffsetFetch version we implement");
  STRAND_ASSERT(request.topics || version >= 2, "all topics (null) needs v2+");
  writer.write_string(request.group_id);
  if (!request.topics) {
    writer.write_array_length(-1);
    return;
  }
  writer.write_array_length(static_cast<std::int32_t>(request.topics->size()));
  for (const OffsetFetchRequestTopic& topic : *request.topics) {
    writer.write_string(topic.name);
    writer.write_array_length(static_cast<std::int32_t>(topic.partition_indexes.size()));
    for (std::int32_t index : topic.partition_indexes) writer.write_i32(index);
  }
}

void write_offset_fetch_response(Writer& writer, const OffsetFetchResponse& response,
                                 std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "an OffsetFetch version we implement");
  if (version >= 3) writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.topics.size()));
  for (const OffsetFetchResponseTopic& topic : response.topics) {
    writer.write_string(topic.name);
    writer.write_array_length(static_cast<std::int32_t>(topic.partitions.size()));
    for (const OffsetFetchResponsePartition& partition : topic.partitions) {
      writer.write_i32(partition.partition_index);
      writer.write_i64(partition.committed_offset);
      if (version >= 5) writer.write_i32(partition.committed_leader_epoch);
      writer.write_nullable_string(partition.metadata);
      writer.write_i16(partition.error_code);
    }
  }
  if (version >= 2) writer.write_i16(response.error_code);
}

OffsetFetchResponse read_offset_fetch_response(Reader& reader, std::int16_t version) {
  OffsetFetchResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 3) response.throttle_time_ms = reader.read_i32();
  const std::int32_t count = reader.read_required_array_length(kTopicBytesMin, "topics");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    response.topics.push_back(read_topic_response(reader, version));
  }
  if (version >= 2) response.error_code = reader.read_i16();
  return response;
}

}  // namespace strand::protocol
