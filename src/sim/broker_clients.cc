#include "sim/broker_clients.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/broker.h"
#include "broker/cluster/partition_manager.h"
#include "broker/protocol/error_code.h"
#include "broker/protocol/list_offsets.h"
#include "broker/raft/replica.h"
#include "client/client.h"
#include "client/kafka_error.h"
#include "client/producer.h"

namespace strand::sim {

namespace {

using io::Duration;

constexpr std::int16_t kOffsetOutOfRange =
    static_cast<std::int16_t>(protocol::ErrorCode::kOffsetOutOfRange);
constexpr std::int16_t kCorruptMessage =
    static_cast<std::int16_t>(protocol::ErrorCode::kCorruptMessage);
constexpr std::uint64_t kRoundsMax = std::uint64_t{1} << 32;  // guards loops against bugs only
constexpr std::uint64_t kReadbackRestartsMax = 64;            // per partition
// A replicated partition's leader that meets a corrupt batch answers KAFKA_STORAGE_ERROR and hands
// the partition on while it repairs: the read-back asks again, this often at most, 200 ms apart.
constexpr std::uint64_t kReadbackRetriesMax = 150;
constexpr Duration kReadbackRetryGap = Duration::ms(200);

bool leader_moving(const io::Error& error) {
  using protocol::ErrorCode;
  for (ErrorCode code : {ErrorCode::kKafkaStorageError, ErrorCode::kNotLeaderOrFollower,
                         ErrorCode::kLeaderNotAvailable}) {
    if (client::has_kafka_code(error, static_cast<std::int16_t>(code))) return true;
  }
  return false;
}

io::Instant world_now(const BrokerRun* run) { return run->world->now(); }

Duration backoff(io::Env* env) { return Duration::ms(env->rng().between(50, 250)); }

// Errors that say the connection or the broker is away, not that the request was refused.
bool transport_error(const io::Error& error) {
  return error.kind == io::ErrorKind::kClosed || error.kind == io::ErrorKind::kTimeout ||
         error.kind == io::ErrorKind::kRefused || error.kind == io::ErrorKind::kCancelled;
}

// A fetch whose bytes failed the client's own checks: the broker served something corrupt (a
// broker that detects corruption answers with an error code instead).
bool served_corrupt(const io::Error& error) {
  return error.kind == io::ErrorKind::kCorrupt && !client::has_kafka_code(error, kCorruptMessage);
}

void note_corrupt(BrokerRun* run, const io::Error& error) {
  run->history.served_corrupt += 1;
  if (run->history.served_corrupt_detail.empty()) {
    run->history.served_corrupt_detail = error.to_string();
  }
}

// A connected client, or nullptr once `deadline` (world time) passed first.
io::Task<std::unique_ptr<client::Client>> connect_client(io::Env* env, BrokerRun* run,
                                                         std::string client_id,
                                                         io::Instant deadline) {
  for (std::uint64_t attempt = 0; attempt < kRoundsMax && world_now(run) < deadline; ++attempt) {
    std::vector<io::Address> addresses = run->bootstrap;
    // Each client starts with a different broker, so the bootstrap load spreads.
    if (addresses.size() > 1) {
      const auto first = static_cast<std::ptrdiff_t>(env->rng().uniform(addresses.size()));
      std::rotate(addresses.begin(), addresses.begin() + first, addresses.end());
    }
    client::ClientOptions options;
    options.client_id = client_id;
    options.request_timeout = run->options->request_timeout;
    io::Result<std::unique_ptr<client::Client>> connected =
        co_await client::Client::connect(*env, std::move(addresses), std::move(options));
    if (connected) co_return std::move(*connected);
    co_await env->clock().sleep(backoff(env));
  }
  co_return nullptr;
}

// Clears the broker's slot in run->live_brokers when its frame goes (a crash destroys it).
class LiveBroker {
 public:
  LiveBroker(BrokerRun* run, std::uint32_t index, Broker* broker, io::Event* stop)
      : run_(run), index_(index) {
    run_->live_brokers[index_] = broker;
    run_->stop_requests[index_] = stop;
    run_->stopped[index_] = false;
  }
  ~LiveBroker() {
    run_->live_brokers[index_] = nullptr;
    run_->stop_requests[index_] = nullptr;
  }
  LiveBroker(const LiveBroker&) = delete;
  LiveBroker& operator=(const LiveBroker&) = delete;

 private:
  BrokerRun* run_;
  std::uint32_t index_;
};

io::Task<bool> serve_broker(io::Env* env, BrokerRun* run, std::uint32_t index) {
  BrokerConfig config = run->broker_configs[index];
  Broker broker(*env, std::move(config));
  io::Result<void> started = co_await broker.start();
  if (!started) co_return false;
  run->broker_boots += 1;
  io::Event stop;  // a rolling restart's SIGTERM; otherwise the node's crash destroys this frame
  {
    const LiveBroker live(run, index, &broker, &stop);
    co_await stop.wait();
  }
  io::Result<void> shut = co_await broker.shutdown();
  (shut ? run->clean_stops : run->clean_stop_failures) += 1;
  run->stopped[index] = true;
  co_return true;
}

// ---- Producers ----------------------------------------------------------------------------------

struct PendingRecord {
  std::uint64_t seq = 0;
  client::Delivery delivery;
};

void settle(BrokerRun* run, ProducerHistory& producer, std::uint64_t seq,
            const io::Result<client::RecordMetadata>& result) {
  ProduceAttempt& attempt = producer.attempts[seq];
  attempt.completed_at = world_now(run);
  if (!result) {
    attempt.outcome = ProduceOutcome::kFailed;
    return;
  }
  attempt.partition = result->partition;
  attempt.outcome = producer.acks == 0 ? ProduceOutcome::kSent : ProduceOutcome::kAcked;
  if (producer.acks != 0) attempt.offset = result->offset;
}

void harvest(BrokerRun* run, ProducerHistory& producer, std::deque<PendingRecord>& pending) {
  auto done = std::remove_if(pending.begin(), pending.end(), [&](const PendingRecord& record) {
    if (!record.delivery.done()) return false;
    settle(run, producer, record.seq, record.delivery.result());
    return true;
  });
  pending.erase(done, pending.end());
}

// Records the attempt and builds its record.
client::ProducerRecord make_record(io::Random& random, std::int64_t wall_ms, BrokerRun* run,
                                   std::uint32_t index, std::uint64_t seq) {
  const BrokerWorkloadOptions& options = *run->options;
  ProducerHistory& producer = run->history.producers[index];
  ProduceAttempt& attempt = producer.attempts.emplace_back();
  attempt.acks = producer.acks;
  attempt.topic = static_cast<std::uint32_t>(random.uniform(options.topics_count));
  attempt.value_bytes = static_cast<std::uint32_t>(
      random.between(options.record_bytes_min, options.record_bytes_max));
  if (options.keys_count > 0 && random.chance(options.keyed_fraction)) {
    attempt.key = "k" + std::to_string(random.uniform(options.keys_count));
  }
  attempt.sent_at = world_now(run);
  client::ProducerRecord record;
  // What the producer would stamp anyway (send() follows at once); named, for retention_correct.
  record.timestamp_ms = wall_ms;
  attempt.timestamp_ms = wall_ms;
  record.topic = topic_name(attempt.topic);
  record.key = attempt.key;
  record.value = record_value(index, seq, attempt.value_bytes);
  record.headers.push_back({kRecordHeaderKey, record_header_value(index, seq)});
  return record;
}

client::ProducerOptions producer_options(const BrokerWorkloadOptions& options,
                                         const ProducerHistory& producer) {
  client::ProducerOptions out;
  out.acks = producer.acks;
  out.enable_idempotence = producer.idempotent;
  out.batch_size_bytes = options.batch_bytes;
  out.linger = options.linger;
  out.max_block = options.request_timeout;
  out.delivery_timeout = options.request_timeout * 2;
  out.allow_auto_topic_creation = false;
  return out;
}

io::Task<void> produce_records(io::Env* env, BrokerRun* run, std::uint32_t index,
                               client::Client* client) {
  const BrokerWorkloadOptions& options = *run->options;
  ProducerHistory& history = run->history.producers[index];
  client::Producer producer(*client, producer_options(options, history));
  std::deque<PendingRecord> pending;
  const std::int64_t think_max_ns = static_cast<std::int64_t>(2e9 / options.records_per_s);
  for (std::uint64_t seq = 0; world_now(run) < run->history.producers_stop; ++seq) {
    harvest(run, history, pending);
    history.batches_retried = producer.stats().batches_retried;
    history.producer_ids = producer.stats().producer_ids;
    for (std::uint64_t waits = 0; pending.size() >= options.pending_max && waits < kRoundsMax;
         ++waits) {
      const client::Delivery oldest = pending.front().delivery;
      io::Result<client::RecordMetadata> outcome = co_await oldest.wait();
      (void)outcome;
      harvest(run, history, pending);
    }
    client::ProducerRecord record =
        make_record(env->rng(), env->clock().wall_ms(), run, index, seq);
    std::optional<io::Result<client::Delivery>> queued = producer.try_send(record);
    if (!queued) {
      io::Result<client::Delivery> sent = co_await producer.send(std::move(record));
      queued.emplace(std::move(sent));
    }
    if (*queued) {
      pending.push_back(PendingRecord{seq, **queued});
    } else {
      history.attempts[seq].outcome = ProduceOutcome::kRefused;
      history.attempts[seq].completed_at = world_now(run);
    }
    co_await env->clock().sleep(Duration::ns(env->rng().between(0, think_max_ns)));
  }
  io::Result<void> flushed = co_await producer.flush();
  (void)flushed;  // what is still unanswered stays pending: its outcome is unknown
  harvest(run, history, pending);
  history.batches_retried = producer.stats().batches_retried;
  history.producer_ids = producer.stats().producer_ids;
}

// ---- Consumers ----------------------------------------------------------------------------------

struct ConsumerState {
  std::vector<client::FetchPosition> positions;
  std::vector<std::uint64_t> sessions;
  std::vector<bool> need_start;
  std::uint64_t next_session = 0;
};

void absorb(BrokerRun* run, std::uint32_t reader, ConsumerState& state, std::size_t i,
            const client::FetchedRecords& fetched) {
  const std::uint32_t topic = run->history.consumers[reader].topic;
  const PartitionKey tp{topic, state.positions[i].partition};
  for (const protocol::Record& record : fetched.records) {
    run->history.observations.push_back(
        observe(run->history, reader, state.sessions[i], tp, record, world_now(run)));
  }
  state.positions[i].offset = std::max(state.positions[i].offset, fetched.next_offset);
  run->history.consumers[reader].positions[tp.partition] = state.positions[i].offset;
}

// Starts a session on every partition that needs one: at 0, or at the end for a tail consumer.
io::Task<bool> start_sessions(BrokerRun* run, std::uint32_t index, client::Client* client,
                              ConsumerState& state) {
  ConsumerHistory& me = run->history.consumers[index];
  std::vector<std::int32_t> partitions;
  for (std::size_t i = 0; i < state.positions.size(); ++i) {
    if (state.need_start[i]) partitions.push_back(state.positions[i].partition);
  }
  if (partitions.empty()) co_return true;
  std::map<std::int32_t, std::int64_t> starts;
  // Where retention moves the log start, offset 0 would answer OFFSET_OUT_OF_RANGE for ever.
  const bool from_earliest = !me.tail && run->history.retention.limited();
  if (me.tail || from_earliest) {
    std::string topic = topic_name(me.topic);
    const std::int64_t which = me.tail ? protocol::kLatestTimestamp : protocol::kEarliestTimestamp;
    io::Result<std::map<std::int32_t, std::int64_t>> listed =
        co_await client->list_offsets(std::move(topic), partitions, which);
    if (!listed) co_return false;
    starts = std::move(*listed);
  }
  for (std::size_t i = 0; i < state.positions.size(); ++i) {
    if (!state.need_start[i]) continue;
    const std::int32_t partition = state.positions[i].partition;
    state.positions[i].offset = me.tail || from_earliest ? starts[partition] : 0;
    state.sessions[i] = state.next_session++;
    state.need_start[i] = false;
    run->history.sessions.push_back(SessionStart{
        index, state.sessions[i], PartitionKey{me.topic, partition}, state.positions[i].offset});
    me.positions[partition] = state.positions[i].offset;
  }
  co_return true;
}

// One partition at a time, so that one partition's error does not hold up the others.
io::Task<void> fetch_each(io::Env* env, BrokerRun* run, std::uint32_t index, client::Client* client,
                          ConsumerState& state) {
  const std::string topic = topic_name(run->history.consumers[index].topic);
  for (std::size_t i = 0; i < state.positions.size(); ++i) {
    const client::FetchPosition position = state.positions[i];
    const Duration no_wait;
    io::Result<client::FetchedRecords> fetched =
        co_await client->fetch(topic, position.partition, position.offset, 1 << 20, no_wait);
    if (fetched) {
      absorb(run, index, state, i, *fetched);
      continue;
    }
    run->history.consumers[index].fetch_errors += 1;
    if (served_corrupt(fetched.error())) note_corrupt(run, fetched.error());
    if (client::has_kafka_code(fetched.error(), kOffsetOutOfRange)) state.need_start[i] = true;
    if (transport_error(fetched.error())) break;
  }
  co_await env->clock().sleep(backoff(env));
}

io::Task<void> consume(io::Env* env, BrokerRun* run, std::uint32_t index, client::Client* client) {
  const BrokerWorkloadOptions& options = *run->options;
  ConsumerState state;
  for (std::int32_t p = 0; p < options.partitions_count; ++p) {
    state.positions.push_back(client::FetchPosition{p, 0});
  }
  state.sessions.assign(state.positions.size(), 0);
  state.need_start.assign(state.positions.size(), true);
  const client::FetchLimits limits{1 << 20, 256 << 10, options.fetch_max_wait};
  for (std::uint64_t round = 0; round < kRoundsMax && world_now(run) < run->history.run_end;
       ++round) {
    const bool started = co_await start_sessions(run, index, client, state);
    if (!started) {
      co_await env->clock().sleep(backoff(env));
      continue;
    }
    std::vector<client::FetchPosition> positions = state.positions;
    std::string topic = topic_name(run->history.consumers[index].topic);
    io::Result<std::vector<client::FetchedRecords>> fetched =
        co_await client->fetch_many(std::move(topic), std::move(positions), limits);
    if (fetched) {
      for (std::size_t i = 0; i < fetched->size(); ++i) absorb(run, index, state, i, (*fetched)[i]);
      continue;
    }
    run->history.consumers[index].fetch_errors += 1;
    if (served_corrupt(fetched.error())) note_corrupt(run, fetched.error());
    if (transport_error(fetched.error())) {
      co_await env->clock().sleep(backoff(env));
    } else {
      co_await fetch_each(env, run, index, client, state);
    }
  }
}

// ---- Read-back ----------------------------------------------------------------------------------

io::Task<void> read_partition(io::Env* env, BrokerRun* run, client::Client* client,
                              const PartitionKey& tp) {
  ReadbackPartition& out = run->history.readback[tp];
  const std::string topic = topic_name(tp.topic);
  std::vector<std::int32_t> partitions{tp.partition};
  io::Result<std::map<std::int32_t, std::int64_t>> starts =
      co_await client->list_offsets(topic, partitions, protocol::kEarliestTimestamp);
  io::Result<std::map<std::int32_t, std::int64_t>> ends =
      co_await client->list_offsets(topic, partitions, protocol::kLatestTimestamp);
  if (!starts || !ends) {
    out.error = !starts ? starts.error().to_string() : ends.error().to_string();
    co_return;
  }
  out.start = starts->at(tp.partition);
  out.end = ends->at(tp.partition);
  const std::uint64_t session = tp.topic * 100'000ull + static_cast<std::uint64_t>(tp.partition);
  run->history.sessions.push_back(SessionStart{kReadback, session, tp, out.start});
  std::int64_t position = out.start;
  const Duration no_wait;
  std::uint64_t restarts = 0;
  std::uint64_t retries = 0;
  for (std::uint64_t round = 0; position < out.end && round < kRoundsMax; ++round) {
    io::Result<client::FetchedRecords> fetched =
        co_await client->fetch(topic, tp.partition, position, 1 << 20, no_wait);
    if (!fetched && run->history.replicated && retries < kReadbackRetriesMax &&
        leader_moving(fetched.error())) {
      retries += 1;
      co_await env->clock().sleep(kReadbackRetryGap);
      continue;
    }
    if (!fetched && run->history.retention.limited() && restarts < kReadbackRestartsMax &&
        client::has_kafka_code(fetched.error(), kOffsetOutOfRange)) {
      // Retention moved the log start past `position` while we read: go on from the new start,
      // which the checkers take as the partition's final one.
      restarts += 1;
      io::Result<std::map<std::int32_t, std::int64_t>> moved =
          co_await client->list_offsets(topic, partitions, protocol::kEarliestTimestamp);
      if (moved && moved->at(tp.partition) > position) {
        out.start = moved->at(tp.partition);
        position = out.start;
        run->history.sessions.push_back(
            SessionStart{kReadback, session + (restarts << 40), tp, out.start});
        continue;
      }
    }
    if (!fetched) {
      if (served_corrupt(fetched.error())) note_corrupt(run, fetched.error());
      out.stuck_at = position;
      out.error = "at offset " + std::to_string(position) + ": " + fetched.error().to_string();
      co_return;
    }
    for (const protocol::Record& record : fetched->records) {
      run->history.observations.push_back(
          observe(run->history, kReadback, session + (restarts << 40), tp, record, world_now(run)));
    }
    if (fetched->next_offset <= position) {
      out.error = "no progress at offset " + std::to_string(position);
      co_return;
    }
    position = fetched->next_offset;
  }
}

}  // namespace

io::Task<std::unique_ptr<client::Client>> connect_sim_client(io::Env* env, BrokerRun* run,
                                                             std::string client_id,
                                                             io::Instant deadline) {
  std::unique_ptr<client::Client> client =
      co_await connect_client(env, run, std::move(client_id), deadline);
  co_return std::move(client);
}

std::string broker_host(const BrokerWorkloadOptions& options, std::uint32_t index) {
  std::string host = kBrokerHost;
  if (options.nodes_count > 1) host += std::to_string(index);
  return host;
}

void sample_leaders(BrokerRun& run) {
  BrokerHistory& history = run.history;
  const BrokerWorkloadOptions& options = *run.options;
  for (std::uint32_t index = 0; index < run.live_brokers.size(); ++index) {
    Broker* broker = run.live_brokers[index];
    if (broker == nullptr) continue;
    const std::int32_t node = run.broker_configs[index].node_id;
    if (const cluster::Controller* controller = broker->partitions().controller()) {
      for (const auto& [id, registration] : controller->image().brokers()) {
        if (controller->image().fenced(id)) run.fencing.ever_fenced.insert(id);
      }
    }
    for (std::uint32_t topic = 0; topic < options.topics_count; ++topic) {
      for (std::int32_t p = 0; p < options.partitions_count; ++p) {
        const storage::TopicPartition tp{topic_name(topic), p};
        std::shared_ptr<cluster::Partition> partition = broker->partitions().find(tp);
        if (!partition || partition->replica() == nullptr) continue;
        const raft::Replica& replica = *partition->replica();
        history.leader_samples += 1;
        if (replica.role() != raft::Role::kLeader) continue;
        const PartitionKey key{topic, p};
        auto [it, fresh] = history.leaders.try_emplace({key, replica.term()}, node);
        if (fresh || it->second == node) continue;
        history.leader_conflicts.push_back(
            partition_label(key) + " term " + std::to_string(replica.term()) + ": nodes " +
            std::to_string(it->second) + " and " + std::to_string(node) + " (at " +
            std::to_string((world_now(&run) - io::Instant{}).count_ms()) + " ms)");
      }
    }
  }
}

void sample_log_starts(BrokerRun& run, std::int64_t wall_ms_max) {
  BrokerHistory& history = run.history;
  const BrokerWorkloadOptions& options = *run.options;
  for (Broker* broker : run.live_brokers) {
    if (broker == nullptr) continue;
    for (std::uint32_t topic = 0; topic < options.topics_count; ++topic) {
      for (std::int32_t p = 0; p < options.partitions_count; ++p) {
        const storage::TopicPartition tp{topic_name(topic), p};
        std::shared_ptr<cluster::Partition> partition = broker->partitions().find(tp);
        if (!partition) continue;
        const std::int64_t start = partition->log_start_offset();
        std::vector<LogStartRise>& rises = history.log_start_rises[PartitionKey{topic, p}];
        if (start > (rises.empty() ? 0 : rises.back().start)) {
          rises.push_back(LogStartRise{start, wall_ms_max});
        }
      }
    }
  }
}

void sample_replica_logs(BrokerRun& run) {
  BrokerHistory& history = run.history;
  const BrokerWorkloadOptions& options = *run.options;
  for (std::uint32_t index = 0; index < run.live_brokers.size(); ++index) {
    Broker* broker = run.live_brokers[index];
    if (broker == nullptr) continue;
    for (std::uint32_t topic = 0; topic < options.topics_count; ++topic) {
      for (std::int32_t p = 0; p < options.partitions_count; ++p) {
        const storage::TopicPartition tp{topic_name(topic), p};
        std::shared_ptr<cluster::Partition> partition = broker->partitions().find(tp);
        if (!partition || partition->replica() == nullptr) continue;
        const raft::RaftCore& core = partition->replica()->core();
        const raft::TermIndex& terms = core.term_index();
        ReplicaLog log;
        log.node = run.broker_configs[index].node_id;
        log.log_start_offset = terms.log_start_offset();
        log.last_offset = terms.last_offset();
        log.commit_index = core.commit_index();
        for (raft::Offset offset = log.log_start_offset; offset <= log.last_offset; ++offset) {
          const std::int32_t term = static_cast<std::int32_t>(terms.term_at(offset));
          if (log.term_runs.empty() || log.term_runs.back().second != term) {
            log.term_runs.emplace_back(offset, term);
          }
        }
        history.replica_logs[PartitionKey{topic, p}].push_back(std::move(log));
      }
    }
  }
}

std::optional<std::uint32_t> some_partition_leader(BrokerRun& run, std::uint64_t pick) {
  const BrokerWorkloadOptions& options = *run.options;
  const std::uint64_t count =
      std::uint64_t{options.topics_count} * static_cast<std::uint64_t>(options.partitions_count);
  const std::uint64_t chosen = pick % count;
  const auto topic = static_cast<std::uint32_t>(chosen / options.partitions_count);
  const auto p = static_cast<std::int32_t>(chosen % options.partitions_count);
  const storage::TopicPartition tp{topic_name(topic), p};
  for (std::uint32_t index = 0; index < run.live_brokers.size(); ++index) {
    Broker* broker = run.live_brokers[index];
    if (broker == nullptr) continue;
    std::shared_ptr<cluster::Partition> partition = broker->partitions().find(tp);
    if (partition && partition->replica() != nullptr &&
        partition->replica()->role() == raft::Role::kLeader) {
      return index;
    }
  }
  return std::nullopt;
}

io::Task<void> run_broker(io::Env* env, BrokerRun* run, std::uint32_t index) {
  for (std::uint64_t attempt = 0; attempt < kRoundsMax; ++attempt) {
    const bool served = co_await serve_broker(env, run, index);
    if (served) co_return;
    run->broker_start_failures += 1;
    co_await env->clock().sleep(Duration::ms(500));
  }
}

io::Task<io::Result<void>> create_topics(io::Env* env, BrokerRun* run) {
  const io::Instant deadline = world_now(run) + Duration::s(120);
  std::string name = "setup";  // named: no temporaries into coroutine calls (GCC 12)
  std::unique_ptr<client::Client> client =
      co_await connect_client(env, run, std::move(name), deadline);
  if (!client) co_return io::Error{io::ErrorKind::kTimeout, "no broker ever answered"};
  const auto replication_factor =
      static_cast<std::int16_t>(std::min<std::uint32_t>(3, run->options->nodes_count));
  // A cluster refuses topics until enough brokers registered: retry until it accepts.
  for (std::uint32_t topic = 0; topic < run->options->topics_count;) {
    if (world_now(run) >= deadline) {
      co_return io::Error{io::ErrorKind::kTimeout, "topics not created within 120 s"};
    }
    std::string topic_label = topic_name(topic);
    std::map<std::string, std::string> configs;
    io::Result<void> created =
        co_await client->create_topic(std::move(topic_label), run->options->partitions_count,
                                      std::move(configs), replication_factor);
    if (created || created.error().kind == io::ErrorKind::kExists) {
      topic += 1;
    } else {
      co_await env->clock().sleep(backoff(env));
    }
  }
  // Then every partition must have a leader, so the fault phase starts from a working cluster.
  for (std::uint64_t round = 0; round < kRoundsMax; ++round) {
    if (world_now(run) >= deadline) {
      co_return io::Error{io::ErrorKind::kTimeout, "partitions without a leader after 120 s"};
    }
    std::optional<std::vector<std::string>> all;
    io::Result<client::ClusterMetadata> metadata = co_await client->metadata(std::move(all));
    std::uint32_t led = 0;
    if (metadata) {
      for (const client::TopicMetadata& topic : metadata->topics) {
        for (const client::PartitionMetadata& partition : topic.partitions) {
          if (topic.error_code == 0 && partition.leader_id >= 0) led += 1;
        }
      }
    }
    const std::uint64_t wanted = std::uint64_t{run->options->topics_count} *
                                 static_cast<std::uint64_t>(run->options->partitions_count);
    if (led >= wanted) break;
    co_await env->clock().sleep(backoff(env));
  }
  co_return io::ok();
}

io::Task<void> run_producer(io::Env* env, BrokerRun* run, std::uint32_t index) {
  run->tasks_running += 1;
  std::string name = "producer-" + std::to_string(index);
  std::unique_ptr<client::Client> client =
      co_await connect_client(env, run, std::move(name), run->history.producers_stop);
  if (client) co_await produce_records(env, run, index, client.get());
  run->tasks_running -= 1;
}

io::Task<void> run_consumer(io::Env* env, BrokerRun* run, std::uint32_t index) {
  run->tasks_running += 1;
  std::string name = "consumer-" + std::to_string(index);
  std::unique_ptr<client::Client> client =
      co_await connect_client(env, run, std::move(name), run->history.run_end);
  if (client) co_await consume(env, run, index, client.get());
  run->tasks_running -= 1;
}

io::Task<void> read_back(io::Env* env, BrokerRun* run) {
  const io::Instant deadline = world_now(run) + Duration::s(60);
  std::string name = "read-back";
  std::unique_ptr<client::Client> client =
      co_await connect_client(env, run, std::move(name), deadline);
  if (!client) co_return;
  for (std::uint32_t topic = 0; topic < run->options->topics_count; ++topic) {
    for (std::int32_t p = 0; p < run->options->partitions_count; ++p) {
      const PartitionKey tp{topic, p};
      co_await read_partition(env, run, client.get(), tp);
    }
  }
  run->history.readback_done = true;
}

}  // namespace strand::sim
