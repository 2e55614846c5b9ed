#include "broker/protocol/api_versions.h"

#include "broker/protocol/error_code.h"

namespace strand::protocol {

ApiVersionsRequest read_api_versions_request(Reader& reader, std::int16_t version) {
  ApiVersionsRequest request;
  if (version >= 3) {
    request.client_software_name = reader.read_compact_string();
    request.client_software_version = reader.read_compact_string();
    (void)reader.read_tagged_fields();
  }
  return request;
}

void write_api_versions_request(Writer& writer, const ApiVersionsRequest& request,
                                std::int16_t version) {
  if (version >= 3) {
    writer.write_compact_string(request.client_software_name);
    writer.write_compact_string(request.client_software_version);
    writer.write_empty_tagged_fields();
  }
}

void write_api_versions_response(Writer& writer, const ApiVersionsResponse& response,
                                 std::int16_t version) {
  STRAND_ASSERT(version >= 0 && version <= 3, "an ApiVersions version we implement");
  const bool flexible = version >= 3;
  writer.write_i16(response.error_code);
  const auto count = static_cast<std::int32_t>(response.api_keys.size());
  if (flexible)
    writer.write_compact_array_length(count);
  else
    writer.write_array_length(count);
  for (const ApiRange& range : response.api_keys) {
    writer.write_i16(static_cast<std::int16_t>(range.key));
    writer.write_i16(range.min_version);
    writer.write_i16(range.max_version);
    if (flexible) writer.write_empty_tagged_fields();
  }
  if (version >= 1) writer.write_i32(response.throttle_time_ms);
  if (flexible) writer.write_empty_tagged_fields();
}

ApiVersionsResponse read_api_versions_response(Reader& reader, std::int16_t version) {
  const bool flexible = version >= 3;
  ApiVersionsResponse response;
  response.error_code = reader.read_i16();
  std::optional<std::int32_t> count =
      flexible ? reader.read_compact_array_length(6) : reader.read_array_length(6);
  for (std::int32_t i = 0; count && i < *count && reader.ok(); ++i) {
    ApiRange range{};
    range.key = static_cast<ApiKey>(reader.read_i16());
    range.min_version = reader.read_i16();
    range.max_version = reader.read_i16();
    range.flexible_from = -1;  // not on the wire
    if (flexible) (void)reader.read_tagged_fields();
    response.api_keys.push_back(range);
  }
  if (version >= 1) response.throttle_time_ms = reader.read_i32();
  if (flexible) (void)reader.read_tagged_fields();
  return response;
}

ApiVersionsResponse make_api_versions_response(std::int16_t requested_version) {
  ApiVersionsResponse response;
  std::optional<ApiRange> own = find_api(static_cast<std::int16_t>(ApiKey::kApiVersions));
  STRAND_ASSERT(own.has_value(), "ApiVersions is always implemented");
  if (requested_version < own->min_version || requested_version > own->max_version) {
    response.error_code = static_cast<std::int16_t>(ErrorCode::kUnsupportedVersion);
  }
  for (const ApiRange& range : implemented_apis()) response.api_keys.push_back(range);
  return response;
}

}  // namespace strand::protocol
