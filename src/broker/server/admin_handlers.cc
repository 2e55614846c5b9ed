// Topic administration: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs.
#include <set>

#include "broker/protocol/create_partitions.h"
#include "broker/protocol/create_topics.h"
#include "broker/protocol/delete_topics.h"
#include "broker/protocol/describe_configs.h"
#include "broker/protocol/topic_name.h"
#include "broker/server/kafka_api.h"
#include "broker/server/response.h"

namespace strand::server {

namespace {

using protocol::ErrorCode;

// Every replica of a single-node cluster lives on this node.
bool assignments_valid(const std::vector<std::int32_t>& broker_ids, std::int32_t node_id) {
  return broker_ids.size() == 1 && broker_ids[0] == node_id;
}

}  // namespace

io::Task<HandlerResult> KafkaApi::create_topics(const Header& header, protocol::Reader& body) {
  protocol::CreateTopicsRequest request =
      protocol::read_create_topics_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::CreateTopicsResponse response;
  std::set<std::string> seen;
  for (const protocol::CreatableTopic& topic : request.topics) {
    protocol::CreatableTopicResult& out = response.topics.emplace_back();
    out.name = topic.name;
    if (!seen.insert(topic.name).second) {
      out.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidRequest);
      out.error_message = "topic '" + topic.name + "' appears twice in the request";
      continue;
    }
    if (protocol::is_internal_topic(topic.name)) {
      // The group coordinator creates it, with the partitions its groups are hashed over.
      out.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidRequest);
      out.error_message = "creation of internal topic " + topic.name + " is prohibited";
      continue;
    }
    std::int32_t partitions = topic.num_partitions;
    std::int16_t replication = topic.replication_factor;
    std::vector<std::vector<std::int32_t>> assignments;
    if (!topic.assignments.empty() && partitions_.clustered()) {
      if (partitions != -1 || replication != -1) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidRequest);
        out.error_message = "replica assignments need num_partitions and replication_factor -1";
        continue;
      }
      for (const protocol::CreatableReplicaAssignment& assignment : topic.assignments) {
        if (assignment.partition_index != static_cast<std::int32_t>(assignments.size())) {
          out.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidReplicaAssignment);
          out.error_message = "replica assignments must list partitions 0, 1, 2... in order";
          break;
        }
        assignments.push_back(assignment.broker_ids);
      }
      if (out.error_code != 0) continue;
    } else if (!topic.assignments.empty()) {
      bool valid = partitions == -1 && replication == -1;
      for (const protocol::CreatableReplicaAssignment& assignment : topic.assignments) {
        valid = valid && assignments_valid(assignment.broker_ids, config_.node_id);
      }
      if (!valid) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidReplicaAssignment);
        out.error_message = "replica assignments must name only broker " +
                            std::to_string(config_.node_id) +
                            ", with num_partitions and replication_factor -1";
        continue;
      }
      partitions = static_cast<std::int32_t>(topic.assignments.size());
      replication = 1;
    }
    std::map<std::string, std::string> configs;
    for (const protocol::CreatableTopicConfig& config : topic.configs) {
      if (config.value) configs[config.name] = *config.value;
    }
    cluster::TopicError created =
        co_await partitions_.create_topic(topic.name, partitions, replication, std::move(configs),
                                          request.validate_only, std::move(assignments));
    out.error_code = static_cast<std::int16_t>(created.code);
    if (!created.ok()) out.error_message = created.message;
  }
  co_return encode(header, response, protocol::write_create_topics_response);
}

io::Task<HandlerResult> KafkaApi::delete_topics(const Header& header, protocol::Reader& body) {
  protocol::DeleteTopicsRequest request =
      protocol::read_delete_topics_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::DeleteTopicsResponse response;
  for (const std::string& name : request.topic_names) {
    if (protocol::is_internal_topic(name)) {
      // Every group's committed offsets live there.
      response.responses.push_back({name, static_cast<std::int16_t>(ErrorCode::kInvalidRequest)});
      continue;
    }
    cluster::TopicError deleted = co_await partitions_.delete_topic(name);
    response.responses.push_back({name, static_cast<std::int16_t>(deleted.code)});
  }
  co_return encode(header, response, protocol::write_delete_topics_response);
}

io::Task<HandlerResult> KafkaApi::create_partitions(const Header& header, protocol::Reader& body) {
  protocol::CreatePartitionsRequest request =
      protocol::read_create_partitions_request(body, header.api_version);
  if (!body.ok()) co_return decode_failure(header, body);
  protocol::CreatePartitionsResponse response;
  for (const protocol::CreatePartitionsTopic& topic : request.topics) {
    protocol::CreatePartitionsTopicResult& out = response.results.emplace_back();
    out.name = topic.name;
    if (protocol::is_internal_topic(topic.name)) {
      // Groups are hashed over its partition count: more partitions would move them.
      out.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidRequest);
      out.error_message = "adding partitions to internal topic " + topic.name + " is prohibited";
      continue;
    }
    bool valid = true;
    if (topic.assignments) {
      for (const protocol::CreatePartitionsAssignment& assignment : *topic.assignments) {
        valid = valid && assignments_valid(assignment.broker_ids, config_.node_id);
      }
    }
    if (!valid) {
      out.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidReplicaAssignment);
      out.error_message = "assignments must name only broker " + std::to_string(config_.node_id);
      continue;
    }
    cluster::TopicError grown =
        co_await partitions_.create_partitions(topic.name, topic.count, request.validate_only);
    out.error_code = static_cast<std::int16_t>(grown.code);
    if (!grown.ok()) out.error_message = grown.message;
  }
  co_return encode(header, response, protocol::write_create_partitions_response);
}

namespace {

void add_config(protocol::DescribeConfigsResult& result, const std::string& name,
                const std::string& value, bool is_default, protocol::ConfigSource source,
                const std::optional<std::vector<std::string>>& keys) {
  if (keys && std::find(keys->begin(), keys->end(), name) == keys->end()) return;
  protocol::DescribeConfigsResourceResult& config = result.configs.emplace_back();
  config.name = name;
  config.value = value;
  config.is_default = is_default;
  config.config_source = is_default ? protocol::ConfigSource::kDefaultConfig : source;
  config.read_only = source != protocol::ConfigSource::kTopicConfig;
}

}  // namespace

HandlerResult KafkaApi::describe_configs(const Header& header, protocol::Reader& body) {
  protocol::DescribeConfigsRequest request =
      protocol::read_describe_configs_request(body, header.api_version);
  if (!body.ok()) return decode_failure(header, body);
  protocol::DescribeConfigsResponse response;
  for (const protocol::DescribeConfigsResource& resource : request.resources) {
    protocol::DescribeConfigsResult& result = response.results.emplace_back();
    result.resource_type = resource.resource_type;
    result.resource_name = resource.resource_name;
    if (resource.resource_type == protocol::ConfigResourceType::kTopic) {
      const cluster::TopicInfo* topic = partitions_.catalog().find(resource.resource_name);
      if (!topic) {
        result.error_code = static_cast<std::int16_t>(ErrorCode::kUnknownTopicOrPartition);
        result.error_message = "topic '" + resource.resource_name + "' does not exist";
        continue;
      }
      for (const auto& [name, value] :
           describe_topic_config(partitions_.topic_log_config(topic->name))) {
        add_config(result, name, value, !topic->configs.contains(name),
                   protocol::ConfigSource::kTopicConfig, resource.configuration_keys);
      }
    } else if (resource.resource_type == protocol::ConfigResourceType::kBroker &&
               (resource.resource_name.empty() ||
                resource.resource_name == std::to_string(config_.node_id))) {
      for (const auto& [name, value] : describe_topic_config(config_.log)) {
        add_config(result, "log." + name, value, false, protocol::ConfigSource::kStaticBrokerConfig,
                   resource.configuration_keys);
      }
      add_config(result, "num.partitions", std::to_string(config_.num_partitions), false,
                 protocol::ConfigSource::kStaticBrokerConfig, resource.configuration_keys);
      add_config(result, "auto.create.topics.enable", config_.auto_create_topics ? "true" : "false",
                 false, protocol::ConfigSource::kStaticBrokerConfig, resource.configuration_keys);
    } else {
      result.error_code = static_cast<std::int16_t>(ErrorCode::kInvalidRequest);
      result.error_message = "unknown config resource";
    }
  }
  return encode(header, response, protocol::write_describe_configs_response);
}

}  // namespace strand::server
