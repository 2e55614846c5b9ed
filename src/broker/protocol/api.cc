#include "broker/protocol/api.h"

#include <array>

namespace strand::protocol {

namespace {

// flexible_from beyond max_version: no flexible version of that API is implemented yet.
// Group APIs start at v0: librdkafka turns group consumption off unless they do.
constexpr std::array<ApiRange, 24> kImplemented = {{
    {ApiKey::kProduce, 0, 8, 9},          {ApiKey::kFetch, 4, 11, 12},
    {ApiKey::kListOffsets, 1, 5, 6},      {ApiKey::kMetadata, 0, 8, 9},
    {ApiKey::kOffsetCommit, 0, 7, 8},     {ApiKey::kOffsetFetch, 0, 5, 6},
    {ApiKey::kFindCoordinator, 0, 2, 3},  {ApiKey::kJoinGroup, 0, 5, 6},
    {ApiKey::kHeartbeat, 0, 3, 4},        {ApiKey::kLeaveGroup, 0, 3, 4},
    {ApiKey::kSyncGroup, 0, 3, 4},        {ApiKey::kDescribeGroups, 0, 4, 5},
    {ApiKey::kListGroups, 0, 2, 3},       {ApiKey::kApiVersions, 0, 3, 3},
    {ApiKey::kCreateTopics, 0, 4, 5},     {ApiKey::kDeleteTopics, 0, 3, 4},
    {ApiKey::kInitProducerId, 0, 4, 2},   {ApiKey::kDescribeConfigs, 0, 3, 4},
    {ApiKey::kCreatePartitions, 0, 1, 2}, {ApiKey::kDeleteGroups, 0, 1, 2},
    {ApiKey::kAlterPartitionReassignments, 0, 0, 0},
    {ApiKey::kListPartitionReassignments, 0, 0, 0},
    {ApiKey::kOffsetDelete, 0, 0, 1},     {ApiKey::kDescribeCluster, 0, 0, 0},
}};

}  // namespace

std::span<const ApiRange> implemented_apis() { return kImplemented; }

std::optional<ApiRange> find_api(std::int16_t key) {
  for (const ApiRange& range : kImplemented) {
    if (static_cast<std::int16_t>(range.key) == key) return range;
  }
  return std::nullopt;
}

bool is_flexible(ApiKey key, std::int16_t version) {
  std::optional<ApiRange> range = find_api(static_cast<std::int16_t>(key));
  return range && version >= range->flexible_from;
}

RequestHeader read_request_header(Reader& reader) {
  RequestHeader header;
  header.api_key = reader.read_i16();
  header.api_version = reader.read_i16();
  header.correlation_id = reader.read_i32();
  header.client_id = reader.read_nullable_string();
  std::optional<ApiRange> range = find_api(header.api_key);
  const bool known =
      range && header.api_version >= range->min_version && header.api_version <= range->max_version;
  if (known && header.api_version >= range->flexible_from) (void)reader.read_tagged_fields();
  return header;
}

void write_response_header(Writer& writer, const RequestHeader& request) {
  writer.write_i32(request.correlation_id);
  if (request.api_key == static_cast<std::int16_t>(ApiKey::kApiVersions)) return;
  if (is_flexible(static_cast<ApiKey>(request.api_key), request.api_version)) {
    writer.write_empty_tagged_fields();
  }
}

}  // namespace strand::protocol
