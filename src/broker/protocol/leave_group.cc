#include "broker/protocol/leave_group.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

constexpr std::size_t kIdentityBytesMin = 2 + 2;            // member_id, group_instance_id (null)
constexpr std::size_t kMemberResponseBytesMin = 2 + 2 + 2;  // ids, error_code

bool version_supported(std::int16_t version) {
  return version >= kLeaveGroupVersionMin && version <= kLeaveGroupVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("LeaveGroup v" + std::to_string(version) + " is not implemented");
  return true;
}

}  // namespace

LeaveGroupRequest read_leave_group_request(Reader& reader, std::int16_t version) {
  LeaveGroupRequest request;
  if (refuse_version(reader, version)) return request;
  request.group_id = reader.read_string();
  if (version <= 2) {
    request.member_id = reader.read_string();
    return request;
  }
  const std::int32_t count = reader.read_required_array_length(kIdentityBytesMin, "members");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    MemberIdentity member;
    member.member_id = reader.read_string();
    member.group_instance_id = reader.read_nullable_string();
    request.members.push_back(std::move(member));
  }
  return request;
}

void write_leave_group_request(Writer& writer, const LeaveGroupRequest& request,
                               std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a LeaveGroup version we implement");
  writer.write_string(request.group_id);
  if (version <= 2) {
    writer.write_string(request.member_id);
    return;
  }
  writer.write_array_length(static_cast<std::int32_t>(request.members.size()));
  for (const MemberIdentity& member : request.members) {
    writer.write_string(member.member_id);
    writer.write_nullable_string(member.group_instance_id);
  }
}

void write_leave_group_response(Writer& writer, const LeaveGroupResponse& response,
                                std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a LeaveGroup version we implement");
  if (version >= 1) writer.write_i32(response.throttle_time_ms);
  writer.write_i16(response.error_code);
  if (version < 3) return;
  writer.write_array_length(static_cast<std::int32_t>(response.members.size()));
  for (const MemberResponse& member : response.members) {
    writer.write_string(member.member_id);
    writer.write_nullable_string(member.group_instance_id);
    writer.write_i16(member.error_code);
  }
}

LeaveGroupResponse read_leave_group_response(Reader& reader, std::int16_t version) {
  LeaveGroupResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 1) response.throttle_time_ms = reader.read_i32();
  response.error_code = reader.read_i16();
  if (version < 3) return response;
  const std::int32_t count = reader.read_required_array_length(kMemberResponseBytesMin, "members");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    MemberResponse member;
    member.member_id = reader.read_string();
    member.group_instance_id = reader.read_nullable_string();
    member.error_code = reader.read_i16();
    response.members.push_back(std::move(member));
  }
  return response;
}

}  // namespace strand::protocol
