// DescribeCluster (key 60), version 0: a client (the admin client's describeCluster) asks for
// the cluster id, the controller and the brokers. v0 is flexible: compact strings and arrays, and
// a tagged-field section ending every struct. This codec covers the body only; the request and
// response headers are api.h's. v1 (endpoint types) is not implemented.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kDescribeClusterVersionMin = 0;
inline constexpr std::int16_t kDescribeClusterVersionMax = 0;


struct DescribeClusterRequest {
  bool include_cluster_authorized_operations = false;
  friend bool operator==(const DescribeClusterRequest&, const DescribeClusterRequest&) = default;
};

struct DescribeClusterBroker {
  std::int32_t broker_id = 0;
  std::string host;
  std::int32_t port = 0;
  std::optional<std::string> rack;
  friend bool operator==(const DescribeClusterBroker&, const DescribeClusterBroker&) = default;
};

struct DescribeClusterResponse {
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::string cluster_id;
  std::int32_t controller_id = -1;  // -1: no controller known
  std::vector<DescribeClusterBroker> brokers;
  std::int32_t cluster_authorized_operations = kAuthorizedOperationsOmitted;  // a bit per op
  friend bool operator==(const DescribeClusterResponse&, const DescribeClusterResponse&) = default;
};

// Readers: a version other than 0, truncation, a non-nullable field sent as null, an array length
// that can't fit or a malformed tagged-field section latch an error in `reader`; the returned
// value is then partial and must not be used. Tagged fields are read and dropped: v0 defines none.
DescribeClusterRequest read_describe_cluster_request(Reader& reader, std::int16_t version);
DescribeClusterResponse read_describe_cluster_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES version == 0. Every tagged-field section is written empty.
void write_describe_cluster_request(Writer& writer, const DescribeClusterRequest& request,
                                    std::int16_t version);
void write_describe_cluster_response(Writer& writer, const DescribeClusterResponse& response,
                                     std::int16_t version);

}  // namespace strand::protocol
