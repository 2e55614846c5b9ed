#include "broker/protocol/fetch.h"

#include "io/assert.h"

namespace strand::protocol {

namespace {

// Smallest wire size of each element, for read_array_length's bound. Vectors are not reserve()d
// from a count: a parsed element is larger in memory than on the wire, so they grow only with
// elements actually present.
constexpr std::size_t kTopicBytesMin = 2 + 4;               // name length, partitions count
constexpr std::size_t kFetchPartitionBytesMin = 4 + 8 + 4;  // partition, offset, max bytes
constexpr std::size_t kPartitionIndexBytes = 4;
// partition_index, error_code, high watermark, last stable offset, aborted count, records length
constexpr std::size_t kPartitionDataBytesMin = 4 + 2 + 8 + 8 + 4 + 4;
constexpr std::size_t kAbortedTransactionBytes = 8 + 8;

bool version_supported(std::int16_t version) {
  return version >= kFetchVersionMin && version <= kFetchVersionMax;
}

bool check_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return true;
  reader.fail("Fetch v" + std::to_string(version) + " is not implemented");
  return false;
}

FetchTopic read_fetch_topic(Reader& reader, std::int16_t version) {
  FetchTopic topic;
  topic.topic = reader.read_string();
  const std::int32_t count = reader.read_required_array_length(kFetchPartitionBytesMin);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    FetchPartition partition;
    partition.partition = reader.read_i32();
    if (version >= 9) partition.current_leader_epoch = reader.read_i32();
    partition.fetch_offset = reader.read_i64();
    if (version >= 5) partition.log_start_offset = reader.read_i64();
    partition.partition_max_bytes = reader.read_i32();
    topic.partitions.push_back(partition);
  }
  return topic;
}

void write_fetch_topic(Writer& writer, const FetchTopic& topic, std::int16_t version) {
  writer.write_string(topic.topic);
  writer.write_array_length(static_cast<std::int32_t>(topic.partitions.size()));
  for (const FetchPartition& partition : topic.partitions) {
    writer.write_i32(partition.partition);
    if (version >= 9) writer.write_i32(partition.current_leader_epoch);
    writer.write_i64(partition.fetch_offset);
    if (version >= 5) writer.write_i64(partition.log_start_offset);
    writer.write_i32(partition.partition_max_bytes);
  }
}

ForgottenTopic read_forgotten_topic(Reader& reader) {
  ForgottenTopic topic;
  topic.topic = reader.read_string();
  const std::int32_t count = reader.read_required_array_length(kPartitionIndexBytes);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    topic.partitions.push_back(reader.read_i32());
  }
  return topic;
}

FetchPartitionData read_partition_data(Reader& reader, std::int16_t version) {
  FetchPartitionData partition;
  partition.partition_index = reader.read_i32();
  partition.error_code = reader.read_i16();
  partition.high_watermark = reader.read_i64();
  partition.last_stable_offset = reader.read_i64();
  if (version >= 5) partition.log_start_offset = reader.read_i64();
  std::optional<std::int32_t> count = reader.read_array_length(kAbortedTransactionBytes);
  if (count) {
    partition.aborted_transactions.emplace();
    for (std::int32_t i = 0; i < *count && reader.ok(); ++i) {
      AbortedTransaction aborted;
      aborted.producer_id = reader.read_i64();
      aborted.first_offset = reader.read_i64();
      partition.aborted_transactions->push_back(aborted);
    }
  }
  if (version >= 11) partition.preferred_read_replica = reader.read_i32();
  partition.records = reader.read_nullable_bytes().value_or(std::vector<std::byte>{});
  return partition;
}

void write_partition_data(Writer& writer, const FetchPartitionData& partition,
                          std::int16_t version) {
  writer.write_i32(partition.partition_index);
  writer.write_i16(partition.error_code);
  writer.write_i64(partition.high_watermark);
  writer.write_i64(partition.last_stable_offset);
  if (version >= 5) writer.write_i64(partition.log_start_offset);
  if (!partition.aborted_transactions) {
    writer.write_array_length(-1);
  } else {
    writer.write_array_length(static_cast<std::int32_t>(partition.aborted_transactions->size()));
    for (const AbortedTransaction& aborted : *partition.aborted_transactions) {
      writer.write_i64(aborted.producer_id);
      writer.write_i64(aborted.first_offset);
    }
  }
  if (version >= 11) writer.write_i32(partition.preferred_read_replica);
  writer.write_bytes(partition.records);
}

}  // namespace

FetchRequest read_fetch_request(Reader& reader, std::int16_t version) {
  FetchRequest request;
  if (!check_version(reader, version)) return request;
  request.replica_id = reader.read_i32();
  request.max_wait_ms = reader.read_i32();
  request.min_bytes = reader.read_i32();
  request.max_bytes = reader.read_i32();       // v3+
  request.isolation_level = reader.read_i8();  // v4+
  if (version >= 7) {
    request.session_id = reader.read_i32();
    request.session_epoch = reader.read_i32();
  }
  const std::int32_t count = reader.read_required_array_length(kTopicBytesMin);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    request.topics.push_back(read_fetch_topic(reader, version));
  }
  if (version >= 7) {
    const std::int32_t forgotten = reader.read_required_array_length(kTopicBytesMin);
    for (std::int32_t i = 0; i < forgotten && reader.ok(); ++i) {
      request.forgotten_topics_data.push_back(read_forgotten_topic(reader));
    }
  }
  if (version >= 11) request.rack_id = reader.read_string();
  return request;
}

void write_fetch_request(Writer& writer, const FetchRequest& request, std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a Fetch version we implement");
  writer.write_i32(request.replica_id);
  writer.write_i32(request.max_wait_ms);
  writer.write_i32(request.min_bytes);
  writer.write_i32(request.max_bytes);
  writer.write_i8(request.isolation_level);
  if (version >= 7) {
    writer.write_i32(request.session_id);
    writer.write_i32(request.session_epoch);
  }
  writer.write_array_length(static_cast<std::int32_t>(request.topics.size()));
  for (const FetchTopic& topic : request.topics) write_fetch_topic(writer, topic, version);
  if (version >= 7) {
    writer.write_array_length(static_cast<std::int32_t>(request.forgotten_topics_data.size()));
    for (const ForgottenTopic& topic : request.forgotten_topics_data) {
      writer.write_string(topic.topic);
      writer.write_array_length(static_cast<std::int32_t>(topic.partitions.size()));
      for (std::int32_t partition : topic.partitions) writer.write_i32(partition);
    }
  }
  if (version >= 11) writer.write_string(request.rack_id);
}

void write_fetch_response(Writer& writer, const FetchResponse& response, std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a Fetch version we implement");
  writer.write_i32(response.throttle_time_ms);
  if (version >= 7) {
    writer.write_i16(response.error_code);
    writer.write_i32(response.session_id);
  }
  writer.write_array_length(static_cast<std::int32_t>(response.responses.size()));
  for (const FetchableTopicResponse& topic : response.responses) {
    writer.write_string(topic.topic);
    writer.write_array_length(static_cast<std::int32_t>(topic.partitions.size()));
    for (const FetchPartitionData& partition : topic.partitions) {
      write_partition_data(writer, partition, version);
    }
  }
}

FetchResponse read_fetch_response(Reader& reader, std::int16_t version) {
  FetchResponse response;
  if (!check_version(reader, version)) return response;
  response.throttle_time_ms = reader.read_i32();
  if (version >= 7) {
    response.error_code = reader.read_i16();
    response.session_id = reader.read_i32();
  }
  const std::int32_t topic_count = reader.read_required_array_length(kTopicBytesMin);
  for (std::int32_t i = 0; i < topic_count && reader.ok(); ++i) {
    FetchableTopicResponse topic;
    topic.topic = reader.read_string();
    const std::int32_t count = reader.read_required_array_length(kPartitionDataBytesMin);
    for (std::int32_t j = 0; j < count && reader.ok(); ++j) {
      topic.partitions.push_back(read_partition_data(reader, version));
    }
    response.responses.push_back(std::move(topic));
  }
  return response;
}

}  // namespace strand::protocol
