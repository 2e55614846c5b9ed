// CreateTopics (key 19), versions 0-4: a client asks for new topics, with a partition count and
// replication factor or an explicit replica assignment, and optional topic configs. v4 has v3's
// wire format (it only lets num_partitions/replication_factor be -1 without assignments);
// v5 is flexible and is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kCreateTopicsVersionMin = 0;
inline constexpr std::int16_t kCreateTopicsVersionMax = 4;

struct CreatableReplicaAssignment {
  std::int32_t partition_index = 0;
  std::vector<std::int32_t> broker_ids;
  friend bool operator==(const CreatableReplicaAssignment&,
                         const CreatableReplicaAssignment&) = default;
};

struct CreatableTopicConfig {
  std::string name;
  std::optional<std::string> value;
  friend bool operator==(const CreatableTopicConfig&, const CreatableTopicConfig&) = default;
};

struct CreatableTopic {
  std::string name;
  std::int32_t num_partitions = -1;      // -1: from assignments, or the broker default (v4+)
  std::int16_t replication_factor = -1;  // -1: from assignments, or the broker default (v4+)
  std::vector<CreatableReplicaAssignment> assignments;  // empty: the broker assigns
  std::vector<CreatableTopicConfig> configs;
  friend bool operator==(const CreatableTopic&, const CreatableTopic&) = default;
};

struct CreateTopicsRequest {
  std::vector<CreatableTopic> topics;
  std::int32_t timeout_ms = 60000;
  bool validate_only = false;  // v1+
  friend bool operator==(const CreateTopicsRequest&, const CreateTopicsRequest&) = default;
};

struct CreatableTopicResult {
  std::string name;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;  // v1+
  friend bool operator==(const CreatableTopicResult&, const CreatableTopicResult&) = default;
};

struct CreateTopicsResponse {
  std::int32_t throttle_time_ms = 0;  // v2+
  std::vector<CreatableTopicResult> topics;
  friend bool operator==(const CreateTopicsResponse&, const CreateTopicsResponse&) = default;
};

// Readers: a version outside 0-4, truncation, a non-nullable field sent as null or an array
// length that can't fit latch an error in `reader`; the returned value is then partial and must
// not be used. Fields a version lacks keep their defaults.
CreateTopicsRequest read_create_topics_request(Reader& reader, std::int16_t version);
CreateTopicsResponse read_create_topics_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 4 and strings of at most 32767 bytes. Fields the version
// lacks are not written.
void write_create_topics_request(Writer& writer, const CreateTopicsRequest& request,
                                 std::int16_t version);
void write_create_topics_response(Writer& writer, const CreateTopicsResponse& response,
                                  std::int16_t version);

}  // namespace strand::protocol
