// LeaveGroup (key 13), versions 0-3: members leave a group (a consumer closing), which starts a
// rebalance for the others. v0-2 name one member; v3 names a batch of members, each with an
// optional group_instance_id, and answers per member. v4 is flexible and is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kLeaveGroupVersionMin = 0;
inline constexpr std::int16_t kLeaveGroupVersionMax = 3;

struct MemberIdentity {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  friend bool operator==(const MemberIdentity&, const MemberIdentity&) = default;
};

struct LeaveGroupRequest {
  std::string group_id;
  std::string member_id;                // v0-2
  std::vector<MemberIdentity> members;  // v3+
  friend bool operator==(const LeaveGroupRequest&, const LeaveGroupRequest&) = default;
};

struct MemberResponse {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::int16_t error_code = 0;
  friend bool operator==(const MemberResponse&, const MemberResponse&) = default;
};

struct LeaveGroupResponse {
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::vector<MemberResponse> members;  // v3+
  friend bool operator==(const LeaveGroupResponse&, const LeaveGroupResponse&) = default;
};

// Readers: a version outside 0-3, truncation, a null where a value is required or an array
// length that can't fit latch an error in `reader`; the returned value must not be used then.
LeaveGroupRequest read_leave_group_request(Reader& reader, std::int16_t version);
LeaveGroupResponse read_leave_group_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 3 and strings of at most 32767 bytes.
void write_leave_group_request(Writer& writer, const LeaveGroupRequest& request,
                               std::int16_t version);
void write_leave_group_response(Writer& writer, const LeaveGroupResponse& response,
                                std::int16_t version);

}  // namespace strand::protocol
