// OffsetFetch (key 9), versions 0-5: a consumer reads its group's committed offsets, for the
// partitions it names or (v2+, topics null) for every partition the group has committed. A
// partition without a commit answers offset -1. v2 adds a top-level error code, v5 the leader
// epoch. v6 is flexible and is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kOffsetFetchVersionMin = 0;
inline constexpr std::int16_t kOffsetFetchVersionMax = 5;

struct OffsetFetchRequestTopic {
  std::string name;
  std::vector<std::int32_t> partition_indexes;
  friend bool operator==(const OffsetFetchRequestTopic&, const OffsetFetchRequestTopic&) = default;
};

struct OffsetFetchRequest {
  std::string group_id;
  // nullopt (v2+): every partition with a committed offset.
  std::optional<std::vector<OffsetFetchRequestTopic>> topics =
      std::vector<OffsetFetchRequestTopic>{};
  friend bool operator==(const OffsetFetchRequest&, const OffsetFetchRequest&) = default;
};

struct OffsetFetchResponsePartition {
  std::int32_t partition_index = 0;
  std::int64_t committed_offset = -1;
  std::int32_t committed_leader_epoch = -1;  // v5+
  std::optional<std::string> metadata;
  std::int16_t error_code = 0;
  friend bool operator==(const OffsetFetchResponsePartition&,
                         const OffsetFetchResponsePartition&) = default;
};

struct OffsetFetchResponseTopic {
  std::string name;
  std::vector<OffsetFetchResponsePartition> partitions;
  friend bool operator==(const OffsetFetchResponseTopic&,
                         const OffsetFetchResponseTopic&) = default;
};

struct OffsetFetchResponse {
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<OffsetFetchResponseTopic> topics;
  std::int16_t error_code = 0;  // v2+
  friend bool operator==(const OffsetFetchResponse&, const OffsetFetchResponse&) = default;
};

// Readers: a version outside 0-5, truncation, a null where a value is required (topics before
// v2) or an array length that can't fit latch an error in `reader`; the value is then unusable.
OffsetFetchRequest read_offset_fetch_request(Reader& reader, std::int16_t version);
OffsetFetchResponse read_offset_fetch_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 5, strings of at most 32767 bytes, and topics present before
// v2.
void write_offset_fetch_request(Writer& writer, const OffsetFetchRequest& request,
                                std::int16_t version);
void write_offset_fetch_response(Writer& writer, const OffsetFetchResponse& response,
                                 std::int16_t version);

}  // namespace strand::protocol
