#include "broker/protocol/list_groups.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

constexpr std::size_t kGroupBytesMin = 2 + 2;  // group_id, protocol_type

bool version_supported(std::int16_t version) {
  return version >= kListGroupsVersionMin && version <= kListGroupsVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("ListGroups v" + std::to_string(version) + " is not implemented");
  return true;
}

}  // namespace

ListGroupsRequest read_list_groups_request(Reader& reader, std::int16_t version) {
  (void)refuse_version(reader, version);
  return ListGroupsRequest{};
}

void write_list_groups_request(Writer&, const ListGroupsRequest&, std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a ListGroups version we implement");
}

void write_list_groups_response(Writer& writer, const ListGroupsResponse& response,
                                std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a ListGroups version we implement");
  if (version >= 1) writer.write_i32(response.throttle_time_ms);
  writer.write_i16(response.error_code);
  writer.write_array_length(static_cast<std::int32_t>(response.groups.size()));
  for (const ListedGroup& group : response.groups) {
    writer.write_string(group.group_id);
    writer.write_string(group.protocol_type);
  }
}

ListGroupsResponse read_list_groups_response(Reader& reader, std::int16_t version) {
  ListGroupsResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 1) response.throttle_time_ms = reader.read_i32();
  response.error_code = reader.read_i16();
  const std::int32_t count = reader.read_required_array_length(kGroupBytesMin, "groups");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    ListedGroup group;
    group.group_id = reader.read_string();
    group.protocol_type = reader.read_string();
    response.groups.push_back(std::move(group));
  }
  return response;
}

}  // namespace strand::protocol
