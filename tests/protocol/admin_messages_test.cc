// Codecs of the admin APIs: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs and
// DescribeCluster. Byte layouts are assembled by hand from Kafka's JSON message schemas.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/create_partitions.h"
#include "broker/protocol/create_topics.h"
#include "broker/protocol/delete_topics.h"
#include "broker/protocol/describe_cluster.h"
#include "broker/protocol/describe_configs.h"
#include "message_test_support.h"

namespace strand::protocol {
namespace {

using namespace test_support;

TEST(CreateTopics, V4RequestMatchesTheWireLayout) {
  CreateTopicsRequest request;
  request.topics.push_back({"ab", 3, 2, {{0, {1, 2}}}, {{"k", std::nullopt}}});
  request.timeout_ms = 1000;
  request.validate_only = true;
  expect_wire(request, 4, write_create_topics_request, read_create_topics_request,
              bytes({
                  0,    0,    0,    1,     // topics: 1
                  0,    2,    'a',  'b',   //   name "ab"
                  0,    0,    0,    3,     //   num_partitions 3
                  0,    2,                 //   replication_factor 2
                  0,    0,    0,    1,     //   assignments: 1
                  0,    0,    0,    0,     //     partition_index 0
                  0,    0,    0,    2,     //     broker_ids: 2
                  0,    0,    0,    1,     //       1
                  0,    0,    0,    2,     //       2
                  0,    0,    0,    1,     //   configs: 1
                  0,    1,    'k',         //     name "k"
                  0xff, 0xff,              //     value null
                  0,    0,    0x03, 0xe8,  // timeout_ms 1000
                  1,                       // validate_only (v1+)
              }));
}

TEST(CreateTopics, V0RequestHasNoValidateOnly) {
  CreateTopicsRequest request;
  request.timeout_ms = 7;
  expect_wire(request, 0, write_create_topics_request, read_create_topics_request,
              bytes({0, 0, 0, 0, /* topics: 0 */ 0, 0, 0, 7 /* timeout_ms */}));
}

TEST(CreateTopics, V2ResponseMatchesTheWireLayout) {
  CreateTopicsResponse response;
  response.throttle_time_ms = 5;
  response.topics.push_back({"ab", 36, std::string("x")});
  expect_wire(response, 2, write_create_topics_response, read_create_topics_response,
              bytes({
                  0, 0, 0, 5,      // throttle_time_ms (v2+)
                  0, 0, 0, 1,      // topics: 1
                  0, 2, 'a', 'b',  //   name
                  0, 36,           //   error_code TOPIC_ALREADY_EXISTS
                  0, 1, 'x',       //   error_message (v1+)
              }));
}

TEST(CreateTopics, V0ResponseHasNeitherThrottleNorErrorMessage) {
  CreateTopicsResponse response;
  response.topics.push_back({"a", 0, std::nullopt});
  expect_wire(response, 0, write_create_topics_response, read_create_topics_response,
              bytes({0, 0, 0, 1, /* topics: 1 */ 0, 1, 'a', /* name */ 0, 0 /* error_code */}));
}

TEST(DeleteTopics, V1RequestAndResponseMatchTheWireLayout) {
  const DeleteTopicsRequest request{{"a", "bc"}, 500};
  expect_wire(request, 1, write_delete_topics_request, read_delete_topics_request,
              bytes({
                  0, 0, 0, 2,        // topic_names: 2
                  0, 1, 'a',         //   "a"
                  0, 2, 'b', 'c',    //   "bc"
                  0, 0, 0x01, 0xf4,  // timeout_ms 500
              }));
  const DeleteTopicsResponse response{9, {{"a", 0}, {"bc", 73}}};
  expect_wire(response, 1, write_delete_topics_response, read_delete_topics_response,
              bytes({
                  0, 0,  0,   9,    // throttle_time_ms (v1+)
                  0, 0,  0,   2,    // responses: 2
                  0, 1,  'a',       //   name
                  0, 0,             //   error_code NONE
                  0, 2,  'b', 'c',  //   name
                  0, 73,            //   error_code TOPIC_DELETION_DISABLED
              }));
}

TEST(DeleteTopics, V0ResponseHasNoThrottle) {
  const DeleteTopicsResponse response{0, {{"a", 3}}};
  expect_wire(response, 0, write_delete_topics_response, read_delete_topics_response,
              bytes({0, 0, 0, 1, /* responses: 1 */ 0, 1, 'a', 0, 3 /* UNKNOWN_TOPIC */}));
}

TEST(CreatePartitions, V1RequestAndResponseMatchTheWireLayout) {
  CreatePartitionsRequest request;
  request.topics.push_back({"t", 4, std::vector<CreatePartitionsAssignment>{{{1}}, {{2, 3}}}});
  request.topics.push_back({"u", 2, std::nullopt});
  request.timeout_ms = 100;
  expect_wire(request, 1, write_create_partitions_request, read_create_partitions_request,
              bytes({
                  0,    0,    0,    2,                 // topics: 2
                  0,    1,    't',                     //   name "t"
                  0,    0,    0,    4,                 //   count 4
                  0,    0,    0,    2,                 //   assignments: 2
                  0,    0,    0,    1,    0, 0, 0, 1,  //     broker_ids [1]
                  0,    0,    0,    2,    0, 0, 0, 2,  //     broker_ids [2,
                  0,    0,    0,    3,                 //                 3]
                  0,    1,    'u',                     //   name "u"
                  0,    0,    0,    2,                 //   count 2
                  0xff, 0xff, 0xff, 0xff,              //   assignments null: the broker places them
                  0,    0,    0,    100,               // timeout_ms
                  0,                                   // validate_only false
              }));
  CreatePartitionsResponse response;
  response.results.push_back({"t", 0, std::nullopt});
  response.results.push_back({"u", 37, std::string("no")});
  expect_wire(response, 1, write_create_partitions_response, read_create_partitions_response,
              bytes({
                  0,    0,    0,   0,        // throttle_time_ms
                  0,    0,    0,   2,        // results: 2
                  0,    1,    't', 0,   0,   //   name, error_code NONE
                  0xff, 0xff,                //   error_message null
                  0,    1,    'u', 0,   37,  //   name, error_code INVALID_PARTITIONS
                  0,    2,    'n', 'o',      //   error_message "no"
              }));
}

TEST(DescribeConfigs, V1RequestMatchesTheWireLayout) {
  DescribeConfigsRequest request;
  request.resources.push_back({ConfigResourceType::kTopic, "t", std::nullopt});
  request.resources.push_back({ConfigResourceType::kBroker, "1", std::vector<std::string>{"k"}});
  request.include_synonyms = true;
  expect_wire(request, 1, write_describe_configs_request, read_describe_configs_request,
              bytes({
                  0,    0,    0,    2,                // resources: 2
                  2,                                  //   resource_type TOPIC
                  0,    1,    't',                    //   resource_name
                  0xff, 0xff, 0xff, 0xff,             //   configuration_keys null: all of them
                  4,                                  //   resource_type BROKER
                  0,    1,    '1',                    //   resource_name
                  0,    0,    0,    1,    0, 1, 'k',  //   configuration_keys ["k"]
                  1,                                  // include_synonyms (v1+)
              }));
}

TEST(DescribeConfigs, V3ResponseMatchesTheWireLayout) {
  DescribeConfigsResourceResult config;
  config.name = "k";
  config.value = "v";
  config.read_only = true;
  config.config_source = ConfigSource::kTopicConfig;
  config.synonyms.push_back({"s", std::nullopt, ConfigSource::kDefaultConfig});
  config.config_type = ConfigType::kLong;
  config.documentation = "d";
  DescribeConfigsResponse response;
  response.results.push_back({0, std::nullopt, ConfigResourceType::kTopic, "t", {config}});
  expect_wire(response, 3, write_describe_configs_response, read_describe_configs_response,
              bytes({
                  0,    0,    0,   0,  // throttle_time_ms
                  0,    0,    0,   1,  // results: 1
                  0,    0,             //   error_code
                  0xff, 0xff,          //   error_message null
                  2,                   //   resource_type TOPIC
                  0,    1,    't',     //   resource_name
                  0,    0,    0,   1,  //   configs: 1
                  0,    1,    'k',     //     name
                  0,    1,    'v',     //     value
                  1,                   //     read_only
                  1,                   //     config_source TOPIC_CONFIG (v1+)
                  0,                   //     is_sensitive
                  0,    0,    0,   1,  //     synonyms (v1+): 1
                  0,    1,    's',     //       name
                  0xff, 0xff,          //       value null
                  5,                   //       source DEFAULT_CONFIG
                  5,                   //     config_type LONG (v3+)
                  0,    1,    'd',     //     documentation (v3+)
              }));
}

TEST(DescribeConfigs, V0ConfigCarriesIsDefaultInsteadOfSourceAndSynonyms) {
  DescribeConfigsResourceResult config;
  config.name = "k";
  config.is_default = true;
  config.is_sensitive = true;
  DescribeConfigsResponse response;
  response.results.push_back({0, std::nullopt, ConfigResourceType::kBroker, "", {config}});
  expect_wire(response, 0, write_describe_configs_response, read_describe_configs_response,
              bytes({
                  0, 0, 0,    0,           // throttle_time_ms
                  0, 0, 0,    1,           // results: 1
                  0, 0, 0xff, 0xff,        //   error_code, error_message null
                  4, 0, 0,                 //   resource_type BROKER, resource_name ""
                  0, 0, 0,    1,           //   configs: 1
                  0, 1, 'k',  0xff, 0xff,  //     name, value null
                  0,                       //     read_only
                  1,                       //     is_default (v0 only)
                  1,                       //     is_sensitive
              }));
}

TEST(DescribeCluster, V0RequestIsCompactWithTaggedFields) {
  expect_wire(DescribeClusterRequest{true}, 0, write_describe_cluster_request,
              read_describe_cluster_request,
              bytes({
                  1,  // include_cluster_authorized_operations
                  0,  // tagged fields: none
              }));
}

TEST(DescribeCluster, V0ResponseIsCompactWithTaggedFieldsOnEveryStruct) {
  DescribeClusterResponse response;
  response.cluster_id = "c1";
  response.controller_id = 1;
  response.brokers.push_back({1, "h", 9092, std::nullopt});
  response.brokers.push_back({2, "h", 9093, std::string("r")});
  expect_wire(response, 0, write_describe_cluster_response, read_describe_cluster_response,
              bytes({
                  0,    0,   0,    0,     // throttle_time_ms
                  0,    0,                // error_code
                  0,                      // error_message null: compact length 0
                  3,    'c', '1',         // cluster_id: compact length 2+1
                  0,    0,   0,    1,     // controller_id 1
                  3,                      // brokers: compact count 2+1
                  0,    0,   0,    1,     //   broker_id 1
                  2,    'h',              //   host "h"
                  0,    0,   0x23, 0x84,  //   port 9092
                  0,                      //   rack null
                  0,                      //   tagged fields: none
                  0,    0,   0,    2,     //   broker_id 2
                  2,    'h',              //   host "h"
                  0,    0,   0x23, 0x85,  //   port 9093
                  2,    'r',              //   rack "r"
                  0,                      //   tagged fields: none
                  0x80, 0,   0,    0,     // cluster_authorized_operations: omitted (INT32_MIN)
                  0,                      // tagged fields: none
              }));
}

TEST(DescribeCluster, UnknownTaggedFieldsAreSkipped) {
  const std::vector<std::byte> wire = bytes({
      0,           // include_cluster_authorized_operations
      1,           // tagged fields: 1
      7, 2, 9, 9,  //   tag 7, 2 bytes
  });
  Reader reader(wire);
  const DescribeClusterRequest request = read_describe_cluster_request(reader, 0);
  ASSERT_TRUE(reader.ok()) << reader.error_message();
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_FALSE(request.include_cluster_authorized_operations);
}

TEST(AdminMessages, NullForANonNullableArrayIsADecodeError) {
  const std::vector<std::byte> wire = bytes({0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0});
  Reader reader(wire);
  (void)read_delete_topics_request(reader, 0);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.error_message().find("topic_names"), std::string::npos);
  const std::vector<std::byte> compact = bytes({0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
  Reader compact_reader(compact);  // brokers: compact length 0 is null
  (void)read_describe_cluster_response(compact_reader, 0);
  EXPECT_FALSE(compact_reader.ok());
}

// --- Properties -----------------------------------------------------------------------------

std::string any_string() { return *rc::gen::arbitrary<std::string>(); }

std::optional<std::string> any_nullable_string() {
  if (*rc::gen::arbitrary<bool>()) return std::nullopt;
  return any_string();
}

template <typename T>
T any() {
  return *rc::gen::arbitrary<T>();
}

std::size_t any_count() { return *rc::gen::inRange<std::size_t>(0, 4); }

// Writes `value` at `version` and reads it back: equal, nothing left over, and every strict
// prefix of the encoding is refused (a truncated frame never decodes as something shorter). A
// copy with one byte changed decodes to a value or a latched error, never a crash.
template <typename T, typename Write, typename Read>
void check_round_trip(const T& value, std::int16_t version, Write write, Read read) {
  Writer writer;
  write(writer, value, version);
  Reader reader(writer.bytes());
  const T back = read(reader, version);
  RC_ASSERT(reader.ok());
  RC_ASSERT(reader.remaining() == 0u);
  RC_ASSERT(back == value);
  const auto cut = *rc::gen::inRange<std::size_t>(0, writer.size());
  Reader truncated(std::span<const std::byte>(writer.bytes()).first(cut));
  (void)read(truncated, version);
  RC_ASSERT(!truncated.ok());
  if (writer.size() == 0) return;
  std::vector<std::byte> corrupt = writer.bytes();
  const auto at = *rc::gen::inRange<std::size_t>(0, corrupt.size());
  corrupt[at] = static_cast<std::byte>(*rc::gen::arbitrary<std::uint8_t>());
  Reader corrupt_reader(corrupt);
  (void)read(corrupt_reader, version);
  RC_ASSERT(corrupt_reader.ok() || !corrupt_reader.error_message().empty());
}

CreateTopicsRequest any_create_topics_request(std::int16_t version) {
  CreateTopicsRequest request;
  for (std::size_t i = any_count(); i > 0; --i) {
    CreatableTopic topic{any_string(), any<std::int32_t>(), any<std::int16_t>(), {}, {}};
    for (std::size_t j = any_count(); j > 0; --j) {
      topic.assignments.push_back({any<std::int32_t>(), any<std::vector<std::int32_t>>()});
    }
    for (std::size_t j = any_count(); j > 0; --j) {
      topic.configs.push_back({any_string(), any_nullable_string()});
    }
    request.topics.push_back(std::move(topic));
  }
  request.timeout_ms = any<std::int32_t>();
  if (version >= 1) request.validate_only = any<bool>();
  return request;
}

CreateTopicsResponse any_create_topics_response(std::int16_t version) {
  CreateTopicsResponse response;
  if (version >= 2) response.throttle_time_ms = any<std::int32_t>();
  for (std::size_t i = any_count(); i > 0; --i) {
    CreatableTopicResult result{any_string(), any<std::int16_t>(), std::nullopt};
    if (version >= 1) result.error_message = any_nullable_string();
    response.topics.push_back(std::move(result));
  }
  return response;
}

// Every version's fields survive write-then-read unchanged.
RC_GTEST_PROP(CreateTopics, EveryVersionRoundTrips, ()) {
  const auto version = *rc::gen::inRange<std::int16_t>(0, kCreateTopicsVersionMax + 1);
  check_round_trip(any_create_topics_request(version), version, write_create_topics_request,
                   read_create_topics_request);
  check_round_trip(any_create_topics_response(version), version, write_create_topics_response,
                   read_create_topics_response);
}

// Every version's fields survive write-then-read unchanged.
RC_GTEST_PROP(DeleteTopics, EveryVersionRoundTrips, ()) {
  const auto version = *rc::gen::inRange<std::int16_t>(0, kDeleteTopicsVersionMax + 1);
  DeleteTopicsRequest request{any<std::vector<std::string>>(), any<std::int32_t>()};
  check_round_trip(request, version, write_delete_topics_request, read_delete_topics_request);
  DeleteTopicsResponse response;
  if (version >= 1) response.throttle_time_ms = any<std::int32_t>();
  for (std::size_t i = any_count(); i > 0; --i) {
    response.responses.push_back({any_string(), any<std::int16_t>()});
  }
  check_round_trip(response, version, write_delete_topics_response, read_delete_topics_response);
}

// Every version's fields survive write-then-read unchanged.
RC_GTEST_PROP(CreatePartitions, EveryVersionRoundTrips, ()) {
  const auto version = *rc::gen::inRange<std::int16_t>(0, kCreatePartitionsVersionMax + 1);
  CreatePartitionsRequest request;
  for (std::size_t i = any_count(); i > 0; --i) {
    CreatePartitionsTopic topic{any_string(), any<std::int32_t>(), std::nullopt};
    if (any<bool>()) {
      topic.assignments.emplace();
      for (std::size_t j = any_count(); j > 0; --j) {
        topic.assignments->push_back({any<std::vector<std::int32_t>>()});
      }
    }
    request.topics.push_back(std::move(topic));
  }
  request.timeout_ms = any<std::int32_t>();
  request.validate_only = any<bool>();
  check_round_trip(request, version, write_create_partitions_request,
                   read_create_partitions_request);
  CreatePartitionsResponse response;
  response.throttle_time_ms = any<std::int32_t>();
  for (std::size_t i = any_count(); i > 0; --i) {
    response.results.push_back({any_string(), any<std::int16_t>(), any_nullable_string()});
  }
  check_round_trip(response, version, write_create_partitions_response,
                   read_create_partitions_response);
}

DescribeConfigsResourceResult any_config(std::int16_t version) {
  DescribeConfigsResourceResult config;
  config.name = any_string();
  config.value = any_nullable_string();
  config.read_only = any<bool>();
  if (version == 0) config.is_default = any<bool>();
  config.is_sensitive = any<bool>();
  if (version >= 1) {
    config.config_source = static_cast<ConfigSource>(any<std::int8_t>());
    for (std::size_t i = any_count(); i > 0; --i) {
      config.synonyms.push_back(
          {any_string(), any_nullable_string(), static_cast<ConfigSource>(any<std::int8_t>())});
    }
  }
  if (version >= 3) {
    config.config_type = static_cast<ConfigType>(any<std::int8_t>());
    config.documentation = any_nullable_string();
  }
  return config;
}

// Every version's fields survive write-then-read unchanged.
RC_GTEST_PROP(DescribeConfigs, EveryVersionRoundTrips, ()) {
  const auto version = *rc::gen::inRange<std::int16_t>(0, kDescribeConfigsVersionMax + 1);
  DescribeConfigsRequest request;
  for (std::size_t i = any_count(); i > 0; --i) {
    DescribeConfigsResource resource{static_cast<ConfigResourceType>(any<std::int8_t>()),
                                     any_string(), std::nullopt};
    if (any<bool>()) resource.configuration_keys = any<std::vector<std::string>>();
    request.resources.push_back(std::move(resource));
  }
  if (version >= 1) request.include_synonyms = any<bool>();
  if (version >= 3) request.include_documentation = any<bool>();
  check_round_trip(request, version, write_describe_configs_request, read_describe_configs_request);
  DescribeConfigsResponse response;
  response.throttle_time_ms = any<std::int32_t>();
  for (std::size_t i = any_count(); i > 0; --i) {
    DescribeConfigsResult result{any<std::int16_t>(),
                                 any_nullable_string(),
                                 static_cast<ConfigResourceType>(any<std::int8_t>()),
                                 any_string(),
                                 {}};
    for (std::size_t j = any_count(); j > 0; --j) result.configs.push_back(any_config(version));
    response.results.push_back(std::move(result));
  }
  check_round_trip(response, version, write_describe_configs_response,
                   read_describe_configs_response);
}

// Version 0 (the only one) survives write-then-read unchanged.
RC_GTEST_PROP(DescribeCluster, V0RoundTrips, ()) {
  check_round_trip(DescribeClusterRequest{any<bool>()}, 0, write_describe_cluster_request,
                   read_describe_cluster_request);
  DescribeClusterResponse response;
  response.throttle_time_ms = any<std::int32_t>();
  response.error_code = any<std::int16_t>();
  response.error_message = any_nullable_string();
  response.cluster_id = any_string();
  response.controller_id = any<std::int32_t>();
  for (std::size_t i = any_count(); i > 0; --i) {
    response.brokers.push_back(
        {any<std::int32_t>(), any_string(), any<std::int32_t>(), any_nullable_string()});
  }
  response.cluster_authorized_operations = any<std::int32_t>();
  check_round_trip(response, 0, write_describe_cluster_response, read_describe_cluster_response);
}

// One entry per read_* function, so the decode-safety properties cover all of them.
struct Decoder {
  const char* name;
  std::int16_t version_max;
  void (*read)(Reader&, std::int16_t);
};

template <auto Read>
void discard(Reader& reader, std::int16_t version) {
  (void)Read(reader, version);
}

constexpr Decoder kDecoders[] = {
    {"CreateTopicsRequest", kCreateTopicsVersionMax, discard<read_create_topics_request>},
    {"CreateTopicsResponse", kCreateTopicsVersionMax, discard<read_create_topics_response>},
    {"DeleteTopicsRequest", kDeleteTopicsVersionMax, discard<read_delete_topics_request>},
    {"DeleteTopicsResponse", kDeleteTopicsVersionMax, discard<read_delete_topics_response>},
    {"CreatePartitionsRequest", kCreatePartitionsVersionMax,
     discard<read_create_partitions_request>},
    {"CreatePartitionsResponse", kCreatePartitionsVersionMax,
     discard<read_create_partitions_response>},
    {"DescribeConfigsRequest", kDescribeConfigsVersionMax, discard<read_describe_configs_request>},
    {"DescribeConfigsResponse", kDescribeConfigsVersionMax,
     discard<read_describe_configs_response>},
    {"DescribeClusterRequest", kDescribeClusterVersionMax, discard<read_describe_cluster_request>},
    {"DescribeClusterResponse", kDescribeClusterVersionMax,
     discard<read_describe_cluster_response>},
};

// Any bytes, read as any admin message at any implemented version, end in a value or a latched
// error: never a crash, an assertion or a read past the input.
RC_GTEST_PROP(AdminMessages, ArbitraryBytesNeverCrashAnyDecoder,
              (const std::vector<std::uint8_t>& raw)) {
  std::vector<std::byte> input(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) input[i] = static_cast<std::byte>(raw[i]);
  for (const Decoder& decoder : kDecoders) {
    for (std::int16_t version = 0; version <= decoder.version_max; ++version) {
      Reader reader(input);
      decoder.read(reader, version);
      RC_ASSERT(reader.remaining() <= input.size());
      RC_ASSERT(reader.ok() || !reader.error_message().empty());
    }
  }
}

TEST(AdminMessages, UnimplementedVersionsAreRefusedWithoutReading) {
  const std::vector<std::byte> input(64, std::byte{0});
  for (const Decoder& decoder : kDecoders) {
    for (std::int16_t version : {std::int16_t{-1}, std::int16_t(decoder.version_max + 1)}) {
      Reader reader(input);
      decoder.read(reader, version);
      ASSERT_FALSE(reader.ok()) << decoder.name << " v" << version;
      EXPECT_NE(reader.error_message().find("not implemented"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace strand::protocol
