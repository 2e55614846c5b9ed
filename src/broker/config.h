// A broker's configuration, in Kafka's key names so operators' server.properties carry over.
// Defaults make `strand-broker` with no flags a single node on 127.0.0.1:9092 with data in
// ./strand-data. Unknown keys are refused (a typo must not silently keep a default).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "broker/storage/partition_log.h"
#include "io/network.h"
#include "io/result.h"

namespace strand {

struct BrokerConfig {
  std::int32_t node_id = 1;                       // node.id
  io::Address listen{"127.0.0.1", 9092};          // listeners (one, PLAINTEXT)
  std::string advertised_host;                    // advertised.listeners host; "" = listen
  std::string data_dir = "./strand-data";         // log.dirs (one directory)
  std::string cluster_id = "strand-single-node";  // cluster.id
  bool auto_create_topics = true;                 // auto.create.topics.enable
  std::int32_t num_partitions = 1;                // num.partitions
  std::int16_t default_replication_factor = 1;    // default.replication.factor
  // A cluster: the controller quorum's voters, node id -> their inter-broker (RPC) address, in
  // Kafka's "1@host:port,2@host:port" form. Empty: a single node that needs no quorum.
  std::map<std::int32_t, io::Address> controller_voters;  // controller.quorum.voters
  std::string rack;                                       // broker.rack
  std::int16_t min_insync_replicas = 1;                   // min.insync.replicas
  std::int64_t raft_election_timeout_ms = 500;            // raft.election.timeout.ms
  std::int64_t raft_heartbeat_interval_ms = 100;          // raft.heartbeat.interval.ms
  // A broker the controller quorum's leader has not heard from this long is fenced: Metadata
  // leaves it out and no new replica is placed on it (Kafka's name and default).
  std::int64_t broker_session_timeout_ms = 9000;              // broker.session.timeout.ms
  bool delete_topic_enable = true;                            // delete.topic.enable
  bool auto_leader_rebalance_enable = true;                   // auto.leader.rebalance.enable
  std::int64_t leader_imbalance_check_interval_ms = 300'000;  // leader.imbalance.check.interval.*
  std::int64_t retention_check_interval_ms = 300'000;         // log.retention.check.interval.ms
  // An idempotent producer whose last batch is this old is forgotten (checked with retention).
  std::int64_t producer_id_expiration_ms = 86'400'000;        // producer.id.expiration.ms
  std::int32_t socket_request_max_bytes = 100 * 1024 * 1024;  // socket.request.max.bytes
  std::int32_t message_max_bytes = 1'048'588;                 // message.max.bytes
  std::int32_t connection_inflight_requests_max = 64;         // per connection, before reads stop
  std::int64_t connection_inflight_bytes_max = 64ll << 20;    // per connection, before reads stop
  storage::LogConfig log;  // log.segment.bytes, log.retention.ms, log.retention.bytes, log.roll.ms
  // broker.rpc.listener: where a broker outside the quorum serves inter-broker RPC (a voter's is
  // its controller.quorum.voters address). Not a Kafka key: Kafka replicates over its listeners.
  std::optional<io::Address> rpc_listen;

  // Consumer groups (Kafka's names and defaults).
  std::int64_t group_initial_rebalance_delay_ms = 3000;   // group.initial.rebalance.delay.ms
  std::int32_t group_min_session_timeout_ms = 6000;       // group.min.session.timeout.ms
  std::int32_t group_max_session_timeout_ms = 1'800'000;  // group.max.session.timeout.ms
  std::int32_t group_max_size = 2'147'483'647;            // group.max.size
  std::int32_t offsets_topic_num_partitions = 16;         // offsets.topic.num.partitions
  // offsets.topic.segment.bytes: __consumer_offsets' segment size; the coordinator compacts a
  // partition once a segment's worth of records has piled up beyond its last compaction.
  std::uint64_t offsets_topic_segment_bytes = 100ull << 20;
  std::int64_t offsets_retention_minutes = 10080;  // offsets.retention.minutes
  std::int64_t offsets_retention_check_interval_ms =
      600'000;                                    // offsets.retention.check.interval.ms
  std::int32_t offset_metadata_max_bytes = 4096;  // offset.metadata.max.bytes
  // Simulation tests only: a bug to plant ("ack_before_sync"), so a test can show the simulator
  // catches it. Honoured only by builds with -Dsim_planted_bugs=true; not a Kafka key.
  std::string planted_bug;

  // Sets one key (Kafka's name). Errors: kInvalid naming the key and what is wrong with the value.
  io::Result<void> set(std::string_view key, std::string_view value);

  // Applies a server.properties text: `key=value` lines, `#`/`!` comments, blank lines.
  io::Result<void> apply_properties(std::string_view text);

  // Host and port clients are told to connect to.
  io::Address advertised() const;

  // Whether this broker is part of a cluster with a controller quorum.
  bool clustered() const { return !controller_voters.empty(); }
  // Whether this broker is one of the controller quorum's voters (else it follows the metadata
  // log as a learner).
  bool controller_voter() const { return controller_voters.contains(node_id); }
  // Where this clustered broker serves inter-broker RPC. REQUIRES: validate() passed.
  io::Address rpc_address() const;
  // Checks that the keys agree with each other (a clustered node outside the voters needs
  // broker.rpc.listener). Errors: kInvalid saying what disagrees.
  io::Result<void> validate() const;
};

// Per-topic overrides (CreateTopics configs, DescribeConfigs): Kafka's topic-level names.
// Errors: kInvalid for an unknown key or a bad value.
io::Result<void> apply_topic_config(storage::LogConfig& config, std::string_view key,
                                    std::string_view value);

// The topic-level keys Strand understands, with their values in `config`.
std::map<std::string, std::string> describe_topic_config(const storage::LogConfig& config);

}  // namespace strand
