#include "broker/protocol/delete_groups.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

bool version_supported(std::int16_t version) {
  return version >= kDeleteGroupsVersionMin && version <= kDeleteGroupsVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("DeleteGroups v" + std::to_string(version) + " is not implemented");
  return true;
}

}  // namespace

DeleteGroupsRequest read_delete_groups_request(Reader& reader, std::int16_t version) {
  DeleteGroupsRequest request;
  if (refuse_version(reader, version)) return request;
  const std::int32_t count = reader.read_required_array_length(2, "groups_names");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    request.groups_names.push_back(reader.read_string());
  }
  return request;
}

void write_delete_groups_request(Writer& writer, const DeleteGroupsRequest& request,
                                 std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a DeleteGroups version we implement");
  writer.write_array_length(static_cast<std::int32_t>(request.groups_names.size()));
  for (const std::string& name : request.groups_names) writer.write_string(name);
}

void write_delete_groups_response(Writer& writer, const DeleteGroupsResponse& response,
                                  std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a DeleteGroups version we implement");
  writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.results.size()));
  for (const DeletableGroupResult& result : response.results) {
    writer.write_string(result.group_id);
    writer.write_i16(result.error_code);
  }
}

DeleteGroupsResponse read_delete_groups_response(Reader& reader, std::int16_t version) {
  DeleteGroupsResponse response;
  if (refuse_version(reader, version)) return response;
  response.throttle_time_ms = reader.read_i32();
  const std::int32_t count = reader.read_required_array_length(2 + 2, "results");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    DeletableGroupResult result;
    result.group_id = reader.read_string();
    result.error_code = reader.read_i16();
    response.results.push_back(std::move(result));
  }
  return response;
}

}  // namespace strand::protocol
