// Kafka API keys, the versions Strand implements, and the request/response headers. The ranges
// here are what ApiVersions advertises: only what is implemented, nothing more.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

enum class ApiKey : std::int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kJoinGroup = 11,
  kHeartbeat = 12,
  kLeaveGroup = 13,
  kSyncGroup = 14,
  kDescribeGroups = 15,
  kListGroups = 16,
  kApiVersions = 18,
  kCreateTopics = 19,
  kDeleteTopics = 20,
  kInitProducerId = 22,
  kDescribeConfigs = 32,
  kCreatePartitions = 37,
  kDeleteGroups = 42,
  kAlterPartitionReassignments = 45,
  kListPartitionReassignments = 46,
  kOffsetDelete = 47,
  kDescribeCluster = 60,
};

struct ApiRange {
  ApiKey key;
  std::int16_t min_version;
  std::int16_t max_version;
  std::int16_t flexible_from;  // first version with compact types and tagged fields
};

// The APIs this broker implements, in key order. Grows as handlers land.
std::span<const ApiRange> implemented_apis();
std::optional<ApiRange> find_api(std::int16_t key);
bool is_flexible(ApiKey key, std::int16_t version);

struct RequestHeader {
  std::int16_t api_key = 0;
  std::int16_t api_version = 0;
  std::int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

// Reads a request header. Header v2 (flexible) carries tagged fields; ApiVersions is special: a
// client may send versions we do not know, so for it (and for any unknown key/version) only the
// v1 fields are read, and the caller answers with an error in a v0-compatible response.
RequestHeader read_request_header(Reader& reader);

// Response header: correlation id, plus an empty tagged-field section for flexible versions
// (except ApiVersions, whose response header is always v0 so old clients can read the error).
void write_response_header(Writer& writer, const RequestHeader& request);

}  // namespace strand::protocol
