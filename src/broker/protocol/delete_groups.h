// DeleteGroups (key 42), versions 0-1: removes empty groups and their committed offsets. v2 is
// flexible and is not implemented.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kDeleteGroupsVersionMin = 0;
inline constexpr std::int16_t kDeleteGroupsVersionMax = 1;

struct DeleteGroupsRequest {
  std::vector<std::string> groups_names;
  friend bool operator==(const DeleteGroupsRequest&, const DeleteGroupsRequest&) = default;
};

struct DeletableGroupResult {
  std::string group_id;
  std::int16_t error_code = 0;
  friend bool operator==(const DeletableGroupResult&, const DeletableGroupResult&) = default;
};

struct DeleteGroupsResponse {
  std::int32_t throttle_time_ms = 0;
  std::vector<DeletableGroupResult> results;
  friend bool operator==(const DeleteGroupsResponse&, const DeleteGroupsResponse&) = default;
};

// Readers: a version outside 0-1, truncation, a null where a value is required or an array
// length that can't fit latch an error in `reader`; the returned value must not be used then.
DeleteGroupsRequest read_delete_groups_request(Reader& reader, std::int16_t version);
DeleteGroupsResponse read_delete_groups_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 1 and strings of at most 32767 bytes.
void write_delete_groups_request(Writer& writer, const DeleteGroupsRequest& request,
                                 std::int16_t version);
void write_delete_groups_response(Writer& writer, const DeleteGroupsResponse& response,
                                  std::int16_t version);

}  // namespace strand::protocol
