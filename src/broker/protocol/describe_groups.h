// DescribeGroups (key 15), versions 0-4: state, protocol and members of named groups. Members
// carry their metadata and assignment only while the group is Stable, as in Kafka. v3 adds
// authorized operations, v4 group_instance_id; v5 is flexible and is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kDescribeGroupsVersionMin = 0;
inline constexpr std::int16_t kDescribeGroupsVersionMax = 4;

struct DescribeGroupsRequest {
  std::vector<std::string> groups;
  bool include_authorized_operations = false;  // v3+
  friend bool operator==(const DescribeGroupsRequest&, const DescribeGroupsRequest&) = default;
};

struct DescribedGroupMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v4+
  std::string client_id;
  std::string client_host;
  std::vector<std::byte> member_metadata;
  std::vector<std::byte> member_assignment;
  friend bool operator==(const DescribedGroupMember&, const DescribedGroupMember&) = default;
};

struct DescribedGroup {
  std::int16_t error_code = 0;
  std::string group_id;
  std::string group_state;  // Empty, PreparingRebalance, CompletingRebalance, Stable, Dead
  std::string protocol_type;
  std::string protocol_data;  // the selected protocol's name while Stable
  std::vector<DescribedGroupMember> members;
  std::int32_t authorized_operations = kAuthorizedOperationsOmitted;  // v3+
  friend bool operator==(const DescribedGroup&, const DescribedGroup&) = default;
};

struct DescribeGroupsResponse {
  std::int32_t throttle_time_ms = 0;  // v1+
  std::vector<DescribedGroup> groups;
  friend bool operator==(const DescribeGroupsResponse&, const DescribeGroupsResponse&) = default;
};

// Readers: a version outside 0-4, truncation, a null where a value is required or an array
// length that can't fit latch an error in `reader`; the returned value must not be used then.
DescribeGroupsRequest read_describe_groups_request(Reader& reader, std::int16_t version);
DescribeGroupsResponse read_describe_groups_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 4 and strings of at most 32767 bytes.
void write_describe_groups_request(Writer& writer, const DescribeGroupsRequest& request,
                                   std::int16_t version);
void write_describe_groups_response(Writer& writer, const DescribeGroupsResponse& response,
                                    std::int16_t version);

}  // namespace strand::protocol
