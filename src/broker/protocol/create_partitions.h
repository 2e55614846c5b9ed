// CreatePartitions (key 37), versions 0-1: a client asks to raise topics' partition counts. The
// two versions share one wire format (v1 only changes when a quota-throttled response is sent);
// v2 is flexible and is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kCreatePartitionsVersionMin = 0;
inline constexpr std::int16_t kCreatePartitionsVersionMax = 1;

// The replicas of one new partition, in the order the new partitions are numbered.
struct CreatePartitionsAssignment {
  std::vector<std::int32_t> broker_ids;
  friend bool operator==(const CreatePartitionsAssignment&,
                         const CreatePartitionsAssignment&) = default;
};

struct CreatePartitionsTopic {
  std::string name;
  std::int32_t count = 0;  // the new total partition count, not the number added
  // Null: the broker places the new partitions. Otherwise one entry per new partition.
  std::optional<std::vector<CreatePartitionsAssignment>> assignments;
  friend bool operator==(const CreatePartitionsTopic&, const CreatePartitionsTopic&) = default;
};

struct CreatePartitionsRequest {
  std::vector<CreatePartitionsTopic> topics;
  std::int32_t timeout_ms = 0;
  bool validate_only = false;
  friend bool operator==(const CreatePartitionsRequest&, const CreatePartitionsRequest&) = default;
};

struct CreatePartitionsTopicResult {
  std::string name;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  friend bool operator==(const CreatePartitionsTopicResult&,
                         const CreatePartitionsTopicResult&) = default;
};

struct CreatePartitionsResponse {
  std::int32_t throttle_time_ms = 0;
  std::vector<CreatePartitionsTopicResult> results;
  friend bool operator==(const CreatePartitionsResponse&,
                         const CreatePartitionsResponse&) = default;
};

// Readers: a version outside 0-1, truncation, a non-nullable field sent as null or an array
// length that can't fit latch an error in `reader`; the returned value is then partial and must
// not be used.
CreatePartitionsRequest read_create_partitions_request(Reader& reader, std::int16_t version);
CreatePartitionsResponse read_create_partitions_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 1 and strings of at most 32767 bytes.
void write_create_partitions_request(Writer& writer, const CreatePartitionsRequest& request,
                                     std::int16_t version);
void write_create_partitions_response(Writer& writer, const CreatePartitionsResponse& response,
                                      std::int16_t version);

}  // namespace strand::protocol
