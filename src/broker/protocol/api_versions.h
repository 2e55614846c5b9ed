// ApiVersions (key 18), versions 0-3: how a client learns what this broker speaks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/api.h"
#include "broker/protocol/codec.h"

namespace strand::protocol {

struct ApiVersionsRequest {
  std::string client_software_name;     // v3+
  std::string client_software_version;  // v3+
};

struct ApiVersionsResponse {
  std::int16_t error_code = 0;
  std::vector<ApiRange> api_keys;
  std::int32_t throttle_time_ms = 0;  // v1+
};

ApiVersionsRequest read_api_versions_request(Reader& reader, std::int16_t version);
void write_api_versions_request(Writer& writer, const ApiVersionsRequest& request,
                                std::int16_t version);

// REQUIRES: 0 <= version <= 3. An unsupported requested version is answered at version 0.
void write_api_versions_response(Writer& writer, const ApiVersionsResponse& response,
                                 std::int16_t version);
ApiVersionsResponse read_api_versions_response(Reader& reader, std::int16_t version);

// What this broker answers: error UNSUPPORTED_VERSION (35) and v0 when `requested` is out of range.
ApiVersionsResponse make_api_versions_response(std::int16_t requested_version);

}  // namespace strand::protocol
