// OffsetCommit (key 8), versions 0-7: a consumer stores the offsets it has processed in its
// group. v1 adds the generation and member id (checked by the coordinator; generation -1 is a
// standalone commit) and a per-partition commit timestamp (v1 only); v2-4 carry a retention time;
// v6 adds the leader epoch, v7 group_instance_id. v8 is flexible and is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kOffsetCommitVersionMin = 0;
inline constexpr std::int16_t kOffsetCommitVersionMax = 7;

struct OffsetCommitRequestPartition {
  std::int32_t partition_index = 0;
  std::int64_t committed_offset = 0;
  std::int32_t committed_leader_epoch = -1;  // v6+
  std::int64_t commit_timestamp = -1;        // v1 only
  std::optional<std::string> committed_metadata;
  friend bool operator==(const OffsetCommitRequestPartition&,
                         const OffsetCommitRequestPartition&) = default;
};

struct OffsetCommitRequestTopic {
  std::string name;
  std::vector<OffsetCommitRequestPartition> partitions;
  friend bool operator==(const OffsetCommitRequestTopic&,
                         const OffsetCommitRequestTopic&) = default;
};

struct OffsetCommitRequest {
  std::string group_id;
  std::int32_t generation_id = -1;               // v1+
  std::string member_id;                         // v1+
  std::optional<std::string> group_instance_id;  // v7+
  std::int64_t retention_time_ms = -1;           // v2-4
  std::vector<OffsetCommitRequestTopic> topics;
  friend bool operator==(const OffsetCommitRequest&, const OffsetCommitRequest&) = default;
};

struct OffsetCommitResponsePartition {
  std::int32_t partition_index = 0;
  std::int16_t error_code = 0;
  friend bool operator==(const OffsetCommitResponsePartition&,
                         const OffsetCommitResponsePartition&) = default;
};

struct OffsetCommitResponseTopic {
  std::string name;
  std::vector<OffsetCommitResponsePartition> partitions;
  friend bool operator==(const OffsetCommitResponseTopic&,
                         const OffsetCommitResponseTopic&) = default;
};

struct OffsetCommitResponse {
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<OffsetCommitResponseTopic> topics;
  friend bool operator==(const OffsetCommitResponse&, const OffsetCommitResponse&) = default;
};

// Readers: a version outside 0-7, truncation, a null where a value is required or an array
// length that can't fit latch an error in `reader`; the returned value must not be used then.
OffsetCommitRequest read_offset_commit_request(Reader& reader, std::int16_t version);
OffsetCommitResponse read_offset_commit_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 7 and strings of at most 32767 bytes.
void write_offset_commit_request(Writer& writer, const OffsetCommitRequest& request,
                                 std::int16_t version);
void write_offset_commit_response(Writer& writer, const OffsetCommitResponse& response,
                                  std::int16_t version);

}  // namespace strand::protocol
