#include "client/client.h"

#include <algorithm>
#include <array>
#include <utility>

#include "broker/protocol/create_topics.h"
#include "broker/protocol/delete_topics.h"
#include "broker/protocol/error_code.h"
#include "broker/protocol/fetch.h"
#include "broker/protocol/init_producer_id.h"
#include "broker/protocol/list_offsets.h"
#include "broker/protocol/metadata.h"
#include "broker/protocol/record_batch.h"
#include "client/client_call.h"
#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::client {

namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

// The versions this client speaks: the newest Strand's broker implements.
constexpr std::int16_t kMetadataVersion = 8;
constexpr std::int16_t kCreateTopicsVersion = 4;
constexpr std::int16_t kDeleteTopicsVersion = 3;
constexpr std::int16_t kListOffsetsVersion = 5;
constexpr std::int16_t kFetchVersion = 11;
constexpr std::int16_t kInitProducerIdVersion = 4;

io::Error with_broker_message(std::int16_t code, std::string context,
                              const std::optional<std::string>& message) {
  if (message && !message->empty()) context += " (" + *message + ")";
  return kafka_error(code, context);
}

ClusterMetadata from_response(protocol::MetadataResponse&& response) {
  ClusterMetadata out;
  out.cluster_id = std::move(response.cluster_id);
  out.controller_id = response.controller_id;
  for (protocol::MetadataResponseBroker& broker : response.brokers) {
    out.brokers.push_back(
        BrokerInfo{broker.node_id,
                   io::Address{std::move(broker.host), static_cast<std::uint16_t>(broker.port)}});
  }
  for (protocol::MetadataResponseTopic& topic : response.topics) {
    TopicMetadata& into = out.topics.emplace_back();
    into.name = std::move(topic.name);
    into.error_code = topic.error_code;
    into.is_internal = topic.is_internal;
    for (protocol::MetadataResponsePartition& partition : topic.partitions) {
      into.partitions.push_back(PartitionMetadata{partition.partition_index, partition.leader_id,
                                                  partition.error_code,
                                                  std::move(partition.replica_nodes)});
    }
    std::sort(into.partitions.begin(), into.partitions.end(),
              [](const PartitionMetadata& a, const PartitionMetadata& b) {
                return a.partition < b.partition;
              });
  }
  return out;
}

// Decodes one partition's batches. Stops at a partial batch at the end (a broker may cut the
// last one short to honour max bytes).
io::Result<void> decode_batches(std::span<const std::byte> bytes, std::int64_t fetch_offset,
                                FetchedRecords& out) {
  while (bytes.size() >= protocol::kBatchLengthFieldEnd) {
    io::Result<std::span<const std::byte>> whole = protocol::next_batch(bytes);
    if (!whole && whole.error().kind == io::ErrorKind::kOutOfRange) break;
    if (!whole) return std::move(whole).error();
    io::Result<protocol::RecordBatchView> batch =
        protocol::RecordBatchView::parse(*whole, protocol::BatchOrigin::kLog);
    if (!batch) return std::move(batch).error();
    out.batches_count += 1;
    out.next_offset = std::max(out.next_offset, batch->last_offset() + 1);
    if (batch->control()) continue;
    io::Result<std::vector<protocol::Record>> records = protocol::read_records(*batch);
    if (!records) {
      io::Error error = std::move(records).error();
      error.message =
          "batch at offset " + std::to_string(batch->base_offset()) + ": " + error.message;
      return error;
    }
    for (protocol::Record& record : *records) {
      if (record.offset >= fetch_offset) out.records.push_back(std::move(record));
    }
  }
  return io::ok();
}

struct CallState {
  std::optional<io::Result<std::vector<std::byte>>> result;
  io::Event woken;
};

io::Task<void> run_call(std::shared_ptr<KafkaConnection> connection, ApiKey key,
                        std::int16_t version, std::vector<std::byte> body,
                        std::shared_ptr<CallState> state) {
  io::Result<std::vector<std::byte>> result =
      co_await connection->call(key, version, std::move(body));
  state->result.emplace(std::move(result));
  state->woken.set();
}

io::Task<void> wake_after(io::Clock& clock, io::Duration timeout,
                          std::shared_ptr<CallState> state) {
  co_await clock.sleep(timeout);
  state->woken.set();
}

}  // namespace

io::Task<io::Result<std::unique_ptr<Client>>> Client::connect(io::Env& env, io::Address bootstrap,
                                                              ClientOptions options) {
  std::vector<io::Address> addresses;
  addresses.push_back(std::move(bootstrap));
  io::Result<std::unique_ptr<Client>> client =
      co_await connect(env, std::move(addresses), std::move(options));
  co_return std::move(client);
}

io::Task<io::Result<std::unique_ptr<Client>>> Client::connect(io::Env& env,
                                                              std::vector<io::Address> bootstrap,
                                                              ClientOptions options) {
  STRAND_ASSERT(!bootstrap.empty(), "a client needs at least one bootstrap address");
  std::optional<io::Error> last_error;
  for (std::size_t i = 0; i < bootstrap.size(); ++i) {
    io::Result<std::unique_ptr<KafkaConnection>> connected =
        co_await KafkaConnection::connect(env, bootstrap[i], options.client_id);
    if (!connected) {
      last_error.emplace(std::move(connected).error());
      continue;
    }
    std::shared_ptr<KafkaConnection> connection = std::move(*connected);
    std::unique_ptr<Client> client(
        new Client(env, std::move(bootstrap), i, std::move(options), std::move(connection)));
    co_return std::move(client);
  }
  co_return std::move(*last_error);
}

Client::Client(io::Env& env, std::vector<io::Address> bootstrap, std::size_t bootstrap_index,
               ClientOptions options, std::shared_ptr<KafkaConnection> connection)
    : env_(env),
      bootstrap_addresses_(std::move(bootstrap)),
      bootstrap_index_(bootstrap_index),
      options_(std::move(options)),
      bootstrap_(std::move(connection)) {}

Client::~Client() = default;

io::Task<io::Result<std::vector<std::byte>>> Client::call(
    std::shared_ptr<KafkaConnection> connection, ApiKey key, std::int16_t version,
    std::vector<std::byte> body, io::Duration timeout) {
  auto state = std::make_shared<CallState>();
  io::TaskScope racing;
  racing.spawn(run_call(connection, key, version, std::move(body), state));
  racing.spawn(wake_after(env_.clock(), timeout, state));
  if (!state->woken.is_set()) co_await state->woken.wait();
  // The child that woke us is still on the stack below; let it return before cancelling.
  co_await env_.clock().sleep(io::Duration::ns(0));
  racing.cancel();
  if (!state->result) {
    connection->close();
    co_return io::Error{io::ErrorKind::kTimeout,
                        "no answer from " + connection->address().to_string() + " within " +
                            std::to_string(timeout.count_ms()) + " ms"};
  }
  co_return std::move(*state->result);
}

io::Task<io::Result<std::shared_ptr<KafkaConnection>>> Client::any_connection() {
  if (!bootstrap_ || bootstrap_->closed()) {
    // The lost broker may be down: start with the next address, so a dead one is not retried
    // first every time.
    std::optional<io::Error> last_error;
    const std::size_t count = bootstrap_addresses_.size();
    for (std::size_t tried = 0; tried < count; ++tried) {
      const std::size_t index = (bootstrap_index_ + 1 + tried) % count;
      io::Result<std::unique_ptr<KafkaConnection>> connected =
          co_await KafkaConnection::connect(env_, bootstrap_addresses_[index], options_.client_id);
      if (!connected) {
        last_error.emplace(std::move(connected).error());
        continue;
      }
      bootstrap_ = std::move(*connected);
      bootstrap_index_ = index;
      break;
    }
    if (!bootstrap_ || bootstrap_->closed()) co_return std::move(*last_error);
  }
  std::shared_ptr<KafkaConnection> connection = bootstrap_;
  co_return std::move(connection);
}

void Client::forget_leader(const TopicPartition& tp) {
  auto it = leaders_.find(tp.topic);
  if (it == leaders_.end() || tp.partition < 0 ||
      static_cast<std::size_t>(tp.partition) >= it->second.size()) {
    return;
  }
  it->second[static_cast<std::size_t>(tp.partition)] = -1;
}

bool Client::leader_may_have_moved(const io::Error& error) {
  constexpr std::int16_t kFencedLeaderEpoch = 74;
  constexpr std::int16_t kUnknownLeaderEpoch = 75;
  constexpr std::int16_t kMoved[] = {static_cast<std::int16_t>(ErrorCode::kNotLeaderOrFollower),
                                     static_cast<std::int16_t>(ErrorCode::kLeaderNotAvailable),
                                     kFencedLeaderEpoch, kUnknownLeaderEpoch};
  for (std::int16_t code : kMoved) {
    if (has_kafka_code(error, code)) return true;
  }
  return error.kind == io::ErrorKind::kClosed || error.kind == io::ErrorKind::kRefused ||
         (error.kind == io::ErrorKind::kTimeout && !error.message.starts_with("REQUEST_TIMED_OUT"));
}

io::Task<io::Result<std::shared_ptr<KafkaConnection>>> Client::connection_to(std::int32_t node_id) {
  // A single broker is the one the bootstrap address reaches, whatever host name it advertises
  // (it may be a name this client can't resolve through io::Network).
  if (brokers_.size() <= 1) {
    io::Result<std::shared_ptr<KafkaConnection>> connection = co_await any_connection();
    co_return std::move(connection);
  }
  auto broker = brokers_.find(node_id);
  if (broker == brokers_.end()) {
    co_return io::Error{io::ErrorKind::kNotFound,
                        "broker " + std::to_string(node_id) + " is not in the metadata"};
  }
  std::shared_ptr<KafkaConnection>& slot = connections_[node_id];
  if (!slot || slot->closed()) {
    const io::Address address = broker->second;
    io::Result<std::unique_ptr<KafkaConnection>> connected =
        co_await KafkaConnection::connect(env_, address, options_.client_id);
    if (!connected) co_return std::move(connected).error();
    connections_[node_id] = std::move(*connected);
  }
  std::shared_ptr<KafkaConnection> connection = connections_[node_id];
  co_return std::move(connection);
}

void Client::remember(const ClusterMetadata& metadata) {
  if (!metadata.brokers.empty()) {
    brokers_.clear();
    for (const BrokerInfo& broker : metadata.brokers) brokers_[broker.node_id] = broker.address;
  }
  for (const TopicMetadata& topic : metadata.topics) {
    if (topic.error_code != 0) {
      leaders_.erase(topic.name);
      continue;
    }
    std::vector<std::int32_t> leaders(topic.partitions.size(), -1);
    for (const PartitionMetadata& partition : topic.partitions) {
      if (partition.partition < 0 ||
          static_cast<std::size_t>(partition.partition) >= leaders.size()) {
        continue;  // a hole in the numbering: the broker's answer is inconsistent; skip it
      }
      leaders[static_cast<std::size_t>(partition.partition)] = partition.leader_id;
    }
    leaders_[topic.name] = std::move(leaders);
  }
}

io::Task<io::Result<ClusterMetadata>> Client::metadata(
    std::optional<std::vector<std::string>> topics, bool allow_auto_topic_creation) {
  protocol::MetadataRequest request;
  if (topics) {
    request.topics.emplace();
    for (std::string& name : *topics) request.topics->push_back({std::move(name)});
  }
  request.allow_auto_topic_creation = allow_auto_topic_creation;
  io::Result<protocol::MetadataResponse> response =
      co_await call_any(ApiKey::kMetadata, kMetadataVersion, request,
                        protocol::write_metadata_request, protocol::read_metadata_response);
  if (!response) co_return std::move(response).error();
  ClusterMetadata metadata = from_response(std::move(*response));
  remember(metadata);
  co_return std::move(metadata);
}

io::Task<io::Result<ProducerIdentity>> Client::init_producer_id() {
  protocol::InitProducerIdRequest request;
  request.transaction_timeout_ms = -1;
  io::Result<protocol::InitProducerIdResponse> response = co_await call_any(
      ApiKey::kInitProducerId, kInitProducerIdVersion, request,
      protocol::write_init_producer_id_request, protocol::read_init_producer_id_response);
  if (!response) co_return std::move(response).error();
  if (response->error_code != 0) co_return kafka_error(response->error_code, "InitProducerId");
  co_return ProducerIdentity{response->producer_id, response->producer_epoch};
}

io::Task<io::Result<void>> Client::create_topic(std::string name, std::int32_t partitions,
                                                std::map<std::string, std::string> configs,
                                                std::int16_t replication_factor) {
  protocol::CreateTopicsRequest request;
  request.timeout_ms = static_cast<std::int32_t>(options_.request_timeout.count_ms());
  protocol::CreatableTopic& topic = request.topics.emplace_back();
  topic.name = name;
  topic.num_partitions = partitions;
  topic.replication_factor = replication_factor;
  for (auto& [key, value] : configs) topic.configs.push_back({key, value});
  io::Result<protocol::CreateTopicsResponse> response = co_await call_any(
      ApiKey::kCreateTopics, kCreateTopicsVersion, request, protocol::write_create_topics_request,
      protocol::read_create_topics_response);
  if (!response) co_return std::move(response).error();
  if (response->topics.size() != 1 || response->topics[0].name != name) {
    co_return io::Error{io::ErrorKind::kCorrupt, "CreateTopics answered for other topics"};
  }
  const protocol::CreatableTopicResult& result = response->topics[0];
  if (result.error_code != 0) {
    co_return with_broker_message(result.error_code, "topic '" + name + "'", result.error_message);
  }
  co_return io::ok();
}

io::Task<io::Result<void>> Client::delete_topic(std::string name) {
  protocol::DeleteTopicsRequest request;
  request.timeout_ms = static_cast<std::int32_t>(options_.request_timeout.count_ms());
  request.topic_names.push_back(name);
  io::Result<protocol::DeleteTopicsResponse> response = co_await call_any(
      ApiKey::kDeleteTopics, kDeleteTopicsVersion, request, protocol::write_delete_topics_request,
      protocol::read_delete_topics_response);
  if (!response) co_return std::move(response).error();
  if (response->responses.size() != 1 || response->responses[0].name != name) {
    co_return io::Error{io::ErrorKind::kCorrupt, "DeleteTopics answered for other topics"};
  }
  leaders_.erase(name);
  const std::int16_t code = response->responses[0].error_code;
  if (code != 0) co_return kafka_error(code, "topic '" + name + "'");
  co_return io::ok();
}

io::Task<io::Result<std::vector<std::string>>> Client::list_topics() {
  std::optional<std::vector<std::string>> all;  // named: no temporaries into coroutine calls
  io::Result<ClusterMetadata> metadata = co_await this->metadata(std::move(all));
  if (!metadata) co_return std::move(metadata).error();
  std::vector<std::string> names;
  for (TopicMetadata& topic : metadata->topics) {
    if (topic.error_code == 0) names.push_back(std::move(topic.name));
  }
  std::sort(names.begin(), names.end());
  co_return std::move(names);
}

io::Task<io::Result<TopicDescription>> Client::describe_topic(std::string name) {
  std::vector<std::string> names{name};
  io::Result<ClusterMetadata> metadata = co_await this->metadata(std::move(names));
  if (!metadata) co_return std::move(metadata).error();
  if (metadata->topics.size() != 1) {
    co_return io::Error{io::ErrorKind::kCorrupt, "Metadata answered for other topics"};
  }
  const TopicMetadata& topic = metadata->topics[0];
  if (topic.error_code != 0) co_return kafka_error(topic.error_code, "topic '" + name + "'");
  TopicDescription description{name, topic.is_internal, {}};
  std::vector<std::int32_t> partitions;
  for (const PartitionMetadata& partition : topic.partitions) {
    partitions.push_back(partition.partition);
    description.partitions.push_back({partition.partition, partition.leader_id, -1, -1});
  }
  io::Result<std::map<std::int32_t, std::int64_t>> starts =
      co_await list_offsets(name, partitions, protocol::kEarliestTimestamp);
  if (!starts) co_return std::move(starts).error();
  io::Result<std::map<std::int32_t, std::int64_t>> ends =
      co_await list_offsets(name, partitions, protocol::kLatestTimestamp);
  if (!ends) co_return std::move(ends).error();
  for (PartitionDescription& partition : description.partitions) {
    partition.log_start_offset = (*starts)[partition.partition];
    partition.log_end_offset = (*ends)[partition.partition];
  }
  co_return std::move(description);
}

std::optional<std::int32_t> Client::cached_partitions_count(const std::string& topic) const {
  auto it = leaders_.find(topic);
  if (it == leaders_.end()) return std::nullopt;
  return static_cast<std::int32_t>(it->second.size());
}

std::optional<std::int32_t> Client::cached_leader(const TopicPartition& tp) const {
  auto it = leaders_.find(tp.topic);
  if (it == leaders_.end() || tp.partition < 0 ||
      static_cast<std::size_t>(tp.partition) >= it->second.size()) {
    return std::nullopt;
  }
  const std::int32_t leader = it->second[static_cast<std::size_t>(tp.partition)];
  if (leader < 0) return std::nullopt;
  return leader;
}

io::Task<io::Result<std::int32_t>> Client::partitions_count(std::string topic,
                                                            bool allow_auto_topic_creation) {
  std::optional<std::int32_t> cached = cached_partitions_count(topic);
  if (cached) co_return *cached;
  std::vector<std::string> names{topic};
  io::Result<ClusterMetadata> metadata =
      co_await this->metadata(std::move(names), allow_auto_topic_creation);
  if (!metadata) co_return std::move(metadata).error();
  for (const TopicMetadata& answer : metadata->topics) {
    if (answer.name != topic) continue;
    if (answer.error_code != 0) co_return kafka_error(answer.error_code, "topic '" + topic + "'");
    if (answer.partitions.empty()) {
      co_return kafka_error(static_cast<std::int16_t>(ErrorCode::kLeaderNotAvailable),
                            "topic '" + topic + "' has no partitions yet");
    }
    co_return static_cast<std::int32_t>(answer.partitions.size());
  }
  co_return io::Error{io::ErrorKind::kCorrupt, "Metadata did not answer for '" + topic + "'"};
}

io::Task<io::Result<std::map<std::int32_t, std::vector<std::int32_t>>>> Client::group_by_leader(
    const std::string& topic, const std::vector<std::int32_t>& partitions) {
  std::map<std::int32_t, std::vector<std::int32_t>> groups;
  for (int attempt = 0; attempt < 2; ++attempt) {
    groups.clear();
    bool missing = false;
    for (std::int32_t partition : partitions) {
      const std::optional<std::int32_t> count = cached_partitions_count(topic);
      if (count && (partition < 0 || partition >= *count)) {
        co_return kafka_error(static_cast<std::int16_t>(ErrorCode::kUnknownTopicOrPartition),
                              TopicPartition{topic, partition}.to_string() + " (the topic has " +
                                  std::to_string(*count) + " partitions)");
      }
      std::optional<std::int32_t> leader = cached_leader(TopicPartition{topic, partition});
      if (!leader) {
        missing = true;
        break;
      }
      groups[*leader].push_back(partition);
    }
    if (!missing) co_return std::move(groups);
    std::vector<std::string> names{topic};
    io::Result<ClusterMetadata> refreshed = co_await metadata(std::move(names));
    if (!refreshed) co_return std::move(refreshed).error();
    for (const TopicMetadata& answer : refreshed->topics) {
      if (answer.error_code != 0) {
        co_return kafka_error(answer.error_code, "topic '" + topic + "'");
      }
    }
  }
  co_return kafka_error(static_cast<std::int16_t>(ErrorCode::kLeaderNotAvailable),
                        "topic '" + topic + "': a partition has no leader");
}

io::Task<io::Result<std::map<std::int32_t, std::int64_t>>> Client::list_offsets(
    std::string topic, std::vector<std::int32_t> partitions, std::int64_t timestamp) {
  io::Result<std::map<std::int32_t, std::vector<std::int32_t>>> groups =
      co_await group_by_leader(topic, partitions);
  if (!groups) co_return std::move(groups).error();
  std::map<std::int32_t, std::int64_t> offsets;
  for (const auto& [leader, members] : *groups) {
    // A leader that moved or can't be reached: ask for metadata before the next request.
    auto stale = [&](const io::Error& error) {
      if (!leader_may_have_moved(error)) return;
      for (std::int32_t partition : members) forget_leader(TopicPartition{topic, partition});
    };
    protocol::ListOffsetsRequest request;
    protocol::ListOffsetsTopic& wanted = request.topics.emplace_back();
    wanted.name = topic;
    for (std::int32_t partition : members) wanted.partitions.push_back({partition, -1, timestamp});
    protocol::Writer writer;
    protocol::write_list_offsets_request(writer, request, kListOffsetsVersion);
    io::Result<std::shared_ptr<KafkaConnection>> connection = co_await connection_to(leader);
    if (!connection) {
      stale(connection.error());
      co_return std::move(connection).error();
    }
    std::vector<std::byte> request_body = writer.take();
    io::Result<std::vector<std::byte>> body =
        co_await call(*connection, ApiKey::kListOffsets, kListOffsetsVersion,
                      std::move(request_body), options_.request_timeout);
    if (!body) {
      stale(body.error());
      co_return std::move(body).error();
    }
    protocol::Reader reader(*body);
    protocol::ListOffsetsResponse response =
        protocol::read_list_offsets_response(reader, kListOffsetsVersion);
    if (!reader.ok()) co_return reader.status().error();
    for (const protocol::ListOffsetsTopicResponse& answer : response.topics) {
      for (const protocol::ListOffsetsPartitionResponse& partition : answer.partitions) {
        if (partition.error_code != 0) {
          TopicPartition tp{topic, partition.partition_index};
          io::Error error = kafka_error(partition.error_code, tp.to_string());
          stale(error);
          co_return std::move(error);
        }
        offsets[partition.partition_index] = partition.offset;
      }
    }
  }
  for (std::int32_t partition : partitions) {
    if (!offsets.contains(partition)) {
      co_return io::Error{io::ErrorKind::kCorrupt,
                          "ListOffsets did not answer for partition " + std::to_string(partition)};
    }
  }
  co_return std::move(offsets);
}

io::Task<io::Result<FetchedRecords>> Client::fetch(std::string topic, std::int32_t partition,
                                                   std::int64_t offset, std::int32_t max_bytes,
                                                   io::Duration max_wait) {
  std::vector<FetchPosition> positions{FetchPosition{partition, offset}};
  const FetchLimits limits{max_bytes, max_bytes, max_wait};
  io::Result<std::vector<FetchedRecords>> fetched =
      co_await fetch_many(std::move(topic), std::move(positions), limits);
  if (!fetched) co_return std::move(fetched).error();
  STRAND_ASSERT(fetched->size() == 1, "one result per position");
  FetchedRecords records = std::move(fetched->front());
  co_return std::move(records);
}

io::Task<io::Result<std::vector<FetchedRecords>>> Client::fetch_many(
    std::string topic, std::vector<FetchPosition> positions, FetchLimits limits) {
  std::vector<std::int32_t> partitions;
  for (const FetchPosition& position : positions) partitions.push_back(position.partition);
  std::vector<std::int32_t> sorted = partitions;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    co_return io::Error{io::ErrorKind::kInvalid, "a fetch names a partition twice"};
  }
  io::Result<std::map<std::int32_t, std::vector<std::int32_t>>> groups =
      co_await group_by_leader(topic, partitions);
  if (!groups) co_return std::move(groups).error();
  // One request per leader, all in flight at once, so a long poll on one broker doesn't hold up
  // data waiting on another.
  std::vector<std::optional<io::Result<std::vector<FetchedRecords>>>> answers(groups->size());
  {
    io::TaskScope fetching;
    std::size_t slot = 0;
    for (const auto& [leader, members] : *groups) {
      std::vector<FetchPosition> mine;
      for (const FetchPosition& position : positions) {
        if (std::find(members.begin(), members.end(), position.partition) != members.end()) {
          mine.push_back(position);
        }
      }
      fetching.spawn(fetch_into(leader, topic, std::move(mine), limits, &answers[slot]));
      slot += 1;
    }
    co_await fetching.join();
  }
  std::map<std::int32_t, FetchedRecords> by_partition;
  for (std::optional<io::Result<std::vector<FetchedRecords>>>& answer : answers) {
    STRAND_ASSERT(answer.has_value(), "every fetch child stores its answer");
    if (!*answer) co_return std::move(*answer).error();
    for (FetchedRecords& records : **answer) {
      by_partition[records.partition] = std::move(records);
    }
  }
  std::vector<FetchedRecords> out;
  for (const FetchPosition& position : positions) {
    out.push_back(std::move(by_partition[position.partition]));
  }
  co_return std::move(out);
}

io::Task<void> Client::fetch_into(std::int32_t node_id, std::string topic,
                                  std::vector<FetchPosition> positions, FetchLimits limits,
                                  std::optional<io::Result<std::vector<FetchedRecords>>>* out) {
  std::vector<std::int32_t> partitions;
  for (const FetchPosition& position : positions) partitions.push_back(position.partition);
  const std::string topic_name = topic;
  io::Result<std::vector<FetchedRecords>> fetched =
      co_await fetch_from(node_id, std::move(topic), std::move(positions), limits);
  if (!fetched && leader_may_have_moved(fetched.error())) {
    for (std::int32_t partition : partitions) forget_leader(TopicPartition{topic_name, partition});
  }
  out->emplace(std::move(fetched));
}

io::Task<io::Result<std::vector<FetchedRecords>>> Client::fetch_from(
    std::int32_t node_id, std::string topic, std::vector<FetchPosition> positions,
    FetchLimits limits) {
  protocol::FetchRequest request;
  request.max_wait_ms = static_cast<std::int32_t>(limits.max_wait.count_ms());
  request.min_bytes = 1;
  request.max_bytes = limits.max_bytes;
  protocol::FetchTopic& wanted = request.topics.emplace_back();
  wanted.topic = topic;
  for (const FetchPosition& position : positions) {
    wanted.partitions.push_back(
        {position.partition, -1, position.offset, -1, limits.partition_max_bytes});
  }
  protocol::Writer writer;
  protocol::write_fetch_request(writer, request, kFetchVersion);
  io::Result<std::shared_ptr<KafkaConnection>> connection = co_await connection_to(node_id);
  if (!connection) co_return std::move(connection).error();
  std::vector<std::byte> request_body = writer.take();
  const io::Duration timeout = options_.request_timeout + limits.max_wait;
  io::Result<std::vector<std::byte>> body =
      co_await call(*connection, ApiKey::kFetch, kFetchVersion, std::move(request_body), timeout);
  if (!body) co_return std::move(body).error();
  protocol::Reader reader(*body);
  protocol::FetchResponse response = protocol::read_fetch_response(reader, kFetchVersion);
  if (!reader.ok()) co_return reader.status().error();
  if (response.error_code != 0) co_return kafka_error(response.error_code, "fetch of " + topic);
  std::vector<FetchedRecords> out;
  for (const FetchPosition& position : positions) {
    const TopicPartition tp{topic, position.partition};
    const protocol::FetchPartitionData* data = nullptr;
    for (const protocol::FetchableTopicResponse& answer : response.responses) {
      for (const protocol::FetchPartitionData& partition : answer.partitions) {
        if (answer.topic == topic && partition.partition_index == position.partition) {
          data = &partition;
        }
      }
    }
    if (data == nullptr) {
      co_return io::Error{io::ErrorKind::kCorrupt, "Fetch did not answer for " + tp.to_string()};
    }
    if (data->error_code != 0) co_return kafka_error(data->error_code, tp.to_string());
    FetchedRecords& records = out.emplace_back();
    records.partition = position.partition;
    records.high_watermark = data->high_watermark;
    records.log_start_offset = data->log_start_offset;
    records.next_offset = position.offset;
    io::Result<void> decoded = decode_batches(data->records, position.offset, records);
    if (!decoded) co_return io::with_context(std::move(decoded).error(), tp.to_string());
  }
  co_return std::move(out);
}

}  // namespace strand::client
