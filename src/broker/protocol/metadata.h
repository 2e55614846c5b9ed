// Metadata (key 3), versions 0-8: which brokers exist, which topics and partitions they lead. v9+
// is flexible and not implemented. Field names and version ranges follow Kafka's
// MetadataRequest.json / MetadataResponse.json; a field a version lacks keeps its default.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kMetadataVersionMin = 0;
inline constexpr std::int16_t kMetadataVersionMax = 8;

struct MetadataRequestTopic {
  std::string name;
  friend bool operator==(const MetadataRequestTopic&, const MetadataRequestTopic&) = default;
};

struct MetadataRequest {
  // nullopt asks for all topics. v0 has no null: there an empty array means all topics, so at v0
  // an empty list is written as, and read back as, nullopt ("no topics" can't be said at v0).
  std::optional<std::vector<MetadataRequestTopic>> topics;
  bool allow_auto_topic_creation = true;               // v4+
  bool include_cluster_authorized_operations = false;  // v8
  bool include_topic_authorized_operations = false;    // v8+
  friend bool operator==(const MetadataRequest&, const MetadataRequest&) = default;
};

struct MetadataResponseBroker {
  std::int32_t node_id = 0;
  std::string host;
  std::int32_t port = 0;
  std::optional<std::string> rack;  // v1+
  friend bool operator==(const MetadataResponseBroker&, const MetadataResponseBroker&) = default;
};

struct MetadataResponsePartition {
  std::int16_t error_code = 0;
  std::int32_t partition_index = 0;
  std::int32_t leader_id = -1;
  std::int32_t leader_epoch = -1;  // v7+
  std::vector<std::int32_t> replica_nodes;
  std::vector<std::int32_t> isr_nodes;
  std::vector<std::int32_t> offline_replicas;  // v5+
  friend bool operator==(const MetadataResponsePartition&,
                         const MetadataResponsePartition&) = default;
};

struct MetadataResponseTopic {
  std::int16_t error_code = 0;
  std::string name;
  bool is_internal = false;  // v1+
  std::vector<MetadataResponsePartition> partitions;
  std::int32_t topic_authorized_operations = kAuthorizedOperationsOmitted;  // v8+
  friend bool operator==(const MetadataResponseTopic&, const MetadataResponseTopic&) = default;
};

struct MetadataResponse {
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<MetadataResponseBroker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  std::int32_t controller_id = -1;        // v1+
  std::vector<MetadataResponseTopic> topics;
  std::int32_t cluster_authorized_operations = kAuthorizedOperationsOmitted;  // v8
  friend bool operator==(const MetadataResponse&, const MetadataResponse&) = default;
};

// Readers decode the body that follows the request/response header. Malformed input or a version
// outside 0-8 latches an error in `reader` (never an assertion); the result is then meaningless.
MetadataRequest read_metadata_request(Reader& reader, std::int16_t version);
// REQUIRES: kMetadataVersionMin <= version <= kMetadataVersionMax, strings fit an i16 length.
void write_metadata_request(Writer& writer, const MetadataRequest& request, std::int16_t version);

// REQUIRES: as for write_metadata_request.
void write_metadata_response(Writer& writer, const MetadataResponse& response,
                             std::int16_t version);
MetadataResponse read_metadata_response(Reader& reader, std::int16_t version);

}  // namespace strand::protocol
