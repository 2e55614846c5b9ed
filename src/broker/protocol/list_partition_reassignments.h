// ListPartitionReassignments (key 46), version 0: a client (kafka-reassign-partitions --verify,
// the admin client's listPartitionReassignments) asks which partitions are being moved, and
// between which replicas. v0 is flexible: compact strings and arrays, and a tagged-field section
// ending every struct. This codec covers the body only; the request and response headers are
// api.h's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kListPartitionReassignmentsVersionMin = 0;
inline constexpr std::int16_t kListPartitionReassignmentsVersionMax = 0;

struct ListPartitionReassignmentsTopic {
  std::string name;
  std::vector<std::int32_t> partition_indexes;
  friend bool operator==(const ListPartitionReassignmentsTopic&,
                         const ListPartitionReassignmentsTopic&) = default;
};

struct ListPartitionReassignmentsRequest {
  std::int32_t timeout_ms = 0;
  // Null: every reassignment in progress, of every topic.
  std::optional<std::vector<ListPartitionReassignmentsTopic>> topics;
  friend bool operator==(const ListPartitionReassignmentsRequest&,
                         const ListPartitionReassignmentsRequest&) = default;
};

// One partition being moved: `replicas` is the full set while the move runs, which is the
// target set plus the replicas still to be removed.
struct OngoingPartitionReassignment {
  std::int32_t partition_index = 0;
  std::vector<std::int32_t> replicas;
  std::vector<std::int32_t> adding_replicas;
  std::vector<std::int32_t> removing_replicas;
  friend bool operator==(const OngoingPartitionReassignment&,
                         const OngoingPartitionReassignment&) = default;
};

struct OngoingTopicReassignment {
  std::string name;
  std::vector<OngoingPartitionReassignment> partitions;
  friend bool operator==(const OngoingTopicReassignment&,
                         const OngoingTopicReassignment&) = default;
};

struct ListPartitionReassignmentsResponse {
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<OngoingTopicReassignment> topics;
  friend bool operator==(const ListPartitionReassignmentsResponse&,
                         const ListPartitionReassignmentsResponse&) = default;
};

// Readers: a version other than 0, truncation, a non-nullable field sent as null, an array length
// that can't fit or a malformed tagged-field section latch an error in `reader`; the returned
// value is then partial and must not be used. Tagged fields are read and dropped: v0 defines none.
ListPartitionReassignmentsRequest read_list_partition_reassignments_request(Reader& reader,
                                                                            std::int16_t version);
ListPartitionReassignmentsResponse read_list_partition_reassignments_response(Reader& reader,
                                                                              std::int16_t version);

// Writers: REQUIRES version == 0. Every tagged-field section is written empty.
void write_list_partition_reassignments_request(Writer& writer,
                                                const ListPartitionReassignmentsRequest& request,
                                                std::int16_t version);
void write_list_partition_reassignments_response(Writer& writer,
                                                 const ListPartitionReassignmentsResponse& response,
                                                 std::int16_t version);

}  // namespace strand::protocol
