#include "broker/protocol/describe_cluster.h"

#include <string>

namespace strand::protocol {

namespace {

// broker_id, host (empty), port, rack (null), tagged fields (none): each length is one varint.
constexpr std::size_t kBrokerBytesMin = 4 + 1 + 4 + 1 + 1;

bool version_supported(std::int16_t version) {
  return version >= kDescribeClusterVersionMin && version <= kDescribeClusterVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("DescribeCluster v" + std::to_string(version) + " is not implemented");
  return true;
}

DescribeClusterBroker read_broker(Reader& reader) {
  DescribeClusterBroker broker;
  broker.broker_id = reader.read_i32();
  broker.host = reader.read_compact_string();
  broker.port = reader.read_i32();
  broker.rack = reader.read_compact_nullable_string();
  (void)reader.read_tagged_fields();
  return broker;
}

}  // namespace

DescribeClusterRequest read_describe_cluster_request(Reader& reader, std::int16_t version) {
  DescribeClusterRequest request;
  if (refuse_version(reader, version)) return request;
  request.include_cluster_authorized_operations = reader.read_bool();
  (void)reader.read_tagged_fields();
  return request;
}

void write_describe_cluster_request(Writer& writer, const DescribeClusterRequest& request,
                                    std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a DescribeCluster version we implement");
  writer.write_bool(request.include_cluster_authorized_operations);
  writer.write_empty_tagged_fields();
}

void write_describe_cluster_response(Writer& writer, const DescribeClusterResponse& response,
                                     std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a DescribeCluster version we implement");
  writer.write_i32(response.throttle_time_ms);
  writer.write_i16(response.error_code);
  writer.write_compact_nullable_string(response.error_message);
  writer.write_compact_string(response.cluster_id);
  writer.write_i32(response.controller_id);
  writer.write_compact_array_length(static_cast<std::int32_t>(response.brokers.size()));
  for (const DescribeClusterBroker& broker : response.brokers) {
    writer.write_i32(broker.broker_id);
    writer.write_compact_string(broker.host);
    writer.write_i32(broker.port);
    writer.write_compact_nullable_string(broker.rack);
    writer.write_empty_tagged_fields();
  }
  writer.write_i32(response.cluster_authorized_operations);
  writer.write_empty_tagged_fields();
}

DescribeClusterResponse read_describe_cluster_response(Reader& reader, std::int16_t version) {
  DescribeClusterResponse response;
  if (refuse_version(reader, version)) return response;
  response.throttle_time_ms = reader.read_i32();
  response.error_code = reader.read_i16();
  response.error_message = reader.read_compact_nullable_string();
  response.cluster_id = reader.read_compact_string();
  response.controller_id = reader.read_i32();
  const std::optional<std::int32_t> brokers = reader.read_compact_array_length(kBrokerBytesMin);
  // A non-nullable array sent as null is malformed; Kafka's own decoder refuses it too.
  if (!brokers && reader.ok()) reader.fail("brokers is null; it is not nullable");
  for (std::int32_t i = 0; brokers && i < *brokers && reader.ok(); ++i) {
    response.brokers.push_back(read_broker(reader));
  }
  response.cluster_authorized_operations = reader.read_i32();
  (void)reader.read_tagged_fields();
  return response;
}

}  // namespace strand::protocol
