// Heartbeat (key 12), versions 0-3: a member tells the coordinator it is alive, and learns that a
// rebalance started (REBALANCE_IN_PROGRESS). v3 adds group_instance_id; v4 is flexible and is not
// implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kHeartbeatVersionMin = 0;
inline constexpr std::int16_t kHeartbeatVersionMax = 3;

struct HeartbeatRequest {
  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  friend bool operator==(const HeartbeatRequest&, const HeartbeatRequest&) = default;
};

struct HeartbeatResponse {
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  friend bool operator==(const HeartbeatResponse&, const HeartbeatResponse&) = default;
};

// Readers: a version outside 0-3, truncation or a null where a value is required latch an error
// in `reader`; the returned value must not be used then.
HeartbeatRequest read_heartbeat_request(Reader& reader, std::int16_t version);
HeartbeatResponse read_heartbeat_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 3 and strings of at most 32767 bytes.
void write_heartbeat_request(Writer& writer, const HeartbeatRequest& request, std::int16_t version);
void write_heartbeat_response(Writer& writer, const HeartbeatResponse& response,
                              std::int16_t version);

}  // namespace strand::protocol
