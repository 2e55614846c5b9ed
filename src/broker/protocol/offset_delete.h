// OffsetDelete (key 47), version 0: removes a group's committed offsets for some partitions. A
// group with members refuses it for topics they are subscribed to (GROUP_SUBSCRIBED_TO_TOPIC).
// Kafka defines no flexible version of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kOffsetDeleteVersionMin = 0;
inline constexpr std::int16_t kOffsetDeleteVersionMax = 0;

struct OffsetDeleteRequestTopic {
  std::string name;
  std::vector<std::int32_t> partition_indexes;
  friend bool operator==(const OffsetDeleteRequestTopic&,
                         const OffsetDeleteRequestTopic&) = default;
};

struct OffsetDeleteRequest {
  std::string group_id;
  std::vector<OffsetDeleteRequestTopic> topics;
  friend bool operator==(const OffsetDeleteRequest&, const OffsetDeleteRequest&) = default;
};

struct OffsetDeleteResponsePartition {
  std::int32_t partition_index = 0;
  std::int16_t error_code = 0;
  friend bool operator==(const OffsetDeleteResponsePartition&,
                         const OffsetDeleteResponsePartition&) = default;
};

struct OffsetDeleteResponseTopic {
  std::string name;
  std::vector<OffsetDeleteResponsePartition> partitions;
  friend bool operator==(const OffsetDeleteResponseTopic&,
                         const OffsetDeleteResponseTopic&) = default;
};

struct OffsetDeleteResponse {
  std::int16_t error_code = 0;
  std::int32_t throttle_time_ms = 0;
  std::vector<OffsetDeleteResponseTopic> topics;
  friend bool operator==(const OffsetDeleteResponse&, const OffsetDeleteResponse&) = default;
};

// Readers: a version other than 0, truncation, a null where a value is required or an array
// length that can't fit latch an error in `reader`; the returned value must not be used then.
OffsetDeleteRequest read_offset_delete_request(Reader& reader, std::int16_t version);
OffsetDeleteResponse read_offset_delete_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES version == 0 and strings of at most 32767 bytes.
void write_offset_delete_request(Writer& writer, const OffsetDeleteRequest& request,
                                 std::int16_t version);
void write_offset_delete_response(Writer& writer, const OffsetDeleteResponse& response,
                                  std::int16_t version);

}  // namespace strand::protocol
