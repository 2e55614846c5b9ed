// A Kafka client on io::Env: topic administration, cluster metadata with the leader of every
// partition, offsets, and fetches that decode records. The Producer (producer.h) sends through
// it. Requests go to each partition's leader as Metadata names it; with a single broker that is
// the bootstrap connection. Nothing here retries a request on its own: errors come back as values.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/protocol/api.h"
#include "broker/protocol/batch_builder.h"
#include "client/kafka_connection.h"
#include "client/kafka_error.h"
#include "io/env.h"
#include "io/result.h"
#include "io/task.h"
#include "io/time.h"

namespace strand::client {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  std::string to_string() const { return topic + "-" + std::to_string(partition); }
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

struct BrokerInfo {
  std::int32_t node_id = -1;
  io::Address address;
};

struct PartitionMetadata {
  std::int32_t partition = 0;
  std::int32_t leader_id = -1;  // -1: no leader right now
  std::int16_t error_code = 0;
  std::vector<std::int32_t> replicas;  // the preferred leader first
};

struct TopicMetadata {
  std::string name;
  std::int16_t error_code = 0;  // per topic: UNKNOWN_TOPIC_OR_PARTITION, ...
  bool is_internal = false;
  std::vector<PartitionMetadata> partitions;  // by partition index
};

struct ClusterMetadata {
  std::optional<std::string> cluster_id;
  std::int32_t controller_id = -1;
  std::vector<BrokerInfo> brokers;
  std::vector<TopicMetadata> topics;  // in the broker's order, errors included
};

struct PartitionDescription {
  std::int32_t partition = 0;
  std::int32_t leader_id = -1;
  std::int64_t log_start_offset = -1;  // the first offset still stored
  std::int64_t log_end_offset = -1;    // the high watermark: one past the last readable record
};

struct TopicDescription {
  std::string name;
  bool is_internal = false;
  std::vector<PartitionDescription> partitions;
};

// A partition being moved between brokers (ListPartitionReassignments).
struct Reassignment {
  std::string topic;
  std::int32_t partition = 0;
  std::vector<std::int32_t> replicas;  // every broker holding a replica while it moves
  std::vector<std::int32_t> adding;
  std::vector<std::int32_t> removing;
};

// What one partition's fetch returned.
struct FetchedRecords {
  std::int32_t partition = 0;
  // Records at or after the fetch offset, in offset order (control batches skipped).
  std::vector<protocol::Record> records;
  std::int64_t high_watermark = -1;
  std::int64_t log_start_offset = -1;
  // Where the next fetch should start: past the last whole batch returned (the fetch offset when
  // none was).
  std::int64_t next_offset = 0;
  std::uint32_t batches_count = 0;  // whole batches in the response, control batches included
};

struct FetchPosition {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

struct FetchLimits {
  std::int32_t max_bytes = 50 << 20;           // fetch.max.bytes, per request
  std::int32_t partition_max_bytes = 1 << 20;  // max.partition.fetch.bytes
  io::Duration max_wait = io::Duration::ms(500);
};

// An idempotent producer's id and epoch, as InitProducerId gave them.
struct ProducerIdentity {
  std::int64_t id = -1;
  std::int16_t epoch = -1;
};

struct ClientOptions {
  std::string client_id = "strand";
  // A request unanswered this long fails with kTimeout and its connection is closed (a fetch
  // gets its max wait on top).
  io::Duration request_timeout = io::Duration::s(30);
};

class Client {
 public:
  // Connects to one broker of the cluster. Errors: kRefused, kTimeout, kInvalid. (No default
  // for `options`: a default argument is a temporary, which GCC 12 mishandles in coroutines.)
  static io::Task<io::Result<std::unique_ptr<Client>>> connect(io::Env& env, io::Address bootstrap,
                                                               ClientOptions options);
  // Connects to the first of `bootstrap` that answers (REQUIRES: not empty). When the bootstrap
  // connection is lost, requests that need any broker (Metadata, topic administration) reconnect
  // to the next address that answers, round robin.
  static io::Task<io::Result<std::unique_ptr<Client>>> connect(io::Env& env,
                                                               std::vector<io::Address> bootstrap,
                                                               ClientOptions options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Metadata for `topics` (all topics when nullopt) and refreshes the leader cache. Per-topic
  // errors are in the answer, not an error of the call. Errors: connection errors, kTimeout.
  io::Task<io::Result<ClusterMetadata>> metadata(std::optional<std::vector<std::string>> topics,
                                                 bool allow_auto_topic_creation = false);

  // `partitions` -1 and replication factor -1 take the broker's defaults. Errors: kafka_error of
  // the broker's answer (kExists for TOPIC_ALREADY_EXISTS, kInvalid for bad arguments).
  io::Task<io::Result<void>> create_topic(std::string name, std::int32_t partitions,
                                          std::map<std::string, std::string> configs,
                                          std::int16_t replication_factor = -1);
  // Errors: kNotFound (UNKNOWN_TOPIC_OR_PARTITION), other kafka_errors.
  io::Task<io::Result<void>> delete_topic(std::string name);
  // Every topic's name, sorted.
  io::Task<io::Result<std::vector<std::string>>> list_topics();
  // Partitions with their leaders and start/end offsets. Errors: kNotFound for an unknown topic.
  io::Task<io::Result<TopicDescription>> describe_topic(std::string name);

  // AlterPartitionReassignments (client_reassign.cc): moves `partition` of `topic` to `replicas`
  // (the first the preferred leader), or cancels its move (nullopt). Returns once the
  // controller recorded it; the move itself goes on in the background. Errors: kafka_error of
  // the broker's answer (kNotFound for an unknown partition, kInvalid for a bad replica set).
  io::Task<io::Result<void>> reassign_partition(std::string topic, std::int32_t partition,
                                                std::optional<std::vector<std::int32_t>> replicas);
  // ListPartitionReassignments: every move in progress, by topic and partition.
  io::Task<io::Result<std::vector<Reassignment>>> list_reassignments();

  // Offsets by ListOffsets for each partition: `timestamp` is protocol::kEarliestTimestamp (log
  // start), kLatestTimestamp (high watermark) or a time in ms (first offset at or after it; -1
  // when there is none). Errors: the first partition's kafka_error, connection errors.
  io::Task<io::Result<std::map<std::int32_t, std::int64_t>>> list_offsets(
      std::string topic, std::vector<std::int32_t> partitions, std::int64_t timestamp);

  // Reads one partition from `offset`: waits up to `max_wait` for at least one byte. Batches in
  // every Kafka codec decode. Errors: kafka_error (kNotFound: unknown topic or partition,
  // kOutOfRange), kCorrupt (a batch that does not decode, codec streams included).
  io::Task<io::Result<FetchedRecords>> fetch(std::string topic, std::int32_t partition,
                                             std::int64_t offset, std::int32_t max_bytes,
                                             io::Duration max_wait);
  // Many partitions of one topic at once, one request per leader; answers as soon as any has
  // data (or after the max wait). Results in the order of `positions`; a partition's error fails
  // the whole call, naming the partition. kInvalid if a partition is named twice.
  io::Task<io::Result<std::vector<FetchedRecords>>> fetch_many(std::string topic,
                                                               std::vector<FetchPosition> positions,
                                                               FetchLimits limits);

  // ---- For the producer ------------------------------------------------------------------------

  // A producer id and epoch for idempotent writes (InitProducerId without a transactional id),
  // from any broker. Errors: kafka_error of the answer, connection errors, kTimeout.
  io::Task<io::Result<ProducerIdentity>> init_producer_id();

  // The partition count of `topic` from the cache, or from a metadata request when it isn't
  // cached. Errors: kafka_error of the topic (kNotFound when unknown), connection errors.
  io::Task<io::Result<std::int32_t>> partitions_count(std::string topic,
                                                      bool allow_auto_topic_creation);
  std::optional<std::int32_t> cached_partitions_count(const std::string& topic) const;
  // The leader's node id from the last metadata answer, if one is known.
  std::optional<std::int32_t> cached_leader(const TopicPartition& tp) const;
  // Forgets the cached leader of `tp`, so the next request for it asks for metadata first.
  void forget_leader(const TopicPartition& tp);
  // Whether `error` (of a request to a partition's leader) says the cached leader may be stale:
  // NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, a fenced or unknown leader epoch, or a leader
  // that could not be reached. fetch(), fetch_many() and list_offsets() forget such leaders
  // themselves; the producer does it for its batches.
  static bool leader_may_have_moved(const io::Error& error);
  // A connection to broker `node_id` (opened, or reopened after it closed, as needed).
  io::Task<io::Result<std::shared_ptr<KafkaConnection>>> connection_to(std::int32_t node_id);
  // The bootstrap connection, reconnected round robin when it was lost (requests any broker
  // can answer: Metadata, FindCoordinator).
  io::Task<io::Result<std::shared_ptr<KafkaConnection>>> any_connection();
  // `connection.call` bounded by `timeout`; on timeout the connection is closed (its other calls
  // fail with kClosed) and the call fails with kTimeout.
  io::Task<io::Result<std::vector<std::byte>>> call(std::shared_ptr<KafkaConnection> connection,
                                                    protocol::ApiKey key, std::int16_t version,
                                                    std::vector<std::byte> body,
                                                    io::Duration timeout);

  io::Env& env() { return env_; }
  const ClientOptions& options() const { return options_; }

 private:
  Client(io::Env& env, std::vector<io::Address> bootstrap, std::size_t bootstrap_index,
         ClientOptions options, std::shared_ptr<KafkaConnection> connection);
  template <typename Request, typename Response>
  io::Task<io::Result<Response>> call_any(protocol::ApiKey key, std::int16_t version,
                                          const Request& request,
                                          void (*write)(protocol::Writer&, const Request&,
                                                        std::int16_t),
                                          Response (*read)(protocol::Reader&, std::int16_t));
  io::Task<io::Result<std::map<std::int32_t, std::vector<std::int32_t>>>> group_by_leader(
      const std::string& topic, const std::vector<std::int32_t>& partitions);
  io::Task<io::Result<std::vector<FetchedRecords>>> fetch_from(std::int32_t node_id,
                                                               std::string topic,
                                                               std::vector<FetchPosition> positions,
                                                               FetchLimits limits);
  io::Task<void> fetch_into(std::int32_t node_id, std::string topic,
                            std::vector<FetchPosition> positions, FetchLimits limits,
                            std::optional<io::Result<std::vector<FetchedRecords>>>* out);
  void remember(const ClusterMetadata& metadata);

  io::Env& env_;
  std::vector<io::Address> bootstrap_addresses_;
  std::size_t bootstrap_index_ = 0;  // the address bootstrap_ is (or was last) connected to
  ClientOptions options_;
  std::shared_ptr<KafkaConnection> bootstrap_;
  std::map<std::int32_t, io::Address> brokers_;  // from the last metadata answer
  std::map<std::int32_t, std::shared_ptr<KafkaConnection>> connections_;
  // Leader node id by partition index, per topic, from metadata answers.
  std::map<std::string, std::vector<std::int32_t>> leaders_;
};

}  // namespace strand::client
