// Fetch (key 1), versions 4-11: v4 is the first whose clients read record batch v2, v12 is flexible
// and not implemented. Field names and version ranges follow Kafka's FetchRequest.json /
// FetchResponse.json; a field a version lacks keeps its default.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kFetchVersionMin = 4;
inline constexpr std::int16_t kFetchVersionMax = 11;

// isolation_level values, shared with ListOffsets.
inline constexpr std::int8_t kReadUncommitted = 0;
inline constexpr std::int8_t kReadCommitted = 1;

struct FetchPartition {
  std::int32_t partition = 0;
  std::int32_t current_leader_epoch = -1;  // v9+
  std::int64_t fetch_offset = 0;
  std::int64_t log_start_offset = -1;  // v5+; only followers set it
  std::int32_t partition_max_bytes = 0;
  friend bool operator==(const FetchPartition&, const FetchPartition&) = default;
};

struct FetchTopic {
  std::string topic;
  std::vector<FetchPartition> partitions;
  friend bool operator==(const FetchTopic&, const FetchTopic&) = default;
};

struct ForgottenTopic {
  std::string topic;
  std::vector<std::int32_t> partitions;
  friend bool operator==(const ForgottenTopic&, const ForgottenTopic&) = default;
};

struct FetchRequest {
  std::int32_t replica_id = -1;  // -1 for a consumer
  std::int32_t max_wait_ms = 0;
  std::int32_t min_bytes = 0;
  std::int32_t max_bytes = 0x7fffffff;
  std::int8_t isolation_level = kReadUncommitted;
  std::int32_t session_id = 0;      // v7+
  std::int32_t session_epoch = -1;  // v7+
  std::vector<FetchTopic> topics;
  std::vector<ForgottenTopic> forgotten_topics_data;  // v7+
  std::string rack_id;                                // v11+
  friend bool operator==(const FetchRequest&, const FetchRequest&) = default;
};

struct AbortedTransaction {
  std::int64_t producer_id = 0;
  std::int64_t first_offset = 0;
  friend bool operator==(const AbortedTransaction&, const AbortedTransaction&) = default;
};

// Kafka's FetchResponse PartitionData.
struct FetchPartitionData {
  std::int32_t partition_index = 0;
  std::int16_t error_code = 0;
  std::int64_t high_watermark = 0;
  std::int64_t last_stable_offset = -1;
  std::int64_t log_start_offset = -1;  // v5+
  std::optional<std::vector<AbortedTransaction>> aborted_transactions;
  std::int32_t preferred_read_replica = -1;  // v11+
  // Whole record batches, owned. Written as a non-null bytes field; a null one reads as empty.
  std::vector<std::byte> records;
  friend bool operator==(const FetchPartitionData&, const FetchPartitionData&) = default;
};

struct FetchableTopicResponse {
  std::string topic;
  std::vector<FetchPartitionData> partitions;
  friend bool operator==(const FetchableTopicResponse&, const FetchableTopicResponse&) = default;
};

struct FetchResponse {
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;  // v7+
  std::int32_t session_id = 0;  // v7+
  std::vector<FetchableTopicResponse> responses;
  friend bool operator==(const FetchResponse&, const FetchResponse&) = default;
};

// Readers decode the body that follows the request/response header. Malformed input or a version
// outside 4-11 latches an error in `reader` (never an assertion); the result is then meaningless.
FetchRequest read_fetch_request(Reader& reader, std::int16_t version);
// REQUIRES: kFetchVersionMin <= version <= kFetchVersionMax, strings fit an i16 length.
void write_fetch_request(Writer& writer, const FetchRequest& request, std::int16_t version);

// REQUIRES: as for write_fetch_request.
void write_fetch_response(Writer& writer, const FetchResponse& response, std::int16_t version);
FetchResponse read_fetch_response(Reader& reader, std::int16_t version);

}  // namespace strand::protocol
