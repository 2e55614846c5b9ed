#include "broker/protocol/api_versions.h"

#include <gtest/gtest.h>

#include <vector>

#include "broker/protocol/error_code.h"

namespace strand::protocol {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

// The bytes a Kafka broker would send for a v0 response listing ApiVersions 0..3.
TEST(ApiVersions, V0ResponseMatchesTheWireLayout) {
  ApiVersionsResponse response;
  response.api_keys.push_back({ApiKey::kApiVersions, 0, 3, 3});
  Writer writer;
  write_api_versions_response(writer, response, 0);
  EXPECT_EQ(writer.bytes(), bytes({0, 0, 0, 0, 0, 1, 0, 18, 0, 0, 0, 3}));
}

TEST(ApiVersions, V3ResponseIsCompactWithTaggedFields) {
  ApiVersionsResponse response;
  response.api_keys.push_back({ApiKey::kApiVersions, 0, 3, 3});
  Writer writer;
  write_api_versions_response(writer, response, 3);
  EXPECT_EQ(writer.bytes(), bytes({0, 0, 2, 0, 18, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0}));
  Reader reader(writer.bytes());
  ApiVersionsResponse read = read_api_versions_response(reader, 3);
  ASSERT_TRUE(reader.ok());
  ASSERT_EQ(read.api_keys.size(), 1u);
  EXPECT_EQ(read.api_keys[0].max_version, 3);
}

TEST(ApiVersions, UnknownVersionGetsUnsupportedVersionWithTheFullList) {
  ApiVersionsResponse response = make_api_versions_response(99);
  EXPECT_EQ(response.error_code, static_cast<std::int16_t>(ErrorCode::kUnsupportedVersion));
  EXPECT_FALSE(response.api_keys.empty());
  EXPECT_EQ(make_api_versions_response(3).error_code, 0);
}

TEST(ApiVersions, V3RequestCarriesClientSoftware) {
  Writer writer;
  write_api_versions_request(writer, {"librdkafka", "2.0.2"}, 3);
  Reader reader(writer.bytes());
  ApiVersionsRequest request = read_api_versions_request(reader, 3);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(request.client_software_name, "librdkafka");
  EXPECT_EQ(request.client_software_version, "2.0.2");
  EXPECT_EQ(reader.remaining(), 0u);
}

}  // namespace
}  // namespace strand::protocol
