#include "broker/protocol/produce.h"

#include "io/assert.h"

namespace strand::protocol {

namespace {

// Smallest wire size of each element, for read_array_length's bound. Vectors are not reserve()d
// from a count: a parsed element is larger in memory than on the wire, so they grow only with
// elements actually present.
constexpr std::size_t kTopicBytesMin = 2 + 4;                  // name length, partitions count
constexpr std::size_t kPartitionDataBytesMin = 4 + 4;          // index, records length
constexpr std::size_t kPartitionResponseBytesMin = 4 + 2 + 8;  // index, error, base_offset (v0)
constexpr std::size_t kRecordErrorBytesMin = 4 + 2;            // batch_index, message length

bool version_supported(std::int16_t version) {
  return version >= kProduceVersionMin && version <= kProduceVersionMax;
}

bool check_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return true;
  reader.fail("Produce v" + std::to_string(version) + " is not implemented");
  return false;
}

TopicProduceData read_topic_data(Reader& reader) {
  TopicProduceData topic;
  topic.name = reader.read_string();
  const std::int32_t count = reader.read_required_array_length(kPartitionDataBytesMin);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    PartitionProduceData partition;
    partition.index = reader.read_i32();
    partition.records = reader.read_nullable_bytes_view(/*compact=*/false, &partition.records_null);
    topic.partition_data.push_back(partition);
  }
  return topic;
}

PartitionProduceResponse read_partition_response(Reader& reader, std::int16_t version) {
  PartitionProduceResponse partition;
  partition.index = reader.read_i32();
  partition.error_code = reader.read_i16();
  partition.base_offset = reader.read_i64();
  if (version >= 2) partition.log_append_time_ms = reader.read_i64();
  if (version >= 5) partition.log_start_offset = reader.read_i64();
  if (version >= 8) {
    const std::int32_t count = reader.read_required_array_length(kRecordErrorBytesMin);
    for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
      BatchIndexAndErrorMessage error;
      error.batch_index = reader.read_i32();
      error.batch_index_error_message = reader.read_nullable_string();
      partition.record_errors.push_back(std::move(error));
    }
    partition.error_message = reader.read_nullable_string();
  }
  return partition;
}

void write_partition_response(Writer& writer, const PartitionProduceResponse& partition,
                              std::int16_t version) {
  writer.write_i32(partition.index);
  writer.write_i16(partition.error_code);
  writer.write_i64(partition.base_offset);
  if (version >= 2) writer.write_i64(partition.log_append_time_ms);
  if (version >= 5) writer.write_i64(partition.log_start_offset);
  if (version >= 8) {
    writer.write_array_length(static_cast<std::int32_t>(partition.record_errors.size()));
    for (const BatchIndexAndErrorMessage& error : partition.record_errors) {
      writer.write_i32(error.batch_index);
      writer.write_nullable_string(error.batch_index_error_message);
    }
    writer.write_nullable_string(partition.error_message);
  }
}

}  // namespace

ProduceRequest read_produce_request(Reader& reader, std::int16_t version) {
  ProduceRequest request;
  if (!check_version(reader, version)) return request;
  if (version >= 3) request.transactional_id = reader.read_nullable_string();
  request.acks = reader.read_i16();
  request.timeout_ms = reader.read_i32();
  const std::int32_t count = reader.read_required_array_length(kTopicBytesMin);
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    request.topic_data.push_back(read_topic_data(reader));
  }
  return request;
}

void write_produce_request(Writer& writer, const ProduceRequest& request, std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a Produce version we implement");
  if (version >= 3) writer.write_nullable_string(request.transactional_id);
  writer.write_i16(request.acks);
  writer.write_i32(request.timeout_ms);
  writer.write_array_length(static_cast<std::int32_t>(request.topic_data.size()));
  for (const TopicProduceData& topic : request.topic_data) {
    writer.write_string(topic.name);
    writer.write_array_length(static_cast<std::int32_t>(topic.partition_data.size()));
    for (const PartitionProduceData& partition : topic.partition_data) {
      writer.write_i32(partition.index);
      if (partition.records_null) {
        STRAND_ASSERT(partition.records.empty(), "null records carry no bytes");
        writer.write_i32(-1);
      } else {
        writer.write_bytes(partition.records);
      }
    }
  }
}

void write_produce_response(Writer& writer, const ProduceResponse& response, std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a Produce version we implement");
  writer.write_array_length(static_cast<std::int32_t>(response.responses.size()));
  for (const TopicProduceResponse& topic : response.responses) {
    writer.write_string(topic.name);
    writer.write_array_length(static_cast<std::int32_t>(topic.partition_responses.size()));
    for (const PartitionProduceResponse& partition : topic.partition_responses) {
      write_partition_response(writer, partition, version);
    }
  }
  if (version >= 1) writer.write_i32(response.throttle_time_ms);
}

ProduceResponse read_produce_response(Reader& reader, std::int16_t version) {
  ProduceResponse response;
  if (!check_version(reader, version)) return response;
  const std::int32_t topic_count = reader.read_required_array_length(kTopicBytesMin);
  for (std::int32_t i = 0; i < topic_count && reader.ok(); ++i) {
    TopicProduceResponse topic;
    topic.name = reader.read_string();
    const std::int32_t count = reader.read_required_array_length(kPartitionResponseBytesMin);
    for (std::int32_t j = 0; j < count && reader.ok(); ++j) {
      topic.partition_responses.push_back(read_partition_response(reader, version));
    }
    response.responses.push_back(std::move(topic));
  }
  if (version >= 1) response.throttle_time_ms = reader.read_i32();
  return response;
}

}  // namespace strand::protocol
