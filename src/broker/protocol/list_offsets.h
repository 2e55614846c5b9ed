// ListOffsets (key 2), versions 1-5: the offset of the first record at or after a timestamp, or of
// the log's start or end. v0 (several offsets per partition) is not implemented, v6 is flexible and
// not implemented. Field names and version ranges follow Kafka's ListOffsetsRequest.json /
// ListOffsetsResponse.json; a field a version lacks keeps its default.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kListOffsetsVersionMin = 1;
inline constexpr std::int16_t kListOffsetsVersionMax = 5;

// Special values of ListOffsetsPartition::timestamp (Kafka's ListOffsetsRequest constants).
inline constexpr std::int64_t kLatestTimestamp = -1;    // the log end offset
inline constexpr std::int64_t kEarliestTimestamp = -2;  // the log start offset

struct ListOffsetsPartition {
  std::int32_t partition_index = 0;
  std::int32_t current_leader_epoch = -1;  // v4+
  std::int64_t timestamp = kLatestTimestamp;
  friend bool operator==(const ListOffsetsPartition&, const ListOffsetsPartition&) = default;
};

struct ListOffsetsTopic {
  std::string name;
  std::vector<ListOffsetsPartition> partitions;
  friend bool operator==(const ListOffsetsTopic&, const ListOffsetsTopic&) = default;
};

struct ListOffsetsRequest {
  std::int32_t replica_id = -1;     // -1 for a consumer
  std::int8_t isolation_level = 0;  // v2+; 0 read uncommitted, 1 read committed
  std::vector<ListOffsetsTopic> topics;
  friend bool operator==(const ListOffsetsRequest&, const ListOffsetsRequest&) = default;
};

struct ListOffsetsPartitionResponse {
  std::int32_t partition_index = 0;
  std::int16_t error_code = 0;
  std::int64_t timestamp = -1;
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;  // v4+
  friend bool operator==(const ListOffsetsPartitionResponse&,
                         const ListOffsetsPartitionResponse&) = default;
};

struct ListOffsetsTopicResponse {
  std::string name;
  std::vector<ListOffsetsPartitionResponse> partitions;
  friend bool operator==(const ListOffsetsTopicResponse&,
                         const ListOffsetsTopicResponse&) = default;
};

struct ListOffsetsResponse {
  std::int32_t throttle_time_ms = 0;  // v2+
  std::vector<ListOffsetsTopicResponse> topics;
  friend bool operator==(const ListOffsetsResponse&, const ListOffsetsResponse&) = default;
};

// Readers decode the body that follows the request/response header. Malformed input or a version
// outside 1-5 latches an error in `reader` (never an assertion); the result is then meaningless.
ListOffsetsRequest read_list_offsets_request(Reader& reader, std::int16_t version);
// REQUIRES: kListOffsetsVersionMin <= version <= kListOffsetsVersionMax, strings fit an i16 length.
void write_list_offsets_request(Writer& writer, const ListOffsetsRequest& request,
                                std::int16_t version);

// REQUIRES: as for write_list_offsets_request.
void write_list_offsets_response(Writer& writer, const ListOffsetsResponse& response,
                                 std::int16_t version);
ListOffsetsResponse read_list_offsets_response(Reader& reader, std::int16_t version);

}  // namespace strand::protocol
