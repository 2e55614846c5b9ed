#include "broker/config.h"

#include <charconv>
#include <limits>

#include "broker/storage/segment_format.h"
#include "io/assert.h"

namespace strand {

namespace {

io::Error invalid(std::string_view key, std::string_view value, std::string_view why) {
  return io::Error{io::ErrorKind::kInvalid, "config " + std::string(key) + "=" +
                                                std::string(value) + ": " + std::string(why)};
}

template <typename Int>
io::Result<Int> parse_int(std::string_view key, std::string_view value, Int min, Int max) {
  Int out{};
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, out);
  if (ec != std::errc{} || ptr != end) return invalid(key, value, "not an integer");
  if (out < min || out > max) {
    return invalid(key, value,
                   "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return out;
}

io::Result<bool> parse_bool(std::string_view key, std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return invalid(key, value, "expected true or false");
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int32_t kI32Max = std::numeric_limits<std::int32_t>::max();

template <typename Int>
io::Result<void> set_int(Int& field, std::string_view key, std::string_view value, Int min,
                         Int max) {
  io::Result<Int> parsed = parse_int<Int>(key, value, min, max);
  if (!parsed) return std::move(parsed).error();
  field = *parsed;
  return io::ok();
}

// The consumer-group keys: group.* and offsets.* / offset.*.
io::Result<void> set_group_key(BrokerConfig& config, std::string_view key, std::string_view value) {
  if (key == "group.initial.rebalance.delay.ms") {
    return set_int<std::int64_t>(config.group_initial_rebalance_delay_ms, key, value, 0, 1ll << 40);
  }
  if (key == "group.min.session.timeout.ms") {
    return set_int<std::int32_t>(config.group_min_session_timeout_ms, key, value, 1, kI32Max);
  }
  if (key == "group.max.session.timeout.ms") {
    return set_int<std::int32_t>(config.group_max_session_timeout_ms, key, value, 1, kI32Max);
  }
  if (key == "group.max.size") {
    return set_int<std::int32_t>(config.group_max_size, key, value, 1, kI32Max);
  }
  if (key == "offsets.topic.num.partitions") {
    return set_int<std::int32_t>(config.offsets_topic_num_partitions, key, value, 1, 1 << 12);
  }
  if (key == "offsets.topic.segment.bytes") {
    return set_int<std::uint64_t>(config.offsets_topic_segment_bytes, key, value, 1024,
                                  storage::kSegmentBytesMax);
  }
  if (key == "offsets.topic.replication.factor") {
    std::int16_t factor = 1;
    return set_int<std::int16_t>(factor, key, value, 1, 1);
  }
  if (key == "offsets.retention.minutes") {
    return set_int<std::int64_t>(config.offsets_retention_minutes, key, value, 1, 1ll << 40);
  }
  if (key == "offsets.retention.check.interval.ms") {
    return set_int<std::int64_t>(config.offsets_retention_check_interval_ms, key, value, 1,
                                 kI64Max);
  }
  if (key == "offset.metadata.max.bytes") {
    return set_int<std::int32_t>(config.offset_metadata_max_bytes, key, value, 0, kI32Max);
  }
  return io::Error{io::ErrorKind::kInvalid, "unknown config " + std::string(key)};
}

// "1@host:port,2@host:port": every voter's node id and inter-broker address.
io::Result<std::map<std::int32_t, io::Address>> parse_voters(std::string_view key,
                                                             std::string_view value) {
  std::map<std::int32_t, io::Address> voters;
  std::string_view rest = value;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const std::size_t at = item.find('@');
    if (at == std::string_view::npos) return invalid(key, value, "expected id@host:port items");
    io::Result<std::int32_t> id = parse_int<std::int32_t>(key, item.substr(0, at), 0, 1 << 30);
    if (!id) return invalid(key, value, "bad node id '" + std::string(item.substr(0, at)) + "'");
    io::Result<io::Address> address = io::parse_address(item.substr(at + 1));
    if (!address) return invalid(key, value, address.error().message);
    if (address->port == 0) return invalid(key, value, "a voter needs a port");
    if (!voters.emplace(*id, *address).second) {
      return invalid(key, value, "node " + std::to_string(*id) + " appears twice");
    }
  }
  if (voters.empty()) return invalid(key, value, "no voters");
  return voters;
}

}  // namespace

io::Result<void> apply_topic_config(storage::LogConfig& config, std::string_view key,
                                    std::string_view value) {
  if (key == "retention.ms") {
    io::Result<std::int64_t> ms = parse_int<std::int64_t>(key, value, -1, kI64Max);
    if (!ms) return std::move(ms).error();
    config.retention_ms = *ms;
  } else if (key == "retention.bytes") {
    io::Result<std::int64_t> bytes = parse_int<std::int64_t>(key, value, -1, kI64Max);
    if (!bytes) return std::move(bytes).error();
    config.retention_bytes = *bytes;
  } else if (key == "segment.bytes") {
    io::Result<std::uint64_t> bytes =
        parse_int<std::uint64_t>(key, value, 14, storage::kSegmentBytesMax);
    if (!bytes) return std::move(bytes).error();
    config.segment_bytes = *bytes;
  } else if (key == "segment.ms") {
    io::Result<std::int64_t> ms = parse_int<std::int64_t>(key, value, 1, kI64Max);
    if (!ms) return std::move(ms).error();
    config.roll_ms = *ms;
  } else if (key == "segment.index.bytes" || key == "index.interval.bytes") {
    io::Result<std::uint32_t> bytes = parse_int<std::uint32_t>(key, value, 0, 1u << 30);
    if (!bytes) return std::move(bytes).error();
    if (key == "index.interval.bytes") config.index_interval_bytes = *bytes;
  } else if (key == "cleanup.policy") {
    if (value != "delete") return invalid(key, value, "only cleanup.policy=delete is supported");
  } else {
    return io::Error{io::ErrorKind::kInvalid, "unknown topic config " + std::string(key)};
  }
  return io::ok();
}

std::map<std::string, std::string> describe_topic_config(const storage::LogConfig& config) {
  return {
      {"cleanup.policy", "delete"},
      {"index.interval.bytes", std::to_string(config.index_interval_bytes)},
      {"retention.bytes", std::to_string(config.retention_bytes)},
      {"retention.ms", std::to_string(config.retention_ms)},
      {"segment.bytes", std::to_string(config.segment_bytes)},
      {"segment.ms", std::to_string(config.roll_ms)},
  };
}

io::Result<void> BrokerConfig::set(std::string_view key, std::string_view value) {
  value = trim(value);
  if (key == "node.id" || key == "broker.id") {
    io::Result<std::int32_t> id = parse_int<std::int32_t>(key, value, 0, 1 << 30);
    if (!id) return std::move(id).error();
    node_id = *id;
  } else if (key == "listeners") {
    std::string_view address = value;
    if (std::size_t scheme = address.find("://"); scheme != std::string_view::npos) {
      address.remove_prefix(scheme + 3);
    }
    io::Result<io::Address> parsed = io::parse_address(address);
    if (!parsed) return invalid(key, value, parsed.error().message);
    listen = *parsed;
  } else if (key == "broker.rpc.listener") {
    io::Result<io::Address> parsed = io::parse_address(value);
    if (!parsed) return invalid(key, value, parsed.error().message);
    rpc_listen = *parsed;
  } else if (key == "advertised.host.name") {
    advertised_host = std::string(value);
  } else if (key == "log.dirs" || key == "log.dir") {
    if (value.empty() || value.find(',') != std::string_view::npos) {
      return invalid(key, value, "exactly one data directory is supported");
    }
    data_dir = std::string(value);
  } else if (key == "cluster.id") {
    if (value.empty()) return invalid(key, value, "must not be empty");
    cluster_id = std::string(value);
  } else if (key == "auto.create.topics.enable") {
    io::Result<bool> on = parse_bool(key, value);
    if (!on) return std::move(on).error();
    auto_create_topics = *on;
  } else if (key == "delete.topic.enable") {
    io::Result<bool> on = parse_bool(key, value);
    if (!on) return std::move(on).error();
    delete_topic_enable = *on;
  } else if (key == "num.partitions") {
    io::Result<std::int32_t> count = parse_int<std::int32_t>(key, value, 1, 1 << 20);
    if (!count) return std::move(count).error();
    num_partitions = *count;
  } else if (key == "default.replication.factor") {
    io::Result<std::int16_t> factor = parse_int<std::int16_t>(key, value, 1, 32767);
    if (!factor) return std::move(factor).error();
    default_replication_factor = *factor;
  } else if (key == "min.insync.replicas") {
    io::Result<std::int16_t> count = parse_int<std::int16_t>(key, value, 1, 32767);
    if (!count) return std::move(count).error();
    min_insync_replicas = *count;
  } else if (key == "broker.rack") {
    rack = std::string(value);
  } else if (key == "controller.quorum.voters") {
    io::Result<std::map<std::int32_t, io::Address>> voters = parse_voters(key, value);
    if (!voters) return std::move(voters).error();
    controller_voters = std::move(*voters);
  } else if (key == "raft.election.timeout.ms") {
    return set_int<std::int64_t>(raft_election_timeout_ms, key, value, 10, 1ll << 31);
  } else if (key == "raft.heartbeat.interval.ms") {
    return set_int<std::int64_t>(raft_heartbeat_interval_ms, key, value, 1, 1ll << 31);
  } else if (key == "auto.leader.rebalance.enable") {
    if (value != "true" && value != "false") return invalid(key, value, "true or false");
    auto_leader_rebalance_enable = value == "true";
  } else if (key == "broker.session.timeout.ms") {
    io::Result<std::int64_t> ms = parse_int<std::int64_t>(key, value, 100, 1ll << 31);
    if (!ms) return std::move(ms).error();
    broker_session_timeout_ms = *ms;
  } else if (key == "leader.imbalance.check.interval.seconds") {
    io::Result<std::int64_t> seconds = parse_int<std::int64_t>(key, value, 1, 1ll << 31);
    if (!seconds) return std::move(seconds).error();
    leader_imbalance_check_interval_ms = *seconds * 1000;
  } else if (key == "leader.imbalance.check.interval.ms") {  // not Kafka's: for tests
    io::Result<std::int64_t> ms = parse_int<std::int64_t>(key, value, 1, 1ll << 40);
    if (!ms) return std::move(ms).error();
    leader_imbalance_check_interval_ms = *ms;
  } else if (key == "log.retention.check.interval.ms") {
    io::Result<std::int64_t> ms = parse_int<std::int64_t>(key, value, 1, kI64Max);
    if (!ms) return std::move(ms).error();
    retention_check_interval_ms = *ms;
  } else if (key == "producer.id.expiration.ms") {
    io::Result<std::int64_t> ms = parse_int<std::int64_t>(key, value, 1, kI64Max);
    if (!ms) return std::move(ms).error();
    producer_id_expiration_ms = *ms;
  } else if (key == "socket.request.max.bytes") {
    io::Result<std::int32_t> bytes = parse_int<std::int32_t>(key, value, 1024, 1 << 30);
    if (!bytes) return std::move(bytes).error();
    socket_request_max_bytes = *bytes;
  } else if (key == "message.max.bytes") {
    io::Result<std::int32_t> bytes = parse_int<std::int32_t>(key, value, 64, 1 << 30);
    if (!bytes) return std::move(bytes).error();
    message_max_bytes = *bytes;
  } else if (key.starts_with("group.") || key.starts_with("offset")) {
    return set_group_key(*this, key, value);
  } else if (key == "log.retention.hours" || key == "log.retention.minutes") {
    io::Result<std::int64_t> amount = parse_int<std::int64_t>(key, value, -1, 1ll << 40);
    if (!amount) return std::move(amount).error();
    const std::int64_t unit_ms = key == "log.retention.hours" ? 3'600'000 : 60'000;
    log.retention_ms = *amount < 0 ? -1 : *amount * unit_ms;
  } else if (key.starts_with("log.")) {
    std::string_view topic_key = key.substr(4);
    if (topic_key == "roll.ms") topic_key = "segment.ms";
    if (topic_key == "cleanup.policy" || topic_key == "retention.ms" ||
        topic_key == "retention.bytes" || topic_key == "segment.bytes" ||
        topic_key == "segment.ms" || topic_key == "index.interval.bytes") {
      io::Result<void> applied = apply_topic_config(log, topic_key, value);
      if (!applied) return invalid(key, value, applied.error().message);
    } else {
      return io::Error{io::ErrorKind::kInvalid, "unknown config " + std::string(key)};
    }
  } else {
    return io::Error{io::ErrorKind::kInvalid, "unknown config " + std::string(key)};
  }
  return io::ok();
}

io::Result<void> BrokerConfig::apply_properties(std::string_view text) {
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    line_number += 1;
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      return io::Error{io::ErrorKind::kInvalid,
                       "line " + std::to_string(line_number) + ": expected key=value"};
    }
    io::Result<void> applied = set(trim(line.substr(0, equals)), line.substr(equals + 1));
    if (!applied)
      return with_context(std::move(applied).error(), "line " + std::to_string(line_number));
  }
  return io::ok();
}

io::Result<void> BrokerConfig::validate() const {
  if (!clustered()) {
    if (default_replication_factor != 1) {
      return io::Error{io::ErrorKind::kInvalid, "default.replication.factor " +
                                                    std::to_string(default_replication_factor) +
                                                    " needs a cluster (controller.quorum.voters)"};
    }
    return io::ok();
  }
  auto same = [](const io::Address& a, const io::Address& b) {
    return a.port == b.port && a.host == b.host;
  };
  if (!controller_voter() && !rpc_listen) {
    return io::Error{io::ErrorKind::kInvalid,
                     "node.id " + std::to_string(node_id) +
                         " is not in controller.quorum.voters: a broker outside the quorum needs "
                         "broker.rpc.listener (host:port for inter-broker RPC)"};
  }
  if (controller_voter() && rpc_listen && !same(*rpc_listen, controller_voters.at(node_id))) {
    return io::Error{io::ErrorKind::kInvalid, "broker.rpc.listener " + rpc_listen->to_string() +
                                                  " differs from node " + std::to_string(node_id) +
                                                  "'s controller.quorum.voters address " +
                                                  controller_voters.at(node_id).to_string()};
  }
  for (const auto& [id, address] : controller_voters) {
    if (same(address, listen)) {
      return io::Error{io::ErrorKind::kInvalid, "node " + std::to_string(id) +
                                                    "'s controller address " + address.to_string() +
                                                    " is the Kafka listener's address"};
    }
    if (!controller_voter() && same(address, *rpc_listen)) {
      return io::Error{io::ErrorKind::kInvalid, "broker.rpc.listener " + rpc_listen->to_string() +
                                                    " is voter " + std::to_string(id) +
                                                    "'s address"};
    }
  }
  if (rpc_listen && same(*rpc_listen, listen)) {
    return io::Error{io::ErrorKind::kInvalid, "broker.rpc.listener " + rpc_listen->to_string() +
                                                  " is the Kafka listener's address"};
  }
  // Liveness is judged from the metadata log's Raft heartbeats: a session shorter than an
  // election timeout would fence brokers that are merely between two heartbeats.
  if (broker_session_timeout_ms < 2 * raft_election_timeout_ms) {
    return io::Error{io::ErrorKind::kInvalid, "broker.session.timeout.ms " +
                                                  std::to_string(broker_session_timeout_ms) +
                                                  " is below twice raft.election.timeout.ms (" +
                                                  std::to_string(raft_election_timeout_ms) + ")"};
  }
  return io::ok();
}

io::Address BrokerConfig::rpc_address() const {
  auto voter = controller_voters.find(node_id);
  if (voter != controller_voters.end()) return voter->second;
  STRAND_ASSERT(rpc_listen.has_value(), "validate() requires broker.rpc.listener off the quorum");
  return *rpc_listen;
}

io::Address BrokerConfig::advertised() const {
  return io::Address{advertised_host.empty() ? listen.host : advertised_host, listen.port};
}

}  // namespace strand
