// SyncGroup (key 14), versions 0-3: after a JoinGroup round every member asks for its assignment;
// the leader's request carries the assignments it computed for all members. v3 adds
// group_instance_id; v4 is flexible and is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kSyncGroupVersionMin = 0;
inline constexpr std::int16_t kSyncGroupVersionMax = 3;

struct SyncGroupRequestAssignment {
  std::string member_id;
  std::vector<std::byte> assignment;
  friend bool operator==(const SyncGroupRequestAssignment&,
                         const SyncGroupRequestAssignment&) = default;
};

struct SyncGroupRequest {
  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;         // v3+
  std::vector<SyncGroupRequestAssignment> assignments;  // from the leader only
  friend bool operator==(const SyncGroupRequest&, const SyncGroupRequest&) = default;
};

struct SyncGroupResponse {
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::vector<std::byte> assignment;
  friend bool operator==(const SyncGroupResponse&, const SyncGroupResponse&) = default;
};

// Readers: a version outside 0-3, truncation, a null where a value is required or an array
// length that can't fit latch an error in `reader`; the returned value must not be used then.
SyncGroupRequest read_sync_group_request(Reader& reader, std::int16_t version);
SyncGroupResponse read_sync_group_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 3 and strings of at most 32767 bytes.
void write_sync_group_request(Writer& writer, const SyncGroupRequest& request,
                              std::int16_t version);
void write_sync_group_response(Writer& writer, const SyncGroupResponse& response,
                               std::int16_t version);

}  // namespace strand::protocol
