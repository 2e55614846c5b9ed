// JoinGroup (key 11), versions 0-5: a member asks to join a group (or to rejoin for a rebalance)
// and names the protocols (assignors) it supports with their metadata. The answer comes when the
// rebalance completes; the leader's answer lists every member with its metadata. v4+ lets the
// coordinator answer MEMBER_ID_REQUIRED to a member without an id, v5 adds static membership
// (group_instance_id). v6 is flexible and is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kJoinGroupVersionMin = 0;
inline constexpr std::int16_t kJoinGroupVersionMax = 5;

struct JoinGroupRequestProtocol {
  std::string name;
  std::vector<std::byte> metadata;
  friend bool operator==(const JoinGroupRequestProtocol&,
                         const JoinGroupRequestProtocol&) = default;
};

struct JoinGroupRequest {
  std::string group_id;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = -1;        // v1+; v0 uses the session timeout
  std::string member_id;                         // "" for a member joining for the first time
  std::optional<std::string> group_instance_id;  // v5+
  std::string protocol_type;
  std::vector<JoinGroupRequestProtocol> protocols;
  friend bool operator==(const JoinGroupRequest&, const JoinGroupRequest&) = default;
};

struct JoinGroupResponseMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v5+
  std::vector<std::byte> metadata;
  friend bool operator==(const JoinGroupResponseMember&, const JoinGroupResponseMember&) = default;
};

struct JoinGroupResponse {
  std::int32_t throttle_time_ms = 0;  // v2+
  std::int16_t error_code = 0;
  std::int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<JoinGroupResponseMember> members;  // for the leader only
  friend bool operator==(const JoinGroupResponse&, const JoinGroupResponse&) = default;
};

// Readers: a version outside 0-5, truncation, a null where a value is required or an array
// length that can't fit latch an error in `reader`; the returned value must not be used then.
JoinGroupRequest read_join_group_request(Reader& reader, std::int16_t version);
JoinGroupResponse read_join_group_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 5 and strings of at most 32767 bytes. Fields the version
// lacks are not written.
void write_join_group_request(Writer& writer, const JoinGroupRequest& request,
                              std::int16_t version);
void write_join_group_response(Writer& writer, const JoinGroupResponse& response,
                               std::int16_t version);

}  // namespace strand::protocol
