// AlterPartitionReassignments (key 45), version 0: a client (kafka-reassign-partitions, the admin
// client's alterPartitionReassignments) asks to move partitions to new replica sets, or to cancel
// a move in progress. v0 is flexible: compact strings and arrays, and a tagged-field section
// ending every struct. This codec covers the body only; the request and response headers are
// api.h's. v1 (allow_replication_factor_change) is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kAlterPartitionReassignmentsVersionMin = 0;
inline constexpr std::int16_t kAlterPartitionReassignmentsVersionMax = 0;

struct AlterPartitionReassignmentsPartition {
  std::int32_t partition_index = 0;
  // The target replica set, preferred leader first. Null: cancel the reassignment in progress.
  std::optional<std::vector<std::int32_t>> replicas;
  friend bool operator==(const AlterPartitionReassignmentsPartition&,
                         const AlterPartitionReassignmentsPartition&) = default;
};

struct AlterPartitionReassignmentsTopic {
  std::string name;
  std::vector<AlterPartitionReassignmentsPartition> partitions;
  friend bool operator==(const AlterPartitionReassignmentsTopic&,
                         const AlterPartitionReassignmentsTopic&) = default;
};

struct AlterPartitionReassignmentsRequest {
  std::int32_t timeout_ms = 0;
  std::vector<AlterPartitionReassignmentsTopic> topics;
  friend bool operator==(const AlterPartitionReassignmentsRequest&,
                         const AlterPartitionReassignmentsRequest&) = default;
};

struct AlterPartitionReassignmentsPartitionResult {
  std::int32_t partition_index = 0;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  friend bool operator==(const AlterPartitionReassignmentsPartitionResult&,
                         const AlterPartitionReassignmentsPartitionResult&) = default;
};

struct AlterPartitionReassignmentsTopicResult {
  std::string name;
  std::vector<AlterPartitionReassignmentsPartitionResult> partitions;
  friend bool operator==(const AlterPartitionReassignmentsTopicResult&,
                         const AlterPartitionReassignmentsTopicResult&) = default;
};

struct AlterPartitionReassignmentsResponse {
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;  // top level: set when the whole request failed
  std::optional<std::string> error_message;
  std::vector<AlterPartitionReassignmentsTopicResult> responses;
  friend bool operator==(const AlterPartitionReassignmentsResponse&,
                         const AlterPartitionReassignmentsResponse&) = default;
};

// Readers: a version other than 0, truncation, a non-nullable field sent as null, an array length
// that can't fit or a malformed tagged-field section latch an error in `reader`; the returned
// value is then partial and must not be used. Tagged fields are read and dropped: v0 defines none.
AlterPartitionReassignmentsRequest read_alter_partition_reassignments_request(Reader& reader,
                                                                              std::int16_t version);
AlterPartitionReassignmentsResponse read_alter_partition_reassignments_response(
    Reader& reader, std::int16_t version);

// Writers: REQUIRES version == 0. Every tagged-field section is written empty.
void write_alter_partition_reassignments_request(Writer& writer,
                                                 const AlterPartitionReassignmentsRequest& request,
                                                 std::int16_t version);
void write_alter_partition_reassignments_response(
    Writer& writer, const AlterPartitionReassignmentsResponse& response, std::int16_t version);

}  // namespace strand::protocol
