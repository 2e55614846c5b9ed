// ListGroups (key 16), versions 0-2: every group the coordinator knows, with its protocol type.
// v3 is flexible and v4 filters by state; neither is implemented.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kListGroupsVersionMin = 0;
inline constexpr std::int16_t kListGroupsVersionMax = 2;

struct ListGroupsRequest {
  friend bool operator==(const ListGroupsRequest&, const ListGroupsRequest&) = default;
};

struct ListedGroup {
  std::string group_id;
  std::string protocol_type;  // "" for a group that only stores offsets
  friend bool operator==(const ListedGroup&, const ListedGroup&) = default;
};

struct ListGroupsResponse {
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::vector<ListedGroup> groups;
  friend bool operator==(const ListGroupsResponse&, const ListGroupsResponse&) = default;
};

// Readers: a version outside 0-2, truncation, a null where a value is required or an array
// length that can't fit latch an error in `reader`; the returned value must not be used then.
ListGroupsRequest read_list_groups_request(Reader& reader, std::int16_t version);
ListGroupsResponse read_list_groups_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 2 and strings of at most 32767 bytes.
void write_list_groups_request(Writer& writer, const ListGroupsRequest& request,
                               std::int16_t version);
void write_list_groups_response(Writer& writer, const ListGroupsResponse& response,
                                std::int16_t version);

}  // namespace strand::protocol
