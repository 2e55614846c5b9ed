// DeleteTopics (key 20), versions 0-3: a client asks for topics to be deleted by name. The four
// versions share one request format; the response gains throttle_time_ms in v1, and v3 may answer
// TOPIC_DELETION_DISABLED. v4 is flexible and is not implemented.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kDeleteTopicsVersionMin = 0;
inline constexpr std::int16_t kDeleteTopicsVersionMax = 3;

struct DeleteTopicsRequest {
  std::vector<std::string> topic_names;
  std::int32_t timeout_ms = 0;
  friend bool operator==(const DeleteTopicsRequest&, const DeleteTopicsRequest&) = default;
};

struct DeletableTopicResult {
  std::string name;
  std::int16_t error_code = 0;
  friend bool operator==(const DeletableTopicResult&, const DeletableTopicResult&) = default;
};

struct DeleteTopicsResponse {
  std::int32_t throttle_time_ms = 0;  // v1+
  std::vector<DeletableTopicResult> responses;
  friend bool operator==(const DeleteTopicsResponse&, const DeleteTopicsResponse&) = default;
};

// Readers: a version outside 0-3, truncation, a non-nullable field sent as null or an array
// length that can't fit latch an error in `reader`; the returned value is then partial and must
// not be used. Fields a version lacks keep their defaults.
DeleteTopicsRequest read_delete_topics_request(Reader& reader, std::int16_t version);
DeleteTopicsResponse read_delete_topics_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 3 and strings of at most 32767 bytes. Fields the version
// lacks are not written.
void write_delete_topics_request(Writer& writer, const DeleteTopicsRequest& request,
                                 std::int16_t version);
void write_delete_topics_response(Writer& writer, const DeleteTopicsResponse& response,
                                  std::int16_t version);

}  // namespace strand::protocol
