// Produce (key 0), versions 0-8: v3 is the first that carries record batch v2, v9 is flexible and
// not implemented. Field names and version ranges follow Kafka's ProduceRequest.json /
// ProduceResponse.json; a field a version lacks keeps its default.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

// v0-2 carry the same fields minus a few; they are decoded so that clients which detect features
// by the presence of Produce v0 (librdkafka's gzip/snappy) see it, but their old message formats
// (magic 0 and 1) are refused by the batch check.
inline constexpr std::int16_t kProduceVersionMin = 0;
inline constexpr std::int16_t kProduceVersionMax = 8;

struct PartitionProduceData {
  std::int32_t index = 0;
  // The partition's record batches as sent, not yet validated. When read, a view into the frame the
  // Reader was built on: valid only while that buffer lives, and never copied.
  std::span<const std::byte> records;
  bool records_null = false;  // the field was null (then `records` is empty)
};

struct TopicProduceData {
  std::string name;
  std::vector<PartitionProduceData> partition_data;
};

struct ProduceRequest {
  std::optional<std::string> transactional_id;
  std::int16_t acks = -1;  // 0: no response at all, 1: leader only, -1: all voters
  std::int32_t timeout_ms = 0;
  std::vector<TopicProduceData> topic_data;
};

struct BatchIndexAndErrorMessage {
  std::int32_t batch_index = 0;
  std::optional<std::string> batch_index_error_message;
  friend bool operator==(const BatchIndexAndErrorMessage&,
                         const BatchIndexAndErrorMessage&) = default;
};

struct PartitionProduceResponse {
  std::int32_t index = 0;
  std::int16_t error_code = 0;
  std::int64_t base_offset = -1;
  std::int64_t log_append_time_ms = -1;                  // -1 unless the topic uses LogAppendTime
  std::int64_t log_start_offset = -1;                    // v5+
  std::vector<BatchIndexAndErrorMessage> record_errors;  // v8+
  std::optional<std::string> error_message;              // v8+
  friend bool operator==(const PartitionProduceResponse&,
                         const PartitionProduceResponse&) = default;
};

struct TopicProduceResponse {
  std::string name;
  std::vector<PartitionProduceResponse> partition_responses;
  friend bool operator==(const TopicProduceResponse&, const TopicProduceResponse&) = default;
};

struct ProduceResponse {
  std::vector<TopicProduceResponse> responses;
  std::int32_t throttle_time_ms = 0;
  friend bool operator==(const ProduceResponse&, const ProduceResponse&) = default;
};

// Readers decode the body that follows the request/response header. Malformed input or a version
// outside 3-8 latches an error in `reader` (never an assertion); the result is then meaningless.
// The request's records point into the Reader's bytes (see PartitionProduceData).
ProduceRequest read_produce_request(Reader& reader, std::int16_t version);
// REQUIRES: kProduceVersionMin <= version <= kProduceVersionMax, strings fit an i16 length, and
// records_null implies records is empty.
void write_produce_request(Writer& writer, const ProduceRequest& request, std::int16_t version);

// REQUIRES: as for write_produce_request.
void write_produce_response(Writer& writer, const ProduceResponse& response, std::int16_t version);
ProduceResponse read_produce_response(Reader& reader, std::int16_t version);

}  // namespace strand::protocol
