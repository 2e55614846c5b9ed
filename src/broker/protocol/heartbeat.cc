#include "broker/protocol/heartbeat.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

bool version_supported(std::int16_t version) {
  return version >= kHeartbeatVersionMin && version <= kHeartbeatVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("Heartbeat v" + std::to_string(version) + " is not implemented");
  return true;
}

}  // namespace

HeartbeatRequest read_heartbeat_request(Reader& reader, std::int16_t version) {
  HeartbeatRequest request;
  if (refuse_version(reader, version)) return request;
  request.group_id = reader.read_string();
  request.generation_id = reader.read_i32();
  request.member_id = reader.read_string();
  if (version >= 3) request.group_instance_id = reader.read_nullable_string();
  return request;
}

void write_heartbeat_request(Writer& writer, const HeartbeatRequest& request,
                             std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a Heartbeat version we implement");
  writer.write_string(request.group_id);
  writer.write_i32(request.generation_id);
  writer.write_string(request.member_id);
  if (version >= 3) writer.write_nullable_string(request.group_instance_id);
}

void write_heartbeat_response(Writer& writer, const HeartbeatResponse& response,
                              std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a Heartbeat version we implement");
  if (version >= 1) writer.write_i32(response.throttle_time_ms);
  writer.write_i16(response.error_code);
}

HeartbeatResponse read_heartbeat_response(Reader& reader, std::int16_t version) {
  HeartbeatResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 1) response.throttle_time_ms = reader.read_i32();
  response.error_code = reader.read_i16();
  return response;
}

}  // namespace strand::protocol
