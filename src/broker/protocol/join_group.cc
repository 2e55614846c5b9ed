#include "broker/protocol/join_group.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

constexpr std::size_t kProtocolBytesMin = 2 + 4;  // name, metadata
constexpr std::size_t kMemberBytesMin = 2 + 4;    // member_id, metadata

bool version_supported(std::int16_t version) {
  return version >= kJoinGroupVersionMin && version <= kJoinGroupVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("JoinGroup v" + std::to_string(version) + " is not implemented");
  return true;
}

}  // namespace

JoinGroupRequest read_join_group_request(Reader& reader, std::int16_t version) {
  JoinGroupRequest request;
  if (refuse_version(reader, version)) return request;
  request.group_id = reader.read_string();
  request.session_timeout_ms = reader.read_i32();
  if (version >= 1) request.rebalance_timeout_ms = reader.read_i32();
  request.member_id = reader.read_string();
  if (version >= 5) request.group_instance_id = reader.read_nullable_string();
  request.protocol_type = reader.read_string();
  const std::int32_t count = reader.read_required_array_length(kProtocolBytesMin, "protocols");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    JoinGroupRequestProtocol protocol;
    protocol.name = reader.read_string();
    protocol.metadata = reader.read_bytes();
    request.protocols.push_back(std::move(protocol));
  }
  return request;
}

void write_join_group_request(Writer& writer, const JoinGroupRequest& request,
                              std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a JoinGroup version we implement");
  writer.write_string(request.group_id);
  writer.write_i32(request.session_timeout_ms);
  if (version >= 1) writer.write_i32(request.rebalance_timeout_ms);
  writer.write_string(request.member_id);
  if (version >= 5) writer.write_nullable_string(request.group_instance_id);
  writer.write_string(request.protocol_type);
  writer.write_array_length(static_cast<std::int32_t>(request.protocols.size()));
  for (const JoinGroupRequestProtocol& protocol : request.protocols) {
    writer.write_string(protocol.name);
    writer.write_bytes(protocol.metadata);
  }
}

void write_join_group_response(Writer& writer, const JoinGroupResponse& response,
                               std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a JoinGroup version we implement");
  if (version >= 2) writer.write_i32(response.throttle_time_ms);
  writer.write_i16(response.error_code);
  writer.write_i32(response.generation_id);
  writer.write_string(response.protocol_name);
  writer.write_string(response.leader);
  writer.write_string(response.member_id);
  writer.write_array_length(static_cast<std::int32_t>(response.members.size()));
  for (const JoinGroupResponseMember& member : response.members) {
    writer.write_string(member.member_id);
    if (version >= 5) writer.write_nullable_string(member.group_instance_id);
    writer.write_bytes(member.metadata);
  }
}

JoinGroupResponse read_join_group_response(Reader& reader, std::int16_t version) {
  JoinGroupResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 2) response.throttle_time_ms = reader.read_i32();
  response.error_code = reader.read_i16();
  response.generation_id = reader.read_i32();
  response.protocol_name = reader.read_string();
  response.leader = reader.read_string();
  response.member_id = reader.read_string();
  const std::int32_t count = reader.read_required_array_length(kMemberBytesMin, "members");
  for (std::int32_t i = 0; i < count && reader.ok(); ++i) {
    JoinGroupResponseMember member;
    member.member_id = reader.read_string();
    if (version >= 5) member.group_instance_id = reader.read_nullable_string();
    member.metadata = reader.read_bytes();
    response.members.push_back(std::move(member));
  }
  return response;
}

}  // namespace strand::protocol
