#include "broker/protocol/describe_configs.h"

#include <string>

namespace strand::protocol {

namespace {

// Smallest wire sizes, so a lying array length is refused before anything is allocated.
constexpr std::size_t kResourceBytesMin = 1 + 2 + 4;  // type, name, keys (null)
constexpr std::size_t kKeyBytesMin = 2;
constexpr std::size_t kResultBytesMin = 2 + 2 + 1 + 2 + 4;  // error, message, type, name, configs
constexpr std::size_t kSynonymBytesMin = 2 + 2 + 1;         // name, value (null), source

// name, value (null), read_only, then is_default (v0) or source + synonyms (v1+), is_sensitive,
// then type + documentation (v3+).
std::size_t config_bytes_min(std::int16_t version) {
  std::size_t bytes = 2 + 2 + 1 + 1;
  bytes += version == 0 ? 1 : 1 + 4;
  if (version >= 3) bytes += 1 + 2;
  return bytes;
}

bool version_supported(std::int16_t version) {
  return version >= kDescribeConfigsVersionMin && version <= kDescribeConfigsVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("DescribeConfigs v" + std::to_string(version) + " is not implemented");
  return true;
}

DescribeConfigsResource read_resource(Reader& reader) {
  DescribeConfigsResource resource;
  resource.resource_type = static_cast<ConfigResourceType>(reader.read_i8());
  resource.resource_name = reader.read_string();
  const std::optional<std::int32_t> keys = reader.read_array_length(kKeyBytesMin);
  if (!keys || !reader.ok()) return resource;
  resource.configuration_keys.emplace();
  for (std::int32_t i = 0; i < *keys && reader.ok(); ++i) {
    resource.configuration_keys->push_back(reader.read_string());
  }
  return resource;
}

void write_config(Writer& writer, const DescribeConfigsResourceResult& config,
                  std::int16_t version) {
  writer.write_string(config.name);
  writer.write_nullable_string(config.value);
  writer.write_bool(config.read_only);
  if (version == 0) writer.write_bool(config.is_default);
  if (version >= 1) writer.write_i8(static_cast<std::int8_t>(config.config_source));
  writer.write_bool(config.is_sensitive);
  if (version >= 1) {
    writer.write_array_length(static_cast<std::int32_t>(config.synonyms.size()));
    for (const DescribeConfigsSynonym& synonym : config.synonyms) {
      writer.write_string(synonym.name);
      writer.write_nullable_string(synonym.value);
      writer.write_i8(static_cast<std::int8_t>(synonym.source));
    }
  }
  if (version >= 3) {
    writer.write_i8(static_cast<std::int8_t>(config.config_type));
    writer.write_nullable_string(config.documentation);
  }
}

DescribeConfigsResourceResult read_config(Reader& reader, std::int16_t version) {
  DescribeConfigsResourceResult config;
  config.name = reader.read_string();
  config.value = reader.read_nullable_string();
  config.read_only = reader.read_bool();
  if (version == 0) config.is_default = reader.read_bool();
  if (version >= 1) config.config_source = static_cast<ConfigSource>(reader.read_i8());
  config.is_sensitive = reader.read_bool();
  if (version >= 1) {
    const std::int32_t synonyms = reader.read_required_array_length(kSynonymBytesMin, "synonyms");
    for (std::int32_t i = 0; i < synonyms && reader.ok(); ++i) {
      DescribeConfigsSynonym synonym;
      synonym.name = reader.read_string();
      synonym.value = reader.read_nullable_string();
      synonym.source = static_cast<ConfigSource>(reader.read_i8());
      config.synonyms.push_back(std::move(synonym));
    }
  }
  if (version >= 3) {
    config.config_type = static_cast<ConfigType>(reader.read_i8());
    config.documentation = reader.read_nullable_string();
  }
  return config;
}

}  // namespace

DescribeConfigsRequest read_describe_configs_request(Reader& reader, std::int16_t version) {
  DescribeConfigsRequest request;
  if (refuse_version(reader, version)) return request;
  const std::int32_t resources = reader.read_required_array_length(kResourceBytesMin, "resources");
  for (std::int32_t i = 0; i < resources && reader.ok(); ++i) {
    request.resources.push_back(read_resource(reader));
  }
  if (version >= 1) request.include_synonyms = reader.read_bool();
  if (version >= 3) request.include_documentation = reader.read_bool();
  return request;
}

void write_describe_configs_request(Writer& writer, const DescribeConfigsRequest& request,
                                    std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a DescribeConfigs version we implement");
  writer.write_array_length(static_cast<std::int32_t>(request.resources.size()));
  for (const DescribeConfigsResource& resource : request.resources) {
    writer.write_i8(static_cast<std::int8_t>(resource.resource_type));
    writer.write_string(resource.resource_name);
    if (!resource.configuration_keys) {
      writer.write_array_length(-1);
      continue;
    }
    writer.write_array_length(static_cast<std::int32_t>(resource.configuration_keys->size()));
    for (const std::string& key : *resource.configuration_keys) writer.write_string(key);
  }
  if (version >= 1) writer.write_bool(request.include_synonyms);
  if (version >= 3) writer.write_bool(request.include_documentation);
}

void write_describe_configs_response(Writer& writer, const DescribeConfigsResponse& response,
                                     std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a DescribeConfigs version we implement");
  writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.results.size()));
  for (const DescribeConfigsResult& result : response.results) {
    writer.write_i16(result.error_code);
    writer.write_nullable_string(result.error_message);
    writer.write_i8(static_cast<std::int8_t>(result.resource_type));
    writer.write_string(result.resource_name);
    writer.write_array_length(static_cast<std::int32_t>(result.configs.size()));
    for (const DescribeConfigsResourceResult& config : result.configs) {
      write_config(writer, config, version);
    }
  }
}

DescribeConfigsResponse read_describe_configs_response(Reader& reader, std::int16_t version) {
  DescribeConfigsResponse response;
  if (refuse_version(reader, version)) return response;
  response.throttle_time_ms = reader.read_i32();
  const std::int32_t results = reader.read_required_array_length(kResultBytesMin, "results");
  for (std::int32_t i = 0; i < results && reader.ok(); ++i) {
    DescribeConfigsResult result;
    result.error_code = reader.read_i16();
    result.error_message = reader.read_nullable_string();
    result.resource_type = static_cast<ConfigResourceType>(reader.read_i8());
    result.resource_name = reader.read_string();
    const std::int32_t configs =
        reader.read_required_array_length(config_bytes_min(version), "configs");
    for (std::int32_t j = 0; j < configs && reader.ok(); ++j) {
      result.configs.push_back(read_config(reader, version));
    }
    response.results.push_back(std::move(result));
  }
  return response;
}

}  // namespace strand::protocol
