// DescribeConfigs (key 32), versions 0-3: a client asks for the configs of topics and brokers.
// v1 adds synonyms and each config's source (replacing v0's is_default), v2 has v1's format, v3
// adds config types and documentation. v4 is flexible and is not implemented.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kDescribeConfigsVersionMin = 0;
inline constexpr std::int16_t kDescribeConfigsVersionMax = 3;

// Kafka's ConfigResource.Type ids. Other values pass through the codec unchanged; the handler
// answers them with an error.
enum class ConfigResourceType : std::int8_t {
  kUnknown = 0,
  kTopic = 2,
  kBroker = 4,
  kBrokerLogger = 8,
};

// Where a config's value comes from (DescribeConfigsResponse.ConfigSource ids), v1+.
enum class ConfigSource : std::int8_t {
  kUnknown = 0,
  kTopicConfig = 1,  // set on the topic
  kDynamicBrokerConfig = 2,
  kDynamicDefaultBrokerConfig = 3,
  kStaticBrokerConfig = 4,  // the broker's config file
  kDefaultConfig = 5,
  kDynamicBrokerLoggerConfig = 6,
  kClientMetricsConfig = 7,
  kGroupConfig = 8,
};

// A config's data type (DescribeConfigsResponse.ConfigType ids), v3+.
enum class ConfigType : std::int8_t {
  kUnknown = 0,
  kBoolean = 1,
  kString = 2,
  kInt = 3,
  kShort = 4,
  kLong = 5,
  kDouble = 6,
  kList = 7,
  kClass = 8,
  kPassword = 9,
};

struct DescribeConfigsResource {
  ConfigResourceType resource_type = ConfigResourceType::kUnknown;
  std::string resource_name;  // a topic name, or a broker id in decimal ("" for the default)
  std::optional<std::vector<std::string>> configuration_keys;  // null: every key
  friend bool operator==(const DescribeConfigsResource&, const DescribeConfigsResource&) = default;
};

struct DescribeConfigsRequest {
  std::vector<DescribeConfigsResource> resources;
  bool include_synonyms = false;       // v1+
  bool include_documentation = false;  // v3+
  friend bool operator==(const DescribeConfigsRequest&, const DescribeConfigsRequest&) = default;
};

struct DescribeConfigsSynonym {  // v1+
  std::string name;
  std::optional<std::string> value;
  ConfigSource source = ConfigSource::kUnknown;
  friend bool operator==(const DescribeConfigsSynonym&, const DescribeConfigsSynonym&) = default;
};

struct DescribeConfigsResourceResult {
  std::string name;
  std::optional<std::string> value;  // null for sensitive values
  bool read_only = false;
  bool is_default = false;                              // v0 only; v1+ says it with config_source
  ConfigSource config_source = ConfigSource::kUnknown;  // v1+
  bool is_sensitive = false;
  std::vector<DescribeConfigsSynonym> synonyms;   // v1+, in order of precedence
  ConfigType config_type = ConfigType::kUnknown;  // v3+
  std::optional<std::string> documentation;       // v3+
  friend bool operator==(const DescribeConfigsResourceResult&,
                         const DescribeConfigsResourceResult&) = default;
};

struct DescribeConfigsResult {
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  ConfigResourceType resource_type = ConfigResourceType::kUnknown;
  std::string resource_name;
  std::vector<DescribeConfigsResourceResult> configs;
  friend bool operator==(const DescribeConfigsResult&, const DescribeConfigsResult&) = default;
};

struct DescribeConfigsResponse {
  std::int32_t throttle_time_ms = 0;
  std::vector<DescribeConfigsResult> results;
  friend bool operator==(const DescribeConfigsResponse&, const DescribeConfigsResponse&) = default;
};

// Readers: a version outside 0-3, truncation, a non-nullable field sent as null or an array
// length that can't fit latch an error in `reader`; the returned value is then partial and must
// not be used. Fields a version lacks keep their defaults.
DescribeConfigsRequest read_describe_configs_request(Reader& reader, std::int16_t version);
DescribeConfigsResponse read_describe_configs_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 3 and strings of at most 32767 bytes. Fields the version
// lacks are not written.
void write_describe_configs_request(Writer& writer, const DescribeConfigsRequest& request,
                                    std::int16_t version);
void write_describe_configs_response(Writer& writer, const DescribeConfigsResponse& response,
                                     std::int16_t version);

}  // namespace strand::protocol
