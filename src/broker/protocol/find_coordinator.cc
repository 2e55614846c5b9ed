#include "broker/protocol/find_coordinator.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

bool version_supported(std::int16_t version) {
  return version >= kFindCoordinatorVersionMin && version <= kFindCoordinatorVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("FindCoordinator v" + std::to_string(version) + " is not implemented");
  return true;
}

}  // namespace

FindCoordinatorRequest read_find_coordinator_request(Reader& reader, std::int16_t version) {
  FindCoordinatorRequest request;
  if (refuse_version(reader, version)) return request;
  request.key = reader.read_string();
  if (version >= 1) request.key_type = reader.read_i8();
  return request;
}

void write_find_coordinator_request(Writer& writer, const FindCoordinatorRequest& request,
                                    std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a FindCoordinator version we implement");
  writer.write_string(request.key);
  if (version >= 1) writer.write_i8(request.key_type);
}

void write_find_coordinator_response(Writer& writer, const FindCoordinatorResponse& response,
                                     std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a FindCoordinator version we implement");
  if (version >= 1) writer.write_i32(response.throttle_time_ms);
  writer.write_i16(response.error_code);
  if (version >= 1) writer.write_nullable_string(response.error_message);
  writer.write_i32(response.node_id);
  writer.write_string(response.host);
  writer.write_i32(response.port);
}

FindCoordinatorResponse read_find_coordinator_response(Reader& reader, std::int16_t version) {
  FindCoordinatorResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 1) response.throttle_time_ms = reader.read_i32();
  response.error_code = reader.read_i16();
  if (version >= 1) response.error_message = reader.read_nullable_string();
  response.node_id = reader.read_i32();
  response.host = reader.read_string();
  response.port = reader.read_i32();
  return response;
}

}  // namespace strand::protocol
