#include "broker/protocol/sync_group.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

constexpr std::size_t kAssignmentBytesMin = 2 + 4;  // member_id, assignment

bool version_supported(std::int16_t version) {
  return version >= kSyncGroupVersionMin && version <= kSyncGroupVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("SyncGroup v" + std::to_string(version) + " is not implemented");
  return true;
}

}  // namespace

SyncGroupRequest read_sync_group_request(Reader& reader, std::int16_t version) {
  SyncGroupRequest request;
  if (refuse_version(reader, version)) return request;
  request.group_id = reader.read_string();
  request.generation_id = reader.read_i32();
  request.member_id = reader.read_string();
  if (version >= 3) request.group_instance_id = reader.read_nullable_string();
  const std::int32_t count = reader.read_required_array_length(kAssignmentBytesMin, "assignments");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    SyncGroupRequestAssignment assignment;
    assignment.member_id = reader.read_string();
    assignment.assignment = reader.read_bytes();
    request.assignments.push_back(std::move(assignment));
  }
  return request;
}

void write_sync_group_request(Writer& writer, const SyncGroupRequest& request,
                              std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a SyncGroup version we implement");
  writer.write_string(request.group_id);
  writer.write_i32(request.generation_id);
  writer.write_string(request.member_id);
  if (version >= 3) writer.write_nullable_string(request.group_instance_id);
  writer.write_array_length(static_cast<std::int32_t>(request.assignments.size()));
  for (const SyncGroupRequestAssignment& assignment : request.assignments) {
    writer.write_string(assignment.member_id);
    writer.write_bytes(assignment.assignment);
  }
}

void write_sync_group_response(Writer& writer, const SyncGroupResponse& response,
                               std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a SyncGroup version we implement");
  if (version >= 1) writer.write_i32(response.throttle_time_ms);
  writer.write_i16(response.error_code);
  writer.write_bytes(response.assignment);
}

SyncGroupResponse read_sync_group_response(Reader& reader, std::int16_t version) {
  SyncGroupResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 1) response.throttle_time_ms = reader.read_i32();
  response.error_code = reader.read_i16();
  response.assignment = reader.read_bytes();
  return response;
}

}  // namespace strand::protocol
