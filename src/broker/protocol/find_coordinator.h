// FindCoordinator (key 10), versions 0-2: which broker coordinates a group (key type 0) or a
// transactional id (key type 1). v3 is flexible and v4 batches keys; neither is implemented
// (librdkafka 2.0, kafka-python 2.0 and kafkajs 2.2 ask for at most v2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kFindCoordinatorVersionMin = 0;
inline constexpr std::int16_t kFindCoordinatorVersionMax = 2;

inline constexpr std::int8_t kCoordinatorKeyGroup = 0;
inline constexpr std::int8_t kCoordinatorKeyTransaction = 1;

struct FindCoordinatorRequest {
  std::string key;                              // the group id (v0: always a group)
  std::int8_t key_type = kCoordinatorKeyGroup;  // v1+
  friend bool operator==(const FindCoordinatorRequest&, const FindCoordinatorRequest&) = default;
};

struct FindCoordinatorResponse {
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;  // v1+
  std::int32_t node_id = -1;
  std::string host;
  std::int32_t port = -1;
  friend bool operator==(const FindCoordinatorResponse&, const FindCoordinatorResponse&) = default;
};

// Readers: a version outside 0-2, truncation or a null where a value is required latch an error
// in `reader`; the returned value is then partial and must not be used.
FindCoordinatorRequest read_find_coordinator_request(Reader& reader, std::int16_t version);
FindCoordinatorResponse read_find_coordinator_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 2 and strings of at most 32767 bytes.
void write_find_coordinator_request(Writer& writer, const FindCoordinatorRequest& request,
                                    std::int16_t version);
void write_find_coordinator_response(Writer& writer, const FindCoordinatorResponse& response,
                                     std::int16_t version);

}  // namespace strand::protocol
