#include "broker/protocol/describe_groups.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

constexpr std::size_t kGroupBytesMin = 2 + 2 + 2 + 2 + 2 + 4;  // error, four strings, members
constexpr std::size_t kMemberBytesMin = 2 + 2 + 2 + 4 + 4;     // three strings, two bytes

bool version_supported(std::int16_t version) {
  return version >= kDescribeGroupsVersionMin && version <= kDescribeGroupsVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("DescribeGroups v" + std::to_string(version) + " is not implemented");
  return true;
}

DescribedGroupMember read_member(Reader& reader, std::int16_t version) {
  DescribedGroupMember member;
  member.member_id = reader.read_string();
  if (version >= 4) member.group_instance_id = reader.read_nullable_string();
  member.client_id = reader.read_string();
  member.client_host = reader.read_string();
  member.member_metadata = reader.read_bytes();
  member.member_assignment = reader.read_bytes();
  return member;
}

DescribedGroup read_group(Reader& reader, std::int16_t version) {
  DescribedGroup group;
  group.error_code = reader.read_i16();
  group.group_id = reader.read_string();
  group.group_state = reader.read_string();
  group.protocol_type = reader.read_string();
  group.protocol_data = reader.read_string();
  const std::int32_t count = reader.read_required_array_length(kMemberBytesMin, "members");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    group.members.push_back(read_member(reader, version));
  }
  if (version >= 3) group.authorized_operations = reader.read_i32();
  return group;
}

}  // namespace

DescribeGroupsRequest read_describe_groups_request(Reader& reader, std::int16_t version) {
  DescribeGroupsRequest request;
  if (refuse_version(reader, version)) return request;
  const std::int32_t count = reader.read_required_array_length(2, "groups");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    request.groups.push_back(reader.read_string());
  }
  if (version >= 3) request.include_authorized_operations = reader.read_bool();
  return request;
}

void write_describe_groups_request(Writer& writer, const DescribeGroupsRequest& request,
                                   std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a DescribeGroups version we implement");
  writer.write_array_length(static_cast<std::int32_t>(request.groups.size()));
  for (const std::string& group : request.groups) writer.write_string(group);
  if (version >= 3) writer.write_bool(request.include_authorized_operations);
}

void write_describe_groups_response(Writer& writer, const DescribeGroupsResponse& response,
                                    std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a DescribeGroups version we implement");
  if (version >= 1) writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.groups.size()));
  for (const DescribedGroup& group : response.groups) {
    writer.write_i16(group.error_code);
    writer.write_string(group.group_id);
    writer.write_string(group.group_state);
    writer.write_string(group.protocol_type);
    writer.write_string(group.protocol_data);
    writer.write_array_length(static_cast<std::int32_t>(group.members.size()));
    for (const DescribedGroupMember& member : group.members) {
      writer.write_string(member.member_id);
      if (version >= 4) writer.write_nullable_string(member.group_instance_id);
      writer.write_string(member.client_id);
      writer.write_string(member.client_host);
      writer.write_bytes(member.member_metadata);
      writer.write_bytes(member.member_assignment);
    }
    if (version >= 3) writer.write_i32(group.authorized_operations);
  }
}

DescribeGroupsResponse read_describe_groups_response(Reader& reader, std::int16_t version) {
  DescribeGroupsResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 1) response.throttle_time_ms = reader.read_i32();
  const std::int32_t count = reader.read_required_array_length(kGroupBytesMin, "groups");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    response.groups.push_back(read_group(reader, version));
  }
  return response;
}

}  // namespace strand::protocol
